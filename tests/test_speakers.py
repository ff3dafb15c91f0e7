"""Speakers known in the main job: windows inside turns, adaptation per speaker, its record."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import emotion_analytics as ea
from emotion_analytics.io import read_rttm
from emotion_analytics.model import adaptation, load_model
from emotion_analytics.schema import prob_columns, validate
from emotion_analytics.segmentation import TurnWindowCutter, plan_turn_windows


@pytest.fixture(scope="module")
def conversation(sample_dir):
    return sample_dir / "conversation.wav", sample_dir / "conversation.rttm"


def inside_own_turn(table: pd.DataFrame, turns: pd.DataFrame) -> bool:
    """Every row lies within one turn of its own speaker."""
    for speaker, start, end in table[["speaker", "start", "end"]].itertuples(index=False):
        own = turns[turns["speaker"].astype(str) == str(speaker)]
        if not ((own["start"] <= start + 1e-6) & (own["end"] >= end - 1e-6)).any():
            return False
    return True


def voice(seconds: float, rate: int, f0: float, seed: int) -> np.ndarray:
    """Speech-like bursts: a wavering harmonic tone switched on and off at syllable rate."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    pitch = f0 * (1 + 0.08 * np.sin(2 * np.pi * 1.7 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    x = sum(np.sin(k * phase) / k for k in (1, 2, 3))
    x *= 0.2 * (np.sin(2 * np.pi * 2.3 * t + seed) > -0.3)
    return (x + 1e-3 * rng.standard_normal(t.size)).astype(np.float32)


# ----------------------------------------------------------------------------- windows


def test_windows_stay_inside_each_speakers_turns(conversation):
    wav, rttm = conversation
    turns = read_rttm(rttm)
    df = ea.recognise(wav, turns=rttm)
    validate(df)
    assert len(df) and df["speaker"].notna().all()
    assert set(df["speaker"]) == set(turns["speaker"])
    assert inside_own_turn(df, turns)
    # the same from a table, and from a diarization answer read with to_frame
    np.testing.assert_allclose(ea.recognise(wav, turns=turns)[prob_columns(df)],
                               df[prob_columns(df)])
    answer = {"num_speakers": 2, "segments": [
        {"speaker_id": s, "start": a, "end": b}
        for s, a, b in turns[["speaker", "start", "end"]].itertuples(index=False)]}
    diarized = ea.recognise(wav, turns=ea.to_frame(answer))
    assert diarized[["speaker", "start", "end"]].equals(df[["speaker", "start", "end"]])


def test_nothing_outside_turns_and_overlaps_analysed_on_their_own(tmp_path):
    rate = 16000
    x = np.concatenate([voice(8, rate, 120, 1), voice(8, rate, 220, 2)])
    path = tmp_path / "two.wav"
    sf.write(path, x, rate)
    turns = pd.DataFrame({"speaker": ["lo", "hi", "lo"], "start": [0.5, 6.0, 13.0],
                          "end": [7.0, 12.5, 13.1]})  # lo and hi overlap in 6-7 s
    df = ea.recognise(path, turns=turns, adapt=False, speech_only=False)
    assert inside_own_turn(df, turns)
    assert df["start"].min() >= 0.5 and df["end"].max() <= 12.5  # 13.0-13.1 is too short
    lo, hi = df[df["speaker"] == "lo"], df[df["speaker"] == "hi"]
    assert lo["end"].max() == pytest.approx(7.0) and hi["start"].min() == pytest.approx(6.0)
    # gaps between turns get no row, not a "no speaker" row
    assert not ((df["start"] < 0.5) | (df["end"] > 12.5)).any()
    assert len(df[(df["start"] >= 12.5)]) == 0


def test_turn_windows_stream_like_the_whole_recording():
    rng = np.random.default_rng(7)
    rate = 100
    x = rng.standard_normal(5000).astype(np.float32)
    starts = np.sort(rng.uniform(0, 48, 12))
    turns = [(f"s{i % 3}", a, a + rng.uniform(0.1, 9)) for i, a in enumerate(starts)]
    plan = plan_turn_windows(turns, rate, window=3.0)
    cut = TurnWindowCutter(rate, plan)
    got, held = [], 0
    for block in np.split(x, np.unique(rng.integers(1, 5000, 30))):
        got += cut.feed(block)
        held = max(held, cut._buf.size)
    got += cut.finish()
    assert [(s, e, spk) for s, e, spk, _ in got] == [(s, min(e, 5000), spk) for s, e, spk in plan]
    for s, e, _, w in got:
        np.testing.assert_array_equal(w, x[s:e])
    for a, b, spk in plan:  # no window across a change of speaker or outside the turns
        assert any(str(t[0]) == spk and t[1] * rate <= a + 1 and b <= t[2] * rate + 1
                   for t in turns)
    assert held <= 1.5 * 3 * rate + 5000  # memory: about a window and a block at most


def test_engines_without_windows_answer_inside_turns_only(conversation):
    wav, rttm = conversation
    turns = read_rttm(rttm)

    class WholeClip:  # answers one segment for every piece of audio it gets
        name, labels = "whole", None

        def analyze(self, audio, sample_rate, **options):
            return [{"emotion": "calm", "start": 0.0, "end": len(audio) / sample_rate}]

    df = ea.recognise(wav, engine=WholeClip(), turns=rttm)
    assert df["speaker"].notna().all() and inside_own_turn(df, turns)
    # the time inside some turn, once (where turns overlap, the later one has it)
    spans = sorted(zip(turns["start"], turns["end"], strict=True))
    union, (a, b) = 0.0, spans[0]
    for start, end in spans[1:]:
        if start > b:
            union, a = union + b - a, start
        b = max(b, end)
    assert df["duration"].sum() == pytest.approx(union + b - a)
    assert not df["adapted"].any()


def test_turn_errors_are_clear(conversation):
    wav, rttm = conversation
    with pytest.raises(ea.EmotionAnalyticsError, match="give one of them"):
        ea.recognise(wav, turns=rttm, channels="speakers")
    with pytest.raises(ea.EmotionAnalyticsError, match=r"need column\(s\) \['speaker'\]"):
        ea.recognise(wav, turns=pd.DataFrame({"start": [0.0], "end": [1.0]}))
    with pytest.raises(ea.EmotionAnalyticsError, match="speaker turn 0"):
        ea.recognise(wav, turns=pd.DataFrame({"speaker": ["a"], "start": [2.0], "end": [1.0]}))
    others = pd.DataFrame({"file": ["x", "y"], "speaker": ["a", "b"], "start": [0.0, 0.0],
                           "end": [1.0, 1.0]})
    with pytest.raises(ea.EmotionAnalyticsError, match="none is"):
        ea.recognise(wav, turns=others)
    with pytest.raises(ValueError, match="adapt must be"):
        ea.recognise(wav, adapt="sometimes")


# ----------------------------------------------------------------------------- adaptation


def test_adapt_modes_are_recorded(conversation):
    wav, rttm = conversation
    off = ea.recognise(wav, turns=rttm, adapt=False)
    on = ea.recognise(wav, turns=rttm, adapt=True)
    auto = ea.recognise(wav, turns=rttm)
    assert off.attrs["adapt"] == "off" and not off["adapted"].any()
    assert on.attrs["adapt"] == "on" and on["adapted"].all()
    assert set(on.attrs["adapt_weights"].values()) == {1.0}
    assert auto.attrs["adapt"] == "auto"
    for speaker, w in auto.attrs["adapt_weights"].items():
        assert 0.0 <= w <= 1.0
        assert (auto.loc[auto["speaker"] == speaker, "adapted"] == (w > 0)).all()
    # the same windows; the speaker mode changes the probabilities, the clip mode does not
    assert off[["speaker", "start", "end"]].equals(on[["speaker", "start", "end"]])
    assert not np.allclose(off[prob_columns(off)], on[prob_columns(on)])
    plain = ea.recognise(wav, turns=rttm, adapt=False)
    np.testing.assert_allclose(plain[prob_columns(plain)], off[prob_columns(off)])
    # the column survives CSV and normalize
    assert ea.schema.normalize(auto)["adapted"].dtype == bool


def test_clip_mode_of_kept_windows_equals_streaming_answers():
    m = load_model()
    xs = [voice(3, m.sample_rate, f0, seed) for seed, f0 in enumerate((110, 150, 210, 260))]
    feats, cnn = m.window_parts(xs)
    p, w = m.predict_speaker(feats, cnn, adapt=False)
    assert w == 0.0
    np.testing.assert_allclose(p, m.predict_proba(xs), atol=1e-9)
    p_on, w_on = m.predict_speaker(feats, cnn, adapt=True)
    assert w_on == 1.0 and not np.allclose(p_on, p)
    p_two, w_two = m.predict_speaker(feats[:2], cnn[:2], adapt=True)  # too few to adapt
    assert w_two == 0.0


def test_channels_as_speakers_adapt_per_channel(sample_dir):
    path = sample_dir / "call_stereo.ogg"
    auto = ea.recognise(path, channels="speakers")
    off = ea.recognise(path, channels="speakers", adapt=False)
    assert set(auto.attrs["adapt_weights"]) == {"ch0", "ch1"}
    assert off[["speaker", "start", "end"]].equals(auto[["speaker", "start", "end"]])
    assert not off["adapted"].any() and "adapted" in auto
    on = ea.recognise(path, channels="speakers", adapt=True)
    assert on["adapted"].all()


def test_auto_weight_follows_variety_and_evidence():
    rng = np.random.default_rng(0)
    all_kinds = rng.dirichlet(np.full(7, 0.3), 40)  # windows reading as every class
    one_kind = np.tile(np.eye(7)[0] * 0.7 + 0.05, (40, 1))  # all reading as the first class
    assert adaptation.variety(all_kinds) > 0.9 and adaptation.variety(one_kind) < 0.5
    assert adaptation.adapt_weight(40, adaptation.variety(all_kinds)) == pytest.approx(0.8)
    assert adaptation.adapt_weight(40, adaptation.variety(one_kind)) == 0.0
    assert adaptation.adapt_weight(4, adaptation.variety(all_kinds)) < 0.3
    assert adaptation.adapt_weight(2, 1.0) == 0.0
    # the speaker's mix is kept: a speaker-mode answer is pulled toward the speaker's level
    log_clip = np.log(one_kind)
    log_spk = np.log(np.tile(np.full(7, 1 / 7), (40, 1)))
    kept = adaptation.blend(log_clip, log_spk + adaptation.speaker_mix(one_kind), 1.0)
    assert (kept.argmax(axis=1) == 0).all()


# ----------------------------------------------------------------------------- evaluation


@pytest.mark.filterwarnings("ignore:Only one sample available")  # 40 clips: tiny classes
def test_conversation_evaluation_runs_on_a_subset(repo, emodb):
    pytest.importorskip("sklearn")
    spec = importlib.util.spec_from_file_location("eval_adaptation",
                                                  repo / "scripts" / "eval_adaptation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    results = mod.evaluate(emodb, limit=40, n_aug=0)
    assert {(r["kind"], r["mode"]) for r in results} == {
        (k, m) for k in mod.KINDS for m in mod.MODES}
    for r in results:
        assert 0.0 <= r["ua7"] <= 1.0 and 0.0 <= r["arousal"] <= 1.0
        assert (r["weight"] == 0.0) if r["mode"] == "clip" else r["weight"] >= 0.0
    table = mod.markdown(results)
    assert table.count("\n") == len(results) + 1
