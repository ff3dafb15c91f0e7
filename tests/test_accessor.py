"""df.emotion: every method reaches its function and gives the same answer."""

from __future__ import annotations

import matplotlib.axes
import pandas as pd
import pytest

import emotion_analytics as ea
from emotion_analytics import analysis


@pytest.fixture
def df():
    return ea.to_frame(
        {
            "a.wav": [
                {"emotion": "happy", "start": 0.0, "end": 4.0, "speaker_id": 1, "confidence": 0.9},
                {"emotion": "sad", "start": 2.0, "end": 6.0, "speaker_id": 2, "confidence": 0.4},
                {"emotion": "sad", "start": 6.0, "end": 7.0, "speaker_id": 2},
            ],
            "b.wav": [{"emotion": "calm", "start": 1.0, "end": 2.0, "speaker_id": 1}],
        }
    )


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("durations", {}),
        ("durations", {"by": ["file", "speaker"], "overlap": "count"}),
        ("shares", {"by": None}),
        ("dominant", {"by": "speaker"}),
        ("transitions", {"normalize": True}),
        ("coverage", {}),
        ("gaps", {"min_gap": 0.5}),
        ("talk_time", {"by": "speaker"}),
        ("summary", {}),
        ("to_grid", {"step": 2.0}),
        ("rolling", {"window": 4.0, "step": 2.0}),
        ("merge_adjacent", {"max_gap": 1.0}),
        ("filter_confidence", {"min_confidence": 0.5}),
    ],
)
def test_each_method_equals_its_function(df, method, kwargs):
    got = getattr(df.emotion, method)(**kwargs)
    want = getattr(analysis, method)(df, **kwargs)
    if isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want)
    else:
        pd.testing.assert_frame_equal(got, want)
    assert len(want) > 0


def test_assign_speakers_and_to_response(df):
    turns = ea.to_frame(
        {"num_speakers": 1, "segments": [{"speaker_id": "X", "start": 0.0, "end": 3.0}]},
        file="a.wav",
    )
    with pytest.warns(UserWarning, match="b.wav"):
        out = df.emotion.assign_speakers(turns)
    assert set(out["speaker"].dropna()) == {"X"}
    answer = df.emotion.to_response()
    assert set(answer) == {"a.wav", "b.wav"} and answer["b.wav"][0]["emotion"] == "calm"


def test_the_accessor_does_not_hide_the_emotion_column(df):
    assert df["emotion"].tolist() == ["happy", "sad", "sad", "calm"]
    assert hasattr(df.emotion, "durations")


@pytest.mark.parametrize(
    "method",
    ["timeline", "plot_durations", "plot_shares", "plot_transitions", "plot_share_over_time"],
)
def test_plots_return_axes_and_accept_ax(df, method):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        got = getattr(df.emotion, method)(ax=ax)
        assert isinstance(got, matplotlib.axes.Axes) and got is ax
        assert ax.has_data() or ax.images or ax.collections
    finally:
        plt.close(fig)


def test_exports_write_files(df, tmp_path):
    rttm = df.emotion.to_rttm(tmp_path / "calls.rttm")
    lines = (tmp_path / "calls.rttm").read_text().splitlines()
    assert len(lines) == len(df) and lines[0].startswith("SPEAKER")
    assert rttm is not None
    back = ea.read_rttm(tmp_path / "calls.rttm")
    assert back["duration"].sum() == pytest.approx(df["duration"].sum())
    df[df["file"] == "a.wav"].emotion.to_textgrid(tmp_path / "a.TextGrid")
    assert "IntervalTier" in (tmp_path / "a.TextGrid").read_text()
