"""What the plots share: checking the table, lanes and sub-lanes, legends, the time axis.

Private to `emotion_analytics.plotting`, except `NO_SPEAKER` and `NO_EMOTION`, which it
re-exports. The aggregates the plots draw come from `emotion_analytics.analysis`, imported on
use.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.patches import Patch

from ..errors import BadResponseError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["NO_EMOTION", "NO_SPEAKER"]

#: Lane label of segments whose speaker is missing.
NO_SPEAKER = "(no speaker)"
#: Legend label of segments without an emotion (e.g. speaker turns).
NO_EMOTION = "(no emotion)"


def _window_shares(
    table: pd.DataFrame, *, step: float, overlap: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(labels present, window edges, labels x windows shares), seconds summed over files."""
    from .. import analysis

    labels = _present_labels(table["emotion"])
    if not labels:
        return [], np.zeros(0), np.zeros((0, 0))
    win = analysis.rolling(table, window=step, step=step, by="file", overlap=overlap)
    k = np.rint(win["start"].to_numpy(dtype=float) / step).astype(np.int64)
    n = int(k.max()) + 1
    weight = win["seconds"].to_numpy(dtype=float)
    seconds = np.vstack([
        np.bincount(k, weights=np.nan_to_num(win[lab].to_numpy(dtype=float)) * weight, minlength=n)
        for lab in labels
    ])
    totals = seconds.sum(axis=0)
    shares = np.divide(seconds, totals, out=np.full_like(seconds, np.nan), where=totals > 0)
    return labels, np.arange(n + 1) * step, shares


# --------------------------------------------------------------------------------------------
# aggregates come from emotion_analytics.analysis (imported on use)


def _durations(table: pd.DataFrame, *, by, overlap: str) -> pd.DataFrame:
    from .. import analysis

    return analysis.durations(table, by=by, overlap=overlap)


def _transitions(table: pd.DataFrame, *, normalize: bool) -> pd.DataFrame:
    from .. import analysis

    return analysis.transitions(table, normalize=normalize)


# --------------------------------------------------------------------------------------------
# shared helpers


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _new_axes(*, figsize: tuple[float, float]) -> Axes:
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def _plottable(df: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("start", "end") if c not in df.columns]
    if missing:
        raise BadResponseError(
            f"not a segment table: missing column(s) {missing}; turn a DataFrame into one with "
            "emotion_analytics.schema.normalize(df), or an API answer with "
            "emotion_analytics.to_frame(answer)"
        )
    table = df
    if any(c not in table.columns for c in ("file", "emotion", "duration", "speaker")):
        from ..schema import normalize

        table = normalize(table)
    no_end = np.flatnonzero(np.isnan(table["end"].to_numpy(dtype=float)))
    if no_end.size:
        raise BadResponseError(
            "the segment has no end (a v1 clip answer read without its length), so it cannot be "
            "placed on a time axis; read it with to_frame(..., clip_duration=seconds)",
            record=int(no_end[0]),
        )
    return table


def _present_labels(emotion: pd.Series) -> list[str]:
    """Labels present, in natural order ignoring case ("label2" before "label10")."""
    present = {str(v) for v in pd.unique(emotion.dropna().astype(object))}
    return sorted(present, key=lambda v: (_natural_key(v), v))


def _label_codes(emotion: pd.Series, labels: list[str]) -> np.ndarray:
    as_text = emotion.astype(object).where(emotion.notna(), None).map(
        lambda v: v if v is None or isinstance(v, str) else str(v))
    return pd.Categorical(as_text, categories=labels).codes.astype(np.int64)


def _natural_key(value: Any) -> tuple:
    if _missing(value):
        return (1, ())
    parts = re.split(r"(\d+)", str(value))
    return (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in parts))


def _lane_columns(table: pd.DataFrame, lanes: str | Sequence[str] | None) -> list[str]:
    if lanes is None:
        several_files = table["file"].nunique() > 1
        has_speaker = bool(table["speaker"].notna().any())
        if several_files and has_speaker:
            return ["file", "speaker"]
        return ["speaker"] if has_speaker else ["file"]
    cols = [lanes] if isinstance(lanes, str) else list(lanes)
    unknown = [c for c in cols if c not in table.columns]
    if unknown:
        raise BadResponseError(f"lanes={lanes!r}: no column(s) {unknown} in the table "
                               f"(columns: {list(table.columns)})")
    return cols


def _lane_index(table: pd.DataFrame, cols: list[str]) -> tuple[list[str], np.ndarray, list]:
    """Lane labels (top to bottom), each row's lane number, each lane's first key."""
    if not len(table):
        return [], np.zeros(0, dtype=np.int64), []
    keys = table[cols].astype(object)
    codes, uniques = pd.MultiIndex.from_frame(keys).factorize()
    tuples = list(uniques)
    order = sorted(range(len(tuples)), key=lambda i: tuple(_natural_key(v) for v in tuples[i]))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    labels = [" / ".join(_lane_part(c, v) for c, v in zip(cols, tuples[i], strict=True))
              for i in order]
    return labels, rank[codes], [tuples[i][0] for i in order]


def _row_boxes(starts: np.ndarray, ends: np.ndarray, lane_of_row: np.ndarray,
               lane_height: float) -> tuple[np.ndarray, np.ndarray]:
    """Each row's bar bottom and height: its lane, split into sub-lanes where rows overlap.

    A lane whose rows overlap in time gets as many stacked sub-lanes as its deepest overlap;
    each row takes the first sub-lane free at its start (interval colouring, in start order).
    """
    n = len(starts)
    lows = lane_of_row.astype(float) - lane_height / 2
    heights = np.full(n, float(lane_height))
    if n < 2:
        return lows, heights
    order = np.lexsort((ends, starts, lane_of_row))
    lane_s, st, en = lane_of_row[order], starts[order], ends[order]
    # running max of the ends before each row, within its lane
    new_lane = np.r_[True, lane_s[1:] != lane_s[:-1]]
    prev_end = np.r_[-np.inf, en[:-1]]
    prev_end[new_lane] = -np.inf
    group = np.cumsum(new_lane)
    running = pd.Series(prev_end).groupby(group).cummax().to_numpy()
    overlapping = np.unique(lane_s[st < running - 1e-9])
    for lane in overlapping:
        rows = order[lane_s == lane]  # in start order
        track_end: list[float] = []
        track = np.empty(len(rows), dtype=np.int64)
        for k, i in enumerate(rows):
            free = next((t for t, e in enumerate(track_end) if e <= starts[i] + 1e-9), None)
            if free is None:
                free = len(track_end)
                track_end.append(ends[i])
            else:
                track_end[free] = ends[i]
            track[k] = free
        depth = len(track_end)
        sub = lane_height / depth
        lows[rows] = lane - lane_height / 2 + track * sub
        heights[rows] = sub
    return lows, heights


def _lane_part(col: str, value: Any) -> str:
    if _missing(value):
        return NO_SPEAKER if col == "speaker" else f"(no {col})"
    return str(value)


def _group_label(key: Any, names: Sequence[Any]) -> str:
    keys = key if isinstance(key, tuple) else (key,)
    return " / ".join(_lane_part(str(n), k) for n, k in zip(names, keys, strict=False))


def _lane_fontsize(n: int) -> float:
    return 10.0 if n <= 12 else 8.0 if n <= 30 else 6.0


def _legend(ax: Axes, handles: list[Patch], legend: bool | str, *, title: str) -> None:
    if not legend or not handles:
        return
    ncol = 1 if len(handles) <= 14 else 2
    if legend is True:
        ax.legend(handles=handles, title=title, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0.0, frameon=False, ncol=ncol, fontsize=9, title_fontsize=9)
    else:
        ax.legend(handles=handles, title=title, loc=legend, ncol=ncol, fontsize=9,
                  title_fontsize=9, framealpha=0.9)


# --------------------------------------------------------------------------------------------
# time axis

_NICE_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600,
               900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def _nice_step(raw: float) -> float:
    for s in _NICE_STEPS:
        if s >= raw:
            return float(s)
    return float(_NICE_STEPS[-1] * math.ceil(raw / _NICE_STEPS[-1]))


class _ClockLocator(ticker.Locator):
    """Ticks at round clock values (10 s, 30 s, 1 min, 5 min, ...), at most ``nbins`` of them."""

    def __init__(self, nbins: int = 8):
        self.nbins = nbins

    def __call__(self):
        vmin, vmax = self.axis.get_view_interval()
        return self.tick_values(vmin, vmax)

    def tick_values(self, vmin: float, vmax: float):
        vmin, vmax = sorted((vmin, vmax))
        step = _nice_step(max(vmax - vmin, 1e-9) / self.nbins)
        first = math.ceil(vmin / step - 1e-9) * step
        return np.arange(first, vmax + step * 1e-6, step)


def _clock(seconds: float, *, hours: bool, decimals: int) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if decimals:
        seconds = round(seconds, decimals)
    else:
        seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    sec = f"{s:0{3 + decimals}.{decimals}f}" if decimals else f"{int(s):02d}"
    if hours:
        return f"{sign}{int(h)}:{int(m):02d}:{sec}"
    return f"{sign}{int(m + 60 * h):02d}:{sec}"


def _format_time_axis(axis, *, span: float, time_format: str) -> None:
    if time_format not in ("auto", "s", "mm:ss"):
        raise ValueError(f"time_format must be 's', 'mm:ss' or 'auto', got {time_format!r}")
    if time_format == "s" or (time_format == "auto" and span <= 120):
        axis.set_major_locator(ticker.MaxNLocator(nbins=10, steps=[1, 2, 2.5, 5, 10]))
        axis.set_major_formatter(ticker.ScalarFormatter())
        axis.set_label_text("time (s)")
        return
    locator = _ClockLocator()
    hours = span >= 3600
    axis.set_major_locator(locator)

    def fmt(x: float, pos: int | None = None) -> str:
        vmin, vmax = axis.get_view_interval()
        step = _nice_step(max(abs(vmax - vmin), 1e-9) / locator.nbins)
        decimals = next(d for d in range(4) if abs(round(step, d) - step) < 1e-9 or d == 3)
        return _clock(x, hours=hours, decimals=decimals)

    axis.set_major_formatter(ticker.FuncFormatter(fmt))
    axis.set_label_text("time (h:mm:ss)" if hours else "time (mm:ss)")
