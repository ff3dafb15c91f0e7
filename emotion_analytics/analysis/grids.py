"""Emotions on a regular time line: `to_grid` (cells) and `rolling` (a trailing window).

Both cut segments at the cell boundaries; overlapping segments share each instant as in
`emotion_analytics.analysis.durations`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import dimension_columns
from .core import (
    By,
    Overlap,
    _check_overlap,
    _Clock,
    _codes,
    _Emotions,
    _emotions,
    _groups,
    _matrix,
    _require_columns,
    _timed_rows,
    _times,
    _with_file,
    _with_file_column,
)

__all__ = ["rolling", "to_grid"]


def _check_step(step: float) -> None:
    if not (np.isfinite(step) and step > 0):
        raise ValueError(f"step must be a positive number of seconds, not {step!r}")


def _first_cells(g: np.ndarray, s, e, n_groups: int, step: float) -> np.ndarray:
    """Index of each group's first cell; cells run from 0 to the group's last end."""
    k0 = np.floor(s / step).astype(np.int64)
    k1 = np.maximum(np.ceil(e / step).astype(np.int64) - 1, k0)
    n_cells = np.zeros(n_groups, np.int64)
    np.maximum.at(n_cells, g, k1 + 1)
    return np.concatenate(([0], np.cumsum(n_cells)))


def _pieces(g: np.ndarray, s, e, n_groups: int, step: float, overlap: str, first_cell):
    """Rows cut at the cell boundaries: (row of each piece, its cell, the time it counts for).

    With ``overlap="split"``, overlapping rows of a group share each instant (as `durations`).
    """
    clock = _Clock(g, s, e, n_groups) if overlap == "split" else None
    order = None if clock is None else clock.order
    if order is not None:
        g, s, e = clock.g, clock.s, clock.e
    k0 = np.floor(s / step).astype(np.int64)
    k1 = np.maximum(np.ceil(e / step).astype(np.int64) - 1, k0)
    pieces = k1 - k0 + 1
    rep = np.repeat(np.arange(len(s)), pieces)
    first_piece = np.cumsum(pieces) - pieces
    j = np.arange(len(rep)) - first_piece[rep]
    kk = k0[rep] + j
    a = np.maximum(s[rep], kk * step)
    b = np.minimum(e[rep], (kk + 1) * step)
    if clock is not None:
        w = clock.weight(rep, a, b, j == 0, j == pieces[rep] - 1)
    else:
        w = b - a
    row = rep if order is None else order[rep]
    return row, first_cell[g[rep]] + kk, np.maximum(w, 0.0)


def _cell_index(first_cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The group of each cell and its number within the group."""
    total = int(first_cell[-1])
    cell_group = np.repeat(np.arange(len(first_cell) - 1), np.diff(first_cell))
    return cell_group, np.arange(total) - first_cell[cell_group]


def _cells(em: _Emotions, step: float, overlap: str):
    """Per-cell emotion seconds: (group of each cell, index of each cell, cells x emotions)."""
    _check_overlap(overlap)
    _check_step(step)
    t = _timed_rows(em)
    g, s, e, emo = em.groups.codes[t], em.start[t], em.end[t], em.emotion[t]
    first_cell = _first_cells(g, s, e, em.groups.n, step)
    row, cell, w = _pieces(g, s, e, em.groups.n, step, overlap, first_cell)
    m = _matrix(cell, int(first_cell[-1]), emo[row], len(em.labels), w)
    cell_group, cell_k = _cell_index(first_cell)
    return cell_group, cell_k, m


def to_grid(df: pd.DataFrame, *, step: float = 1.0, by: By = "file") -> pd.DataFrame:
    """Resample to a regular time grid: each cell's dominant emotion and how much of it is covered.

    Useful to align emotions with other time series (heart rate, sentiment of a transcript).
    Overlapping segments share each instant (``overlap="split"``), so ``coverage`` is the
    fraction of the cell that any segment covers.

    Parameters
    ----------
    step
        Cell length in seconds. Cells are ``[k*step, (k+1)*step)`` from 0 to the group's last end.
    by
        Grid per ``"file"`` (default) or per ``["file", "speaker"]``: each file has its own grid,
        so ``file`` is added to ``by`` when missing.

    Returns
    -------
    pandas.DataFrame
        One row per cell: the ``by`` columns, ``start``, ``end``, ``emotion`` (the emotion with the
        most time in the cell; missing where no segment covers it), ``share`` (that emotion's
        share of the covered time) and ``coverage`` (covered fraction of the cell, 0..1); then,
        for each dimension column the table has (``arousal``, ``valence``, ``dominance``), its
        time-weighted mean over the part of the cell that has a value (NaN where none has).
        Cells run to the last end of a row with an emotion or a dimension.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 1.5},
    ...                   {"emotion": "sad", "start": 1.5, "end": 2.5}], file="a")
    >>> to_grid(df, step=1.0)
      file  start  end emotion  share  coverage
    0    a    0.0  1.0   happy    1.0       1.0
    1    a    1.0  2.0   happy    0.5       1.0
    2    a    2.0  3.0     sad    1.0       0.5
    """
    df = _with_file_column(df)
    names = _with_file(df, by)
    _require_columns(df, ["start", "end", "emotion", *names], "to_grid")
    _check_step(step)
    emo, labels = _codes(df["emotion"])
    start, end, timed = _times(df, "to_grid")
    dims = dimension_columns(df)
    values = [df[d].to_numpy(np.float64) for d in dims]
    keep = emo >= 0
    for v in values:
        keep = keep | ~np.isnan(v)
    rows = np.flatnonzero(keep & timed)
    groups = _groups(df if len(rows) == len(df) else df.iloc[rows], names)  # no copy: all rows
    g, s, e = groups.codes, start[rows], end[rows]
    first_cell = _first_cells(g, s, e, groups.n, step)
    n = int(first_cell[-1])

    def layer(known: np.ndarray):
        if known.all():
            return _pieces(g, s, e, groups.n, step, "split", first_cell)
        idx = np.flatnonzero(known)
        row, cell, w = _pieces(g[idx], s[idx], e[idx], groups.n, step, "split", first_cell)
        return idx[row], cell, w

    sel = emo[rows] >= 0
    row, cell, w = layer(sel)
    m = _matrix(cell, n, emo[rows][row], len(labels), w)
    covered = m.sum(axis=1)
    has = covered > 0
    best = m.argmax(axis=1) if m.shape[1] else np.zeros(n, np.int64)
    codes = np.where(has, best, -1)
    best_time = m[np.arange(n), best] if m.shape[1] else covered
    cell_group, cell_k = _cell_index(first_cell)
    out = pd.DataFrame(groups.columns(cell_group))
    out["start"] = cell_k * step
    out["end"] = (cell_k + 1) * step
    out["emotion"] = pd.Categorical.from_codes(codes, categories=labels)
    out["share"] = np.divide(best_time, covered, out=np.full(n, np.nan), where=has)
    out["coverage"] = np.minimum(covered / step, 1.0)
    for d, v in zip(dims, values, strict=True):
        vr = v[rows]
        row, cell, w = layer(~np.isnan(vr))
        num = np.bincount(cell, weights=w * vr[row], minlength=n)
        den = np.bincount(cell, weights=w, minlength=n)
        out[d] = np.divide(num, den, out=np.full(n, np.nan), where=den > 0)
    return out


def rolling(
    df: pd.DataFrame,
    *,
    window: float = 10.0,
    step: float = 1.0,
    by: By = "file",
    overlap: Overlap = "split",
) -> pd.DataFrame:
    """Emotion shares over a trailing window that moves along each recording.

    Parameters
    ----------
    window
        Window length in seconds, a whole multiple of ``step``.
    step
        How far the window moves each row, seconds.
    by
        One time line per ``"file"`` (default) or per ``["file", "speaker"]``; ``file`` is added
        to ``by`` when missing.
    overlap
        ``"split"`` or ``"count"``, as in `durations`.

    Returns
    -------
    pandas.DataFrame
        One row per step: the ``by`` columns, ``start`` and ``end`` of the window (``start`` is
        clipped at 0), ``seconds`` (emotion time inside the window), then one column per emotion
        with its share of ``seconds`` (NaN where the window holds no segment).

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0, "end": 2},
    ...                   {"emotion": "sad", "start": 2, "end": 4}], file="a")
    >>> rolling(df, window=2.0, step=1.0)
      file  start  end  seconds  happy  sad
    0    a    0.0  1.0      1.0    1.0  0.0
    1    a    0.0  2.0      2.0    1.0  0.0
    2    a    1.0  3.0      2.0    0.5  0.5
    3    a    2.0  4.0      2.0    0.0  1.0
    """
    width = int(round(window / step)) if step > 0 else 0
    if width < 1 or not np.isclose(width * step, window):
        raise ValueError(
            f"window ({window!r} s) must be a whole, positive multiple of step ({step!r} s)"
        )
    em = _emotions(df, _with_file(df, by), "rolling")
    cell_group, cell_k, m = _cells(em, step, overlap)
    cum = np.vstack((np.zeros((1, m.shape[1])), np.cumsum(m, axis=0)))
    c = np.arange(len(m))
    first = c - cell_k
    win = cum[c + 1] - cum[np.maximum(c + 1 - width, first)]
    seconds = win.sum(axis=1)
    out = pd.DataFrame(em.groups.columns(cell_group))
    out["start"] = np.maximum((cell_k + 1) * step - window, 0.0)
    out["end"] = (cell_k + 1) * step
    out["seconds"] = seconds
    frac = np.divide(
        win, seconds[:, None], out=np.full(win.shape, np.nan), where=seconds[:, None] > 0
    )
    for i, label in enumerate(em.labels):
        out[label] = frac[:, i]
    return out
