"""Tables -> tables: `filter_confidence` and `merge_adjacent`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import dimension_columns, prob_columns
from .core import _codes, _groups, _order, _require_columns

__all__ = ["filter_confidence", "merge_adjacent"]


def filter_confidence(
    df: pd.DataFrame, *, min_confidence: float, keep_unknown: bool = True
) -> pd.DataFrame:
    """Keep the rows whose ``confidence`` is at least ``min_confidence``.

    Parameters
    ----------
    min_confidence
        The lowest confidence kept (inclusive).
    keep_unknown
        Whether rows whose confidence is unknown (NaN: the source gave none) are kept
        (default) or dropped.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0, "end": 1, "confidence": 0.9},
    ...                   {"emotion": "sad", "start": 1, "end": 2, "confidence": 0.4},
    ...                   {"emotion": "sad", "start": 2, "end": 3}], file="a")
    >>> filter_confidence(df, min_confidence=0.5)["start"].tolist()
    [0.0, 2.0]
    >>> filter_confidence(df, min_confidence=0.5, keep_unknown=False)["start"].tolist()
    [0.0]
    """
    _require_columns(df, ["confidence"], "filter_confidence")
    conf = df["confidence"].to_numpy(np.float64)
    keep = conf >= min_confidence
    if keep_unknown:
        keep |= np.isnan(conf)
    return df[keep].reset_index(drop=True)


def merge_adjacent(df: pd.DataFrame, *, max_gap: float = 0.0) -> pd.DataFrame:
    """Merge consecutive segments of the same file, speaker and emotion into one.

    In each file and speaker, segments are taken in order of ``start``; a segment joins the one
    before it when both have the same emotion and it starts at most ``max_gap`` seconds after
    the run so far ends (overlapping and touching segments always join). The merged row spans
    the run; its ``confidence``, ``prob_`` and dimension (``arousal``, ``valence``,
    ``dominance``) columns are the duration-weighted means of the run's known values; other
    columns keep the run's first value. Rows without an ``end`` are kept unmerged, and so are
    rows without an emotion that carry a dimension (what an engine that predicts dimensions
    only gives: their values are what the table says).

    Returns
    -------
    pandas.DataFrame
        A segment table sorted by ``file, start, end``.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "sad", "start": 0, "end": 1, "confidence": 0.9},
    ...                   {"emotion": "sad", "start": 1, "end": 4, "confidence": 0.5},
    ...                   {"emotion": "happy", "start": 4.5, "end": 5}], file="a")
    >>> merge_adjacent(df)[["start", "end", "emotion", "confidence"]]
       start  end emotion  confidence
    0    0.0  4.0     sad         0.6
    1    4.5  5.0   happy         NaN
    """
    if not (max_gap >= 0):
        raise ValueError(f"max_gap must be >= 0 seconds, not {max_gap!r}")
    keys = [c for c in ("file", "speaker") if c in df.columns]
    _require_columns(df, ["start", "end", "emotion"], "merge_adjacent")
    start = df["start"].to_numpy(np.float64)
    end = df["end"].to_numpy(np.float64)
    dims = dimension_columns(df)
    alone = np.isnan(end)
    if dims:
        dim_only = df["emotion"].isna().to_numpy() & df[dims].notna().any(axis=1).to_numpy()
        alone = alone | dim_only
    timed = np.flatnonzero(~alone)
    sub = df.iloc[timed] if len(timed) != len(df) else df
    group = _groups(sub, keys).codes
    emo = _codes(sub["emotion"])[0]
    s, e = start[timed], end[timed]
    if not len(s):
        return df.reset_index(drop=True)
    order = _order(group, s)
    order = np.arange(len(s)) if order is None else order
    g, s, e, emo = group[order], s[order], e[order], emo[order]
    same = (g[1:] == g[:-1]) & (emo[1:] == emo[:-1])
    candidate = np.cumsum(np.concatenate(([0], ~same)))
    run_end = pd.Series(e).groupby(candidate).cummax().to_numpy()
    new = np.concatenate(([True], ~same | (s[1:] - run_end[:-1] > max_gap)))
    first = np.flatnonzero(new)
    if not len(first):
        return df.reset_index(drop=True)
    out = sub.iloc[order[first]].reset_index(drop=True)
    d = e - s
    out["end"] = np.maximum.reduceat(e, first)
    out["duration"] = out["end"] - out["start"]
    for col in [c for c in ("confidence", *prob_columns(df), *dims) if c in df.columns]:
        v = sub[col].to_numpy(np.float64)[order]
        known = ~np.isnan(v)
        num = np.add.reduceat(np.where(known, v * d, 0.0), first)
        den = np.add.reduceat(np.where(known, d, 0.0), first)
        out[col] = np.divide(num, den, out=np.full(len(first), np.nan), where=den > 0)
    if len(timed) != len(df):
        out = pd.concat([out, df[alone]], ignore_index=True)
    sort = [c for c in ("file", "start", "end") if c in out.columns]
    return out.sort_values(sort, kind="stable").reset_index(drop=True)
