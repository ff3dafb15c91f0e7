"""The ``df.emotion`` accessor: a thin namespace over the pure functions in `analysis`."""

from __future__ import annotations

import pandas as pd

from . import responses


@pd.api.extensions.register_dataframe_accessor("emotion")
class EmotionAccessor:
    """Emotion-segment methods on any DataFrame with the segment table's columns.

    The label column is reached as ``df["emotion"]`` (``df.emotion`` is this accessor).
    """

    def __init__(self, df: pd.DataFrame):
        self._df = df

    def to_response(self, *, extras: bool = True):
        """Back to the v2 JSON answer shape; see `emotion_analytics.responses.to_response`."""
        return responses.to_response(self._df, extras=extras)
