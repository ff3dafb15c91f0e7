"""Plots with one lane per speaker (or file) over time: `timeline`, `dimension_timeline`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.patches import Patch

from ..errors import BadResponseError
from .palette import NO_EMOTION_COLOR, emotion_colors
from .parts import (
    NO_EMOTION,
    _format_time_axis,
    _label_codes,
    _lane_columns,
    _lane_fontsize,
    _lane_index,
    _legend,
    _new_axes,
    _plottable,
    _present_labels,
    _row_boxes,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["dimension_timeline", "timeline"]


def timeline(
    df: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lanes: str | Sequence[str] | None = None,
    time_format: str = "auto",
    colors: Mapping[str, Any] | None = None,
    legend: bool | str = True,
    lane_height: float = 0.8,
    title: str | None = None,
) -> Axes:
    """Draw segments on a time line: one lane per speaker, one colour per emotion.

    Parameters
    ----------
    df
        A segment table.
    ax
        The Axes to draw on; a new figure is created when ``None``.
    lanes
        The column(s) that make the lanes. Default: ``speaker`` for one file (``file`` when no
        speaker is known), ``file`` and ``speaker`` together for several files. A missing speaker
        gets its own lane, labelled ``"(no speaker)"``.
    time_format
        ``"s"`` (seconds), ``"mm:ss"`` (``h:mm:ss`` past an hour) or ``"auto"`` (mm:ss for
        recordings longer than two minutes).
    colors
        Overrides of `emotion_colors`, label -> colour.
    legend
        ``True`` puts the legend outside the Axes on the right, where it covers nothing; a
        location string (``"upper right"``, ``"best"``, ...) puts it inside; ``False`` draws none.
    lane_height
        Height of a bar as a fraction of the lane (0 to 1].
    title
        Optional Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.

    Notes
    -----
    Segments are drawn as one `~matplotlib.collections.PolyCollection` of rectangles per
    emotion (labelled with it), like ``broken_barh`` but over all lanes at once, so tables of
    100,000 segments draw quickly. Where segments of one lane overlap, the emotion later in the
    legend is drawn on top. Segments without an emotion are drawn grey, under the others.
    Where segments of one lane overlap in time, that lane is split into stacked sub-lanes (as
    few as the deepest overlap needs), so every segment stays visible.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from emotion_analytics import to_frame
    >>> df = to_frame([{"emotion": "happy", "start": 0, "end": 4, "speaker_id": "A"},
    ...                {"emotion": "sad", "start": 3, "end": 9, "speaker_id": "B"}], file="call")
    >>> ax = timeline(df)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['A', 'B']
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['happy', 'sad']

    Two overlapping segments of one speaker are drawn one above the other:

    >>> both = to_frame([{"emotion": "happy", "start": 0, "end": 4, "speaker_id": "A"},
    ...                  {"emotion": "sad", "start": 2, "end": 6, "speaker_id": "A"}], file="c")
    >>> [float(c.get_paths()[0].get_extents().y0) for c in timeline(both).collections]
    [-0.4, 0.0]
    """
    table = _plottable(df)
    if not 0 < lane_height <= 1:
        raise ValueError(f"lane_height must be in (0, 1], got {lane_height}")
    cols = _lane_columns(table, lanes)
    lane_keys, lane_of_row, lane_first = _lane_index(table, cols)
    n_lanes = max(len(lane_keys), 1)
    if ax is None:
        ax = _new_axes(figsize=(10.0, min(1.2 + 0.45 * n_lanes, 14.0)))

    emotion = table["emotion"]
    labels = _present_labels(emotion)
    palette = emotion_colors(labels, colors=colors)
    starts = table["start"].to_numpy(dtype=float)
    widths = table["duration"].to_numpy(dtype=float)
    codes = _label_codes(emotion, labels)  # -1: no emotion
    lows, heights = _row_boxes(starts, starts + widths, lane_of_row, lane_height)
    # one collection of rectangles per emotion (grey for none) over all lanes: a handful of
    # artists however many segments, so 100,000 segments draw in about a second
    for code in ([-1] if (codes < 0).any() else []) + list(range(len(labels))):
        rows = np.flatnonzero(codes == code)
        x0, x1 = starts[rows], starts[rows] + widths[rows]
        y0, y1 = lows[rows], lows[rows] + heights[rows]
        verts = np.stack([np.column_stack(p) for p in ((x0, y0), (x0, y1), (x1, y1), (x1, y0))],
                         axis=1)
        ax.add_collection(
            PolyCollection(
                verts,
                facecolors=NO_EMOTION_COLOR if code < 0 else palette[labels[code]],
                edgecolors="none",
                linewidths=0,
                zorder=1 if code < 0 else 2,
                label=NO_EMOTION if code < 0 else labels[code],
            ),
            autolim=False,
        )

    if cols[0] == "file" and len(cols) > 1:  # a thin rule between the files' groups of lanes
        for i in range(1, len(lane_first)):
            if lane_first[i] != lane_first[i - 1]:
                ax.axhline(i - 0.5, color="#b0b0b0", linewidth=0.6, zorder=0)
    ax.set_ylim(n_lanes - 0.5, -0.5)  # first lane on top
    ax.set_yticks(range(len(lane_keys)))
    ax.set_yticklabels(lane_keys, fontsize=_lane_fontsize(len(lane_keys)))
    ax.tick_params(axis="y", length=0)
    end = float(np.nanmax(table["end"].to_numpy())) if len(table) else 1.0
    ax.set_xlim(0.0, end)
    _format_time_axis(ax.xaxis, span=end, time_format=time_format)
    ax.grid(axis="x", color="#e3e3e3", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title)
    handles = [Patch(facecolor=palette[lab], label=lab) for lab in labels]
    if (codes < 0).any():
        handles.append(Patch(facecolor=NO_EMOTION_COLOR, label=NO_EMOTION))
    _legend(ax, handles, legend, title="emotion")
    return ax


def dimension_timeline(
    df: pd.DataFrame,
    *,
    dimension: str = "arousal",
    by: str | Sequence[str] | None = None,
    ax: Axes | None = None,
    colors: Mapping[Any, Any] | None = None,
    legend: bool | str = True,
    time_format: str = "auto",
    title: str | None = None,
) -> Axes:
    """Draw a dimension over time: one step line per speaker (or file), the middle marked.

    Each row with a value holds it from its ``start`` until its ``end``, or until the next
    row of the same line starts when windows overlap; where a line has no row, or the row's
    value is NaN, the line breaks. A dashed rule marks 0.5, the middle of the scale.

    Parameters
    ----------
    df
        A segment table with the column ``dimension``.
    dimension
        ``"arousal"`` (default), ``"valence"`` or ``"dominance"``.
    by
        The column(s) that make the lines, as ``lanes`` in `timeline`. Default: ``speaker``
        for one file (``file`` when no speaker is known), ``file`` and ``speaker`` together for
        several files.
    ax
        The Axes to draw on; a new figure is created when ``None``.
    colors
        Line colours, line label -> any matplotlib colour; others follow matplotlib's cycle.
    legend
        As in `timeline` (a legend only when there are several lines).
    time_format
        ``"s"``, ``"mm:ss"`` or ``"auto"``.
    title
        Optional Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on: one ``Line2D`` per line, labelled with it, then the midline.

    Raises
    ------
    BadResponseError
        The table has no ``dimension`` column.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from emotion_analytics import to_frame
    >>> df = to_frame([{"speaker_id": "A", "start": 0, "end": 3, "emotion": "calm",
    ...                 "arousal": 0.2},
    ...                {"speaker_id": "B", "start": 3, "end": 6, "emotion": "angry",
    ...                 "arousal": 0.9}], file="call")
    >>> ax = dimension_timeline(df)
    >>> [line.get_label() for line in ax.get_lines()]
    ['A', 'B', 'middle']
    >>> [float(v) for v in ax.get_ylim()]
    [0.0, 1.0]
    """
    from ..schema import DIMENSIONS

    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {list(DIMENSIONS)}, got {dimension!r}")
    table = _plottable(df)
    if dimension not in table.columns:
        raise BadResponseError(
            f"the table has no {dimension!r} column (it has {list(table.columns)}); it comes "
            "from engines that predict dimensions or from answers that carry them"
        )
    cols = _lane_columns(table, by)
    lane_keys, lane_of_row, _ = _lane_index(table, cols)
    if ax is None:
        ax = _new_axes(figsize=(10.0, 3.6))
    starts = table["start"].to_numpy(dtype=float)
    ends = table["end"].to_numpy(dtype=float)
    values = table[dimension].to_numpy(dtype=float)
    overrides = dict(colors or {})
    for lane, key in enumerate(lane_keys):
        rows = np.flatnonzero(lane_of_row == lane)
        rows = rows[np.lexsort((ends[rows], starts[rows]))]
        x, y = _steps(starts[rows], ends[rows], values[rows])
        style = {"color": overrides[key]} if key in overrides else {}
        ax.plot(x, y, linewidth=1.8, label=key, zorder=2, **style)
    ax.axhline(0.5, color="#8a8a8a", linestyle="--", linewidth=0.9, zorder=1, label="middle")
    end = float(np.nanmax(ends)) if len(ends) else 1.0
    ax.set_xlim(0.0, end or 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_ylabel(f"{dimension} (0 low, 1 high)")
    _format_time_axis(ax.xaxis, span=end, time_format=time_format)
    ax.grid(axis="both", color="#ececec", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title)
    if len(lane_keys) > 1:
        handles = [line for line in ax.get_lines() if line.get_label() in lane_keys]
        if legend is True:
            ax.legend(handles=handles, title=" / ".join(cols), loc="upper left",
                      bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False, fontsize=9,
                      title_fontsize=9)
        elif legend:
            ax.legend(handles=handles, title=" / ".join(cols), loc=legend, fontsize=9,
                      title_fontsize=9, framealpha=0.9)
    return ax


def _steps(start: np.ndarray, end: np.ndarray, value: np.ndarray):
    """x, y of a step line through sorted rows; NaN breaks it at gaps and missing values."""
    stop = end.copy()
    if len(start) > 1:  # overlapping windows: each holds its value until the next one starts
        stop[:-1] = np.minimum(end[:-1], np.maximum(start[1:], start[:-1]))
    keep = ~np.isnan(value) & (stop > start)
    start, stop, value = start[keep], stop[keep], value[keep]
    if not len(start):
        return np.array([np.nan]), np.array([np.nan])
    gap = np.concatenate((start[1:] > stop[:-1] + 1e-9, [True]))
    x = np.column_stack((start, stop, np.full(len(start), np.nan)))
    y = np.column_stack((value, value, np.full(len(start), np.nan)))
    # a NaN after a row only where a gap follows it, so touching rows join with a vertical step
    cells = np.column_stack((np.ones(len(start), bool), np.ones(len(start), bool), gap))
    return x[cells], y[cells]
