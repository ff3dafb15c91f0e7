"""Saved JSON answers, read and written: `read_responses` and `write_responses`.

Files hold the v2 answer shape (or any shape `emotion_analytics.to_frame` reads: webhook
payloads, v1 scores, dicts of answers keyed by file). One answer object goes to and from a
table with `emotion_analytics.to_frame` and `emotion_analytics.to_response`; this module
handles the files and folders around them.
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..errors import BadResponseError
from ..responses import LabelMapping, to_frame, to_response
from ..schema import normalize
from ._shared import PathLike

__all__ = ["read_responses", "write_responses"]


def read_responses(
    paths_or_glob: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    labels: LabelMapping = None,
) -> pd.DataFrame:
    """Read many saved answers (``.json`` files) into one table.

    Parameters
    ----------
    paths_or_glob
        A glob pattern (``"answers/*.json"``), a folder (all ``*.json`` inside), one path, or an
        iterable of paths. Each file's stem becomes its ``file`` value.
    labels
        Optional explicit label mapping, as in `to_frame`.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.json").write_text(json.dumps([{"emotion": "sad", "start": 0, "end": 2}]))
    >>> _ = (folder / "b.json").write_text(json.dumps({"request_id": "r1", "response":
    ...        [{"emotion": "happy", "start": 0, "end": 1}]}))
    >>> read_responses(folder)[["file", "emotion", "request_id"]]
      file emotion request_id
    0    a     sad        NaN
    1    b   happy         r1
    """
    paths = _expand_paths(paths_or_glob)
    frames = []
    for path in paths:
        frames.append(to_frame(Path(path), labels=labels))
    if not frames:
        raise BadResponseError(f"no answer files found for {paths_or_glob!r}")
    return normalize(pd.concat(frames, ignore_index=True))


def write_responses(df: pd.DataFrame, folder_or_path: PathLike, *, extras: bool = True
                    ) -> list[Path]:
    """Write a table as v2 JSON answers that `emotion_analytics.read_responses` reads back.

    Parameters
    ----------
    df
        A segment table.
    folder_or_path
        A path ending in ``.json``: one file holding the v2 list (one recording) or a dict of
        lists keyed by file (several). Anything else is a folder (created if needed) that gets
        one ``<file>.json`` per recording, holding the v2 list; a file name that cannot be a
        file's name as is (``/`` in a URL, ...) is written to a safe name and the JSON keeps the
        real name as its key (``{"<file>": [...]}``). A recording with one ``request_id`` is
        written as a webhook payload ``{"request_id", "response"}`` so the id is kept.
    extras
        As in `emotion_analytics.to_response`: also write ``speaker_id``, ``confidence``,
        ``scores`` and ``request_id``.

    Returns
    -------
    list of pathlib.Path
        The written files.

    Examples
    --------
    >>> import tempfile
    >>> from emotion_analytics import to_frame, read_responses
    >>> df = to_frame({"a.wav": [{"emotion": "sad", "start": 0, "end": 1}],
    ...                "b.wav": [{"emotion": "joy", "start": 0, "end": 2}]})
    >>> [p.name for p in write_responses(df, tempfile.mkdtemp())]
    ['a.wav.json', 'b.wav.json']
    """
    target = Path(folder_or_path)
    if target.suffix.lower() == ".json":
        target.parent.mkdir(parents=True, exist_ok=True)
        files = df["file"].astype(object).unique().tolist()
        if len(files) == 1:
            answer = _answer_of(df, extras=extras)
        else:
            answer = {str(f): _answer_of(df[df["file"] == f], extras=extras) for f in files}
        target.write_text(json.dumps(answer, indent=1), encoding="utf-8")
        return [target]
    target.mkdir(parents=True, exist_ok=True)
    written = []
    used: set[str] = set()
    for name, part in df.groupby("file", observed=True, sort=False):
        name = str(name)
        answer = _answer_of(part, extras=extras)
        stem = _safe_stem(name, used)
        if stem != name:
            answer = {name: answer}
        out = target / f"{stem}.json"
        out.write_text(json.dumps(answer, indent=1), encoding="utf-8")
        written.append(out)
    return written


def _answer_of(part: pd.DataFrame, *, extras: bool) -> list | dict:
    """One recording's v2 list; wrapped as a webhook payload when it has one request id."""
    segments = to_response(part, extras=extras) if len(part) else []
    if extras and "request_id" in part.columns:
        ids = part["request_id"].dropna().unique()
        if len(ids) == 1 and part["request_id"].notna().all():
            for seg in segments:
                seg.pop("request_id", None)
            return {"request_id": str(ids[0]), "response": segments}
    return segments


def _safe_stem(name: str, used: set[str]) -> str:
    stem = name
    if re.search(r'[\\/:*?"<>|\x00-\x1f]', name) or name in ("", ".", "..") or \
            name.lower() in used:
        stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", name).strip(". ") or "answer"
        base, k = stem, 2
        while stem.lower() in used:
            stem = f"{base}_{k}"
            k += 1
    used.add(stem.lower())
    return stem


def _expand_paths(spec: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    if isinstance(spec, (str, os.PathLike)):
        text = os.fspath(spec)
        if os.path.isdir(text):
            return sorted(Path(text).glob("*.json"))
        if glob.has_magic(text):
            return [Path(p) for p in sorted(glob.glob(text))]
        if not os.path.exists(text):
            raise BadResponseError(
                "file not found; give a path, a folder or a glob pattern", source=text
            )
        return [Path(text)]
    return [Path(p) for p in spec]
