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
