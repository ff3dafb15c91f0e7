"""Pure functions on segment tables: how long, how much, who, when, and what came next.

Every function takes a segment table (see `emotion_analytics.schema`) and returns a new pandas
object; none changes its input. Each is also reachable as ``df.emotion.<name>(...)``.

Overlapping segments
--------------------
Emotion answers may overlap (several speakers, several models, overlapping windows). Every time
aggregate takes ``overlap=``:

``"split"`` (default)
    Each instant of a group counts once. Where ``k`` segments of a group overlap, each gets
    ``1/k`` of that time, so the durations per emotion of a group sum to the group's *covered
    time* (the union of its segments). This is how pyannote counts.
``"count"``
    Each segment counts its full duration, so overlapping time is counted once per segment and
    the durations sum to the sum of segment durations. This is how audformat counts.

Rows the time aggregates cannot place
-------------------------------------
* Rows with a missing ``end`` (clip-level v1 answers read without ``clip_duration=``) carry no
  time: they are left out of every time aggregate, with an `UntimedRowsWarning` that says how
  many there are and how to give them a length. `dominant` falls back to their confidence for
  groups that have no timed rows.
* Rows with a missing ``emotion`` (e.g. speaker turns) are not emotion segments: emotion
  aggregates leave them out; `coverage`, `gaps` and `talk_time` count them.
* Missing values in a ``by`` column form a group of their own (its label is missing).
* A table without a ``file`` column (made by hand) is one recording, named
  ``emotion_analytics.schema.UNNAMED_FILE``.

Dimensions
----------
The optional columns ``arousal``, ``valence`` and ``dominance`` (see `emotion_analytics.schema`)
are averaged over time: `dimensions` gives each group's duration-weighted mean, with the same
``overlap=`` rules as `durations` (with ``"split"``, each instant's value is the mean of the
segments covering it, and every instant counts once). Rows whose value is NaN do not count, so a
group's mean is over the time that has the dimension. `to_grid`, `merge_adjacent` and `summary`
carry the dimensions the table has.

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

from .errors import BadResponseError
from .schema import UNNAMED_FILE, dimension_columns, prob_columns

__all__ = [
    "By",
    "Overlap",
    "UntimedRowsWarning",
    "assign_speakers",
    "coverage",
    "dimensions",
    "dominant",
    "durations",
    "filter_confidence",
    "gaps",
    "merge_adjacent",
    "rolling",
    "shares",
    "summary",
    "talk_time",
    "to_grid",
    "transitions",
]

By = Union[str, Sequence[str], None]  # noqa: UP007 (a runtime alias)
Overlap = Literal["split", "count"]
_ALL = "all"  # the row label when by=None


class UntimedRowsWarning(UserWarning):
    """Some rows have no ``end`` time, so they carry no time in a time aggregate."""


# --------------------------------------------------------------------------------------------
# building blocks: columns -> codes, groups, sorting, the overlap clock


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
            "emotion_analytics.schema.normalise(df), or an API answer with "
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


# --------------------------------------------------------------------------------------------
# aggregates


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


def transitions(df: pd.DataFrame, *, by: By = None, normalize: bool = False) -> pd.DataFrame:
    """How often each emotion is followed by each other emotion.

    Each file's segments (each file and speaker's, when the table has speakers) are put in order
    of ``start`` (equal starts by ``end``, then by emotion category order); every consecutive
    pair counts one transition ``from -> to``, including
    ``a -> a`` (merge first with `merge_adjacent` to count only changes). Rows without an emotion
    are skipped.

    Parameters
    ----------
    by
        ``None``: one emotion x emotion table. A column (or list), e.g. ``"file"``: one block per
        group, indexed by ``(group, from)``; a pair belongs to the group of its first segment.
    normalize
        Divide each row by its sum: the probability of the next emotion given the current one
        (NaN for an emotion never followed by anything).

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": e, "start": i, "end": i + 1}
    ...                   for i, e in enumerate(["calm", "angry", "calm", "calm"])], file="a")
    >>> transitions(df)
    to     angry  calm
    from
    angry      0     1
    calm       1     1
    """
    seq_cols = [c for c in ("file", "speaker") if c in df.columns]
    _require_columns(df, ["start", "emotion", *_by_list(by)], "transitions")
    emo, labels = _codes(df["emotion"])
    rows = np.flatnonzero(emo >= 0)
    sub = df.iloc[rows] if len(rows) != len(df) else df
    emo = emo[rows]
    seq = _groups(sub, seq_cols)
    start = sub["start"].to_numpy(np.float64)
    order = _order(seq.codes, start)
    s_codes, s_start = _take(seq.codes, order), _take(start, order)
    if np.any((s_codes[1:] == s_codes[:-1]) & (s_start[1:] == s_start[:-1])):
        # equal starts: order by end, then emotion, so the answer never depends on row order
        end = sub["end"].to_numpy(np.float64)
        order = np.lexsort((emo, end, start, seq.codes))
        s_codes = seq.codes[order]
    s_emo = _take(emo, order)
    pair = np.flatnonzero(s_codes[1:] == s_codes[:-1])
    k = len(labels)
    groups = _groups(sub, by)
    g = _take(groups.codes, order)[pair]
    counts = np.bincount(
        (g * k + s_emo[pair]) * k + s_emo[pair + 1], minlength=groups.n * k * k
    ).reshape(groups.n * k, k)
    frm = pd.Index(labels, name="from")
    if by is None:
        index = frm if groups.n else frm[:0]
        counts = counts[: len(index)]
    else:
        gi = groups.index()
        index = pd.MultiIndex.from_arrays(
            [
                *_index_arrays(gi, np.repeat(np.arange(groups.n), k)),
                np.tile(np.asarray(labels, dtype=object), groups.n),
            ],
            names=[*groups.names, "from"],
        )
    out = pd.DataFrame(counts, index=index, columns=pd.Index(labels, name="to"))
    if normalize:
        total = out.sum(axis=1)
        out = out.div(total.where(total > 0), axis=0)
    return out


def _index_arrays(index: pd.Index, take: np.ndarray) -> list[np.ndarray]:
    if isinstance(index, pd.MultiIndex):
        return [
            np.asarray(index.get_level_values(i), dtype=object)[take] for i in range(index.nlevels)
        ]
    return [np.asarray(index, dtype=object)[take]]


# --------------------------------------------------------------------------------------------
# time grids


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


# --------------------------------------------------------------------------------------------
# speech coverage, silences and talk time


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


# --------------------------------------------------------------------------------------------
# tables -> tables


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
