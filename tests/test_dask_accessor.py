"""ddf.emotion on real Dask DataFrames gives the pandas answers, however the rows are split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import emotion_analytics as ea

dd = pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def df():
    rng = np.random.default_rng(7)
    n = 400
    start = np.round(rng.uniform(0, 60, n), 2)
    return ea.schema.normalize(
        pd.DataFrame(
            {
                "file": rng.choice([f"f{i}" for i in range(6)], n),
                "speaker": rng.choice(["1", "2", None], n),
                "start": start,
                "end": start + np.round(rng.uniform(0.5, 6, n), 2),  # plenty of overlap
                "emotion": rng.choice(["happy", "sad", "calm"], n),
            }
        )
    )


@pytest.fixture(scope="module")
def ddf(df):
    # rows of one file land in several partitions: the split aggregates must shuffle
    return dd.from_pandas(df.sample(frac=1.0, random_state=1), npartitions=4, sort=False)


def test_the_accessor_is_registered_on_dask_frames(ddf):
    assert hasattr(ddf.emotion, "durations")


@pytest.mark.parametrize("overlap", ["split", "count"])
@pytest.mark.parametrize("by", ["file", ["file", "speaker"], "speaker", None])
def test_durations_shares_dominant_match_pandas(df, ddf, by, overlap):
    want = df.emotion.durations(by=by, overlap=overlap).sort_index()
    got = ddf.emotion.durations(by=by, overlap=overlap)
    pd.testing.assert_frame_equal(got, want, check_exact=False, atol=1e-9)
    pd.testing.assert_frame_equal(
        ddf.emotion.shares(by=by, overlap=overlap),
        df.emotion.shares(by=by, overlap=overlap).sort_index(),
        check_exact=False,
    )
    assert (
        ddf.emotion.dominant(by=by, overlap=overlap).astype(str).tolist()
        == df.emotion.dominant(by=by, overlap=overlap).sort_index().astype(str).tolist()
    )


def test_talk_time_coverage_transitions_match_pandas(df, ddf):
    pd.testing.assert_frame_equal(
        ddf.emotion.talk_time(), df.emotion.talk_time().sort_index(), check_exact=False
    )
    pd.testing.assert_frame_equal(ddf.emotion.coverage(), df.emotion.coverage().sort_index())
    pd.testing.assert_frame_equal(
        ddf.emotion.transitions(), df.emotion.transitions(), check_dtype=False
    )


def test_one_file_per_partition_needs_no_shuffle(df):
    parts = [dd.from_pandas(p, npartitions=1) for _, p in df.groupby("file", observed=True)]
    ddf = dd.concat(parts)
    pd.testing.assert_frame_equal(
        ddf.emotion.durations(partitioned_by_file=True),
        df.emotion.durations().sort_index(),
        check_exact=False,
    )


# --- signatures, docstrings and dimensions ------------------------------------------------------


def test_dask_signatures_are_the_functions_plus_partitioned_by_file():
    import inspect

    from emotion_analytics import analysis

    accessor = dd.from_pandas(ea.to_frame([{"emotion": "a", "start": 0, "end": 1}], file="f"),
                              npartitions=1).emotion
    methods = [n for n in dir(type(accessor)) if not n.startswith("_")]
    assert set(methods) == {"durations", "shares", "dominant", "dimensions", "transitions",
                            "talk_time", "coverage"}
    for name in methods:
        func = getattr(analysis, name)
        sig = inspect.signature(getattr(accessor, name))
        params = list(sig.parameters.values())
        assert params[-1].name == "partitioned_by_file" and params[-1].default is False
        expected = inspect.signature(func)
        expected = expected.replace(parameters=list(expected.parameters.values())[1:])
        assert sig.replace(parameters=params[:-1]) == expected, name
        assert getattr(accessor, name).__doc__.startswith(func.__doc__.rstrip())


@pytest.fixture(scope="module")
def with_dims(df):
    rng = np.random.default_rng(11)
    out = df.copy()
    arousal = np.round(rng.uniform(0, 1, len(df)), 3)
    out["arousal"] = np.where(rng.uniform(size=len(df)) < 0.2, np.nan, arousal)
    out["valence"] = np.round(rng.uniform(0, 1, len(df)), 3)
    return out


@pytest.mark.parametrize("npartitions", [1, 3, 7])
@pytest.mark.parametrize("overlap", ["split", "count"])
@pytest.mark.parametrize("by", ["file", ["file", "speaker"], None])
def test_dask_dimensions_equal_pandas(with_dims, npartitions, overlap, by):
    ddf = dd.from_pandas(with_dims, npartitions=npartitions)
    got = ddf.emotion.dimensions(by=by, overlap=overlap)
    want = with_dims.emotion.dimensions(by=by, overlap=overlap)
    pd.testing.assert_frame_equal(got.sort_index(), want.sort_index(), check_names=False,
                                  check_index_type=False, check_categorical=False, atol=1e-12)
