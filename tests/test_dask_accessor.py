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
    return ea.schema.normalise(
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
