"""RTTM speaker turns (`read_rttm`, `write_rttm`): pyannote's and other diarizers' format.

The standard 10-field line is ``SPEAKER file 1 start dur <NA> <NA> speaker <NA> <NA>``; a
missing speaker is written as ``<NA>`` (the RTTM convention for an empty field) and read back
as missing.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import BadResponseError
from ..schema import normalize
from ._shared import NA_TOKEN, PathLike, as_table, is_missing

__all__ = ["read_rttm", "write_rttm"]

# Record types of the NIST RTTM format other than SPEAKER: valid lines that carry no speaker turn.
_RTTM_OTHER_TYPES = frozenset(
    {"SPKR-INFO", "SEGMENT", "NOSCORE", "NO_RT_METADATA", "LEXEME", "NON-LEX", "NON-SPEECH",
     "FILLER", "EDIT", "IP", "SU", "CB", "A/P"}
)


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
    df = normalize(df)
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
    table = as_table(df, source=str(path))
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
    values = [missing if is_missing(v) else str(v) for v in col.astype(object).tolist()]
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
