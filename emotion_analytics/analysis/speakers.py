"""Who said it: `assign_speakers` cuts emotion segments at speaker turns and names each piece.

Also the matching of recording names (``conversation`` in an RTTM file names
``data/conversation.wav``) that `emotion_analytics.agreement` and `emotion_analytics.batch` use.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import BadResponseError
from .core import _codes, _offsets, _require_columns, _times, _with_file_column

__all__ = ["assign_speakers"]


def _recording_name(name: object) -> str:
    """A recording's name without folders, URL path or extension: ``data/a.wav`` -> ``a``."""
    base = str(name).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    stem, dot, _ = base.rpartition(".")
    return stem if dot and stem else base


def _match_recordings(files: pd.Index, names: np.ndarray) -> np.ndarray:
    """Index into ``files`` of each turn file name (-1 when none).

    An exact match first; else the same recording name without folders and extension, when
    only one file has it (turns from ``conversation.rttm`` name ``conversation``; the emotion
    table of ``recognise("data/conversation.wav")`` names ``data/conversation.wav``).
    """
    idx = pd.Index(files.astype(object)).get_indexer(names).astype(np.int64)
    unmatched = np.flatnonzero(idx < 0)
    if unmatched.size:
        stems = pd.Series([_recording_name(f) for f in files], dtype=object)
        unique = stems[~stems.duplicated(keep=False)]
        lookup = dict(zip(unique.to_numpy(), unique.index, strict=False))
        idx[unmatched] = [lookup.get(_recording_name(n), -1) for n in names[unmatched]]
    return idx

def assign_speakers(df: pd.DataFrame, turns: pd.DataFrame) -> pd.DataFrame:
    """Split emotion segments at speaker-turn boundaries and label each piece with its speaker.

    Parameters
    ----------
    df
        A segment table; its ``speaker`` column is replaced.
    turns
        Speaker turns: a table with ``speaker, start, end`` and optionally ``file``, e.g.
        ``to_frame(diarization_answer)`` or ``emotion_analytics.io.read_rttm(path)``. With a
        ``file`` column each file's segments meet that file's turns only (a turn's file matches
        exactly, or by recording name without folders and extension when that is unambiguous:
        ``conversation`` in an RTTM matches ``data/conversation.wav``); without one, the turns
        apply to every file.

    Returns
    -------
    pandas.DataFrame
        The segments cut at every turn start and end that falls inside them, in the same order,
        so each piece lies within one stretch of the turn time line. Each piece's ``speaker``:

        * the turn covering it; where turns overlap, the turn that started most recently (the
          later row on equal starts) wins, so no time is counted twice;
        * missing in gaps between turns: such pieces keep their time.

        Total duration is conserved. Other columns are copied to every piece. Rows without an
        ``end`` are kept whole with a missing speaker (`UntimedRowsWarning`).

    Raises
    ------
    BadResponseError
        ``turns`` lacks ``speaker``, ``start`` or ``end``.

    Notes
    -----
    A sorted sweep: turns, their boundaries and the segments are each sorted once and matched
    with ``searchsorted``; who is speaking at each boundary comes from a sparse table of running
    turn ends, so the cost is ``O((n + m) log m)`` for ``n`` segments and ``m`` turns.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 10.0}], file="a")
    >>> turns = pd.DataFrame({"speaker": ["A", "B"], "start": [0.0, 4.0], "end": [4.0, 8.0]})
    >>> assign_speakers(df, turns)[["start", "end", "speaker", "emotion"]]
       start   end speaker emotion
    0    0.0   4.0       A   happy
    1    4.0   8.0       B   happy
    2    8.0  10.0     NaN   happy
    """
    had_file = "file" in df.columns
    df = _with_file_column(df)
    _require_columns(df, ["file", "start", "end"], "assign_speakers")
    if not isinstance(turns, pd.DataFrame):
        raise BadResponseError(
            f"turns must be a table with speaker, start, end (got {type(turns).__name__}); "
            "read a diarization answer with emotion_analytics.to_frame()"
        )
    missing = [c for c in ("speaker", "start", "end") if c not in turns.columns]
    if missing:
        raise BadResponseError(
            f"speaker turns need column(s) {missing}; they have {list(turns.columns)}"
        )
    t_start = turns["start"].to_numpy(np.float64)
    t_end = turns["end"].to_numpy(np.float64)
    bad = np.flatnonzero(~(np.isfinite(t_start) & np.isfinite(t_end) & (t_end > t_start)))
    if bad.size:
        i = int(bad[0])
        raise BadResponseError(
            f"speaker turn {i}: needs finite start < end, got start={t_start[i]!r}, "
            f"end={t_end[i]!r}",
            record=i,
        )
    spk_codes, speakers = _codes(turns["speaker"].astype(object).map(_speaker_str))
    start, end, timed = _times(df, "assign_speakers")
    # a shared group per file (or one for all when the turns have no file)
    by_file = "file" in turns.columns and bool(turns["file"].notna().any())
    if by_file:
        seg_group, files = _codes(df["file"])
        turn_files = turns["file"].astype(object).map(_speaker_str)
        turn_group = _match_recordings(files, turn_files.to_numpy(dtype=object))
        known = turn_group >= 0
        turn_group, t_start, t_end = turn_group[known], t_start[known], t_end[known]
        spk_codes = spk_codes[known]
        n_groups = len(files)
        seg_group = np.where(seg_group < 0, 0, seg_group)
        lacking = np.setdiff1d(np.unique(seg_group[timed]), turn_group)
        if lacking.size:
            names = ", ".join(repr(str(files[i])) for i in lacking[:5])
            more = f" and {lacking.size - 5} more" if lacking.size > 5 else ""
            warnings.warn(
                f"assign_speakers: no speaker turns for file(s) {names}{more}; their segments "
                "get a missing speaker",
                UserWarning,
                stacklevel=2,
            )
    else:
        seg_group = np.zeros(len(df), np.int64)
        turn_group = np.zeros(len(t_start), np.int64)
        n_groups = 1
    off = _offsets(
        np.concatenate((seg_group[timed], turn_group)),
        np.concatenate((end[timed], t_end)),
        n_groups,
    )
    # turns sorted by start (stable: the later row wins a tie)
    ks_t = t_start + off[turn_group]
    o = np.argsort(ks_t, kind="stable")
    ks_t, ke_t, spk_sorted = ks_t[o], (t_end + off[turn_group])[o], spk_codes[o]
    # the turn time line's boundaries, and who speaks from each to the next
    bkeys_all = np.concatenate((t_start + off[turn_group], t_end + off[turn_group]))
    btrue_all = np.concatenate((t_start, t_end))
    bo = np.argsort(bkeys_all, kind="stable")
    bkeys, btrue = bkeys_all[bo], btrue_all[bo]
    distinct = np.concatenate(([True], bkeys[1:] != bkeys[:-1])) if len(bkeys) else bkeys > 0
    bkeys, btrue = bkeys[distinct], btrue[distinct]
    winner = _latest_active(ks_t, ke_t, bkeys)
    b_speaker = np.where(winner >= 0, spk_sorted[np.maximum(winner, 0)], -1)
    # cut each timed segment at the boundaries strictly inside it
    ks = np.where(timed, start + off[seg_group], 0.0)
    ke = np.where(timed, end + off[seg_group], 0.0)
    lo = np.searchsorted(bkeys, ks, side="right")
    hi = np.searchsorted(bkeys, ke, side="left")
    pieces = np.where(timed, np.maximum(hi - lo, 0) + 1, 1)
    rep = np.repeat(np.arange(len(df)), pieces)
    j = np.arange(len(rep)) - (np.cumsum(pieces) - pieces)[rep]
    last = j == pieces[rep] - 1
    b_at = lo[rep] + j  # index of the boundary that ends piece j (when not the last)
    p_start = np.where(j == 0, start[rep], btrue[np.clip(b_at - 1, 0, None)] if len(btrue) else 0)
    p_end = np.where(last, end[rep], btrue[np.clip(b_at, 0, len(btrue) - 1)] if len(btrue) else 0)
    # who speaks: the stretch that starts at the last boundary at or before the piece start
    stretch = b_at - 1
    code = np.full(len(rep), -1, np.int64)
    if len(btrue):
        ok = (stretch >= 0) & timed[rep]
        code[ok] = b_speaker[stretch[ok]]
    out = df.take(rep).reset_index(drop=True)
    out["start"] = p_start
    out["end"] = p_end
    out["duration"] = p_end - p_start
    out["speaker"] = pd.Categorical.from_codes(code, categories=speakers)
    return out if had_file else out.drop(columns="file")


def _speaker_str(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _latest_active(starts: np.ndarray, ends: np.ndarray, points: np.ndarray) -> np.ndarray:
    """For each point, the last interval (by sorted start) with ``start <= point < end``; -1: none.

    ``starts`` is sorted. A sparse table of maxima of ``ends`` lets each query skip, in halving
    strides, the blocks of intervals that have all ended by the point.
    """
    cur = np.searchsorted(starts, points, side="right") - 1
    n = len(starts)
    if n == 0:
        return np.full(len(points), -1, np.int64)
    levels = [ends]
    width = 1
    while width * 2 <= n:
        prev = levels[-1]
        shifted = np.concatenate((np.full(width, -np.inf), prev[:-width]))
        levels.append(np.maximum(prev, shifted))  # max of ends[i - 2*width + 1 .. i]
        width *= 2
    for level in range(len(levels) - 1, -1, -1):
        width = 1 << level
        ok = cur >= 0
        block_max = np.where(ok, levels[level][np.maximum(cur, 0)], np.inf)
        skip = ok & (block_max <= points)
        cur = np.where(skip, cur - width, cur)
    found = cur >= 0
    found[found] = ends[cur[found]] > points[found]
    return np.where(found, cur, -1)
