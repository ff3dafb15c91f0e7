"""The machinery under the aggregates: columns -> codes, groups, sorting, the overlap clock.

Private to `emotion_analytics.analysis` except `By`, `Overlap` and `UntimedRowsWarning`, which
the package re-exports.

Speed
-----
Everything is vectorised with numpy over category codes: one sort by group and time, cumulative
sums and ``bincount``; groups without overlaps take a fast path. Times are compared after adding a
per-group offset, which resolves instants to about a nanosecond for hour-long recordings.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Union

import numpy as np
import pandas as pd

from ..errors import BadResponseError
from ..schema import UNNAMED_FILE

__all__ = ["By", "Overlap", "UntimedRowsWarning"]

By = Union[str, Sequence[str], None]  # noqa: UP007 (a runtime alias)
Overlap = Literal["split", "count"]
_ALL = "all"  # the row label when by=None


class UntimedRowsWarning(UserWarning):
    """Some rows have no ``end`` time, so they carry no time in a time aggregate."""


def _by_list(by: By) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def _require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in df.columns]
    if missing:
        raise BadResponseError(
            f"{what} needs column(s) {missing}, which the table does not have (it has "
            f"{list(df.columns)}); turn a DataFrame into a segment table with "
            "emotion_analytics.schema.normalize(df), or an API answer with "
            "emotion_analytics.to_frame(answer)"
        )


def _with_file_column(df: pd.DataFrame) -> pd.DataFrame:
    """A hand-made table without ``file`` is one recording (`schema.UNNAMED_FILE`)."""
    if "file" in df.columns:
        return df
    return df.assign(file=pd.Categorical([UNNAMED_FILE] * len(df)))


def _check_overlap(overlap: str) -> None:
    if overlap not in ("split", "count"):
        raise ValueError(f"overlap must be 'split' or 'count', not {overlap!r}")


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (-1 for missing) and the labels they index; all levels of a categorical."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy().astype(np.int64), values.cat.categories
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), pd.Index(uniques)


@dataclass
class _Groups:
    """Dense group codes for the rows of a table, and what each group is."""

    codes: np.ndarray  # int64, 0..n-1, one per row
    n: int
    names: list[str]  # the by columns
    levels: list[pd.Index]  # the labels of each by column
    level_codes: list[np.ndarray]  # per group, the code into levels[i] (-1: missing)

    def index(self) -> pd.Index:
        """One label per group: an Index (one column), a MultiIndex (several), ``['all']``."""
        if not self.names:
            return pd.Index([_ALL] * self.n)
        arrays = [_labels(lv, c) for lv, c in zip(self.levels, self.level_codes, strict=False)]
        if len(arrays) == 1:
            return pd.Index(arrays[0], name=self.names[0])
        return pd.MultiIndex.from_arrays(arrays, names=self.names)

    def columns(self, group: np.ndarray) -> dict[str, pd.Categorical]:
        """The by columns, as categoricals, for rows that belong to ``group``."""
        return {
            name: pd.Categorical.from_codes(codes[group], categories=level)
            for name, level, codes in zip(self.names, self.levels, self.level_codes, strict=False)
        }


def _labels(level: pd.Index, codes: np.ndarray) -> np.ndarray:
    out = np.asarray(level, dtype=object).take(np.maximum(codes, 0)) if len(level) else None
    if out is None:
        return np.full(len(codes), np.nan, dtype=object)
    out[codes < 0] = np.nan
    return out


def _groups(df: pd.DataFrame, by: By) -> _Groups:
    names = _by_list(by)
    n_rows = len(df)
    if not names:
        n = 1 if n_rows else 0
        return _Groups(np.zeros(n_rows, np.int64), n, [], [], [])
    combined = np.zeros(n_rows, np.int64)
    levels, sizes = [], []
    for name in names:
        codes, level = _codes(df[name])
        codes = np.where(codes < 0, len(level), codes)  # missing: a group of its own, last
        size = len(level) + 1
        combined = combined * size + codes
        levels.append(level)
        sizes.append(size)
    total = int(np.prod(sizes, dtype=np.float64))
    if total <= max(4 * n_rows, 1 << 20):
        present = np.bincount(combined, minlength=total) > 0
        keys = np.flatnonzero(present)
        dense = np.cumsum(present) - 1
        codes_out = dense[combined]
    else:
        keys, codes_out = np.unique(combined, return_inverse=True)
    level_codes = []
    rest = keys
    for size, level in zip(reversed(sizes), reversed(levels), strict=False):
        c = rest % size
        level_codes.append(np.where(c == len(level), -1, c))
        rest = rest // size
    level_codes.reverse()
    return _Groups(codes_out.astype(np.int64), len(keys), names, levels, level_codes)


def _times(df: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``start``, ``end`` and the mask of timed rows; warns when some rows have no end."""
    start = df["start"].to_numpy(dtype=np.float64)
    end = df["end"].to_numpy(dtype=np.float64)
    timed = ~np.isnan(end)
    untimed = int(len(end) - timed.sum())
    if untimed:
        warnings.warn(
            f"{what}: {untimed} row(s) have no 'end' (clip-level answers without a known "
            "duration); they carry no time here. Read them with to_frame(..., clip_duration=...) "
            "to place them on the time line.",
            UntimedRowsWarning,
            stacklevel=3,
        )
    return start, end, timed


def _offsets(group: np.ndarray, end: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-group offsets that make ``time + offset[group]`` increase with the group."""
    ext = np.zeros(n_groups, np.float64)
    if len(end):
        np.maximum.at(ext, group, np.nan_to_num(end, nan=0.0))
    return np.concatenate(([0.0], np.cumsum(ext + 1.0)[:-1]))


def _order(group: np.ndarray, start: np.ndarray) -> np.ndarray | None:
    """Row order sorted by (group, start); ``None`` when the rows already are."""
    if len(group) < 2:
        return None
    dg = np.diff(group)
    if np.all((dg > 0) | ((dg == 0) & (np.diff(start) >= 0))):
        return None
    order = np.argsort(start, kind="quicksort")
    small = group.astype(np.uint16) if group.max(initial=0) < (1 << 16) else group
    return order[np.argsort(small[order], kind="stable")]


def _take(a: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    return a if order is None else a[order]


class _Clock:
    """Sorted segments of each group, with what is needed to split overlapping time.

    ``weight(i, a, b)`` is the time segment ``i`` gets between ``a`` and ``b`` when each instant
    is shared equally by the segments covering it.
    """

    def __init__(self, group, start, end, n_groups):
        self.order = _order(group, start)
        self.g = _take(group, self.order)
        self.s = _take(start, self.order)
        self.e = _take(end, self.order)
        self.off = _offsets(self.g, self.e, n_groups)
        ks = self.s + self.off[self.g]
        ke = self.e + self.off[self.g]
        runmax = np.maximum.accumulate(ke) if len(ke) else ke
        overlapping = ks[1:] < runmax[:-1]
        self.any_overlap = bool(overlapping.any())
        if not self.any_overlap:
            return
        bad_groups = np.zeros(n_groups, bool)
        bad_groups[self.g[1:][overlapping]] = True
        self.rows = np.flatnonzero(bad_groups[self.g])  # sorted rows in overlapping groups
        m = len(self.rows)
        keys = np.concatenate((ks[self.rows], ke[self.rows]))
        ev = np.argsort(keys, kind="stable")
        self.keys = keys[ev]
        times = np.concatenate((self.s[self.rows], self.e[self.rows]))[ev]
        active = np.cumsum(np.where(ev < m, 1, -1))
        self.rate = np.divide(1.0, active, out=np.zeros(len(active)), where=active > 0)
        step = np.diff(times) * self.rate[:-1]
        self.cum = np.concatenate(([0.0], np.cumsum(step)))
        self.times = times
        pos = np.empty(2 * m, np.int64)
        pos[ev] = np.arange(2 * m)
        self.inside = bad_groups[self.g]
        self.cs = np.zeros(len(self.g))
        self.ce = np.zeros(len(self.g))
        self.cs[self.rows] = self.cum[pos[:m]]
        self.ce[self.rows] = self.cum[pos[m:]]
        self.split = np.where(self.inside, self.ce - self.cs, self.e - self.s)

    def durations(self) -> np.ndarray:
        """Each sorted segment's share of time (its duration where nothing overlaps it)."""
        return self.split if self.any_overlap else self.e - self.s

    def weight(self, rows, a, b, first, last) -> np.ndarray:
        """Time that consecutive pieces ``[a, b]`` of sorted segments ``rows`` get.

        The pieces of one segment are contiguous and in order; ``first`` and ``last`` flag a
        segment's first and last piece, whose outer ends are the segment's own.
        """
        out = b - a
        if not self.any_overlap:
            return out
        inside = self.inside[rows]
        if not inside.any():
            return out
        cb = np.where(last, self.ce[rows], 0.0)
        cut = inside & ~last
        cb[cut] = self._at(b[cut], self.off[self.g[rows[cut]]])
        ca = np.empty_like(cb)
        ca[first] = self.cs[rows[first]]
        later = np.flatnonzero(~first)
        ca[later] = cb[later - 1]
        out[inside] = (cb - ca)[inside]
        return out

    def _at(self, t: np.ndarray, off: np.ndarray) -> np.ndarray:
        j = np.clip(np.searchsorted(self.keys, t + off, side="right") - 1, 0, None)
        return self.cum[j] + (t - self.times[j]) * self.rate[j]


@dataclass
class _Emotions:
    """The timed emotion rows of a table, grouped: what most aggregates start from."""

    groups: _Groups
    fine: np.ndarray  # per kept row: its group within one file (instants are per file)
    coarse_of_fine: np.ndarray  # per fine group, its group
    emotion: np.ndarray  # codes into labels, per kept row
    labels: pd.Index
    rows: np.ndarray  # positions of kept rows in the table
    start: np.ndarray
    end: np.ndarray
    timed: np.ndarray


def _emotions(df: pd.DataFrame, by: By, what: str) -> _Emotions:
    df = _with_file_column(df)
    _require_columns(df, ["start", "end", "emotion", *_by_list(by)], what)
    emo, labels = _codes(df["emotion"])
    start, end, timed = _times(df, what)
    keep = emo >= 0
    if keep.all():  # the usual case: no copies
        rows, sub = np.arange(len(df)), df
    else:
        rows = np.flatnonzero(keep)
        sub = df.iloc[rows]
        emo, start, end, timed = emo[rows], start[rows], end[rows], timed[rows]
    groups, fine, coarse_of_fine = _file_groups(sub, by)
    return _Emotions(groups, fine, coarse_of_fine, emo, labels, rows, start, end, timed)


def _timed_rows(em: _Emotions) -> slice | np.ndarray:
    """An index of the timed rows: a plain slice (no copies) when all are."""
    return slice(None) if em.timed.all() else em.timed


def _with_file(df: pd.DataFrame, by: By) -> list[str]:
    """``by`` with ``file`` in front when the table has files and ``by`` lacks it."""
    names = _by_list(by)
    return names if "file" in names or "file" not in df.columns else ["file", *names]


def _file_groups(df: pd.DataFrame, by: By) -> tuple[_Groups, np.ndarray, np.ndarray]:
    """The ``by`` groups, and the finer groups within one file that overlap is judged in.

    Segments of different files never overlap, whatever ``by`` pools together.
    """
    groups = _groups(df, by)
    fine_by = _with_file(df, by)
    if fine_by == _by_list(by):
        return groups, groups.codes, np.arange(groups.n)
    fine = _groups(df, fine_by)
    coarse_of_fine = np.zeros(fine.n, np.int64)
    coarse_of_fine[fine.codes] = groups.codes
    return groups, fine.codes, coarse_of_fine


def _matrix(groups: np.ndarray, n: int, codes: np.ndarray, k: int, weights) -> np.ndarray:
    flat = np.bincount(groups * k + codes, weights=weights, minlength=n * k)
    return flat.reshape(n, k)


def _row_time(fine: np.ndarray, start, end, n_fine: int, overlap: str) -> np.ndarray:
    """The time each (timed) row counts for, in row order, under the ``overlap`` rule.

    ``"count"``: its duration. ``"split"``: its share of the instants it covers, each instant
    shared equally by the rows of the same ``fine`` group (one file's) that cover it.
    """
    if overlap == "count":
        return end - start
    clock = _Clock(fine, start, end, n_fine)
    if clock.order is None:
        return clock.durations()
    out = np.empty(len(start))
    out[clock.order] = clock.durations()
    return out


def _seconds(em: _Emotions, overlap: str) -> np.ndarray:
    """Group x emotion seconds."""
    _check_overlap(overlap)
    t = _timed_rows(em)
    w = _row_time(em.fine[t], em.start[t], em.end[t], len(em.coarse_of_fine), overlap)
    return _matrix(em.groups.codes[t], em.groups.n, em.emotion[t], len(em.labels), w)


def _frame(values: np.ndarray, index: pd.Index, labels: pd.Index) -> pd.DataFrame:
    return pd.DataFrame(values, index=index, columns=pd.Index(labels, name="emotion"))
