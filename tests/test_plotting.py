"""Plots: the Axes they return, what they draw, stable colours, time axes and bad input."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import colors as mcolors  # noqa: E402

import emotion_analytics as ea  # noqa: E402
from emotion_analytics import BadResponseError, analysis  # noqa: E402
from emotion_analytics.labels import EMBEDDED  # noqa: E402
from emotion_analytics.plotting import (  # noqa: E402
    NO_EMOTION,
    NO_EMOTION_COLOR,
    NO_SPEAKER,
    PALETTE,
    durations_bar,
    emotion_colors,
    share_over_time,
    timeline,
    transitions_heatmap,
)
from emotion_analytics.schema import normalize  # noqa: E402

HOSTED = ("anger", "excited", "frustration", "happy", "sad", "neutral", "joy")
V1 = ("angry", "disgust", "fear", "happy", "neutral", "surprise", "sad")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def recording(n_files=2, length=600.0, speakers=("A", "B"), labels=EMBEDDED, seed=0):
    """A realistic table: several files and speakers (one lane without a speaker), gaps."""
    rng = np.random.default_rng(seed)
    rows = []
    for f in range(n_files):
        t = 0.0
        while t < length:
            d = rng.uniform(0.5, 8.0)
            rows.append({"file": f"call{f}.wav", "speaker": rng.choice([*speakers, None]),
                         "start": t, "end": min(t + d, length), "emotion": rng.choice(labels)})
            t += d + rng.uniform(0.0, 2.0)
    return normalize(pd.DataFrame(rows))


def drawn_rectangles(ax) -> dict[str, int]:
    """Rectangles per collection label (timeline draws one collection per emotion)."""
    return {c.get_label(): len(c.get_paths()) for c in ax.collections}


def rendered_pixels(fig) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    buf.seek(0)
    return plt.imread(buf)[..., :3]


def has_color(pixels: np.ndarray, color: str) -> bool:
    return bool(np.all(np.abs(pixels - np.array(mcolors.to_rgb(color))) < 0.02, axis=-1).any())


# --------------------------------------------------------------------------------------------
# colours


def test_known_labels_of_every_vocabulary_have_fixed_distinct_family_colours():
    for vocabulary in (EMBEDDED, HOSTED, V1):
        colors = emotion_colors(vocabulary)
        assert all(c == PALETTE[label.lower()] for label, c in colors.items())
    synonyms = emotion_colors(["anger", "angry", "happy", "Happiness", "JOY", "sad", "sadness"])
    assert synonyms["anger"] == synonyms["angry"]
    assert synonyms["happy"] == synonyms["Happiness"] == synonyms["JOY"]
    assert synonyms["sad"] == synonyms["sadness"]
    embedded = list(emotion_colors(EMBEDDED).values())
    assert len(set(embedded)) == len(embedded)  # one vocabulary: one colour per label
    assert NO_EMOTION_COLOR not in emotion_colors([*EMBEDDED, *HOSTED, *V1]).values()


def test_unknown_labels_get_a_hash_colour_stable_across_processes():
    here = emotion_colors(["elation", "Contempt", "label17"])
    code = ("from emotion_analytics.plotting import emotion_colors; "
            "print(emotion_colors(['elation', 'Contempt', 'label17']))")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={"PYTHONHASHSEED": "12345"}, check=True).stdout.strip()
    assert there == str(here)
    assert emotion_colors(["CONTEMPT"])["CONTEMPT"] == here["Contempt"]
    assert len(set(here.values())) == 3


def test_colour_overrides_win():
    assert emotion_colors(["sad", "x"], colors={"sad": "black"})["sad"] == "#000000"


# --------------------------------------------------------------------------------------------
# timeline


def test_timeline_draws_every_segment_in_its_emotion_colour_on_the_given_axes():
    df = recording()
    fig, ax = plt.subplots()
    assert timeline(df, ax=ax) is ax
    counts = drawn_rectangles(ax)
    assert sum(counts.values()) == len(df)
    assert counts == df["emotion"].value_counts().astype(int).to_dict()
    for coll in ax.collections:
        assert mcolors.to_hex(coll.get_facecolor()[0]) == PALETTE[coll.get_label()]
    assert len(ax.collections) == 7  # one collection per emotion, however many segments


def test_timeline_lanes_per_file_and_speaker_with_the_missing_speaker_labelled():
    ax = timeline(recording(n_files=2))
    lanes = [t.get_text() for t in ax.get_yticklabels()]
    assert lanes == [f"call{f}.wav / {s}" for f in (0, 1) for s in ("A", "B", NO_SPEAKER)]
    one = timeline(recording(n_files=1))
    assert [t.get_text() for t in one.get_yticklabels()] == ["A", "B", NO_SPEAKER]
    by_file = timeline(recording(n_files=3), lanes="file")
    assert [t.get_text() for t in by_file.get_yticklabels()] == [
        "call0.wav", "call1.wav", "call2.wav"]


def test_timeline_lane_of_each_bar_matches_its_row():
    df = ea.to_frame([{"emotion": "happy", "start": 0, "end": 1, "speaker_id": "spk10"},
                      {"emotion": "happy", "start": 1, "end": 2, "speaker_id": "spk2"}], file="a")
    ax = timeline(df)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["spk2", "spk10"]  # natural order
    (coll,) = ax.collections
    boxes = [p.get_extents() for p in coll.get_paths()]
    lane_of_x = {round(b.x0): (b.y0 + b.y1) / 2 for b in boxes}
    assert lane_of_x == {0: 1.0, 1: 0.0}  # spk10 on lane 1, spk2 on lane 0


def test_timeline_colours_are_stable_across_calls_and_tables():
    a = timeline(recording(labels=("fear", "neutral"), seed=1))
    b = timeline(recording(labels=("neutral", "elation", "fear"), seed=2))
    colors_a = {c.get_label(): mcolors.to_hex(c.get_facecolor()[0]) for c in a.collections}
    colors_b = {c.get_label(): mcolors.to_hex(c.get_facecolor()[0]) for c in b.collections}
    assert colors_a["fear"] == colors_b["fear"] and colors_a["neutral"] == colors_b["neutral"]


def test_timeline_legend_lists_the_emotions_present_and_turns_in_grey():
    turns = ea.to_frame({"num_speakers": 2, "segments": [
        {"speaker_id": "A", "start": 0, "end": 3}, {"speaker_id": "B", "start": 3, "end": 5}]},
        file="t")
    df = normalize(pd.concat([turns, ea.to_frame(
        [{"emotion": "sad", "start": 5, "end": 6, "speaker_id": "A"},
         {"emotion": "Happy", "start": 6, "end": 7, "speaker_id": "A"}], file="t")]))
    ax = timeline(df)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Happy", "sad", NO_EMOTION]
    grey = [c for c in ax.collections if c.get_label() == NO_EMOTION]
    assert len(grey[0].get_paths()) == 2
    assert mcolors.to_hex(grey[0].get_facecolor()[0]) == NO_EMOTION_COLOR
    assert timeline(df, legend=False).get_legend() is None


def test_timeline_legend_sits_outside_the_data():
    ax = timeline(recording())
    fig = ax.figure
    fig.canvas.draw()
    legend_box = ax.get_legend().get_window_extent()
    assert legend_box.x0 >= ax.get_window_extent().x1  # right of the axes, covering nothing
    assert legend_box.x1 <= fig.bbox.x1 + 1  # and inside the figure


def tick_labels(ax) -> list[str]:
    ax.figure.canvas.draw()
    return [t.get_text() for t in ax.get_xticklabels() if t.get_text()]


def test_time_format_mm_ss_and_seconds():
    long = recording(n_files=1, length=600)
    mmss = tick_labels(timeline(long, time_format="mm:ss"))
    assert mmss and all(re.fullmatch(r"\d\d:\d\d", t) for t in mmss), mmss
    assert mmss[:3] == ["00:00", "02:00", "04:00"]
    secs = tick_labels(timeline(long, time_format="s"))
    assert all(re.fullmatch(r"\d+", t) for t in secs), secs
    assert tick_labels(timeline(long)) == mmss  # auto: mm:ss past two minutes
    short = ea.to_frame([{"emotion": "joy", "start": 0, "end": 0.5},
                         {"emotion": "sad", "start": 0.4, "end": 2.0}], file="s")
    assert all(re.fullmatch(r"\d(\.\d+)?", t) for t in tick_labels(timeline(short)))
    sub_second = tick_labels(timeline(short, time_format="mm:ss"))
    assert all(re.fullmatch(r"00:0\d\.\d+", t) for t in sub_second), sub_second
    hour = ea.to_frame([{"emotion": "joy", "start": 0, "end": 5400}], file="h")
    assert "1:00:00" in tick_labels(timeline(hour))
    with pytest.raises(ValueError, match="time_format"):
        timeline(short, time_format="minutes")


def test_timeline_renders_a_non_blank_png_with_the_emotion_colours():
    df = recording(labels=("anger", "sadness"))
    pixels = rendered_pixels(timeline(df).figure)
    assert (pixels < 0.95).any(axis=-1).mean() > 0.05  # a good part of the image is drawn
    assert has_color(pixels, PALETTE["anger"]) and has_color(pixels, PALETTE["sadness"])


def test_timeline_of_100k_segments_uses_one_artist_per_emotion():
    rng = np.random.default_rng(3)
    n = 100_000
    start = np.sort(rng.uniform(0, 36_000, n))
    df = normalize(pd.DataFrame({
        "file": rng.choice([f"f{i}" for i in range(20)], n), "speaker": rng.choice(["a", "b"], n),
        "start": start, "end": start + rng.uniform(0.1, 3, n),
        "emotion": rng.choice(EMBEDDED, n)}))
    ax = timeline(df)
    assert len(ax.collections) == len(EMBEDDED)
    assert sum(drawn_rectangles(ax).values()) == n


def test_timeline_bad_input():
    with pytest.raises(BadResponseError, match="missing column"):
        timeline(pd.DataFrame({"file": ["a"], "start": [0.0]}))
    clip = ea.to_frame([{"emotion": "happy", "score": 0.9}])  # v1 clip answer: no end
    with pytest.raises(BadResponseError, match="clip_duration"):
        timeline(clip)
    with pytest.raises(BadResponseError, match="lanes="):
        timeline(recording(), lanes="channel")


def test_empty_table_gives_empty_axes():
    ax = timeline(ea.to_frame([]))
    assert len(ax.collections) == 0 and ax.get_legend() is None


# --------------------------------------------------------------------------------------------
# durations / shares


def bar_heights(ax, horizontal=False) -> np.ndarray:
    return np.array([p.get_width() if horizontal else p.get_height() for p in ax.patches])


def test_durations_bar_stacks_analysis_durations_per_group():
    df = recording(n_files=3)
    fig, ax = plt.subplots()
    assert durations_bar(df, ax=ax) is ax
    wide = analysis.durations(df, by="file")
    assert len(ax.patches) == wide.shape[0] * wide.shape[1]
    labels = [t.get_text() for t in ax.get_legend().get_texts()][::-1]  # legend top = stack top
    heights = bar_heights(ax).reshape(len(labels), -1)  # bars are drawn emotion by emotion
    np.testing.assert_allclose(heights, wide[labels].to_numpy().T)
    for i, label in enumerate(labels):
        assert mcolors.to_hex(ax.patches[i * wide.shape[0]].get_facecolor()) == PALETTE[label]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["call0.wav", "call1.wav", "call2.wav"]


def test_shares_bars_sum_to_one_per_group():
    df = recording(n_files=2)
    ax = durations_bar(df, by=["file", "speaker"], normalize=True)
    n_groups = len(ax.get_yticklabels())  # many groups: horizontal bars
    assert n_groups == 6
    totals = bar_heights(ax, horizontal=True).reshape(-1, n_groups).sum(axis=0)
    np.testing.assert_allclose(totals, 1.0)
    assert f"call0.wav / {NO_SPEAKER}" in [t.get_text() for t in ax.get_yticklabels()]


def test_durations_bar_of_the_whole_table_and_its_png():
    df = recording(n_files=2, labels=("happy", "frustration"))
    ax = durations_bar(df, by=None, overlap="count")
    assert len(ax.patches) == 2
    assert bar_heights(ax).sum() == pytest.approx(df["duration"].sum())
    pixels = rendered_pixels(ax.figure)
    assert has_color(pixels, PALETTE["happy"]) and has_color(pixels, PALETTE["frustration"])


# --------------------------------------------------------------------------------------------
# transitions


def test_transitions_heatmap_shows_the_analysis_matrix_with_values():
    df = recording(n_files=2)
    fig, ax = plt.subplots()
    assert transitions_heatmap(df, ax=ax, normalize=False) is ax
    want = analysis.transitions(df)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [t.get_text() for t in ax.get_xticklabels()] == sorted(labels)
    shown = ax.images[0].get_array()
    np.testing.assert_array_equal(shown, want.loc[labels, labels].to_numpy())
    texts = [int(t.get_text()) for t in ax.texts]
    assert texts == want.loc[labels, labels].to_numpy().ravel().tolist()


def test_normalized_heatmap_rows_sum_to_one():
    ax = transitions_heatmap(recording())
    values = np.array([float(t.get_text()) for t in ax.texts]).reshape(7, 7)
    np.testing.assert_allclose(values.sum(axis=1), 1.0, atol=0.02)  # written with 2 decimals
    assert (rendered_pixels(ax.figure) < 0.95).any(axis=-1).mean() > 0.1


# --------------------------------------------------------------------------------------------
# share over time


def test_share_over_time_stacks_to_one_where_there_is_speech():
    df = ea.to_frame([{"emotion": "happy", "start": 0, "end": 60},
                      {"emotion": "sad", "start": 30, "end": 90}], file="a")
    fig, ax = plt.subplots()
    assert share_over_time(df, step=10, ax=ax) is ax
    happy, sad = ax.collections
    assert happy.get_label() == "happy" and sad.get_label() == "sad"
    top = sad.get_paths()[0].vertices
    assert np.isclose(top[:, 1].max(), 1.0)
    # happy alone in [0, 30), half and half in [30, 60), sad alone after
    verts = happy.get_paths()[0].vertices
    upper = verts[verts[:, 1] > 0]
    assert np.isclose(upper[(upper[:, 0] > 0) & (upper[:, 0] < 30), 1], 1.0).all()
    assert np.isclose(upper[(upper[:, 0] > 30) & (upper[:, 0] < 60), 1], 0.5).all()


def test_share_over_time_of_one_file_and_unknown_file():
    df = recording(n_files=2, labels=("anger", "neutral"))
    ax = share_over_time(df, file="call1.wav", step=30)
    assert [c.get_label() for c in ax.collections] == ["anger", "neutral"]
    assert tick_labels(ax)[:2] == ["00:00", "02:00"]
    with pytest.raises(BadResponseError, match="'nope' is not in the table"):
        share_over_time(df, file="nope")
    with pytest.raises(ValueError, match="step"):
        share_over_time(df, step=0)


def test_plots_share_one_figure():
    df = recording()
    fig, axes = plt.subplots(2, 2)
    drawn = [timeline(df, ax=axes[0, 0]), durations_bar(df, ax=axes[0, 1]),
             transitions_heatmap(df, ax=axes[1, 0]), share_over_time(df, ax=axes[1, 1])]
    assert drawn == list(axes.ravel())
    assert len(plt.get_fignums()) == 1  # nothing drew into a figure of its own


# --- a dimension over time ----------------------------------------------------------------------


@pytest.fixture
def arousal_table():
    return ea.to_frame([
        {"speaker_id": "agent", "start": 0, "end": 3, "emotion": "neutral", "arousal": 0.2},
        {"speaker_id": "agent", "start": 3, "end": 6, "emotion": "neutral", "arousal": 0.3},
        {"speaker_id": "customer", "start": 6, "end": 9, "emotion": "anger", "arousal": 0.9},
        {"speaker_id": "customer", "start": 12, "end": 15, "emotion": "anger"},  # no value
        {"speaker_id": "customer", "start": 15, "end": 18, "emotion": "anger", "arousal": 0.7},
    ], file="call")


def test_dimension_timeline_draws_step_lines_per_speaker(arousal_table):
    from emotion_analytics.plotting import dimension_timeline

    fig, ax = plt.subplots()
    assert dimension_timeline(arousal_table, ax=ax) is ax
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"agent", "customer", "middle"}
    x, y = lines["agent"].get_data()
    # touching rows join with a vertical step: 0-3 at 0.2, then 3-6 at 0.3
    assert list(x[:4]) == [0, 3, 3, 6] and list(y[:4]) == [0.2, 0.2, 0.3, 0.3]
    x, y = lines["customer"].get_data()
    assert np.isnan(y).sum() >= 1  # the line breaks where there is no value
    assert set(np.round(y[~np.isnan(y)], 2)) == {0.9, 0.7}
    assert list(lines["middle"].get_ydata()) == [0.5, 0.5]
    assert ax.get_ylim() == (0.0, 1.0) and ax.get_ylabel().startswith("arousal")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["agent", "customer"]
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    assert buf.getbuffer().nbytes > 1000
    plt.close(fig)


def test_dimension_timeline_holds_overlapping_windows_until_the_next(arousal_table):
    from emotion_analytics.plotting import dimension_timeline

    df = ea.to_frame([{"start": 0, "end": 3, "arousal": 0.1},
                      {"start": 1, "end": 4, "arousal": 0.6}], file="a")
    ax = dimension_timeline(df)
    x, y = ax.get_lines()[0].get_data()
    assert list(x[:4]) == [0, 1, 1, 4] and list(y[:4]) == [0.1, 0.1, 0.6, 0.6]
    plt.close(ax.figure)


def test_dimension_timeline_bad_input(arousal_table):
    from emotion_analytics.plotting import dimension_timeline

    with pytest.raises(BadResponseError, match="no 'valence' column"):
        dimension_timeline(arousal_table, dimension="valence")
    with pytest.raises(ValueError, match="dimension must be one of"):
        dimension_timeline(arousal_table, dimension="loudness")
    plt.close("all")
