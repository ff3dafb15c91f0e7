"""Helpers shared by the file formats of `emotion_analytics.io`."""

from __future__ import annotations

import math
import os
from typing import Union

import pandas as pd

from ..errors import BadResponseError
from ..schema import COLUMNS, normalize

PathLike = Union[str, "os.PathLike[str]"]

#: How a missing speaker or emotion is written in RTTM and TextGrid files.
NA_TOKEN = "<NA>"


def is_missing(value: object) -> bool:
    """Whether a cell is missing (``None``, ``pd.NA`` or NaN).

    >>> is_missing(None), is_missing(float("nan")), is_missing("a")
    (True, True, False)
    """
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def as_table(df: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """``df`` as a segment table (normalised unless it already has every column)."""
    missing = [c for c in ("file", "start", "end") if c not in df.columns]
    if missing:
        raise BadResponseError(
            f"not a segment table: missing column(s) {missing}; build one with "
            "emotion_analytics.to_frame() or emotion_analytics.schema.normalize()",
            source=source,
        )
    if all(c in df.columns for c in COLUMNS):
        return df
    return normalize(df)
