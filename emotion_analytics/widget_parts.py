"""The app's two browser components (anywidget): audio input in chunks, and listening along.

- `AudioInput`: a file picker (and a microphone recorder) that sends each file to the kernel in
  2 MiB chunks, written to a temporary file as they arrive. No chunk comes near the Jupyter
  server's websocket message limit (10 MiB by default, which silently drops a plain
  ``FileUpload`` of a call longer than ~5 minutes), so a 2-hour WAV needs no server setting.
  Files over ``max_bytes`` or over the free disk space are refused with a message.
- `ListenAlong`: the player, the timeline image with a hot spot per segment (hover shows the
  emotion, confidence and probabilities; click plays the segment) and the clickable table.

Their JavaScript is in ``emotion_analytics/assets``; it loads nothing from the network. The
protocol is written at the top of each ``.js`` file. Both need the ``widgets`` extra
(``ipywidgets`` and ``anywidget``).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any, NamedTuple

from .errors import require

require("anywidget", "widgets")
import anywidget  # noqa: E402
import traitlets as t  # noqa: E402

__all__ = ["Upload", "AudioInput", "ListenAlong", "MAX_UPLOAD_BYTES"]

_ASSETS = Path(__file__).with_name("assets")
#: Largest file the app takes (bytes): 4 GiB, a 16 kHz 16-bit mono WAV of 37 hours.
MAX_UPLOAD_BYTES = 4 * 1024**3
#: Audio the kernel sends to the browser at a time, when the page does not hold the file.
_SEND_CHUNK = 4 * 1024 * 1024


class Upload(NamedTuple):
    """A file the app holds: the name shown (unique in the app) and where its bytes are."""

    label: str
    path: Path
    name: str


def _size(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


class AudioInput(anywidget.AnyWidget):
    """Files (and, with ``record=True``, microphone recordings) sent to the kernel in chunks.

    ``files`` lists every file with its ``state`` (``"uploading"``, ``"ready"``, ``"refused"``
    with a ``message``); `uploads` gives the ready ones. Two files of the same name stay two
    entries, labelled ``name`` and ``name (2)``.
    """

    _esm = _ASSETS / "audio_input.js"
    description = t.Unicode("Audio files").tag(sync=True)
    accept = t.Unicode("").tag(sync=True)
    multiple = t.Bool(True).tag(sync=True)
    record = t.Bool(False).tag(sync=True)
    files = t.List(t.Dict()).tag(sync=True)

    def __init__(self, *, max_bytes: int = MAX_UPLOAD_BYTES, directory: str | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.max_bytes = int(max_bytes)
        self._dir = Path(tempfile.mkdtemp(prefix="emotion-app-", dir=directory))
        self._paths: dict[str, Path] = {}
        self._owned: set[str] = set()
        self._lock = threading.Lock()
        self.on_msg(self._on_msg)

    # -- what the app reads ------------------------------------------------------------------
    def uploads(self) -> list[Upload]:
        """The files ready to analyse, in the order they were added."""
        return [Upload(f["label"], self._paths[f["token"]], f["name"]) for f in self.files
                if f["state"] == "ready"]

    def pending(self) -> list[dict]:
        """The files still arriving."""
        return [f for f in self.files if f["state"] == "uploading"]

    def add_files(self, paths: Any) -> None:
        """Add files from the kernel's disk, as if the user had picked them (not copied)."""
        for p in paths:
            p = Path(p)
            token = f"disk-{uuid.uuid4().hex}"
            self._paths[token] = p
            self._set(token, name=p.name, size=p.stat().st_size, received=p.stat().st_size,
                      state="ready", message="")

    def clear(self) -> None:
        """Forget every file (temporary copies are deleted)."""
        for token in list(self._paths):
            self._remove(token)
        self.files = []

    def close(self) -> None:
        self.clear()
        shutil.rmtree(self._dir, ignore_errors=True)
        super().close()

    def path_of(self, token: str) -> Path | None:
        return self._paths.get(token)

    # -- the protocol ------------------------------------------------------------------------
    def _entry(self, token: str) -> dict | None:
        return next((f for f in self.files if f["token"] == token), None)

    def _set(self, token: str, **fields: Any) -> None:
        with self._lock:
            files = [dict(f) for f in self.files]
            entry = next((f for f in files if f["token"] == token), None)
            if entry is None:
                name = fields["name"]
                taken = {f["label"] for f in files}
                label, k = name, 1
                while label in taken:
                    k += 1
                    label = f"{name} ({k})"
                entry = {"token": token, "label": label}
                files.append(entry)
            entry.update(fields)
            self.files = files

    def _remove(self, token: str) -> None:
        path = self._paths.pop(token, None)
        if path is not None and token in self._owned:
            self._owned.discard(token)
            path.unlink(missing_ok=True)
        with self._lock:
            self.files = [f for f in self.files if f["token"] != token]

    def _refuse(self, token: str, message: str) -> None:
        self._set(token, state="refused", message=message)
        path = self._paths.pop(token, None)
        if path is not None:
            self._owned.discard(token)
            path.unlink(missing_ok=True)
        self.send({"type": "refused", "token": token, "message": message})

    def _on_msg(self, _widget: Any, content: dict, buffers: list) -> None:
        kind, token = content.get("type"), str(content.get("token", ""))
        if kind == "clear":
            self.clear()
            return
        if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", token):
            return
        if kind == "begin":
            name = str(content.get("name") or "audio")
            size = int(content.get("size") or 0)
            self._set(token, name=name, size=size, received=0, state="uploading", message="")
            free = shutil.disk_usage(self._dir).free
            if size > self.max_bytes:
                self._refuse(token, f"{_size(size)} is over the app's limit of "
                                    f"{_size(self.max_bytes)}: split the recording, or analyse "
                                    "it with emotion_analytics.recognise() in a notebook.")
                return
            if size > free - 64 * 1024**2:
                self._refuse(token, f"{_size(size)} does not fit in the {_size(free)} free in "
                                    f"{self._dir.parent}: free disk space there, or set TMPDIR "
                                    "to a larger disk before starting Jupyter.")
                return
            suffix = "".join(Path(name).suffixes[-1:])[:12]
            path = self._dir / f"{token}{suffix}"
            path.write_bytes(b"")
            self._paths[token] = path
            self._owned.add(token)
            self.send({"type": "ready", "token": token})
        elif kind == "chunk":
            path, entry = self._paths.get(token), self._entry(token)
            if path is None or entry is None or entry["state"] != "uploading" or not buffers:
                self.send({"type": "refused", "token": token, "message": "not uploading"})
                return
            data = bytes(buffers[0])
            offset = int(content.get("offset", 0))
            if offset != entry["received"]:
                self._refuse(token, "a piece of the file went missing: add the file again.")
                return
            try:
                with open(path, "ab") as f:
                    f.write(data)
            except OSError as exc:
                self._refuse(token, f"could not be stored ({exc.strerror}): free disk space in "
                                    f"{self._dir.parent}, then add the file again.")
                return
            self._set(token, received=offset + len(data))
            self.send({"type": "ack", "token": token, "received": offset + len(data)})
        elif kind == "end":
            entry = self._entry(token)
            if entry is None or entry["state"] != "uploading":
                return
            if entry["received"] != entry["size"]:
                self._refuse(token, f"only {entry['received']} of {entry['size']} bytes arrived:"
                                    " add the file again.")
                return
            self._set(token, state="ready")
            self.send({"type": "done", "token": token})
        elif kind == "remove":
            self._remove(token)


class ListenAlong(anywidget.AnyWidget):
    """The player, the clickable timeline and the clickable segment table of one result.

    Set it with `show` (the app does); ``sources`` maps each file label to the token of its
    audio (in the page's registry, or sent by the kernel from ``audio_paths`` on request).
    """

    _esm = _ASSETS / "listen_along.js"
    segments = t.List(t.Dict()).tag(sync=True)
    columns = t.List(t.Unicode()).tag(sync=True)
    boxes = t.List().tag(sync=True)
    plot_box = t.List(t.Float()).tag(sync=True)
    lanes = t.List().tag(sync=True)
    span = t.Float(0.0).tag(sync=True)
    png = t.Bytes(b"").tag(sync=True)
    dims_png = t.Bytes(b"").tag(sync=True)
    sources = t.Dict().tag(sync=True)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.audio_paths: dict[str, Path] = {}
        self.on_msg(self._on_msg)

    def _on_msg(self, _widget: Any, content: dict, _buffers: list) -> None:
        if content.get("type") != "need":
            return
        token = str(content.get("token", ""))
        path = self.audio_paths.get(token)
        if path is None or not Path(path).exists():
            self.send({"type": "no-audio", "token": token,
                       "message": "The recording is no longer in the kernel: add it again."})
            return
        size = Path(path).stat().st_size
        mime = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg",
                ".opus": "audio/ogg", ".mp3": "audio/mpeg", ".m4a": "audio/mp4",
                ".mp4": "audio/mp4", ".webm": "audio/webm"}.get(Path(path).suffix.lower(), "")
        with open(path, "rb") as f:
            sent = 0
            while True:
                data = f.read(_SEND_CHUNK)
                sent += len(data)
                self.send({"type": "audio", "token": token, "last": sent >= size, "mime": mime},
                          buffers=[data])
                if sent >= size:
                    break
