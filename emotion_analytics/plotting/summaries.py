"""Plots of aggregates: `durations_bar`, `transitions_heatmap`, `share_over_time`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.patches import Patch

from ..errors import BadResponseError
from .palette import emotion_colors
from .parts import (
    _durations,
    _format_time_axis,
    _group_label,
    _legend,
    _new_axes,
    _nice_step,
    _plottable,
    _present_labels,
    _transitions,
    _window_shares,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["durations_bar", "share_over_time", "transitions_heatmap"]


def durations_bar(
    df: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = "file",
    normalize: bool = False,
    overlap: str = "split",
    ax: Axes | None = None,
    colors: Mapping[str, Any] | None = None,
    legend: bool | str = True,
    time_format: str = "auto",
    horizontal: bool | None = None,
) -> Axes:
    """Stacked bars: seconds (or shares) of each emotion per group.

    Parameters
    ----------
    df
        A segment table.
    by
        Group column(s), as in ``df.emotion.durations``; ``None`` for one bar over the table.
    normalize
        Shares of each group's labelled time (0-100 %) instead of seconds.
    overlap
        How overlapping segments count, as in ``df.emotion.durations``.
    ax
        The Axes to draw on; a new figure is created when ``None``.
    colors
        Overrides of `emotion_colors`.
    legend
        As in `timeline`.
    time_format
        Value axis of seconds: ``"s"``, ``"mm:ss"`` or ``"auto"`` (mm:ss past two minutes).
    horizontal
        Horizontal bars; by default chosen when there are many groups or long group names.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on: one bar patch per group and emotion (zero-height ones included).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from emotion_analytics import to_frame
    >>> df = to_frame({"a": [{"emotion": "happy", "start": 0, "end": 4}],
    ...                "b": [{"emotion": "sad", "start": 0, "end": 2}]})
    >>> ax = durations_bar(df, normalize=True)
    >>> len(ax.patches)  # 2 files x 2 emotions
    4
    """
    table = _plottable(df)
    wide = _durations(table, by=by, overlap=overlap)
    wide.columns = [str(c) for c in wide.columns]
    labels = [lab for lab in _present_labels(table["emotion"]) if lab in wide.columns]
    wide = wide[labels]
    palette = emotion_colors(labels, colors=colors)
    values = wide.to_numpy(dtype=float)
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    groups = [_group_label(g, wide.index.names) for g in wide.index]
    if horizontal is None:
        horizontal = len(groups) > 12 or max((len(g) for g in groups), default=0) * len(groups) > 90
    if ax is None:
        size = (8.0, min(1.5 + 0.32 * len(groups), 14.0)) if horizontal else (
            min(4.0 + 0.5 * len(groups), 14.0), 4.5)
        ax = _new_axes(figsize=size)
    pos = np.arange(len(groups))
    bottom = np.zeros(len(groups))
    for j, lab in enumerate(labels):
        if horizontal:
            ax.barh(pos, values[:, j], left=bottom, color=palette[lab], label=lab, height=0.75)
        else:
            ax.bar(pos, values[:, j], bottom=bottom, color=palette[lab], label=lab, width=0.75)
        bottom = bottom + values[:, j]
    cat_axis, val_axis = (ax.yaxis, ax.xaxis) if horizontal else (ax.xaxis, ax.yaxis)
    cat_axis.set_ticks(pos)
    cat_axis.set_ticklabels(groups)
    if horizontal:
        ax.set_ylim(len(groups) - 0.5, -0.5)
    elif sum(len(g) for g in groups) > 60:
        for t in ax.get_xticklabels():
            t.set_rotation(30)
            t.set_horizontalalignment("right")
    if normalize:
        val_axis.set_major_formatter(ticker.PercentFormatter(1.0))
        val_axis.set_label_text("share of labelled time")
        (ax.set_xlim if horizontal else ax.set_ylim)(0, 1)
    else:
        _format_time_axis(val_axis, span=float(bottom.max()) if len(bottom) else 1.0,
                          time_format=time_format)
        val_axis.set_label_text(val_axis.get_label_text().replace("time", "duration"))
    if by is not None:
        cat_axis.set_label_text(by if isinstance(by, str) else " / ".join(by))
    ax.grid(axis="x" if horizontal else "y", color="#e3e3e3", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    handles = [Patch(facecolor=palette[lab], label=lab) for lab in labels]
    _legend(ax, handles if horizontal else handles[::-1], legend, title="emotion")
    return ax


def transitions_heatmap(
    df: pd.DataFrame,
    *,
    normalize: bool = True,
    ax: Axes | None = None,
    cmap: str = "Blues",
    annotate: bool = True,
    colorbar: bool = True,
) -> Axes:
    """Heat map of emotion -> next emotion, with each cell's value written in it.

    Parameters
    ----------
    df
        A segment table.
    normalize
        Rows as probabilities (each row sums to 1) instead of counts, as in
        ``df.emotion.transitions``.
    ax
        The Axes to draw on; a new figure is created when ``None``.
    cmap
        A matplotlib colour map name.
    annotate
        Write the value in every cell (shares as ``0.42``, counts as integers).
    colorbar
        Add a colour bar beside the Axes.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on (one image; one text per cell when annotated).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from emotion_analytics import to_frame
    >>> df = to_frame([{"emotion": e, "start": i, "end": i + 1}
    ...                for i, e in enumerate(["happy", "sad", "happy", "neutral"])])
    >>> ax = transitions_heatmap(df, normalize=False)
    >>> sorted(t.get_text() for t in ax.texts)
    ['0', '0', '0', '0', '0', '0', '1', '1', '1']
    """
    table = _plottable(df)
    matrix = _transitions(table, normalize=normalize)
    matrix.index = [str(r) for r in matrix.index]
    matrix.columns = [str(c) for c in matrix.columns]
    present = [lab for lab in _present_labels(table["emotion"]) if lab in matrix.index]
    matrix = matrix.loc[present, present]
    rows = cols = present
    values = matrix.to_numpy(dtype=float)
    if ax is None:
        side = min(3.0 + 0.55 * max(len(rows), len(cols), 1), 12.0)
        ax = _new_axes(figsize=(side + (1.2 if colorbar else 0.0), side))
    top = float(np.nanmax(values)) if values.size and not np.isnan(values).all() else 0.0
    vmax = max(top, 1e-9 if normalize else 1.0)  # the darkest cell is the largest value
    image = ax.imshow(values if values.size else np.zeros((1, 1)), cmap=cmap, vmin=0, vmax=vmax,
                      aspect="equal", interpolation="nearest")
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols, rotation=45 if sum(map(len, cols)) > 4 * max(len(cols), 1) else 0,
                       ha="right" if sum(map(len, cols)) > 4 * max(len(cols), 1) else "center")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows)
    ax.set_xlabel("next emotion")
    ax.set_ylabel("emotion")
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    if annotate and values.size:
        cmap_obj = image.get_cmap()
        size = 9 if max(len(rows), len(cols)) <= 8 else 7
        for (i, j), v in np.ndenumerate(values):
            text = "" if np.isnan(v) else (f"{v:.2f}" if normalize else f"{v:.0f}")
            r, g, b, _ = cmap_obj(image.norm(0 if np.isnan(v) else v))
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
            ax.text(j, i, text, ha="center", va="center", fontsize=size,
                    color="white" if dark else "#222222")
    if colorbar:
        bar = ax.figure.colorbar(image, ax=ax)
        bar.set_label("share of next emotion" if normalize else "transitions")
        if not normalize:
            bar.locator = ticker.MaxNLocator(integer=True)
            bar.update_ticks()
        bar.outline.set_visible(False)
    return ax


def share_over_time(
    df: pd.DataFrame,
    *,
    step: float | None = None,
    file: str | None = None,
    overlap: str = "split",
    ax: Axes | None = None,
    colors: Mapping[str, Any] | None = None,
    legend: bool | str = True,
    time_format: str = "auto",
) -> Axes:
    """Stacked area of each emotion's share of the emotion time, window by window.

    Time is cut into windows of ``step`` seconds from 0. In each window an emotion's share is
    its seconds there (summed over all files, or of one ``file``) divided by all emotion
    seconds there, so the shares of a window add up to 100 %; windows without any emotion
    segment are left empty. Rows without an emotion (speaker turns) are left out. The seconds
    come from ``df.emotion.rolling(window=step, step=step)``.

    Parameters
    ----------
    df
        A segment table.
    step
        Window length in seconds; by default a round value giving about 60 windows.
    file
        Only this file.
    overlap
        How overlapping segments of one file count, as in ``df.emotion.durations``.
    ax
        The Axes to draw on; a new figure is created when ``None``.
    colors
        Overrides of `emotion_colors`.
    legend
        As in `timeline`.
    time_format
        ``"s"``, ``"mm:ss"`` or ``"auto"``.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on (one filled area per emotion present).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from emotion_analytics import to_frame
    >>> df = to_frame([{"emotion": "happy", "start": 0, "end": 60},
    ...                {"emotion": "sad", "start": 30, "end": 120}])
    >>> ax = share_over_time(df, step=10)
    >>> len(ax.collections)
    2
    """
    table = _plottable(df)
    if file is not None:
        keep = (table["file"].astype(object) == file).to_numpy()
        if not keep.any():
            known = ", ".join(map(str, table["file"].unique()[:5]))
            raise BadResponseError(f"file {file!r} is not in the table (files: {known}, ...)")
        table = table[keep]
    end = float(table["end"].max()) if len(table) else 0.0
    if step is None:
        step = _nice_step(max(end, 1e-3) / 60)
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not step > 0 \
            or not math.isfinite(step):
        raise ValueError(f"step must be a positive number of seconds, got {step!r}")
    labels, edges, shares = _window_shares(table, step=float(step), overlap=overlap)
    palette = emotion_colors(labels, colors=colors)
    if ax is None:
        ax = _new_axes(figsize=(10.0, 3.8))
    if labels:
        # each window flat over its span: steps at the window edges
        ys = np.nan_to_num(shares, nan=0.0)
        ax.stackplot(edges, np.hstack([ys, ys[:, -1:]]), colors=[palette[k] for k in labels],
                     labels=labels, linewidth=0, step="post")
    ax.set_xlim(0.0, end or 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.yaxis.set_major_formatter(ticker.PercentFormatter(1.0))
    ax.set_ylabel("share of emotion time")
    _format_time_axis(ax.xaxis, span=end, time_format=time_format)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    handles = [Patch(facecolor=palette[k], label=k) for k in labels]
    _legend(ax, handles[::-1], legend, title="emotion")  # top to bottom, as stacked
    return ax
