"""The ``df.emotion`` accessor: a thin namespace over the pure functions of the package.

Every method is the function of the same name in `emotion_analytics.analysis` (plots in
`emotion_analytics.plotting`, exports in `emotion_analytics.responses` and
`emotion_analytics.io`) with the frame as first argument. The methods are made from the
functions (`emotion_analytics._shared`), so ``help(df.emotion.durations)`` and Jupyter's
Shift-Tab show the function's own signature, defaults and docstring. The label column is reached
as ``df["emotion"]``.

Importing this module also registers ``ddf.emotion`` on Dask DataFrames when dask is installed
(see `emotion_analytics.dask_accessor`).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys

import pandas as pd

from ._shared import shared

_ANALYSIS = "emotion_analytics.analysis"
_PLOTTING = "emotion_analytics.plotting"


@pd.api.extensions.register_dataframe_accessor("emotion")
class EmotionAccessor:
    """Emotion-segment methods on any DataFrame with the segment table's columns.

    The label column is reached as ``df["emotion"]`` (``df.emotion`` is this accessor). A table
    made by hand without a ``file`` column is one recording.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0}], file="call.wav")
    >>> float(df.emotion.durations()["happy"].iloc[0])
    3.0
    """

    def __init__(self, df: pd.DataFrame):
        self._df = df

    # aggregates
    durations = shared(_ANALYSIS, "durations")
    shares = shared(_ANALYSIS, "shares")
    dominant = shared(_ANALYSIS, "dominant")
    dimensions = shared(_ANALYSIS, "dimensions")
    transitions = shared(_ANALYSIS, "transitions")
    coverage = shared(_ANALYSIS, "coverage")
    gaps = shared(_ANALYSIS, "gaps")
    talk_time = shared(_ANALYSIS, "talk_time")
    summary = shared(_ANALYSIS, "summary")

    # time lines
    to_grid = shared(_ANALYSIS, "to_grid")
    rolling = shared(_ANALYSIS, "rolling")

    # tables -> tables
    merge_adjacent = shared(_ANALYSIS, "merge_adjacent")
    assign_speakers = shared(_ANALYSIS, "assign_speakers")
    filter_confidence = shared(_ANALYSIS, "filter_confidence")

    # plots (matplotlib Axes)
    timeline = shared(_PLOTTING, "timeline")
    dimension_timeline = shared(_PLOTTING, "dimension_timeline")
    plot_durations = shared(_PLOTTING, "durations_bar", fixed={"normalize": False})
    plot_shares = shared(_PLOTTING, "durations_bar", fixed={"normalize": True})
    plot_transitions = shared(_PLOTTING, "transitions_heatmap")
    plot_share_over_time = shared(_PLOTTING, "share_over_time")

    # exports
    to_response = shared("emotion_analytics.responses", "to_response")
    to_rttm = shared("emotion_analytics.io", "write_rttm")
    to_textgrid = shared("emotion_analytics.io", "write_textgrid")

    def _repr_html_(self) -> str:
        """A summary for Jupyter: files, speakers, speech time, the top emotions.

        Jupyter shows it when a cell ends with ``df.emotion``.

        Examples
        --------
        >>> import emotion_analytics as ea
        >>> df = ea.to_frame([{"emotion": "happy", "start": 0, "end": 3, "speaker_id": "A"},
        ...                   {"emotion": "sad", "start": 3, "end": 4, "speaker_id": "B"}],
        ...                  file="call.wav")
        >>> html = df.emotion._repr_html_()
        >>> "1 file" in html, "2 speakers" in html, "happy 75%" in html
        (True, True, True)
        """
        import html

        from .schema import dimension_columns, normalize

        df = self._df if "file" in self._df.columns else normalize(self._df)
        n_files = int(df["file"].nunique())
        speakers = df["speaker"].dropna().astype(str).unique().tolist() if "speaker" in df else []
        seconds = df.emotion.durations(by=None) if len(df) else pd.DataFrame()
        total = float(seconds.to_numpy().sum()) if len(seconds) else 0.0
        top = seconds.iloc[0].sort_values(ascending=False).head(4) if len(seconds) else []
        tops = ", ".join(f"{html.escape(str(k))} {v / total:.0%}" for k, v in top.items()
                         if v > 0) if total else "none"
        rows = [
            ("recordings", f"{n_files} file{'s' * (n_files != 1)}: "
             + html.escape(", ".join(map(str, df["file"].dropna().unique()[:5]))
                           + (", ..." if n_files > 5 else ""))),
            ("speakers", f"{len(speakers)} speaker{'s' * (len(speakers) != 1)}"
             + (": " + html.escape(", ".join(speakers[:8])) if speakers else "")),
            ("segments", f"{len(df)}"),
            ("speech with an emotion", f"{total:.1f} s ({total / 60:.1f} min)"),
            ("top emotions", tops),
        ]
        for dim in dimension_columns(df):
            values = pd.to_numeric(df[dim], errors="coerce")
            if values.notna().any():
                rows.append((f"mean {dim}", f"{values.mean():.2f}"))
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>"
                       f"{v}</td></tr>" for k, v in rows)
        return f"<table class='emotion-accessor'><caption>df.emotion</caption>{body}</table>"


def _load_dask_accessor() -> None:
    try:
        from . import dask_accessor  # noqa: F401  (registers ddf.emotion)
    except ImportError:  # dask without its dataframe part: nothing to register
        pass


class _RegisterOnDaskImport(importlib.abc.MetaPathFinder):
    """Registers ``ddf.emotion`` right after ``dask.dataframe`` is first imported.

    ``dask.dataframe`` takes seconds to import, so the package does not import it itself.
    """

    def find_spec(self, name, path, target=None):
        if name != "dask.dataframe":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _load_dask_accessor()

        spec.loader.exec_module = exec_module
        return spec


if "dask.dataframe" in sys.modules:
    _load_dask_accessor()
elif importlib.util.find_spec("dask") is not None and not any(
    isinstance(f, _RegisterOnDaskImport) for f in sys.meta_path
):
    sys.meta_path.insert(0, _RegisterOnDaskImport())
