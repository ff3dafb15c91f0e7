"""Who talks when: `coverage` of each recording, its silent `gaps`, each speaker's `talk_time`.

All three work on the union of each group's timed segments, with or without an emotion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .core import (
    By,
    _by_list,
    _file_groups,
    _offsets,
    _order,
    _require_columns,
    _take,
    _times,
    _with_file,
    _with_file_column,
)

__all__ = ["coverage", "gaps", "talk_time"]


def _unions(df: pd.DataFrame, by: By, what: str):
    """The union of each group's timed segments within each file.

    Returns the ``by`` groups and, per union interval: its group, start and end.
    """
    df = _with_file_column(df)
    _require_columns(df, ["start", "end", *_by_list(by)], what)
    start, end, timed = _times(df, what)
    groups, fine, coarse_of_fine = _file_groups(df, by)
    g, s, e = fine[timed], start[timed], end[timed]
    order = _order(g, s)
    g, s, e = _take(g, order), _take(s, order), _take(e, order)
    if not len(g):
        return groups, g, s, e
    off = _offsets(g, e, len(coarse_of_fine))
    ks, ke = s + off[g], e + off[g]
    runmax = np.maximum.accumulate(ke)
    new = np.concatenate(([True], ks[1:] > runmax[:-1]))
    first = np.flatnonzero(new)
    return groups, coarse_of_fine[g[first]], s[first], np.maximum.reduceat(e, first)


def coverage(df: pd.DataFrame, *, by: By = "file") -> pd.DataFrame:
    """How much of each recording is covered by segments, and how much is silent.

    All timed rows count, with or without an emotion; overlapping segments count once.
    A recording is taken to start at 0 and end at its last segment's end (its true length is not
    in the table). ``by`` is per file (``file`` is added when missing), e.g.
    ``["file", "speaker"]`` for how much of the recording each speaker covers.

    Returns
    -------
    pandas.DataFrame
        Per group: ``covered`` (seconds inside at least one segment), ``extent`` (last end),
        ``coverage`` (``covered / extent``), ``silent`` (``extent - covered``) and ``gaps`` (number
        of silent stretches, counting one before the first segment when it starts after 0).

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 1, "end": 3},
    ...                   {"emotion": "sad", "start": 2, "end": 4},
    ...                   {"emotion": "sad", "start": 6, "end": 8}], file="a")
    >>> coverage(df)
          covered  extent  coverage  silent  gaps
    file
    a         5.0     8.0     0.625     3.0     2
    """
    groups, ug, us, ue = _unions(df, _with_file(df, by), "coverage")
    covered = np.bincount(ug, weights=ue - us, minlength=groups.n)
    extent = np.zeros(groups.n)
    np.maximum.at(extent, ug, ue)
    starts_later = np.zeros(groups.n, bool)
    first = np.concatenate(([True], ug[1:] != ug[:-1])) if len(ug) else np.zeros(0, bool)
    starts_later[ug[first]] = us[first] > 0
    n_gaps = np.bincount(ug, minlength=groups.n) - 1 + starts_later
    n_gaps = np.maximum(n_gaps, 0)
    return pd.DataFrame(
        {
            "covered": covered,
            "extent": extent,
            "coverage": np.divide(covered, extent, out=np.full(groups.n, np.nan), where=extent > 0),
            "silent": extent - covered,
            "gaps": n_gaps,
        },
        index=groups.index(),
    )


def gaps(df: pd.DataFrame, *, by: By = "file", min_gap: float = 0.0) -> pd.DataFrame:
    """The silent stretches of each recording: where no segment is.

    Includes the stretch from 0 to the first segment; the end of a recording is not known, so
    nothing after the last segment is listed.

    Parameters
    ----------
    by
        Per ``"file"`` (default); ``["file", "speaker"]`` gives each speaker's pauses (``file``
        is added when missing).
    min_gap
        Only list gaps longer than this many seconds.

    Returns
    -------
    pandas.DataFrame
        One row per gap: the ``by`` columns, ``start``, ``end``, ``duration``.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 1, "end": 3},
    ...                   {"emotion": "sad", "start": 6, "end": 8}], file="a")
    >>> gaps(df)
      file  start  end  duration
    0    a    0.0  1.0       1.0
    1    a    3.0  6.0       3.0
    """
    groups, ug, us, ue = _unions(df, _with_file(df, by), "gaps")
    first = np.concatenate(([True], ug[1:] != ug[:-1])) if len(ug) else np.zeros(0, bool)
    # the gap before each union: from the previous union's end, or from 0 for a group's first
    gstart = np.where(first, 0.0, np.concatenate(([0.0], ue[:-1])))
    keep = (us - gstart) > min_gap
    keep &= us > gstart
    g = ug[keep]
    out = pd.DataFrame(groups.columns(g))
    out["start"] = gstart[keep]
    out["end"] = us[keep]
    out["duration"] = out["end"] - out["start"]
    return out


def talk_time(df: pd.DataFrame, *, by: By = ("file", "speaker")) -> pd.DataFrame:
    """Time each speaker talks: the union of their segments, with or without an emotion.

    Parameters
    ----------
    by
        ``("file", "speaker")`` (default), ``"speaker"`` across all files (each file's time
        summed), or any columns. Segments without a speaker form their own (unlabelled) group.

    Returns
    -------
    pandas.DataFrame
        Per group: ``seconds`` (overlapping segments of one group count once), ``segments``
        (rows), ``share`` (of the summed ``seconds`` of the same file when ``file`` is in ``by``,
        else of all groups).

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"speaker_id": 1, "emotion": "happy", "start": 0, "end": 3},
    ...                   {"speaker_id": 2, "emotion": "sad", "start": 3, "end": 4}], file="a")
    >>> talk_time(df)
                  seconds  segments  share
    file speaker
    a    1            3.0         1   0.75
         2            1.0         1   0.25
    """
    groups, ug, us, ue = _unions(df, by, "talk_time")
    seconds = np.bincount(ug, weights=ue - us, minlength=groups.n)
    segments = np.bincount(groups.codes, minlength=groups.n)
    if "file" in groups.names and len(groups.names) > 1:
        fcode = groups.level_codes[groups.names.index("file")]
        fcode = np.where(fcode < 0, fcode.max(initial=0) + 1, fcode)
        per_file = np.bincount(fcode, weights=seconds)[fcode]
    else:
        per_file = np.full(groups.n, seconds.sum())
    share = np.divide(seconds, per_file, out=np.full(groups.n, np.nan), where=per_file > 0)
    return pd.DataFrame(
        {"seconds": seconds, "segments": segments, "share": share}, index=groups.index()
    )
