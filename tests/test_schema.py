"""The tidy table's columns and dtypes, and the check that enforces them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emotion_analytics import BadResponseError
from emotion_analytics.errors import MissingDependencyError, require
from emotion_analytics.schema import COLUMNS, empty_frame, normalize, prob_columns, validate


def test_empty_frame_has_fixed_columns():
    df = empty_frame(extra=["prob_a"])
    assert list(df.columns) == [*COLUMNS, "prob_a"]
    assert len(df) == 0


def test_normalize_fills_missing_columns_and_recomputes_duration():
    df = normalize(
        pd.DataFrame(
            {
                "file": ["f"],
                "start": [1],
                "end": [4],
                "duration": [99.0],
                "speaker": [3.0],
                "extra": ["kept"],
            }
        )
    )
    assert df["duration"].tolist() == [3.0]
    assert df["speaker"].tolist() == ["3"]
    assert df["emotion"].isna().all() and df["confidence"].isna().all()
    assert list(df.columns) == [*COLUMNS, "extra"]


def test_normalize_rejects_non_numeric_times():
    with pytest.raises(ValueError):
        normalize(pd.DataFrame({"file": ["f"], "start": ["soon"], "end": [1.0]}))


def test_validate_accepts_good_and_nan_end_rows():
    df = normalize(pd.DataFrame({"file": ["a", "a"], "start": [0.0, 0.0], "end": [1.0, np.nan]}))
    assert validate(df) is df


@pytest.mark.parametrize(
    "start, end, file, message",
    [
        (-1.0, 1.0, "a", "finite number >= 0"),
        (np.inf, 1.0, "a", "finite number >= 0"),
        (2.0, 2.0, "a", "must be before"),
        (0.0, np.inf, "a", "must be before"),
        (0.0, 1.0, None, "'file' is missing"),
    ],
)
def test_validate_names_the_bad_row(start, end, file, message):
    df = normalize(pd.DataFrame({"file": ["ok", file], "start": [0.0, start], "end": [1.0, end]}))
    with pytest.raises(BadResponseError, match=f"record 1: .*{message}"):
        validate(df, source="table.csv")


def test_validate_requires_columns():
    with pytest.raises(BadResponseError, match="missing column"):
        validate(pd.DataFrame({"start": [0.0]}))


def test_prob_columns():
    assert prob_columns(pd.DataFrame(columns=["prob_x", "file", "probe"])) == ["prob_x"]


def test_require_names_the_extra():
    with pytest.raises(MissingDependencyError, match=r"emotion_analytics\[dask\]"):
        require("surely_not_installed_pkg", "dask")
