"""df.emotion: every method reaches its function and gives the same answer."""

from __future__ import annotations

import inspect

import matplotlib.axes
import pandas as pd
import pytest

import emotion_analytics as ea
from emotion_analytics import analysis, plotting, responses
from emotion_analytics import io as ea_io


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


# --- signatures and docstrings come from the functions ------------------------------------------

#: accessor method -> (function, the arguments the method fixes)
FUNCTIONS = {
    **{name: (getattr(analysis, name), ()) for name in (
        "durations", "shares", "dominant", "dimensions", "transitions", "coverage", "gaps",
        "talk_time", "summary", "to_grid", "rolling", "merge_adjacent", "assign_speakers",
        "filter_confidence")},
    "timeline": (plotting.timeline, ()),
    "dimension_timeline": (plotting.dimension_timeline, ()),
    "plot_durations": (plotting.durations_bar, ("normalize",)),
    "plot_shares": (plotting.durations_bar, ("normalize",)),
    "plot_transitions": (plotting.transitions_heatmap, ()),
    "plot_share_over_time": (plotting.share_over_time, ()),
    "to_response": (responses.to_response, ()),
    "to_rttm": (ea_io.write_rttm, ()),
    "to_textgrid": (ea_io.write_textgrid, ()),
}


def _without_frame(func, fixed=()):
    sig = inspect.signature(func)
    params = [p for p in list(sig.parameters.values())[1:] if p.name not in fixed]
    return sig.replace(parameters=params)


def test_every_accessor_method_is_listed_here():
    methods = {n for n in dir(ea.accessor.EmotionAccessor) if not n.startswith("_")}
    assert methods == set(FUNCTIONS)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_accessor_signature_and_docstring_are_the_functions(df, name):
    func, fixed = FUNCTIONS[name]
    method = getattr(df.emotion, name)
    assert inspect.signature(method) == _without_frame(func, fixed)
    assert method.__doc__.startswith(func.__doc__.rstrip())
    # on the class (help(pd.DataFrame.emotion.durations)): the same, after self
    unbound = inspect.signature(getattr(pd.DataFrame.emotion, name))
    assert list(unbound.parameters)[0] == "self"
    assert list(unbound.parameters)[1:] == list(_without_frame(func, fixed).parameters)


def test_help_shows_the_parameters():
    text = pydoc_text(pd.DataFrame.emotion.durations)
    assert "by: 'By' = 'file'" in text and "overlap" in text and "Parameters" in text


def pydoc_text(obj) -> str:
    import pydoc

    return pydoc.render_doc(obj, renderer=pydoc.plaintext)


def test_fixed_arguments_are_passed(df):
    import matplotlib

    matplotlib.use("Agg")
    ax = df.emotion.plot_shares()
    assert ax.get_xlim()[1] <= 1.05 or ax.get_ylim()[1] <= 1.05  # shares, not seconds


def test_accessor_dimensions_and_timeline():
    import matplotlib

    matplotlib.use("Agg")
    table = ea.to_frame([{"emotion": "calm", "start": 0, "end": 2, "arousal": 0.3,
                          "speaker_id": "A"}], file="a")
    assert table.emotion.dimensions().loc["a", "arousal"] == 0.3
    ax = table.emotion.dimension_timeline(dimension="arousal")
    assert [line.get_label() for line in ax.get_lines()] == ["A", "middle"]


def test_a_table_without_file_works_through_the_accessor():
    table = pd.DataFrame({"start": [0.0], "end": [1.5], "emotion": ["calm"], "speaker": ["A"]})
    assert table.emotion.durations().loc[ea.schema.UNNAMED_FILE, "calm"] == 1.5
