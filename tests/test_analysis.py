"""The analysis functions on small hand-made tables whose answers can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import emotion_analytics as ea
from emotion_analytics import analysis
from emotion_analytics.analysis import UntimedRowsWarning
from emotion_analytics.errors import BadResponseError


def table(rows, **kw):
    cols = ["file", "speaker", "start", "end", "emotion", "confidence"]
    df = pd.DataFrame([dict(zip(cols, r, strict=False)) for r in rows], columns=cols)
    if "file" in kw:
        df["file"] = kw["file"]
    return ea.schema.normalize(df)


@pytest.fixture
def overlapping():
    # a.wav: happy 0-4 and sad 2-6 overlap for 2 s; b.wav: one calm segment; rows unsorted
    return table(
        [
            ("b.wav", "2", 1.0, 2.0, "calm", 0.5),
            ("a.wav", "1", 2.0, 6.0, "sad", np.nan),
            ("a.wav", "1", 0.0, 4.0, "happy", 0.9),
        ]
    )


def test_durations_split_shares_overlap_and_count_counts_it_twice(overlapping):
    split = analysis.durations(overlapping)
    assert split.loc["a.wav"].to_dict() == {"calm": 0.0, "happy": 3.0, "sad": 3.0}
    assert split.loc["b.wav", "calm"] == 1.0
    count = analysis.durations(overlapping, overlap="count")
    assert count.loc["a.wav"].to_dict() == {"calm": 0.0, "happy": 4.0, "sad": 4.0}
    assert split.columns.name == "emotion" and split.index.name == "file"


def test_durations_by_several_columns_none_and_overlap_never_crosses_files():
    df = table([("a", "1", 0.0, 2.0, "happy"), ("b", "1", 0.0, 2.0, "sad")])
    by_speaker = analysis.durations(df, by="speaker")
    # same instants but different files: no overlap, each keeps its 2 s
    assert by_speaker.loc["1"].to_dict() == {"happy": 2.0, "sad": 2.0}
    whole = analysis.durations(df, by=None)
    assert list(whole.index) == ["all"] and whole.loc["all"].sum() == 4.0
    both = analysis.durations(df, by=["file", "speaker"])
    assert both.index.names == ["file", "speaker"]
    assert both.loc[("a", "1"), "happy"] == 2.0


def test_missing_speaker_is_its_own_group_and_unused_categories_stay_as_columns():
    df = table([("a", None, 0.0, 1.0, "happy"), ("a", "1", 1.0, 3.0, "sad")])
    df["emotion"] = df["emotion"].cat.add_categories(["angry"])
    d = analysis.durations(df, by=["file", "speaker"])
    assert list(d.columns) == ["happy", "sad", "angry"]
    assert (d["angry"] == 0).all()
    missing = [k for k in d.index if pd.isna(k[1])]
    assert len(missing) == 1 and d.loc[missing[0], "happy"] == 1.0


def test_empty_table_and_one_segment():
    empty = ea.schema.empty_frame()
    assert analysis.durations(empty).shape[0] == 0
    assert analysis.shares(empty).shape[0] == 0
    assert len(analysis.dominant(empty)) == 0
    assert len(analysis.to_grid(empty)) == 0
    assert len(analysis.gaps(empty)) == 0
    assert analysis.transitions(empty).shape == (0, 0)
    assert len(analysis.merge_adjacent(empty)) == 0
    assert len(analysis.coverage(empty)) == 0
    one = table([("a", None, 1.0, 2.5, "sad")])
    assert analysis.durations(one).loc["a", "sad"] == 1.5
    assert analysis.shares(one).loc["a", "sad"] == 1.0
    assert analysis.transitions(one).to_numpy().sum() == 0


def test_untimed_rows_warn_carry_no_time_and_dominant_falls_back_to_confidence():
    clip = ea.to_frame(
        {
            "x": [{"emotion": "happy", "score": 0.7}, {"emotion": "sad", "score": 0.3}],
            "y": [{"emotion": "sad", "start": 0, "end": 2}],
        }
    )
    with pytest.warns(UntimedRowsWarning, match="1 row"):
        d = analysis.durations(clip)
    assert d.loc["x"].sum() == 0.0 and d.loc["y", "sad"] == 2.0
    with pytest.warns(UntimedRowsWarning):
        dom = analysis.dominant(clip)
    assert dom.to_dict() == {"x": "happy", "y": "sad"}


def test_shares_and_dominant_ties_go_to_the_first_category(overlapping):
    s = analysis.shares(overlapping)
    assert s.loc["a.wav", "happy"] == pytest.approx(0.5)
    np.testing.assert_allclose(s.sum(axis=1), 1.0)
    assert analysis.dominant(overlapping).loc["a.wav"] == "happy"


def test_transitions_follow_each_file_and_speaker_in_time_order():
    df = table(
        [
            ("a", "1", 2.0, 3.0, "sad"),
            ("a", "1", 0.0, 1.0, "happy"),
            ("a", "2", 1.0, 2.0, "calm"),
            ("a", "1", 4.0, 5.0, "sad"),
            ("b", "1", 0.0, 1.0, "calm"),
        ]
    )
    t = analysis.transitions(df)
    assert t.loc["happy", "sad"] == 1 and t.loc["sad", "sad"] == 1
    assert t.to_numpy().sum() == 2  # speaker 2 and file b have one segment each
    p = analysis.transitions(df, normalize=True)
    assert p.loc["happy", "sad"] == 1.0 and p.loc["sad", "sad"] == 1.0
    assert p.loc["calm"].isna().all()
    per_file = analysis.transitions(df, by="file")
    assert per_file.index.names == ["file", "from"]
    assert per_file.loc[("a", "happy"), "sad"] == 1


def test_to_grid_cells_dominant_share_and_coverage():
    df = table([("a", None, 0.0, 1.5, "happy"), ("a", None, 1.0, 3.0, "sad")])
    grid = analysis.to_grid(df, step=1.0)
    assert grid["start"].tolist() == [0.0, 1.0, 2.0]
    assert grid["emotion"].astype(str).tolist() == ["happy", "sad", "sad"]
    # cell 1: happy 1.0-1.5 overlaps sad: happy gets 0.25, sad 0.75
    assert grid.loc[1, "share"] == pytest.approx(0.75)
    assert grid["coverage"].tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="step"):
        analysis.to_grid(df, step=0)


def test_rolling_window_must_be_a_multiple_of_step():
    df = table([("a", None, 0.0, 4.0, "happy")])
    with pytest.raises(ValueError, match="multiple"):
        analysis.rolling(df, window=2.5, step=1.0)
    r = analysis.rolling(df, window=2.0, step=1.0)
    assert r["seconds"].tolist() == [1.0, 2.0, 2.0, 2.0]


def test_coverage_gaps_and_talk_time():
    df = table(
        [
            ("a", "1", 1.0, 3.0, "happy"),
            ("a", "2", 2.0, 4.0, "sad"),
            ("a", "1", 6.0, 8.0, None),  # a turn without emotion still counts as speech
        ]
    )
    cov = analysis.coverage(df)
    assert cov.loc["a"].to_dict() == {
        "covered": 5.0,
        "extent": 8.0,
        "coverage": 0.625,
        "silent": 3.0,
        "gaps": 2,
    }
    g = analysis.gaps(df)
    assert g[["start", "end"]].to_numpy().tolist() == [[0.0, 1.0], [4.0, 6.0]]
    assert len(analysis.gaps(df, min_gap=1.5)) == 1
    tt = analysis.talk_time(df)
    assert tt.loc[("a", "1"), "seconds"] == 4.0 and tt.loc[("a", "2"), "seconds"] == 2.0
    assert tt["share"].sum() == pytest.approx(1.0)
    assert analysis.talk_time(df, by="speaker").loc["1", "segments"] == 2


def test_summary_is_one_row_per_file_and_speaker():
    df = table(
        [("a", "1", 0.0, 3.0, "happy"), ("a", "1", 3.0, 4.0, "sad"), ("a", "2", 0, 1, "sad")]
    )
    s = analysis.summary(df)
    assert s.index.names == ["file", "speaker"]
    assert s.loc[("a", "1"), "dominant"] == "happy"
    assert s.loc[("a", "1"), "dominant_share"] == 0.75
    assert s.loc[("a", "2"), "sad"] == 1.0


def test_filter_confidence_keeps_unknown_by_default():
    df = table(
        [("a", None, 0, 1, "happy", 0.9), ("a", None, 1, 2, "sad", 0.2), ("a", None, 2, 3, "sad")]
    )
    assert analysis.filter_confidence(df, min_confidence=0.5)["start"].tolist() == [0.0, 2.0]
    assert len(analysis.filter_confidence(df, min_confidence=0.5, keep_unknown=False)) == 1


def test_merge_adjacent_weights_confidence_and_probabilities_by_duration():
    df = table(
        [("a", "1", 0, 1, "sad", 0.9), ("a", "1", 1, 4, "sad", 0.5), ("a", "2", 4, 5, "sad", 1.0)]
    )
    df["prob_sad"] = [1.0, 0.6, np.nan]
    m = analysis.merge_adjacent(df)
    assert m[["start", "end"]].to_numpy().tolist() == [[0.0, 4.0], [4.0, 5.0]]  # speaker differs
    assert m.loc[0, "confidence"] == pytest.approx(0.6)
    assert m.loc[0, "prob_sad"] == pytest.approx(0.7)
    assert np.isnan(m.loc[1, "prob_sad"])
    gap = table([("a", None, 0, 1, "sad"), ("a", None, 1.5, 2, "sad")])
    assert len(analysis.merge_adjacent(gap)) == 2
    assert len(analysis.merge_adjacent(gap, max_gap=0.5)) == 1
    with pytest.raises(ValueError, match="max_gap"):
        analysis.merge_adjacent(gap, max_gap=-1)


def test_assign_speakers_overlapping_turns_gaps_and_files():
    df = table([("a", None, 0.0, 10.0, "happy"), ("b", None, 0.0, 2.0, "sad")])
    turns = pd.DataFrame(
        {
            "file": ["a", "a", "a"],
            "speaker": ["A", "B", 3],
            "start": [0.0, 2.0, 6.0],
            "end": [5.0, 4.0, 7.0],
        }
    )
    with pytest.warns(UserWarning, match="no speaker turns for file.*'b'"):
        out = analysis.assign_speakers(df, turns)
    a = out[out["file"] == "a"]
    got = list(zip(a["start"], a["end"], a["speaker"].astype(object), strict=True))
    # B started last and wins 2-4; A again until 5; silence 5-6; speaker 3 (an int) -> "3"
    assert got[:3] == [(0.0, 2.0, "A"), (2.0, 4.0, "B"), (4.0, 5.0, "A")]
    assert got[3][2] is np.nan or pd.isna(got[3][2])
    assert got[4] == (6.0, 7.0, "3")
    assert out["duration"].sum() == pytest.approx(12.0)
    assert out[out["file"] == "b"]["speaker"].isna().all()


def test_assign_speakers_bad_turns_raise_our_error():
    df = table([("a", None, 0.0, 1.0, "happy")])
    with pytest.raises(BadResponseError, match="speaker"):
        analysis.assign_speakers(df, pd.DataFrame({"start": [0.0], "end": [1.0]}))
    with pytest.raises(BadResponseError, match="turn 0"):
        analysis.assign_speakers(df, pd.DataFrame({"speaker": ["A"], "start": [2.0], "end": [1.0]}))


def test_missing_columns_name_what_is_missing():
    with pytest.raises(BadResponseError, match=r"durations needs column\(s\) \['emotion'\]"):
        analysis.durations(pd.DataFrame({"file": ["a"], "start": [0.0], "end": [1.0]}))
    with pytest.raises(ValueError, match="overlap"):
        analysis.durations(table([("a", None, 0, 1, "x")]), overlap="twice")


def test_transitions_do_not_depend_on_row_order_when_starts_tie():
    df = table(
        [
            ("a", None, 0.0, 2.0, "sad"),
            ("a", None, 0.0, 1.0, "happy"),
            ("a", None, 2.0, 3.0, "calm"),
        ]
    )
    t1 = analysis.transitions(df)
    t2 = analysis.transitions(df.iloc[::-1].reset_index(drop=True))
    pd.testing.assert_frame_equal(t1, t2)
    assert t1.loc["happy", "sad"] == 1 and t1.loc["sad", "calm"] == 1  # ties: shorter first


def test_assign_speakers_matches_turns_by_recording_name():
    import emotion_analytics as ea

    df = ea.to_frame({"data/conversation.wav": [{"emotion": "sad", "start": 0.0, "end": 4.0}],
                      "https://x.org/b/other.flac": [{"emotion": "joy", "start": 0.0, "end": 2.0}]})
    turns = ea.to_frame({"conversation": [{"speaker_id": "agent", "start": 0.0, "end": 2.0},
                                          {"speaker_id": "customer", "start": 2.0, "end": 4.0}],
                         "other": [{"speaker_id": "x", "start": 0.0, "end": 2.0}]})
    out = df.emotion.assign_speakers(turns)
    conv = out[out["file"] == "data/conversation.wav"]
    assert conv["speaker"].tolist() == ["agent", "customer"]
    assert out.loc[out["file"] == "https://x.org/b/other.flac", "speaker"].tolist() == ["x"]


def test_assign_speakers_does_not_guess_between_two_files_of_one_name():
    import emotion_analytics as ea

    df = ea.to_frame({"a/conv.wav": [{"emotion": "sad", "start": 0.0, "end": 1.0}],
                      "b/conv.wav": [{"emotion": "sad", "start": 0.0, "end": 1.0}]})
    turns = ea.to_frame({"conv": [{"speaker_id": "s", "start": 0.0, "end": 1.0}]})
    with pytest.warns(UserWarning, match="no speaker turns"):
        out = df.emotion.assign_speakers(turns)
    assert out["speaker"].isna().all()


# --- dimensions --------------------------------------------------------------------------------


@pytest.fixture
def dims():
    return ea.to_frame(
        {
            "a.wav": [
                {"emotion": "calm", "start": 0, "end": 4, "speaker_id": "A", "arousal": 0.2,
                 "valence": 0.6},
                {"emotion": "angry", "start": 2, "end": 6, "speaker_id": "B", "arousal": 0.8},
                {"emotion": "calm", "start": 6, "end": 8, "speaker_id": "A"},
            ],
            "b.wav": [{"emotion": "sad", "start": 0, "end": 2, "speaker_id": "A"}],
        }
    )


def test_dimensions_split_overlap_like_durations(dims):
    got = analysis.dimensions(dims)
    assert list(got.columns) == ["arousal", "valence"]
    # 0-2: 0.2 alone; 2-4: both (mean 0.5); 4-6: 0.8 alone -> (0.4 + 1.0 + 1.6) / 6
    assert got.loc["a.wav", "arousal"] == pytest.approx(3.0 / 6)
    assert got.loc["a.wav", "valence"] == pytest.approx(0.6)
    assert np.isnan(got.loc["b.wav", "arousal"])  # a group without values: NaN


def test_dimensions_count_overlap_weighs_each_segment_fully(dims):
    got = analysis.dimensions(dims, overlap="count")
    assert got.loc["a.wav", "arousal"] == pytest.approx((0.2 * 4 + 0.8 * 4) / 8)


def test_dimensions_by_speaker_and_whole_table(dims):
    got = analysis.dimensions(dims, by=["file", "speaker"])
    assert got.loc[("a.wav", "A"), "arousal"] == pytest.approx(0.2)
    assert got.loc[("a.wav", "B"), "arousal"] == pytest.approx(0.8)
    assert analysis.dimensions(dims, by=None).index.tolist() == ["all"]


def test_dimensions_count_rows_without_an_emotion(dims):
    extra = ea.to_frame([{"start": 0, "end": 2, "arousal": 1.0}], file="c.wav")
    table = ea.schema.normalize(pd.concat([dims, extra], ignore_index=True))
    assert analysis.dimensions(table).loc["c.wav", "arousal"] == 1.0


def test_dimensions_without_the_columns_is_a_clear_error():
    df = ea.to_frame([{"emotion": "calm", "start": 0, "end": 1}], file="a")
    with pytest.raises(ea.BadResponseError, match="arousal.*valence.*dominance"):
        analysis.dimensions(df)


def test_to_grid_gives_the_mean_dimension_per_cell(dims):
    grid = analysis.to_grid(dims, step=2.0)
    a = grid[grid["file"] == "a.wav"].set_index("start")
    assert a.loc[0.0, "arousal"] == pytest.approx(0.2)
    assert a.loc[2.0, "arousal"] == pytest.approx(0.5)  # overlap: each instant's mean
    assert a.loc[4.0, "arousal"] == pytest.approx(0.8)
    assert np.isnan(a.loc[6.0, "arousal"])  # only a row without a value
    assert a.loc[2.0, "valence"] == pytest.approx(0.6)
    assert "arousal" not in analysis.to_grid(dims.drop(columns=["arousal", "valence"])).columns


def test_merge_adjacent_weighs_the_dimensions_by_duration():
    df = ea.to_frame([{"emotion": "calm", "start": 0, "end": 1, "arousal": 0.1},
                      {"emotion": "calm", "start": 1, "end": 4, "arousal": 0.5},
                      {"emotion": "calm", "start": 4, "end": 5}], file="a")
    merged = analysis.merge_adjacent(df)
    assert len(merged) == 1 and merged["arousal"].iloc[0] == pytest.approx((0.1 + 1.5) / 4)


def test_merge_adjacent_keeps_rows_that_have_dimensions_only():
    df = ea.to_frame([{"start": 0, "end": 3, "arousal": 0.1},
                      {"start": 3, "end": 6, "arousal": 0.9}], file="a")
    assert analysis.merge_adjacent(df)["arousal"].tolist() == [0.1, 0.9]


def test_summary_adds_the_mean_dimensions(dims):
    got = analysis.summary(dims, by="file")
    assert list(got.columns[:6]) == ["seconds", "segments", "dominant", "dominant_share",
                                     "arousal", "valence"]
    assert got.loc["a.wav", "arousal"] == pytest.approx(0.5)
    plain = analysis.summary(dims.drop(columns=["arousal", "valence"]), by="file")
    assert "arousal" not in plain.columns


def test_a_hand_made_table_without_file_is_one_unnamed_recording():
    df = pd.DataFrame({"start": [0.0, 2.0], "end": [2.0, 5.0], "emotion": ["calm", "angry"],
                       "speaker": ["A", "B"]})
    assert analysis.durations(df).to_dict("index") == {
        ea.schema.UNNAMED_FILE: {"angry": 3.0, "calm": 2.0}}
    assert df.emotion.talk_time()["seconds"].sum() == 5.0
    assert df.emotion.summary()["seconds"].sum() == 5.0


def test_errors_point_to_the_public_normaliser():
    with pytest.raises(ea.BadResponseError, match=r"schema\.normalize\(df\)"):
        analysis.durations(pd.DataFrame({"begin": [0.0]}))
