"""Praat TextGrid files (`write_textgrid`, `read_textgrid`): one interval tier per speaker.

Long and short text formats are read (UTF-8 or Praat's UTF-16); the long format is written.
A missing speaker or emotion is written as ``<NA>`` and read back as missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import BadResponseError
from ..schema import normalize
from ._shared import NA_TOKEN, PathLike, as_table, is_missing

__all__ = ["read_textgrid", "write_textgrid"]


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
    table = as_table(df, source=str(path))
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
    order = list(dict.fromkeys(NA_TOKEN if is_missing(k) else str(k) for k in keys))
    labels = [NA_TOKEN if is_missing(v) else str(v) for v in table["emotion"].astype(object)]
    by_key: dict[str, list[tuple[float, float, str]]] = {k: [] for k in order}
    for k, s, e, lab in zip(keys, table["start"].tolist(), table["end"].tolist(), labels,
                                strict=True):
        by_key[NA_TOKEN if is_missing(k) else str(k)].append((s, e, lab))
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
    df = normalize(df)
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
