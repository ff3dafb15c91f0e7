"""What came next: `transitions`, the counts of each emotion followed by each other one."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .core import By, _by_list, _codes, _groups, _order, _require_columns, _take

__all__ = ["transitions"]


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
