"""Invariants of the analysis functions on random tables (hypothesis), against plain references."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import emotion_analytics as ea
from emotion_analytics import analysis

EMOTIONS = ["happy", "sad", "calm"]

# Times on a grid of quarter seconds make touching and coinciding boundaries common.
quarter = st.integers(min_value=0, max_value=80).map(lambda q: q / 4)
length = st.integers(min_value=1, max_value=24).map(lambda q: q / 4)


@st.composite
def segments(draw, *, min_size=0, max_size=25, speakers=True):
    n = draw(st.integers(min_value=min_size, max_value=max_size))
    rows = []
    for _ in range(n):
        start = draw(quarter)
        rows.append(
            {
                "file": draw(st.sampled_from(["a.wav", "b.wav"])),
                "speaker": draw(st.sampled_from([None, "1", "2"])) if speakers else None,
                "start": start,
                "end": start + draw(length),
                "emotion": draw(st.sampled_from(EMOTIONS)),
                "confidence": draw(st.one_of(st.none(), st.floats(0.0, 1.0))),
            }
        )
    df = pd.DataFrame(rows, columns=["file", "speaker", "start", "end", "emotion", "confidence"])
    return ea.schema.normalize(df)


def _union_length(intervals):
    total, cur_s, cur_e = 0.0, None, None
    for s, e in sorted(intervals):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    return total + (cur_e - cur_s if cur_e is not None else 0.0)


def _reference_split(df, by):
    """Per group and emotion: each elementary stretch shared equally by the segments over it."""
    out = {}
    keys = [*by, "file"] if "file" not in by else list(by)
    for fine_key, part in df.groupby(keys, observed=True, dropna=False):
        fine_key = fine_key if isinstance(fine_key, tuple) else (fine_key,)
        key = tuple(fine_key[: len(by)]) if by else ("all",)
        recs = list(zip(part["start"], part["end"], part["emotion"].astype(str), strict=True))
        points = sorted({p for s, e, _ in recs for p in (s, e)})
        for a, b in zip(points[:-1], points[1:], strict=True):
            active = [emo for s, e, emo in recs if s <= a and e >= b]
            for emo in active:
                out[(key, emo)] = out.get((key, emo), 0.0) + (b - a) / len(active)
    return out


def _as_dict(table):
    out = {}
    for key, row in table.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        key = tuple(None if pd.isna(k) else k for k in key)
        for emo, value in row.items():
            if value:
                out[(key, emo)] = value
    return out


@settings(max_examples=60, deadline=None)
@given(df=segments(), by=st.sampled_from([None, ["file"], ["file", "speaker"], ["speaker"]]))
def test_split_durations_match_a_plain_sweep(df, by):
    got = _as_dict(analysis.durations(df, by=by, overlap="split"))
    ref = _reference_split(df, by or [])
    ref = {(tuple(None if pd.isna(k) else k for k in key), e): v for (key, e), v in ref.items()}
    assert got.keys() == {k for k, v in ref.items() if v}
    for k, v in ref.items():
        assert got.get(k, 0.0) == pytest.approx(v, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(df=segments())
def test_split_durations_sum_to_covered_time_and_count_to_summed_durations(df):
    split = analysis.durations(df, overlap="split").sum(axis=1)
    count = analysis.durations(df, overlap="count").sum(axis=1)
    for file, part in df.groupby("file", observed=True):
        covered = _union_length(zip(part["start"], part["end"], strict=True))
        assert split[file] == pytest.approx(covered, abs=1e-9)
        assert count[file] == pytest.approx(part["duration"].sum(), abs=1e-9)
    cov = analysis.coverage(df)
    assert np.allclose(cov["covered"].to_numpy(), split.loc[cov.index].to_numpy())


@settings(max_examples=40, deadline=None)
@given(df=segments(min_size=1), step=st.sampled_from([0.5, 1.0, 3.0]))
def test_grid_coverage_adds_up_to_covered_time(df, step):
    grid = analysis.to_grid(df, step=step)
    covered = (grid["coverage"] * step).groupby(grid["file"], observed=True).sum()
    split = analysis.durations(df).sum(axis=1)
    for file in split.index:
        assert covered[file] == pytest.approx(split[file], abs=1e-9)
    rolled = analysis.rolling(df, window=step, step=step)
    assert rolled["seconds"].sum() == pytest.approx(split.sum(), abs=1e-9)


@st.composite
def turn_tables(draw):
    n = draw(st.integers(min_value=0, max_value=12))
    rows = []
    for _ in range(n):
        start = draw(quarter)
        rows.append(
            {
                "file": draw(st.sampled_from(["a.wav", "b.wav"])),
                "speaker": draw(st.sampled_from(["A", "B", "C"])),
                "start": start,
                "end": start + draw(length),
            }
        )
    return pd.DataFrame(rows, columns=["file", "speaker", "start", "end"])


def _speaker_at(turns, t):
    """The most recently started turn covering instant t (the later row on equal starts)."""
    best = None
    for i, (s, e, spk) in enumerate(
        zip(turns["start"], turns["end"], turns["speaker"], strict=True)
    ):
        if s <= t < e and (best is None or (s, i) >= best[:2]):
            best = (s, i, spk)
    return None if best is None else best[2]


@settings(max_examples=60, deadline=None)
@given(df=segments(speakers=False), turns=turn_tables())
def test_assign_speakers_conserves_time_cuts_at_turns_and_labels_the_latest_turn(df, turns):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # files without turns are announced
        out = analysis.assign_speakers(df, turns)
    assert out["duration"].sum() == pytest.approx(df["duration"].sum(), abs=1e-9)
    assert (out["duration"] > 0).all()
    for file, part in out.groupby("file", observed=True):
        ft = turns[turns["file"] == file]
        bounds = np.unique(np.concatenate([ft["start"], ft["end"]]))
        for s, e, spk in zip(part["start"], part["end"], part["speaker"], strict=True):
            assert not ((bounds > s) & (bounds < e)).any(), (s, e)
            want = _speaker_at(ft, (s + e) / 2)
            assert (None if pd.isna(spk) else spk) == want


@settings(max_examples=60, deadline=None)
@given(df=segments(), max_gap=st.sampled_from([0.0, 0.5, 2.0]))
def test_merge_adjacent_conserves_time_without_overlaps(df, max_gap):
    # keep a non-overlapping subset per file and speaker
    keep, last_end = [], {}
    for i, row in df.sort_values("start").iterrows():
        key = (row["file"], row["speaker"])
        if row["start"] >= last_end.get(key, -1.0):
            keep.append(i)
            last_end[key] = row["end"]
    flat = df.loc[sorted(keep)].reset_index(drop=True)
    merged = analysis.merge_adjacent(flat, max_gap=max_gap)
    assert len(merged) <= len(flat)
    by = ["file", "speaker"]
    before = analysis.durations(flat, by=by)
    after = analysis.durations(merged, by=by)
    if max_gap == 0.0:  # only touching runs join: every group and emotion keeps its time
        pd.testing.assert_frame_equal(after, before, check_exact=False, atol=1e-9)
    else:  # bridged gaps add their length, never remove time
        assert (after.to_numpy() >= before.to_numpy() - 1e-9).all()
    # no two rows left that should have joined
    for _, part in merged.groupby(by, observed=True, dropna=False):
        part = part.sort_values("start")
        same = part["emotion"].to_numpy()[1:] == part["emotion"].to_numpy()[:-1]
        gap = part["start"].to_numpy()[1:] - part["end"].to_numpy()[:-1]
        assert not (same & (gap <= max_gap)).any()


@settings(max_examples=40, deadline=None)
@given(df=segments(min_size=1))
def test_to_response_round_trips(df):
    back = ea.to_frame(df.emotion.to_response())
    want = df.sort_values(["file", "start", "end"], kind="stable").reset_index(drop=True)
    if want["file"].nunique() == 1:  # one file: the v2 list carries no file name
        back["file"] = want["file"].astype(str).iloc[0]
    for col in ["start", "end", "duration", "confidence"]:
        np.testing.assert_allclose(back[col].to_numpy(), want[col].to_numpy())
    for col in ["file", "speaker", "emotion"]:
        assert back[col].astype(object).tolist() == want[col].astype(object).tolist()


# --- dimensions --------------------------------------------------------------------------------


@st.composite
def with_arousal(draw):
    df = draw(segments(min_size=1))
    values = draw(st.lists(st.one_of(st.none(), st.integers(0, 20).map(lambda v: v / 20)),
                           min_size=len(df), max_size=len(df)))
    df["arousal"] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return df


def _reference_dimension(df, by, overlap):
    """Per group: the mean over time of the known values (each instant's: the mean of the
    segments with a value over it, with "split"), by elementary stretches."""
    num, den = {}, {}
    keys = [*by, "file"] if "file" not in by else list(by)
    known = df[df["arousal"].notna()]
    for fine_key, part in known.groupby(keys, observed=True, dropna=False):
        fine_key = fine_key if isinstance(fine_key, tuple) else (fine_key,)
        key = tuple(None if pd.isna(k) else k for k in fine_key[: len(by)]) if by else ("all",)
        recs = list(zip(part["start"], part["end"], part["arousal"], strict=True))
        if overlap == "count":
            num[key] = num.get(key, 0.0) + sum((e - s) * v for s, e, v in recs)
            den[key] = den.get(key, 0.0) + sum(e - s for s, e, _ in recs)
            continue
        points = sorted({p for s, e, _ in recs for p in (s, e)})
        for a, b in zip(points[:-1], points[1:], strict=True):
            active = [v for s, e, v in recs if s <= a and e >= b]
            if active:
                num[key] = num.get(key, 0.0) + (b - a) * float(np.mean(active))
                den[key] = den.get(key, 0.0) + (b - a)
    return {k: num[k] / den[k] for k in num if den[k] > 0}


@settings(max_examples=60, deadline=None, derandomize=True)
@given(df=with_arousal(), by=st.sampled_from([None, ["file"], ["file", "speaker"], ["speaker"]]),
       overlap=st.sampled_from(["split", "count"]))
def test_dimensions_are_the_time_mean_of_the_known_values(df, by, overlap):
    got = analysis.dimensions(df, by=by, overlap=overlap)["arousal"]
    ref = _reference_dimension(df, by or [], overlap)
    have = {}
    for key, value in got.items():
        key = key if isinstance(key, tuple) else (key,)
        key = tuple(None if pd.isna(k) else k for k in key)
        if not np.isnan(value):
            have[key] = value
            assert 0.0 <= value <= 1.0
    assert have.keys() == ref.keys()
    for k, v in ref.items():
        assert have[k] == pytest.approx(v, abs=1e-9)
