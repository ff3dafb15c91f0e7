"""What the widget app shows and exports, as plain functions of a segment table.

`summary` (seconds per emotion), `timeline_png` / `timeline_map` (the timeline and where each
segment is on it), `dimensions_png` (arousal over time), `player_segments` (what the player's
hover and table show), `exports` (CSV, Parquet, the v2 JSON answer, RTTM, the timeline PNG),
`download_link` / `export_links` (data-URI links that work in JupyterLab and Voila alike) and
`errors_html`. `emotion_analytics.widgets` re-exports them all.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

__all__ = [
    "summary",
    "table_html",
    "timeline_png",
    "TimelineMap",
    "timeline_map",
    "dimensions_png",
    "player_segments",
    "results_csv",
    "Export",
    "exports",
    "download_link",
    "data_link",
    "export_links",
    "errors_html",
]


def _group(df: pd.DataFrame) -> str | list[str]:
    """Group by speaker when the table has speakers (per file when there are several)."""
    if df["speaker"].notna().any():
        return ["file", "speaker"] if df["file"].nunique() > 1 else "speaker"
    return "file"


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Seconds of each emotion per speaker (per file when the table has no speakers), with a total.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0},
    ...                   {"emotion": "sad", "start": 3.0, "end": 4.5}], file="call.wav")
    >>> summary(df).loc["call.wav"].to_dict()
    {'happy': 3.0, 'sad': 1.5, 'total': 4.5}
    """
    out = df.emotion.durations(by=_group(df))
    out = out.loc[:, [c for c in out.columns if (out[c] > 0).any()]]
    out["total"] = out.sum(axis=1)
    return out


def table_html(df: pd.DataFrame, *, max_rows: int = 500) -> str:
    """The segment table as HTML (times rounded to 0.01 s), in a scrolling box.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0}], file="a.wav")
    >>> "<td>happy</td>" in table_html(df)
    True
    """
    shown = df.head(max_rows).round(2)
    cols = [c for c in shown.columns if not str(c).startswith("prob_")]
    more = (
        f"<p>Showing the first {max_rows} of {len(df)} segments; download the CSV for all.</p>"
        if len(df) > max_rows
        else ""
    )
    body = shown[cols].to_html(index=False, classes="emotion-table", border=0, na_rep="")
    return f'<div style="max-height:360px;overflow:auto">{body}</div>{more}'


class TimelineMap(NamedTuple):
    """The timeline as PNG, and where things are on it (fractions of the image, from top left).

    ``boxes[i]`` is ``[x0, y0, x1, y1]`` of row ``i``'s bar (None for a row without times);
    ``plot_box`` is the plotting area; ``span`` the seconds its width shows; ``lanes`` the
    ``[y0, y1]`` band of each lane, top to bottom.
    """

    png: bytes
    boxes: list[list[float] | None]
    plot_box: list[float]
    span: float
    lanes: list[list[float]]


def _figure(df: pd.DataFrame, *, width: float, dpi: int):
    from matplotlib.figure import Figure

    rows = df.groupby(_group(df), observed=True).ngroups if len(df) else 1
    labels = df["emotion"].nunique() if len(df) else 1
    height = max(1.2 + 0.45 * max(rows, 1), 0.7 + 0.22 * labels)  # room for the legend
    fig = Figure(figsize=(width, min(height, 14.0)), dpi=dpi, layout="constrained")
    return fig, fig.subplots()


def _png(fig, dpi: int) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def timeline_png(df: pd.DataFrame, *, width: float = 9.0, dpi: int = 96) -> bytes:
    """The emotion timeline (`df.emotion.timeline`) rendered as PNG bytes.

    Uses a stand-alone matplotlib Figure (no pyplot state), so it works in any kernel or thread.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0}], file="a.wav")
    >>> timeline_png(df)[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    return timeline_map(df, width=width, dpi=dpi).png


def timeline_map(df: pd.DataFrame, *, width: float = 9.0, dpi: int = 96) -> TimelineMap:
    """The timeline PNG and the box of every segment on it, for hovering and clicking.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0},
    ...                   {"emotion": "sad", "start": 3.0, "end": 6.0}], file="a.wav")
    >>> m = timeline_map(df)
    >>> left, right = m.boxes
    >>> left[0] < left[2] <= right[0] + 1e-9 < right[2], m.span
    (True, 6.0)
    """
    import numpy as np

    from . import plotting
    from .plotting import parts

    fig, ax = _figure(df, width=width, dpi=dpi)
    plotting.timeline(df, ax=ax)
    png = _png(fig, dpi)
    table = parts._plottable(df)
    starts = table["start"].to_numpy(dtype=float)
    ends = table["end"].to_numpy(dtype=float)
    lane_keys, lane_of_row, _ = parts._lane_index(table, parts._lane_columns(table, None))
    lows, heights = parts._row_boxes(starts, ends, lane_of_row, 0.8)
    w, h = fig.bbox.width, fig.bbox.height
    boxes: list[list[float] | None] = [None] * len(table)
    if len(table):
        p0 = ax.transData.transform(np.column_stack([starts, lows]))
        p1 = ax.transData.transform(np.column_stack([ends, lows + heights]))
        for i in range(len(table)):
            if not (np.isfinite(p0[i]).all() and np.isfinite(p1[i]).all()):
                continue
            x0, x1 = sorted((p0[i, 0] / w, p1[i, 0] / w))
            y0, y1 = sorted((1 - p0[i, 1] / h, 1 - p1[i, 1] / h))
            boxes[i] = [round(float(v), 5) for v in (x0, y0, x1, y1)]
    bb = ax.get_window_extent()
    plot_box = [bb.x0 / w, 1 - bb.y1 / h, bb.x1 / w, 1 - bb.y0 / h]
    lanes = []
    for k in range(len(lane_keys)):
        ys = ax.transData.transform([[0.0, k - 0.5], [0.0, k + 0.5]])[:, 1]
        lanes.append(sorted(round(float(1 - y / h), 5) for y in ys))
    return TimelineMap(png, boxes, [round(float(v), 5) for v in plot_box],
                       float(ax.get_xlim()[1]), lanes)


def dimensions_png(df: pd.DataFrame, *, dimension: str = "arousal", width: float = 9.0,
                   dpi: int = 96) -> bytes:
    """``dimension`` over time (`df.emotion.dimension_timeline`) as PNG; b"" without the column.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0}], file="a.wav")
    >>> dimensions_png(df)
    b''
    >>> df["arousal"] = 0.7
    >>> dimensions_png(df)[:4]
    b'\\x89PNG'
    """
    if dimension not in df.columns or not pd.to_numeric(df[dimension], errors="coerce").notna(
    ).any():
        return b""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, 2.6), dpi=dpi, layout="constrained")
    ax = fig.subplots()
    df.emotion.dimension_timeline(dimension=dimension, ax=ax)
    return _png(fig, dpi)


def _plain(value: Any) -> Any:
    """A JSON-safe value: numbers rounded, NaN/NA as None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return str(value)
        if math.isnan(number):
            return None
        return int(number) if float(number).is_integer() and abs(number) < 2**53 else round(
            number, 3)
    return str(value)


def player_segments(df: pd.DataFrame) -> tuple[list[dict], list[str]]:
    """What the player shows of each row (hover text, table cells), and the table's columns.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0, "confidence": 0.8,
    ...                    "scores": {"happy": 0.8, "sad": 0.2}}], file="a.wav")
    >>> segments, columns = player_segments(df)
    >>> segments[0]["emotion"], segments[0]["probs"], "prob_sad" in columns
    ('happy', {'happy': 0.8, 'sad': 0.2}, False)
    """
    from .schema import PROB_PREFIX, dimension_columns, prob_columns

    probs = prob_columns(df)
    dims = dimension_columns(df)
    columns = [c for c in df.columns if c not in probs and c != "adapted"]
    out = []
    records = df.astype(object).to_dict("records")
    for rec in records:
        row = {c: _plain(rec[c]) for c in columns}
        out.append({
            "file": row.get("file"), "speaker": row.get("speaker"),
            "start": row.get("start"), "end": row.get("end"),
            "emotion": row.get("emotion"), "confidence": row.get("confidence"),
            "probs": {c[len(PROB_PREFIX):]: _plain(rec[c]) for c in probs
                      if _plain(rec[c]) is not None},
            "dims": {d: _plain(rec[d]) for d in dims if _plain(rec[d]) is not None},
            "row": row,
        })
    return out, [str(c) for c in columns]


def results_csv(df: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV bytes (what the app's download link holds).

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0}], file="a.wav")
    >>> results_csv(df).decode().splitlines()[0]
    'file,speaker,start,end,duration,emotion,confidence'
    """
    return df.to_csv(index=False).encode("utf-8")


class Export(NamedTuple):
    """One download: its file name, MIME type and bytes."""

    filename: str
    mime: str
    data: bytes


def _rttm_bytes(df: pd.DataFrame) -> bytes:
    from .io import write_rttm

    table = df.copy()
    for col in ("file", "speaker"):
        if col in table.columns:
            values = table[col].astype(object)
            table[col] = values.where(values.isna(), values.astype(str).str.replace(
                r"\s+", "_", regex=True))
    with tempfile.TemporaryDirectory() as tmp:
        return write_rttm(table, Path(tmp) / "emotions.rttm").read_bytes()


def exports(df: pd.DataFrame, *, png: bytes | None = None,
            stem: str = "emotions") -> dict[str, Export]:
    """The app's downloads: ``csv``, ``parquet`` (with pyarrow), ``json`` (the v2 answer),
    ``rttm`` (the segments as speaker turns) and ``png`` (the timeline).

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0}], file="my call.wav")
    >>> out = exports(df)
    >>> sorted(out)
    ['csv', 'json', 'parquet', 'png', 'rttm']
    >>> out["rttm"].data.split()[:2], out["json"].filename
    ([b'SPEAKER', b'my_call.wav'], 'emotions.json')
    """
    out = {"csv": Export(f"{stem}.csv", "text/csv", results_csv(df))}
    try:
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        out["parquet"] = Export(f"{stem}.parquet", "application/vnd.apache.parquet",
                                buf.getvalue())
    except ImportError:  # pyarrow is the parquet extra
        pass
    answer = df.emotion.to_response()
    out["json"] = Export(f"{stem}.json", "application/json",
                         json.dumps(answer, indent=1, allow_nan=False).encode("utf-8"))
    out["rttm"] = Export(f"{stem}.rttm", "text/plain", _rttm_bytes(df))
    out["png"] = Export(f"{stem}-timeline.png", "image/png",
                        png if png is not None else timeline_png(df))
    return out


def data_link(data: bytes, *, filename: str, mime: str, text: str, kind: str = "") -> str:
    """An HTML link that downloads ``data`` as ``filename`` from a data URI.

    Examples
    --------
    >>> data_link(b"a,b", filename="x.csv", mime="text/csv", text="CSV")
    '<a download="x.csv" href="data:text/csv;base64,YSxi" class="emotion-download">CSV</a>'
    """
    payload = base64.b64encode(data).decode("ascii")
    name = html.escape(filename, quote=True)
    extra = f' data-kind="{html.escape(kind, quote=True)}"' if kind else ""
    return (f'<a download="{name}" href="data:{mime};base64,{payload}" '
            f'class="emotion-download"{extra}>{html.escape(text)}</a>')


def download_link(df: pd.DataFrame, *, filename: str = "emotions.csv") -> str:
    """An HTML link that downloads the table as CSV from a data URI (works in Voila too).

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0}], file="a.wav")
    >>> download_link(df)[:60]
    '<a download="emotions.csv" href="data:text/csv;base64,ZmlsZS'
    """
    return data_link(results_csv(df), filename=filename, mime="text/csv", kind="csv",
                     text=f"Download the results as CSV ({len(df)} segments)")


_EXPORT_TEXT = {"csv": "CSV", "parquet": "Parquet", "json": "JSON (v2 answer)",
                "rttm": "RTTM", "png": "Timeline PNG"}


def export_links(df: pd.DataFrame, *, png: bytes | None = None) -> str:
    """One download link per export (`exports`), in a row.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0}], file="a.wav")
    >>> export_links(df).count('class="emotion-download"')
    5
    """
    links = [data_link(e.data, filename=e.filename, mime=e.mime, kind=kind,
                       text=_EXPORT_TEXT.get(kind, kind))
             for kind, e in exports(df, png=png).items()]
    return ("<div class='emotion-exports'>Download: " + " &middot; ".join(links)
            + f" <span style='color:#616161'>({len(df)} segments)</span></div>")


def errors_html(errors: Iterable[Any]) -> str:
    """A red box listing each problem (file: message); empty string when there is none.

    Examples
    --------
    >>> from emotion_analytics.widgets import FileFailure
    >>> errors_html([FileFailure("notes.txt", "not audio.")]).count("<li>")
    1
    >>> errors_html([])
    ''
    """
    items = []
    for err in errors:
        if hasattr(err, "file") and hasattr(err, "message"):  # a FileFailure
            items.append(f"<li><b>{html.escape(err.file)}</b>: {html.escape(err.message)}</li>")
        else:
            items.append(f"<li>{html.escape(str(err))}</li>")
    if not items:
        return ""
    return (
        '<div class="emotion-errors" style="border:1px solid #c62828;background:#fdecea;'
        'color:#b71c1c;padding:6px 10px;border-radius:4px">'
        f"<b>Could not analyse everything:</b><ul style='margin:4px 0'>{''.join(items)}</ul></div>"
    )


