"""The ``df.emotion`` accessor: a thin namespace over the pure functions in `analysis`.

Every method calls the function of the same name in `emotion_analytics.analysis` (plots in
`emotion_analytics.plotting`, exports in `emotion_analytics.io`) with the frame as first argument;
see those functions for the details. The label column is reached as ``df["emotion"]``.

Importing this module also registers ``ddf.emotion`` on Dask DataFrames when dask is installed
(see `emotion_analytics.dask_accessor`).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from typing import Any

import pandas as pd

from . import analysis, responses
from .analysis import By, Overlap


@pd.api.extensions.register_dataframe_accessor("emotion")
class EmotionAccessor:
    """Emotion-segment methods on any DataFrame with the segment table's columns.

    The label column is reached as ``df["emotion"]`` (``df.emotion`` is this accessor).

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0}], file="call.wav")
    >>> float(df.emotion.durations()["happy"].iloc[0])
    3.0
    """

    def __init__(self, df: pd.DataFrame):
        self._df = df

    # aggregates ------------------------------------------------------------------------------

    def durations(self, *, by: By = "file", overlap: Overlap = "split") -> pd.DataFrame:
        """Seconds of each emotion per group; see `emotion_analytics.analysis.durations`."""
        return analysis.durations(self._df, by=by, overlap=overlap)

    def shares(self, *, by: By = "file", overlap: Overlap = "split") -> pd.DataFrame:
        """Share of each emotion per group; see `emotion_analytics.analysis.shares`."""
        return analysis.shares(self._df, by=by, overlap=overlap)

    def dominant(self, *, by: By = "file", overlap: Overlap = "split") -> pd.Series:
        """The emotion with the most time per group; see `emotion_analytics.analysis.dominant`."""
        return analysis.dominant(self._df, by=by, overlap=overlap)

    def transitions(self, *, by: By = None, normalize: bool = False) -> pd.DataFrame:
        """Emotion -> next emotion counts; see `emotion_analytics.analysis.transitions`."""
        return analysis.transitions(self._df, by=by, normalize=normalize)

    def coverage(self, *, by: By = "file") -> pd.DataFrame:
        """Covered and silent time per group; see `emotion_analytics.analysis.coverage`."""
        return analysis.coverage(self._df, by=by)

    def gaps(self, *, by: By = "file", min_gap: float = 0.0) -> pd.DataFrame:
        """The silent stretches; see `emotion_analytics.analysis.gaps`."""
        return analysis.gaps(self._df, by=by, min_gap=min_gap)

    def talk_time(self, *, by: By = ("file", "speaker")) -> pd.DataFrame:
        """Time each speaker talks; see `emotion_analytics.analysis.talk_time`."""
        return analysis.talk_time(self._df, by=by)

    def summary(self, *, by: By = None, overlap: Overlap = "split") -> pd.DataFrame:
        """One tidy row per file (and speaker); see `emotion_analytics.analysis.summary`."""
        return analysis.summary(self._df, by=by, overlap=overlap)

    # time lines ------------------------------------------------------------------------------

    def to_grid(self, *, step: float = 1.0, by: By = "file") -> pd.DataFrame:
        """Resample to a regular time grid; see `emotion_analytics.analysis.to_grid`."""
        return analysis.to_grid(self._df, step=step, by=by)

    def rolling(
        self,
        *,
        window: float = 10.0,
        step: float = 1.0,
        by: By = "file",
        overlap: Overlap = "split",
    ) -> pd.DataFrame:
        """Emotion shares over a moving window; see `emotion_analytics.analysis.rolling`."""
        return analysis.rolling(self._df, window=window, step=step, by=by, overlap=overlap)

    # tables -> tables ------------------------------------------------------------------------

    def merge_adjacent(self, *, max_gap: float = 0.0) -> pd.DataFrame:
        """Merge consecutive same-emotion segments; see `analysis.merge_adjacent`."""
        return analysis.merge_adjacent(self._df, max_gap=max_gap)

    def assign_speakers(self, turns: pd.DataFrame) -> pd.DataFrame:
        """Cut segments at speaker turns and label them; see `analysis.assign_speakers`."""
        return analysis.assign_speakers(self._df, turns)

    def filter_confidence(
        self, *, min_confidence: float, keep_unknown: bool = True
    ) -> pd.DataFrame:
        """Keep confident rows; see `emotion_analytics.analysis.filter_confidence`."""
        return analysis.filter_confidence(
            self._df, min_confidence=min_confidence, keep_unknown=keep_unknown
        )

    # plots (matplotlib Axes) -----------------------------------------------------------------

    def timeline(self, **kwargs: Any):
        """One lane per speaker or file; see `emotion_analytics.plotting.timeline`."""
        from . import plotting

        return plotting.timeline(self._df, **kwargs)

    def plot_durations(self, **kwargs: Any):
        """Stacked bars of seconds per emotion; see `plotting.durations_bar`."""
        from . import plotting

        return plotting.durations_bar(self._df, normalize=False, **kwargs)

    def plot_shares(self, **kwargs: Any):
        """Stacked bars of emotion shares; see `plotting.durations_bar`."""
        from . import plotting

        return plotting.durations_bar(self._df, normalize=True, **kwargs)

    def plot_transitions(self, **kwargs: Any):
        """Heat map of emotion transitions; see `plotting.transitions_heatmap`."""
        from . import plotting

        return plotting.transitions_heatmap(self._df, **kwargs)

    def plot_share_over_time(self, **kwargs: Any):
        """Emotion shares along the recording; see `plotting.share_over_time`."""
        from . import plotting

        return plotting.share_over_time(self._df, **kwargs)

    # exports ---------------------------------------------------------------------------------

    def to_response(self, *, extras: bool = True):
        """Back to the v2 JSON answer shape; see `emotion_analytics.responses.to_response`."""
        return responses.to_response(self._df, extras=extras)

    def to_rttm(self, path, **kwargs: Any):
        """Write speaker turns as RTTM; see `emotion_analytics.io.write_rttm`."""
        from . import io

        return io.write_rttm(self._df, path, **kwargs)

    def to_textgrid(self, path, **kwargs: Any):
        """Write a Praat TextGrid, one tier per speaker; see `io.write_textgrid`."""
        from . import io

        return io.write_textgrid(self._df, path, **kwargs)


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
