"""Plots of segment tables with matplotlib: every function takes ``ax=`` and returns the Axes.

* `timeline`: one lane per speaker (or file), one bar per segment, coloured by emotion;
* `durations_bar`: stacked bars of seconds (or shares) of each emotion per group;
* `transitions_heatmap`: emotion -> next emotion, with the values written in the cells;
* `share_over_time`: stacked area of each emotion's share of the labelled time;
* `dimension_timeline`: a dimension (``arousal``, ``valence``, ``dominance``) over time, one
  step line per speaker (or file), with the middle (0.5) marked.

Colours are stable: the same emotion gets the same colour in every plot and every session
(`emotion_colors`). Labels of the known vocabularies (the embedded model's, the hosted API's,
v1's and the text-emotion ones) have fixed colours, compared without case, and synonyms share one
(``anger``/``angry``, ``happy``/``happiness``/``joy``, ``sad``/``sadness``,
``frustration``/``frustrated``); any other label gets a colour derived from a hash of its
lower-cased text. Segments without an emotion (speaker turns) are drawn light grey.

Nothing here touches pyplot's global state except creating a new figure when no ``ax`` is given.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib import ticker
from matplotlib.collections import PolyCollection
from matplotlib.patches import Patch

from .errors import BadResponseError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "NO_EMOTION",
    "NO_EMOTION_COLOR",
    "NO_SPEAKER",
    "emotion_colors",
    "timeline",
    "durations_bar",
    "transitions_heatmap",
    "share_over_time",
    "dimension_timeline",
]

#: Lane label of segments whose speaker is missing.
NO_SPEAKER = "(no speaker)"
#: Legend label of segments without an emotion (e.g. speaker turns).
NO_EMOTION = "(no emotion)"
#: Colour of segments without an emotion.
NO_EMOTION_COLOR = "#c8c8c8"

_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("#d62728", ("anger", "angry")),
    ("#ff7f0e", ("frustration", "frustrated")),
    ("#8c564b", ("disgust",)),
    ("#9467bd", ("fear",)),
    ("#f2b701", ("happy", "happiness", "joy")),
    ("#e377c2", ("excited",)),
    ("#17becf", ("surprise",)),
    ("#2e7d32", ("trust",)),
    ("#1f77b4", ("sad", "sadness")),
    ("#bcbd22", ("boredom",)),
    ("#a6d8a0", ("neutral",)),
    ("#7b9fd4", ("calm",)),
)
#: The fixed colour of every known label (lower case).
PALETTE: dict[str, str] = {label: color for color, labels in _FAMILIES for label in labels}


def emotion_colors(
    labels: Iterable[Any], *, colors: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The colour of each emotion label, the same in every plot and every session.

    Parameters
    ----------
    labels
        Emotion labels (e.g. ``df["emotion"].unique()``); missing values are left out.
    colors
        Optional overrides, label -> any matplotlib colour.

    Returns
    -------
    dict
        Label -> ``"#rrggbb"``, in the order the labels were given.

    Examples
    --------
    >>> emotion_colors(["anger", "Neutral", "angry"])
    {'anger': '#d62728', 'Neutral': '#a6d8a0', 'angry': '#d62728'}
    >>> emotion_colors(["elation"])["elation"] == emotion_colors(["ELATION"])["ELATION"]  # hash
    True
    >>> emotion_colors(["sad"], colors={"sad": "black"})
    {'sad': '#000000'}
    """
    out: dict[str, str] = {}
    overrides = dict(colors or {})
    for label in labels:
        if _missing(label):
            continue
        label = str(label)
        if label in overrides:
            out[label] = mcolors.to_hex(overrides[label])
        else:
            out[label] = PALETTE.get(label.lower()) or _hash_color(label.lower())
    return out


def _hash_color(key: str) -> str:
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    hue = int.from_bytes(digest[:4], "big") / 2**32
    sat = 0.50 + 0.30 * digest[4] / 255
    val = 0.60 + 0.30 * digest[5] / 255
    return mcolors.to_hex(mcolors.hsv_to_rgb((hue, sat, val)))


# --------------------------------------------------------------------------------------------
# timeline


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


# --------------------------------------------------------------------------------------------
# durations / shares


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


# --------------------------------------------------------------------------------------------
# transitions


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


# --------------------------------------------------------------------------------------------
# share over time


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


# --------------------------------------------------------------------------------------------
# a dimension over time


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
    from .schema import DIMENSIONS

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


def _window_shares(
    table: pd.DataFrame, *, step: float, overlap: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(labels present, window edges, labels x windows shares), seconds summed over files."""
    from . import analysis

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
    from . import analysis

    return analysis.durations(table, by=by, overlap=overlap)


def _transitions(table: pd.DataFrame, *, normalize: bool) -> pd.DataFrame:
    from . import analysis

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
        from .schema import normalize

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
