"""Results written where they land: one Parquet part per recording and a ``_manifest``.

``analyze_files(paths, output="out/")`` (``emotion-analytics analyze ... -o out/``) does not
gather the table on the client. Each worker writes its recording's rows as one Parquet part
into the output folder, and the client appends one line per finished recording to the folder's
``_manifest``, so the client's memory does not grow with the number of files::

    out/
      part-3f2a9c0d11e4b7a2.parquet   one per recording with speech (name: a hash of its source)
      part-...
      _manifest                       JSON lines: source, file, status (done / failed), size and
                                      mtime or ETag, part, rows, error, time

A part is written under a temporary name and renamed into place (atomic on one file system),
and its manifest line is appended only after that, so a run killed at any moment (the client or
a worker, SIGKILL included) leaves only whole parts and loses at most the recordings in flight.
A part's name depends only on its source, so a recording analysed again replaces its part
instead of adding a second one.

The folder may be a URL of object storage (``-o s3://bucket/results/``; the ``cloud`` extra):
each worker then writes its parts straight into the bucket (an object appears whole when its
upload completes), and, since nothing can be appended to an object, each manifest line is an
object of its own under ``_manifest.d/``, named so that they list in the order written. Nothing
needs to be shared between the machines but the bucket.

Running the same command again skips every recording whose last manifest line says ``done``
for the same source with the same size and mtime (local files) or size and ETag (URLs);
``force=True`` (``--force``) analyses everything again. Later lines win over earlier ones.

`read_results` reads the folder back: the parts its manifest names as done, as one pandas
table, or as a Dask DataFrame with one partition per recording (``dask=True``); ``df.emotion``
works on both. `read_manifest` gives the manifest as a table (done and failed recordings).

>>> import tempfile
>>> from emotion_analytics.batch import analyze_files
>>> out = tempfile.mkdtemp() + "/results/"
>>> first = analyze_files(["data/conversation.wav", "data/missing.wav"], output=out)
>>> first.done, list(first.failures)
(['data/conversation.wav'], ['data/missing.wav'])
>>> again = analyze_files(["data/conversation.wav"], output=out)
>>> again.done, again.skipped
([], ['data/conversation.wav'])
>>> df = read_results(out)
>>> df["file"].unique().tolist(), round(float(df.emotion.durations().sum(axis=1).iloc[0]))
(['data/conversation.wav'], 41)
>>> read_manifest(out)[["file", "status"]].to_string(index=False)
'                 file status\\ndata/conversation.wav   done\\n     data/missing.wav failed'
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import BadResponseError, require
from .storage import filesystem, is_url

__all__ = ["MANIFEST", "Manifest", "read_results", "read_manifest", "is_output_folder",
           "part_name", "write_part"]

#: The manifest's file name inside an output folder.
MANIFEST = "_manifest"


def is_output_folder(path: Any) -> bool:
    """True when ``-o`` names a folder of parts: it ends with ``/`` or is an existing folder.

    >>> is_output_folder("out/"), is_output_folder("out.parquet/"), is_output_folder("t.csv")
    (True, True, False)
    """
    text = os.fspath(path)
    return text.endswith(("/", os.sep)) or os.path.isdir(text)


def part_name(key: str) -> str:
    """The part file of a recording: a hash of its source (absolute path or URL).

    >>> part_name("/calls/a.wav")
    'part-....parquet'
    """
    return f"part-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:16]}.parquet"


def write_part(table: pd.DataFrame, folder: str | os.PathLike, part: str) -> str:
    """Write one recording's rows as ``folder/part``: a temporary name, then an atomic rename
    (on object storage, one upload: the object appears whole or not at all)."""
    require("pyarrow", "parquet")
    # text, not dictionaries: parts with different categories (or none) read back as one table
    plain = table.astype({c: object for c in table.columns
                          if isinstance(table[c].dtype, pd.CategoricalDtype)})
    if is_url(os.fspath(folder)):
        fs, root = filesystem(os.fspath(folder))
        with fs.open(f"{root.rstrip('/')}/{part}", "wb") as f:
            plain.to_parquet(f, index=False)
        return f"{os.fspath(folder).rstrip('/')}/{part}"
    final = Path(folder) / part
    temporary = final.with_name(f".{part}.{uuid.uuid4().hex}.tmp")
    try:
        plain.to_parquet(temporary, index=False)
        os.replace(temporary, final)
    finally:
        if temporary.exists():
            temporary.unlink()
    return str(final)


class Manifest:
    """The manifest of an output folder: JSON lines, appended, the last line per source wins.

    In a local folder the lines are the file ``_manifest``; on object storage (a URL) each line
    is an object under ``_manifest.d/`` (see `emotion_analytics.results`).

    Parameters
    ----------
    folder : path or URL
        The output folder (created when missing).
    """

    def __init__(self, folder: str | os.PathLike):
        self.url = os.fspath(folder).rstrip("/") if is_url(os.fspath(folder)) else None
        if self.url is not None:
            self.fs, self._root = filesystem(self.url)
            self._root = self._root.rstrip("/")
            self.path = f"{self._root}/{MANIFEST}.d"
            bucket = self._root.split("/", 1)[0]
            try:
                found = self.fs.exists(bucket)
            except OSError as exc:
                raise BadResponseError(f"cannot reach the output bucket {bucket!r} ({exc})",
                                       source=self.url) from None
            if not found:
                raise BadResponseError(f"no bucket {bucket!r} here (or no right to see it); "
                                       "create it, or give -o a bucket you can write",
                                       source=self.url)
            return
        self.folder = Path(folder)
        self.path = self.folder / MANIFEST
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadResponseError(f"cannot create the output folder ({exc.strerror}); give a "
                                   "folder this machine can write", source=str(folder)) from None

    def part(self, name: str) -> str:
        """Where a part of this folder is (a path, or a URL on object storage)."""
        return f"{self.url}/{name}" if self.url is not None else str(self.folder / name)

    def exists(self) -> bool:
        """Whether anything has been written to the manifest yet."""
        if self.url is not None:
            return bool(self._line_objects())
        return self.path.exists()

    def missing_parts(self, names: list[str]) -> list[str]:
        """Which of these parts are not there (on object storage: one listing of the folder)."""
        if self.url is not None:
            try:
                there = {key.rsplit("/", 1)[-1]
                         for key in self.fs.ls(self._root, detail=False, refresh=True)}
            except FileNotFoundError:
                there = set()
            return [self.part(n) for n in names if n not in there]
        return [self.part(n) for n in names if not (self.folder / n).exists()]

    def read_part(self, name: str) -> pd.DataFrame:
        """One part, as written (text columns as text)."""
        if self.url is None:
            return pd.read_parquet(self.part(name))
        with self.fs.open(f"{self._root}/{name}", "rb") as f:
            return pd.read_parquet(f)

    def _line_objects(self) -> list[str]:
        try:
            return sorted(self.fs.ls(self.path, detail=False, refresh=True))
        except FileNotFoundError:
            return []

    def _lines(self):
        if self.url is not None:
            for key in self._line_objects():
                yield self.fs.cat_file(key).decode("utf-8")
            return
        if self.path.exists():
            with open(self.path, encoding="utf-8") as f:
                yield from f

    def entries(self) -> dict[str, dict]:
        """Source -> its last manifest line (a line torn by a killed writer is skipped)."""
        out: dict[str, dict] = {}
        for line in self._lines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and "source" in entry:
                out[entry["source"]] = entry
        return out

    def append(self, entry: dict) -> None:
        """Add one line, flushed to disk (or uploaded) before returning."""
        entry = {**entry, "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        if self.url is not None:  # an object per line, named to list in the order written
            self.fs.pipe_file(f"{self.path}/{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json",
                              line.encode("utf-8"))
            return
        with open(self.path, "ab") as f:
            if f.tell() and not self._ends_with_newline():
                line = "\n" + line  # after a torn line, start a new one
            f.write(line.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"


def read_manifest(folder: str | os.PathLike) -> pd.DataFrame:
    """Every recording of an output folder, with its last status: one row per source.

    Columns: ``source`` (absolute path or URL), ``file`` (as given), ``status`` (``done`` or
    ``failed``), ``rows``, ``part``, ``error``, ``size``, ``mtime_ns``, ``etag``, ``time``.
    """
    manifest = _existing(folder)
    rows = [{**{k: v for k, v in e.items() if k != "identity"}, **(e.get("identity") or {})}
            for e in manifest.entries().values()]
    columns = ["source", "file", "status", "rows", "part", "error", "size", "mtime_ns", "etag",
               "time"]
    table = pd.DataFrame(rows)
    for col in columns:
        if col not in table.columns:
            table[col] = None
    return table[columns + [c for c in table.columns if c not in columns]]


def read_results(folder: str | os.PathLike, *, dask: bool = False):
    """Read an output folder written by ``analyze ... -o DIR/``: the segment table.

    Parameters
    ----------
    folder : path or URL
        The output folder (local, or on object storage).
    dask : bool
        Return a Dask DataFrame with one partition per recording (nothing is read until it is
        computed) instead of a pandas table. Needs the ``dask`` extra.

    Returns
    -------
    pandas.DataFrame or dask.dataframe.DataFrame
        The rows of every recording the manifest lists as done, ordered by ``file``; ``df.emotion``
        works on both (on Dask, with ``partitioned_by_file=True`` since each partition is one
        recording).

    Raises
    ------
    BadResponseError
        The folder has no manifest, or a part it lists is missing.

    Examples
    --------
    See `emotion_analytics.results`.
    """
    from .schema import PROB_PREFIX, empty_frame, normalize

    manifest = _existing(folder)
    done = sorted((e for e in manifest.entries().values()
                   if e.get("status") == "done" and e.get("part")),
                  key=lambda e: (str(e.get("file")), e["source"]))
    parts = [manifest.part(e["part"]) for e in done]
    missing = manifest.missing_parts([e["part"] for e in done])
    if missing:
        raise BadResponseError(f"{len(missing)} part(s) the manifest lists are missing (first: "
                               f"{missing[0]}); run the same command again with --force",
                               source=str(folder))
    require("pyarrow", "parquet")
    if dask:
        dd = require("dask.dataframe", "dask")
        from . import dask_accessor

        dask_accessor.register()
        if not parts:
            return dd.from_pandas(empty_frame(), npartitions=1)
        lazy = dd.read_parquet(parts)
        meta = normalize(lazy._meta.astype({c: object for c in _TEXT if c in lazy.columns}))
        return lazy.map_partitions(_from_part, meta=meta)
    if not parts:
        return empty_frame()
    tables = [manifest.read_part(e["part"]) for e in done]
    if len(tables) == 1:
        return _from_part(tables[0])
    table = _from_part(pd.concat(tables, ignore_index=True))
    probs = list(dict.fromkeys(c for t in tables for c in t.columns if c.startswith(PROB_PREFIX)))
    return table[[c for c in table.columns if c not in probs] + probs]


#: Columns stored as text in the parts and made categorical again when read.
_TEXT = ("file", "speaker", "emotion")


def _from_part(table: pd.DataFrame) -> pd.DataFrame:
    """A part (or several) as the segment table: text columns back to categories."""
    from .schema import normalize

    return normalize(table.astype({c: object for c in _TEXT if c in table.columns}))


def _existing(folder: str | os.PathLike) -> Manifest:
    text = os.fspath(folder)
    if not is_url(text) and not (Path(folder) / MANIFEST).exists():
        raise BadResponseError(f"no {MANIFEST} here: not an output folder of "
                               "`analyze ... -o DIR/` (or nothing has finished yet)",
                               source=text)
    manifest = Manifest(folder)
    if not manifest.exists():
        raise BadResponseError(f"no {MANIFEST}.d/ here: not an output folder of "
                               "`analyze ... -o URL/` (or nothing has finished yet)", source=text)
    return manifest
