"""Time per emotion and per dimension: `durations`, `shares`, `dominant`, `dimensions`, `summary`.

Every function takes a segment table and a grouping (``by=``) and counts overlapping segments
by the ``overlap=`` rule of `emotion_analytics.analysis`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import BadResponseError
from ..schema import dimension_columns
from .core import (
    By,
    Overlap,
    _by_list,
    _check_overlap,
    _Emotions,
    _emotions,
    _file_groups,
    _frame,
    _matrix,
    _require_columns,
    _row_time,
    _seconds,
    _times,
    _with_file_column,
)

__all__ = ["dimensions", "dominant", "durations", "shares", "summary"]


def durations(df: pd.DataFrame, *, by: By = "file", overlap: Overlap = "split") -> pd.DataFrame:
    """Seconds of each emotion per group.

    Parameters
    ----------
    df
        A segment table.
    by
        A column name, a list of names (e.g. ``["file", "speaker"]``), or ``None`` for the whole
        table (one row labelled ``"all"``).
    overlap
        ``"split"`` (default): each instant of a group counts once; overlapping segments share
        it equally, so a row sums to the group's covered time. ``"count"``: each segment counts
        its full duration, so a row sums to the sum of segment durations.

    Returns
    -------
    pandas.DataFrame
        One row per group present in the table (missing ``by`` values form their own group), one
        column per emotion (every category of ``df["emotion"]``, unused ones as 0), seconds.
        Rows without an ``end`` carry no time (`UntimedRowsWarning`); rows without an emotion
        are left out.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 4.0},
    ...                   {"emotion": "sad", "start": 2.0, "end": 6.0}], file="call.wav")
    >>> durations(df)
    emotion   happy  sad
    file
    call.wav    3.0  3.0
    >>> durations(df, overlap="count")
    emotion   happy  sad
    file
    call.wav    4.0  4.0
    """
    em = _emotions(df, by, "durations")
    return _frame(_seconds(em, overlap), em.groups.index(), em.labels)


def shares(df: pd.DataFrame, *, by: By = "file", overlap: Overlap = "split") -> pd.DataFrame:
    """Fraction of each group's emotion time per emotion (rows sum to 1).

    The same table as `durations`, each row divided by its sum; a group with no time has NaN.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0},
    ...                   {"emotion": "sad", "start": 3.0, "end": 4.0}], file="a")
    >>> shares(df)
    emotion  happy   sad
    file
    a         0.75  0.25
    """
    d = durations(df, by=by, overlap=overlap)
    total = d.sum(axis=1)
    return d.div(total.where(total > 0), axis=0)


def dominant(df: pd.DataFrame, *, by: By = "file", overlap: Overlap = "split") -> pd.Series:
    """The emotion with the most time in each group.

    Ties go to the emotion that comes first in ``df["emotion"]``'s categories. A group whose
    rows all lack an ``end`` (clip-level answers of unknown length) gets the label with the
    highest summed confidence instead (each row counting 1 when its confidence is unknown).

    Returns
    -------
    pandas.Series
        Categorical, named ``emotion``, indexed like `durations`.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame({"a.wav": [{"emotion": "happy", "start": 0, "end": 3},
    ...                             {"emotion": "sad", "start": 3, "end": 4}],
    ...                   "b.wav": [{"emotion": "sad", "start": 0, "end": 2}]})
    >>> dominant(df).tolist()
    ['happy', 'sad']
    """
    em = _emotions(df, by, "dominant")
    best = _dominant_codes(df, em, _seconds(em, overlap))
    k = len(em.labels)
    cat = pd.Categorical.from_codes(best, categories=em.labels) if k else []
    return pd.Series(cat, index=em.groups.index(), name="emotion", dtype="category")


def dimensions(df: pd.DataFrame, *, by: By = "file", overlap: Overlap = "split") -> pd.DataFrame:
    """Duration-weighted mean of each dimension (``arousal``, ``valence``, ``dominance``) per group.

    Parameters
    ----------
    df
        A segment table with at least one dimension column (see `emotion_analytics.schema`).
    by
        A column name, a list of names, or ``None`` for the whole table, as in `durations`.
    overlap
        ``"split"`` (default): each instant of a group counts once; where segments overlap,
        the instant's value is the mean of theirs. ``"count"``: each segment weighs its full
        duration.

    Returns
    -------
    pandas.DataFrame
        One row per group present in the table, one float column per dimension the table has
        (in the order ``arousal, valence, dominance``), each in [0, 1]. Rows with a NaN value
        do not count (with or without an emotion); a group without any value has NaN. Rows
        without an ``end`` carry no time (`UntimedRowsWarning`).

    Raises
    ------
    BadResponseError
        The table has no dimension column.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "calm", "start": 0, "end": 3, "arousal": 0.2},
    ...                   {"emotion": "angry", "start": 3, "end": 4, "arousal": 0.9},
    ...                   {"emotion": "calm", "start": 4, "end": 6}], file="call.wav")
    >>> dimensions(df)
              arousal
    file
    call.wav    0.375
    """
    _check_overlap(overlap)
    dims = dimension_columns(df)
    if not dims:
        raise BadResponseError(
            "dimensions needs at least one of the columns 'arousal', 'valence', 'dominance', "
            f"which the table does not have (it has {list(df.columns)}); they come from engines "
            "that predict dimensions (e.g. a transformers regression checkpoint) or from answers "
            "that carry them"
        )
    time = _dimension_time(df, by=by, overlap=overlap)
    out = pd.DataFrame(index=time.index)
    for d in dims:
        num, den = time[f"{d}:sum"].to_numpy(), time[f"{d}:seconds"].to_numpy()
        out[d] = np.divide(num, den, out=np.full(len(out), np.nan), where=den > 0)
    return out


def _dimension_time(df: pd.DataFrame, *, by: By, overlap: str) -> pd.DataFrame:
    """Per group and dimension: ``<dim>:sum`` (value x seconds) and ``<dim>:seconds``.

    Sums, so partial results of parts of a table add up (the Dask accessor combines them).
    """
    _check_overlap(overlap)
    df = _with_file_column(df)
    _require_columns(df, ["start", "end", *_by_list(by)], "dimensions")
    start, end, timed = _times(df, "dimensions")
    groups, fine, coarse_of_fine = _file_groups(df, by)
    out = pd.DataFrame(index=groups.index())
    for d in dimension_columns(df):
        v = df[d].to_numpy(np.float64)
        rows = np.flatnonzero(timed & ~np.isnan(v))
        w = _row_time(fine[rows], start[rows], end[rows], len(coarse_of_fine), overlap)
        g = groups.codes[rows]
        out[f"{d}:sum"] = np.bincount(g, weights=w * v[rows], minlength=groups.n)
        out[f"{d}:seconds"] = np.bincount(g, weights=w, minlength=groups.n)
    return out


def _dominant_codes(df: pd.DataFrame, em: _Emotions, seconds: np.ndarray) -> np.ndarray:
    k = len(em.labels)
    best = seconds.argmax(axis=1) if k else np.zeros(em.groups.n, np.int64)
    untimed = seconds.sum(axis=1) <= 0
    if untimed.any() and k:
        conf = df["confidence"].to_numpy(np.float64)[em.rows] if "confidence" in df else None
        w = np.ones(len(em.rows)) if conf is None else np.where(np.isnan(conf), 1.0, conf)
        votes = _matrix(em.groups.codes, em.groups.n, em.emotion, k, w)
        best = np.where(untimed, votes.argmax(axis=1), best)
    return best


def summary(df: pd.DataFrame, *, by: By = None, overlap: Overlap = "split") -> pd.DataFrame:
    """One tidy row per file (and speaker): time, segments, dominant emotion and shares.

    Parameters
    ----------
    by
        Default: ``["file", "speaker"]`` when the table has any speaker, else ``"file"``.
    overlap
        ``"split"`` or ``"count"``, as in `durations`.

    Returns
    -------
    pandas.DataFrame
        ``seconds`` (emotion time), ``segments`` (emotion rows), ``dominant``,
        ``dominant_share``; then, when the table has dimension columns, the mean of each (as
        `dimensions`, same ``by`` and ``overlap``); then one column per emotion with its share.
        Groups with dimensions but no emotion rows have 0 seconds and segments.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0, "end": 3},
    ...                   {"emotion": "sad", "start": 3, "end": 4}], file="a")
    >>> summary(df)
          seconds  segments dominant  dominant_share  happy   sad
    file
    a         4.0         2    happy            0.75   0.75  0.25
    """
    if by is None:
        has_speaker = "speaker" in df.columns and bool(df["speaker"].notna().any())
        by = ["file", "speaker"] if has_speaker else "file"
    em = _emotions(df, by, "summary")
    seconds = _seconds(em, overlap)
    best = _dominant_codes(df, em, seconds)
    total = seconds.sum(axis=1)
    frac = np.divide(
        seconds, total[:, None], out=np.full(seconds.shape, np.nan), where=total[:, None] > 0
    )
    out = pd.DataFrame(index=em.groups.index())
    out["seconds"] = total
    out["segments"] = np.bincount(em.groups.codes, minlength=em.groups.n)
    out["dominant"] = pd.Categorical.from_codes(best, categories=em.labels)
    pick = frac[np.arange(len(frac)), best] if len(em.labels) else total
    out["dominant_share"] = pick
    dims = dimension_columns(df)
    if dims:
        means = dimensions(df, by=by, overlap=overlap)
        extra = means.index.difference(out.index)
        if len(extra):
            out = pd.concat([out, pd.DataFrame(index=extra)])
            out["seconds"] = out["seconds"].fillna(0.0)
            out["segments"] = out["segments"].fillna(0).astype("int64")
        out = out.join(means)
    for i, label in enumerate(em.labels):
        out[label] = frac[:, i] if len(out) == len(frac) else pd.Series(
            frac[:, i], index=em.groups.index()
        ).reindex(out.index)
    return out
