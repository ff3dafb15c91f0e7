"""Reading and writing segment tables in other tools' formats.

* **RTTM** (`read_rttm`, `write_rttm`): speaker turns from pyannote and other diarization tools,
  the standard 10-field ``SPEAKER file 1 start dur <NA> <NA> speaker <NA> <NA>`` lines.
* **Praat TextGrid** (`write_textgrid`, `read_textgrid`): one interval tier per speaker.
* **CSV and Parquet** (`write_table`, `read_table`): round trips that keep the table's dtypes.
* **JSON answers** (`write_responses`): the v2 answer shape, readable by
  `emotion_analytics.read_responses`.

Every reader raises `~emotion_analytics.errors.BadResponseError` on malformed input, naming the
file, the line and what is wrong.

Missing values
--------------
A missing speaker or emotion is written as ``<NA>`` in RTTM and TextGrid files (the RTTM
convention for an empty field) and read back as missing.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Union

import numpy as np
import pandas as pd

from .errors import BadResponseError, require
from .responses import to_response
from .schema import COLUMNS, normalise, prob_columns

__all__ = [
    "NA_TOKEN",
    "read_rttm",
    "write_rttm",
    "read_textgrid",
    "write_textgrid",
    "read_table",
    "write_table",
    "write_responses",
]

PathLike = Union[str, "os.PathLike[str]"]

#: How a missing speaker or emotion is written in RTTM and TextGrid files.
NA_TOKEN = "<NA>"

# Record types of the NIST RTTM format other than SPEAKER: valid lines that carry no speaker turn.
_RTTM_OTHER_TYPES = frozenset(
    {"SPKR-INFO", "SEGMENT", "NOSCORE", "NO_RT_METADATA", "LEXEME", "NON-LEX", "NON-SPEECH",
     "FILLER", "EDIT", "IP", "SU", "CB", "A/P"}
)
_TABLE_TEXT_COLUMNS = ("file", "speaker", "emotion", "request_id", "channel", "text", "intent")


# --------------------------------------------------------------------------------------------
# RTTM


def read_rttm(path_or_text: PathLike, *, file: str | None = None) -> pd.DataFrame:
    """Read speaker turns from an RTTM file (or RTTM text).

    Each ``SPEAKER`` line ``SPEAKER <file> <channel> <start> <duration> <NA> <NA> <speaker>
    <NA> <NA>`` becomes one row with ``emotion`` missing: a table to pass as ``turns`` to
    ``df.emotion.assign_speakers``. Blank lines, ``#`` comments and the other NIST record types
    (``SPKR-INFO``, ``LEXEME``, ...) are skipped. A ``channel`` column is added only when some
    line names a channel other than ``1``.

    Parameters
    ----------
    path_or_text
        A path to a ``.rttm`` file, or the RTTM text itself (any string with a line break or
        starting with ``SPEAKER``).
    file
        Value of the ``file`` column, replacing the RTTM's file id (e.g. ``"call.wav"`` where
        pyannote wrote ``call``). Only for an RTTM that describes one recording.

    Returns
    -------
    pandas.DataFrame
        A segment table sorted by ``file, start, end``.

    Raises
    ------
    BadResponseError
        A malformed line (too few fields, a time that is not a number, a duration <= 0); the
        message names the file and the line number.

    Examples
    --------
    >>> turns = read_rttm("SPEAKER call 1 0.00 2.50 <NA> <NA> alice <NA> <NA>\\n"
    ...                   "SPEAKER call 1 2.50 1.25 <NA> <NA> bob <NA> <NA>\\n")
    >>> turns[["file", "speaker", "start", "end", "emotion"]]
       file speaker  start   end emotion
    0  call   alice    0.0  2.50     NaN
    1  call     bob    2.5  3.75     NaN
    """
    text, source = _read_text(path_or_text, looks_like_text=_looks_like_rttm)
    rows: list[tuple[str, str, float, float, str | None]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        kind = fields[0].upper()
        if kind in _RTTM_OTHER_TYPES:
            continue
        if kind != "SPEAKER":
            raise _line_error(
                f"unknown record type {fields[0]!r}; an RTTM speaker turn reads "
                "'SPEAKER <file> <channel> <start> <duration> <NA> <NA> <speaker> <NA> <NA>'",
                source, lineno,
            )
        if len(fields) < 8:
            raise _line_error(
                f"a SPEAKER line needs at least 8 fields (10 in standard RTTM), got {len(fields)}: "
                f"{line.strip()!r:.80}",
                source, lineno,
            )
        start = _rttm_number(fields[3], "start", source, lineno)
        dur = _rttm_number(fields[4], "duration", source, lineno)
        if start < 0:
            raise _line_error(f"start must be >= 0, got {fields[3]!r}", source, lineno)
        if dur <= 0:
            raise _line_error(f"duration must be > 0, got {fields[4]!r}", source, lineno)
        speaker = None if fields[7] == NA_TOKEN else fields[7]
        rows.append((fields[1], fields[2], start, start + dur, speaker))
    df = pd.DataFrame(rows, columns=["file", "channel", "start", "end", "speaker"])
    if file is not None:
        ids = df["file"].unique()
        if len(ids) > 1:
            raise BadResponseError(
                f"file={file!r} renames one recording, but this RTTM holds {len(ids)} "
                f"({', '.join(map(str, ids[:5]))}{', ...' if len(ids) > 5 else ''}); leave "
                "file= out to keep the RTTM's own file ids",
                source=source,
            )
        df["file"] = file
    if (df["channel"] == "1").all():
        df = df.drop(columns="channel")
    df = normalise(df)
    return df.sort_values(["file", "start", "end"], kind="stable").reset_index(drop=True)


def write_rttm(df: pd.DataFrame, path: PathLike) -> Path:
    """Write a table's segments as RTTM speaker turns, one ``SPEAKER`` line per row.

    An emotion table writes its segments as speaker turns (the emotion is not part of RTTM);
    a missing speaker is written as ``<NA>``. Times are written to the microsecond.

    Parameters
    ----------
    df
        A segment table.
    path
        Where to write (conventionally ``*.rttm``).

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    BadResponseError
        A file id or speaker contains white space (RTTM fields are separated by white space),
        or a row has no ``end``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from emotion_analytics import to_frame
    >>> df = to_frame([{"emotion": "sad", "start": 0, "end": 1.5, "speaker_id": 1}], file="call")
    >>> out = write_rttm(df, pathlib.Path(tempfile.mkdtemp()) / "call.rttm")
    >>> print(out.read_text(), end="")
    SPEAKER call 1 0.0 1.5 <NA> <NA> 1 <NA> <NA>
    """
    path = Path(path)
    table = _as_table(df, source=str(path))
    ends = table["end"].to_numpy()
    if np.isnan(ends).any():
        i = int(np.flatnonzero(np.isnan(ends))[0])
        raise BadResponseError(
            "the segment has no end (a v1 clip answer without clip_duration); RTTM needs a "
            "duration: read the answer with to_frame(..., clip_duration=seconds)",
            source=str(path), record=i,
        )
    files = _field_values(table["file"], "file id", path)
    speakers = _field_values(table["speaker"], "speaker", path)
    if "channel" in table.columns:
        channels = _field_values(table["channel"], "channel", path, missing="1")
    else:
        channels = ["1"] * len(table)
    lines = [
        f"SPEAKER {f} {c} {_num(s)} {_num(e - s)} <NA> <NA> {spk} <NA> <NA>\n"
        for f, c, s, e, spk in zip(
            files, channels, table["start"].tolist(), table["end"].tolist(), speakers,
            strict=True,
        )
    ]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _looks_like_rttm(text: str) -> bool:
    return "\n" in text or re.match(r"\s*SPEAKER\s", text) is not None


def _rttm_number(value: str, name: str, source: str | None, lineno: int) -> float:
    try:
        number = float(value)
    except ValueError:
        raise _line_error(f"{name} must be a number of seconds, got {value!r}", source,
                          lineno) from None
    if not math.isfinite(number):
        raise _line_error(f"{name} must be a finite number, got {value!r}", source, lineno)
    return number


def _field_values(col: pd.Series, what: str, path: Path, *, missing: str = NA_TOKEN) -> list[str]:
    values = [missing if _is_missing(v) else str(v) for v in col.astype(object).tolist()]
    for i, v in enumerate(values):
        if not v or re.search(r"\s", v):
            fault = "is empty" if not v else "contains white space"
            raise BadResponseError(
                f"the {what} {v!r} {fault}, which RTTM cannot hold (fields are separated by "
                "white space); rename it first, e.g. "
                f"df[{col.name!r}] = df[{col.name!r}].cat.rename_categories("
                "lambda s: s.replace(' ', '_'))",
                source=str(path), record=i,
            )
    return values


# --------------------------------------------------------------------------------------------
# Praat TextGrid


def write_textgrid(df: pd.DataFrame, path: PathLike, *, tier: str = "speaker") -> Path:
    """Write a Praat TextGrid (long text format): one interval tier per speaker.

    Each segment becomes an interval labelled with its emotion (``<NA>`` when missing); the
    gaps between segments are filled with empty intervals, as Praat requires every tier to
    cover the whole time range. Where segments of one speaker overlap, the overlapping ones go
    to an extra tier named ``"<speaker> (2)"`` (then ``(3)``, ...) so no segment is cut.

    Parameters
    ----------
    df
        A segment table of one recording (or, with ``tier="file"`` or without speakers, of
        several recordings: one tier per file).
    path
        Where to write (conventionally ``*.TextGrid``).
    tier
        The column whose values name the tiers: ``"speaker"`` (the default; a table without any
        speaker falls back to ``"file"``), ``"file"``, or any other column such as ``"channel"``.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    BadResponseError
        Several recordings with speakers (a TextGrid describes one recording: write one per
        file), or segments without an end.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from emotion_analytics import to_frame
    >>> df = to_frame([{"emotion": "happy", "start": 0.5, "end": 2.0, "speaker_id": "A"},
    ...                {"emotion": "sad", "start": 1.0, "end": 3.0, "speaker_id": "B"}],
    ...               file="call")
    >>> out = write_textgrid(df, pathlib.Path(tempfile.mkdtemp()) / "call.TextGrid")
    >>> read_textgrid(out)[["file", "speaker", "start", "end", "emotion"]]
       file speaker  start  end emotion
    0  call       A    0.5  2.0   happy
    1  call       B    1.0  3.0     sad
    """
    path = Path(path)
    table = _as_table(df, source=str(path))
    if table["end"].isna().any():
        i = int(np.flatnonzero(table["end"].isna().to_numpy())[0])
        raise BadResponseError(
            "the segment has no end; read the answer with to_frame(..., clip_duration=seconds)",
            source=str(path), record=i,
        )
    if tier not in table.columns:
        raise BadResponseError(
            f"tier={tier!r} is not a column of the table; use 'speaker', 'file' or one of "
            f"{list(table.columns)}",
            source=str(path),
        )
    if tier == "speaker" and table["speaker"].isna().all():
        tier = "file"
    n_files = table["file"].nunique()
    if tier != "file" and n_files > 1:
        raise BadResponseError(
            f"a TextGrid describes one recording, but the table holds {n_files} files; write "
            "one TextGrid per file: for name, part in df.groupby('file', observed=True): "
            "write_textgrid(part, f'{name}.TextGrid') (or pass tier='file' for one tier per file)",
            source=str(path),
        )
    xmax = float(table["end"].max()) if len(table) else 1.0
    tiers: list[tuple[str, list[tuple[float, float, str]]]] = []
    keys = table[tier].astype(object)
    order = list(dict.fromkeys(NA_TOKEN if _is_missing(k) else str(k) for k in keys))
    labels = [NA_TOKEN if _is_missing(v) else str(v) for v in table["emotion"].astype(object)]
    by_key: dict[str, list[tuple[float, float, str]]] = {k: [] for k in order}
    for k, s, e, lab in zip(keys, table["start"].tolist(), table["end"].tolist(), labels,
                                strict=True):
        by_key[NA_TOKEN if _is_missing(k) else str(k)].append((s, e, lab))
    for name in sorted(order, key=_natural_key):
        for level, intervals in enumerate(_stack_overlaps(by_key[name]), start=1):
            tiers.append((name if level == 1 else f"{name} ({level})", intervals))
    path.write_text(_textgrid_text(tiers, xmax), encoding="utf-8")
    return path


def read_textgrid(path: PathLike, *, tier: str = "speaker", file: str | None = None
                  ) -> pd.DataFrame:
    """Read the labelled intervals of a Praat TextGrid into a segment table.

    Reads the long and the short text formats (UTF-8 or Praat's UTF-16). Every non-empty
    interval of every interval tier becomes a row labelled with its text (``<NA>``: missing);
    point tiers are skipped (points have no duration). A tier ``"A (2)"`` following a tier
    ``"A"`` holds A's overlapping segments (see `write_textgrid`) and is read as ``A``.

    Parameters
    ----------
    path
        A ``.TextGrid`` file.
    tier
        The column the tier names go to: ``"speaker"`` (default) or ``"file"``.
    file
        Value of the ``file`` column (default: the file name without its extension); ignored
        with ``tier="file"``.

    Returns
    -------
    pandas.DataFrame
        A segment table sorted by ``file, start, end``.

    Raises
    ------
    BadResponseError
        The file is not a TextGrid or is cut short.

    Examples
    --------
    See `write_textgrid`.
    """
    path = Path(path)
    source = str(path)
    if tier not in ("speaker", "file"):
        raise ValueError(f"tier must be 'speaker' or 'file', got {tier!r}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadResponseError(f"cannot read the file ({exc.strerror or exc})",
                               source=source) from None
    text = _decode_praat(raw, source)
    tokens = _PraatTokens(text, source)
    try:
        header = (tokens.string(), tokens.string())
    except BadResponseError:
        header = ("", "")
    if header != ("ooTextFile", "TextGrid"):
        raise BadResponseError(
            "not a Praat TextGrid (it must begin with File type = \"ooTextFile\" and "
            "Object class = \"TextGrid\")", source=source,
        )
    tokens.number()  # xmin
    tokens.number()  # xmax
    rows: list[tuple[str, float, float, str | None]] = []
    names: set[str] = set()
    if tokens.flag():
        for _ in range(tokens.count()):
            kind = tokens.string()
            name = tokens.string()
            overflow = re.fullmatch(r"(.*) \(\d+\)", name)
            if overflow and overflow.group(1) in names:  # written by write_textgrid for overlaps
                name = overflow.group(1)
            names.add(name)
            tokens.number()
            tokens.number()
            n = tokens.count()
            if kind == "IntervalTier":
                for _ in range(n):
                    start, end, label = tokens.number(), tokens.number(), tokens.string()
                    if label.strip():
                        rows.append((name, start, end, None if label == NA_TOKEN else label))
            elif kind == "TextTier":
                for _ in range(n):
                    tokens.number()
                    tokens.string()
            else:
                raise tokens.error(f"unknown tier class {kind!r}")
    df = pd.DataFrame(rows, columns=[tier, "start", "end", "emotion"])
    if tier == "speaker":
        df["speaker"] = df["speaker"].where(df["speaker"] != NA_TOKEN, None)
        df["file"] = file if file is not None else path.stem
    bad = df.index[~(df["start"] < df["end"])]
    if len(bad):
        r = df.loc[bad[0]]
        raise BadResponseError(f"an interval of tier {r[tier]!r} ends ({r['end']}) before it "
                               f"starts ({r['start']})", source=source)
    df = normalise(df)
    return df.sort_values(["file", "start", "end"], kind="stable").reset_index(drop=True)


def _stack_overlaps(intervals: list[tuple[float, float, str]]
                    ) -> list[list[tuple[float, float, str]]]:
    """Greedy first-fit: each interval goes to the first level where it overlaps nothing."""
    levels: list[list[tuple[float, float, str]]] = []
    ends: list[float] = []
    for seg in sorted(intervals, key=lambda t: (t[0], t[1])):
        for i, last_end in enumerate(ends):
            if seg[0] >= last_end:
                levels[i].append(seg)
                ends[i] = seg[1]
                break
        else:
            levels.append([seg])
            ends.append(seg[1])
    return levels or [[]]


def _textgrid_text(tiers: list[tuple[str, list[tuple[float, float, str]]]], xmax: float) -> str:
    out = [
        'File type = "ooTextFile"',
        'Object class = "TextGrid"',
        "",
        "xmin = 0 ",
        f"xmax = {_praat_num(xmax)} ",
        "tiers? <exists> ",
        f"size = {len(tiers)} ",
        "item []: ",
    ]
    for i, (name, segments) in enumerate(tiers, start=1):
        intervals: list[tuple[float, float, str]] = []
        t = 0.0
        for s, e, label in segments:
            if s > t:
                intervals.append((t, s, ""))
            intervals.append((s, e, label))
            t = e
        if t < xmax or not intervals:
            intervals.append((t, xmax, ""))
        out += [
            f"    item [{i}]:",
            '        class = "IntervalTier" ',
            f"        name = {_praat_str(name)} ",
            "        xmin = 0 ",
            f"        xmax = {_praat_num(xmax)} ",
            f"        intervals: size = {len(intervals)} ",
        ]
        for j, (s, e, label) in enumerate(intervals, start=1):
            out += [
                f"        intervals [{j}]:",
                f"            xmin = {_praat_num(s)} ",
                f"            xmax = {_praat_num(e)} ",
                f"            text = {_praat_str(label)} ",
            ]
    return "\n".join(out) + "\n"


def _praat_num(x: float) -> str:
    return "0" if x == 0 else repr(float(x))


def _praat_str(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def _natural_key(name: str) -> list:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", name)]


def _decode_praat(raw: bytes, source: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


_PRAAT_TOKEN = re.compile(
    r'"(?P<str>(?:[^"]|"")*)"'       # a string, "" escapes a quote
    r"|(?P<index>\[\s*\d*\s*\])"     # item [3]: an index, not a value
    r"|(?P<flag><exists>|<absent>)"
    r"|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![\w.])"
    r"|(?P<comment>![^\n]*)"
)


class _PraatTokens:
    """The values of a Praat text file in order; labels such as ``xmin =`` are skipped."""

    _WHAT = {"str": "string", "num": "number", "flag": "<exists> flag"}

    def __init__(self, text: str, source: str):
        self.source = source
        self._it = (m for m in _PRAAT_TOKEN.finditer(text) if m.lastgroup in ("str", "num",
                                                                               "flag"))
        self.n = 0

    def _next(self, want: str) -> re.Match:
        self.n += 1
        m = next(self._it, None)
        if m is None:
            raise self.error(f"the file ends where a {self._WHAT[want]} was expected (cut short?)")
        if m.lastgroup != want:
            raise self.error(f"expected a {self._WHAT[want]}, found {m.group(0)!r:.40}")
        return m

    def error(self, msg: str) -> BadResponseError:
        return BadResponseError(f"malformed TextGrid at value {self.n}: {msg}", source=self.source)

    def string(self) -> str:
        return self._next("str").group("str").replace('""', '"')

    def number(self) -> float:
        return float(self._next("num").group("num"))

    def count(self) -> int:
        x = self.number()
        if not x.is_integer() or x < 0:
            raise self.error(f"expected a count, found {x}")
        return int(x)

    def flag(self) -> bool:
        return self._next("flag").group("flag") == "<exists>"


# --------------------------------------------------------------------------------------------
# CSV / Parquet


def write_table(df: pd.DataFrame, path: PathLike) -> Path:
    """Write a segment table to CSV or Parquet, chosen by the file's extension.

    ``.csv`` (also ``.csv.gz``, ``.csv.bz2``, ``.csv.xz``, ``.csv.zip``) writes plain text
    (missing values as empty fields, floats at full precision); ``.parquet`` / ``.pq`` needs
    pyarrow (``pip install 'emotion_analytics[parquet]'``) and keeps every dtype as is.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from emotion_analytics import to_frame
    >>> df = to_frame([{"emotion": "sad", "start": 0, "end": 1.5, "speaker_id": 1}], file="a")
    >>> back = read_table(write_table(df, pathlib.Path(tempfile.mkdtemp()) / "seg.csv"))
    >>> back.equals(df)
    True
    """
    path = Path(path)
    kind = _table_kind(path)
    if kind == "parquet":
        require("pyarrow", "parquet")
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return path


def read_table(path: PathLike) -> pd.DataFrame:
    """Read a segment table written by `write_table` (or any CSV/Parquet with the columns).

    Text columns (``file``, ``speaker``, ``emotion``, ``request_id``, ``channel``, ``text``,
    ``intent``) are read as text, so speaker ``"01"`` stays ``"01"``; only empty fields are
    missing (a label ``"NA"`` stays ``"NA"``). The result goes through
    `emotion_analytics.schema.normalise` and `~emotion_analytics.schema.validate`.

    Raises
    ------
    BadResponseError
        An unknown extension, an unreadable file, a column that should hold numbers but does
        not (naming the line), or rows that break the table's rules.

    Examples
    --------
    See `write_table`.
    """
    from .schema import validate

    path = Path(path)
    source = str(path)
    kind = _table_kind(path)
    if not path.exists():
        raise BadResponseError("file not found", source=source)
    if kind == "parquet":
        require("pyarrow", "parquet")
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types
            raise BadResponseError(f"not a readable Parquet file ({exc})", source=source) from None
    else:
        try:
            header = pd.read_csv(path, nrows=0).columns
            text_cols = {c: str for c in header if c in _TABLE_TEXT_COLUMNS}
            df = pd.read_csv(path, dtype=text_cols, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
                OSError) as exc:
            raise BadResponseError(f"not a readable CSV file ({exc})", source=source) from None
    missing = [c for c in ("file", "start", "end") if c not in df.columns]
    if missing:
        raise BadResponseError(
            f"not a segment table: missing column(s) {missing} (found {list(df.columns)[:10]})",
            source=source,
        )
    _check_numeric(df, source, csv=kind == "csv")
    return validate(normalise(df), source=source)


def _check_numeric(df: pd.DataFrame, source: str, *, csv: bool) -> None:
    for col in ["start", "end", "duration", "confidence", *prob_columns(df)]:
        if col not in df.columns or pd.api.types.is_numeric_dtype(df[col]):
            continue
        as_num = pd.to_numeric(df[col], errors="coerce")
        bad = np.flatnonzero(as_num.isna().to_numpy() & df[col].notna().to_numpy())
        if bad.size:
            i = int(bad[0])
            where = f"line {i + 2}" if csv else f"row {i}"
            raise BadResponseError(f"{where}: column {col!r} must hold numbers, got "
                                   f"{df[col].iloc[i]!r:.40}", source=source)


def _table_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if re.search(r"\.csv(\.(gz|bz2|xz|zip))?$", name):
        return "csv"
    raise BadResponseError(
        f"unknown table extension {''.join(path.suffixes) or '(none)'!r}; use .csv (optionally "
        ".csv.gz) or .parquet",
        source=str(path),
    )


# --------------------------------------------------------------------------------------------
# JSON answers


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


# --------------------------------------------------------------------------------------------
# shared helpers


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _num(x: float) -> str:
    text = f"{x:.6f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _line_error(msg: str, source: str | None, lineno: int) -> BadResponseError:
    return BadResponseError(f"line {lineno}: {msg}", source=source)


def _read_text(path_or_text: PathLike, *, looks_like_text) -> tuple[str, str | None]:
    if isinstance(path_or_text, str) and looks_like_text(path_or_text) \
            and not os.path.isfile(path_or_text):
        return path_or_text, None
    path = Path(path_or_text)
    try:
        return path.read_text(encoding="utf-8-sig"), str(path)
    except FileNotFoundError:
        raise BadResponseError("file not found; give a path or the text itself",
                               source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadResponseError(f"cannot read the file ({exc})", source=str(path)) from None


def _as_table(df: pd.DataFrame, *, source: str) -> pd.DataFrame:
    missing = [c for c in ("file", "start", "end") if c not in df.columns]
    if missing:
        raise BadResponseError(
            f"not a segment table: missing column(s) {missing}; build one with "
            "emotion_analytics.to_frame() or emotion_analytics.schema.normalise()",
            source=source,
        )
    if all(c in df.columns for c in COLUMNS):
        return df
    return normalise(df)
