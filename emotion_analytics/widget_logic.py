"""The widget app's run logic as plain functions: engines, uploads, speaker turns, analysis.

`make_engine` turns the engine choice and the base URL/API key fields into an engine;
`read_turns` reads uploaded RTTM files; `analyze_uploads` runs the files through the engine (with
their speaker turns, progress in seconds and a cancel flag), collecting one readable error per
failed file (`friendly_message`); `rename_speakers` renames speakers. `emotion_analytics.widgets`
re-exports them all.

Examples
--------
>>> make_engine("local")
'local'
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from .errors import AnalysisCancelled, AppInputError, EmotionAnalyticsError

__all__ = [
    "ENGINES",
    "HOSTED_URL",
    "AppInputError",
    "FileFailure",
    "Progress",
    "AnalysisCancelled",
    "make_engine",
    "unique_labels",
    "read_turns",
    "analyze_uploads",
    "rename_speakers",
    "friendly_message",
]

#: Engine choices of the app: key -> label shown in the drop-down.
ENGINES: dict[str, str] = {
    "local": "Embedded model (offline)",
    "encoder": "Whisper encoder (offline, encoder extra)",
    "server": "Our server (self-hosted API)",
    "hosted": "Hosted DeepAffects service",
}
#: Base URL of the hosted DeepAffects service (the default for the ``"hosted"`` engine).
HOSTED_URL = "https://proxy.api.deepaffects.com"
#: Default base URL for the ``"server"`` engine: ``emotion-analytics serve`` on this machine.
LOCAL_SERVER_URL = "http://127.0.0.1:8000"

#: ``progress(event)`` gets a `Progress` before each file, as it is analysed, and at the end.
ProgressCallback = Callable[["Progress"], None]


class FileFailure(NamedTuple):
    """One file that could not be analysed, and why (the message says what to do)."""

    file: str
    message: str


class Progress(NamedTuple):
    """Where a run is: file ``index`` (0-based) of ``n_files``, ``seconds`` of ``total`` analysed.

    ``name`` is the file being analysed ("" once all are done); ``total`` is NaN when a file's
    length is not known yet.
    """

    index: int
    n_files: int
    name: str
    seconds: float = 0.0
    total: float = float("nan")

    @property
    def fraction(self) -> float:
        """The share of the run done, counting each file as one part (0 to 1)."""
        inside = self.seconds / self.total if self.total and self.total == self.total else 0.0
        return min(1.0, (self.index + min(max(inside, 0.0), 1.0)) / max(self.n_files, 1))


def make_engine(engine: str = "local", *, base_url: str | None = None, api_key: str | None = None):
    """The engine for an app choice: ``"local"``, ``"encoder"``, ``"server"`` or ``"hosted"``.

    Parameters
    ----------
    engine : {"local", "encoder", "server", "hosted"}
        The embedded model, the Whisper-encoder engine (``encoder`` extra), a self-hosted
        ``emotion-analytics serve``, or the hosted service.
    base_url : str, optional
        Where the API answers. Required for ``"server"``; ``"hosted"`` defaults to `HOSTED_URL`.
    api_key : str, optional
        The API key (required for ``"hosted"``; for ``"server"`` when the operator set keys).

    Returns
    -------
    str or EmotionClient
        ``"local"`` or ``"encoder"``, or an `emotion_analytics.EmotionClient` for the remote
        engines.

    Raises
    ------
    AppInputError
        An unknown engine, a missing base URL or a missing key; the message says what to enter.

    Examples
    --------
    >>> make_engine("local")
    'local'
    >>> make_engine("server", base_url="")
    Traceback (most recent call last):
    ...
    emotion_analytics.errors.AppInputError: Our server needs a base URL, ...
    """
    if engine in ("local", "encoder"):
        return engine
    if engine not in ENGINES:
        raise AppInputError(f"Unknown engine {engine!r}: choose one of {sorted(ENGINES)}.")
    base_url = (base_url or "").strip()
    api_key = (api_key or "").strip() or None
    if engine == "hosted":
        base_url = base_url or HOSTED_URL
        if not api_key:
            raise AppInputError(
                "The hosted service needs an API key: enter your DeepAffects key in the "
                "'API key' field, or choose the embedded model, which needs no account."
            )
    if not base_url:
        raise AppInputError(
            "Our server needs a base URL, e.g. http://127.0.0.1:8000 for a server started with "
            "'emotion-analytics serve --port 8000' on this machine."
        )
    if not re.match(r"^https?://", base_url):
        raise AppInputError(
            f"The base URL {base_url!r} must start with http:// or https://, "
            "e.g. http://127.0.0.1:8000."
        )
    from .client import EmotionClient

    return EmotionClient(base_url=base_url, api_key=api_key)


def unique_labels(names: Iterable[str]) -> list[str]:
    """Names made unique the way the app shows them: ``a.wav``, ``a.wav (2)``, ...

    Examples
    --------
    >>> unique_labels(["a.wav", "b.wav", "a.wav"])
    ['a.wav', 'b.wav', 'a.wav (2)']
    """
    out: list[str] = []
    for name in names:
        label, k = name, 1
        while label in out:
            k += 1
            label = f"{name} ({k})"
        out.append(label)
    return out


def _as_uploads(uploads: Any) -> list[tuple[str, bytes | Path]]:
    """(label, bytes or path) pairs from a FileUpload value, a mapping, pairs, paths or Uploads.

    Labels are unique: a second file of the same name is ``name (2)``.
    """
    if isinstance(uploads, Mapping):
        uploads = list(uploads.items())
    out: list[tuple[str, bytes | Path]] = []
    for i, item in enumerate(uploads):
        if hasattr(item, "label") and hasattr(item, "path"):  # widget_parts.Upload
            out.append((str(item.label), Path(item.path)))
        elif isinstance(item, (str, Path)):
            path = Path(item)
            out.append((path.name, path))
        elif isinstance(item, Mapping) and "content" in item:
            out.append((str(item.get("name") or f"upload {i + 1}"), bytes(item["content"])))
        elif isinstance(item, tuple) and len(item) == 2:
            name, content = item
            if isinstance(content, Mapping):  # ipywidgets 7: {name: {"content": ...}}
                content = content["content"]
            out.append((str(name), content if isinstance(content, Path) else bytes(content)))
        else:
            raise AppInputError(
                f"upload {i + 1}: expected a FileUpload entry (a dict with 'name' and 'content'), "
                f"a (name, bytes) pair or a path, got {type(item).__name__}"
            )
    labels = unique_labels([name for name, _ in out])
    return [(label, src) for label, (_, src) in zip(labels, out, strict=True)]


def read_turns(uploads: Any) -> pd.DataFrame | None:
    """Speaker turns from uploaded RTTM files (any form `analyze_uploads` takes), or None.

    Raises
    ------
    AppInputError
        A file that is not RTTM; the message names it and the line.

    Examples
    --------
    >>> turns = read_turns([("call.rttm", b"SPEAKER call 1 0.0 2.5 <NA> <NA> agent <NA> <NA>")])
    >>> turns[["file", "speaker", "start", "end"]].values.tolist()
    [['call', 'agent', 0.0, 2.5]]
    >>> read_turns([]) is None
    True
    """
    from .io import read_rttm

    tables = []
    for label, src in _as_uploads(uploads):
        data = src.read_bytes() if isinstance(src, Path) else src
        text = data.decode("utf-8", errors="replace")
        if not text.strip():
            raise AppInputError(f"{label}: the RTTM file is empty: upload the speaker turns again.")
        try:
            tables.append(read_rttm(text if "\n" in text else text + "\n"))
        except EmotionAnalyticsError as exc:
            raise AppInputError(f"{label} is not a readable RTTM file: {exc}") from None
    if not tables:
        return None
    return pd.concat(tables, ignore_index=True)


def _turns_of(turns: pd.DataFrame | None, label: str, n_files: int) -> pd.DataFrame | None:
    """The turns that belong to one upload: all of them for a single upload, else by name."""
    if turns is None or not len(turns):
        return None
    if n_files == 1:
        return turns.drop(columns=["file"], errors="ignore")
    from .analysis.speakers import _match_recordings

    name = re.sub(r" \(\d+\)$", "", label)
    hit = _match_recordings(pd.Index([name]), turns["file"].astype(str).to_numpy(dtype=object))
    rows = turns[hit >= 0]
    return rows.drop(columns=["file"]) if len(rows) else None


def analyze_uploads(
    uploads: Any,
    *,
    engine: str = "local",
    base_url: str | None = None,
    api_key: str | None = None,
    channels: str = "mono",
    turns: pd.DataFrame | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    **options: Any,
) -> tuple[pd.DataFrame, list[FileFailure]]:
    """Analyse uploaded audio files; one table for all that worked, one error per file that failed.

    Parameters
    ----------
    uploads : FileUpload value, mapping, or iterable
        What a `ipywidgets.FileUpload` holds (dicts with ``name`` and ``content``), a mapping
        ``name -> bytes``, ``(name, bytes)`` pairs, paths, or the app's uploads. Two files of
        the same name stay apart: the second is ``name (2)`` in the ``file`` column.
    engine, base_url, api_key : str
        The engine choice, see `make_engine`.
    channels : {"mono", "speakers"}
        ``"speakers"``: each channel of a stereo call is one speaker.
    turns : DataFrame, optional
        Speaker turns (`read_turns`): with one upload they are its turns; with several, each
        file gets the turns whose ``file`` names it (a file without turns is analysed without).
    progress : callable, optional
        Called with a `Progress` before each file, as seconds of it are analysed, and once at
        the end (``name`` is then ``""``).
    cancel : threading.Event, optional
        Set it to stop: the run raises `AnalysisCancelled` within a block of audio (a minute
        with the embedded model), holding the files finished before.
    **options
        Passed to `emotion_analytics.recognise` (e.g. ``window=3.0``).

    Returns
    -------
    table : DataFrame
        The segment table of every file analysed; ``file`` is the upload's name.
    errors : list of FileFailure
        One entry per file that could not be analysed, with a message that says what to do.

    Raises
    ------
    AppInputError
        The engine settings cannot work (nothing is analysed then).
    AnalysisCancelled
        ``cancel`` was set.

    Examples
    --------
    >>> from pathlib import Path
    >>> wav = sorted(Path("data").glob("*.wav"))[0]
    >>> table, errors = analyze_uploads({wav.name: wav.read_bytes(), "notes.txt": b"hello"})
    >>> table["file"].unique().tolist() == [wav.name], len(errors)
    (True, 1)
    >>> errors[0].file
    'notes.txt'
    """
    from .recognition import recognise

    engine_obj = make_engine(engine, base_url=base_url, api_key=api_key)
    files = _as_uploads(uploads)
    if turns is not None and channels != "mono":
        raise AppInputError(
            "Speaker turns (RTTM) and 'one speaker per channel' both say who speaks: untick the "
            "stereo box to use the turns, or remove the RTTM file to use the channels."
        )
    tables: list[pd.DataFrame] = []
    errors: list[FileFailure] = []
    n = len(files)

    def stopped() -> AnalysisCancelled:
        return AnalysisCancelled(_concat(tables), errors)

    for i, (label, content) in enumerate(files):
        if cancel is not None and cancel.is_set():
            raise stopped()
        if progress is not None:
            progress(Progress(i, n, label))
        if isinstance(content, bytes) and not content:
            errors.append(FileFailure(label, "the file is empty: upload it again."))
            continue

        def on_seconds(done: float, total: float, i: int = i, label: str = label) -> None:
            if cancel is not None and cancel.is_set():
                raise stopped()
            if progress is not None:
                progress(Progress(i, n, label, float(done), float(total)))

        try:
            table = recognise(content, engine=engine_obj, channels=channels, file=label,
                              turns=_turns_of(turns, label, n), progress=on_seconds, **options)
        except AnalysisCancelled:
            raise
        except EmotionAnalyticsError as exc:
            errors.append(FileFailure(label, friendly_message(exc)))
            continue
        except OSError as exc:  # e.g. the uploaded copy was removed meanwhile
            errors.append(FileFailure(label, f"could not be read ({exc.strerror or exc}): "
                                             "add the file again."))
            continue
        tables.append(table)
    if progress is not None:
        progress(Progress(n, n, ""))
    return _concat(tables), errors


def _concat(tables: list[pd.DataFrame]) -> pd.DataFrame:
    from . import schema

    if not tables:
        return schema.empty_frame()
    return schema.normalize(pd.concat(tables, ignore_index=True))


def friendly_message(exc: Exception) -> str:
    """An error's message for people: no Python reprs, and what to do.

    Examples
    --------
    >>> from emotion_analytics.errors import BadAudioError
    >>> friendly_message(BadAudioError("<9 bytes>: not audio (it starts with b'Meeting ')"))
    'not audio (it starts with "Meeting ")'
    """
    from .errors import APIError

    message = re.sub(r"^<\d+ bytes>: ", "", str(exc))
    message = re.sub(r"""\bb(['"])(.*?)\1""", lambda m: '"' + m.group(2) + '"', message)
    unreachable = re.match(r"^no answer from (\S+?)(?: after \d+ tries)?:(?:\s|$)", message)
    if unreachable:
        url = unreachable.group(1)
        low = message.lower()
        reason = ("the connection was refused" if "refused" in low
                  else "it timed out" if "timed out" in low
                  else "the server could not be reached")
        message = (f"no answer from {url} ({reason}). Start the server with "
                   "`emotion-analytics serve` (it listens on http://127.0.0.1:8000), or check "
                   "the base URL.")
    if isinstance(exc, APIError) and exc.status == 401:
        message += " Check the API key."
    return message


def rename_speakers(df: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """The table with speakers renamed (``{"ch0": "agent"}``); blank new names keep the old.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "sad", "start": 0, "end": 1, "speaker_id": "ch0"}], file="c")
    >>> rename_speakers(df, {"ch0": "agent"})["speaker"].tolist()
    ['agent']
    """
    mapping = {str(k): str(v).strip() for k, v in names.items() if str(v).strip()}
    if not mapping or "speaker" not in df.columns:
        return df
    out = df.copy()
    out["speaker"] = out["speaker"].astype(object).map(
        lambda s: s if s is None or s != s else mapping.get(str(s), s))
    from . import schema

    return schema.normalize(out)
