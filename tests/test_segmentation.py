"""Windows, the streaming cutter, and speech detection at any level (no noise floor)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emotion_analytics import audio
from emotion_analytics.segmentation import (
    SpeechDetector,
    WindowCutter,
    plan_windows,
    segment_blocks,
)

SR = 100  # a small rate keeps the property tests fast; the rules are in seconds


@given(n=st.integers(0, 5000), window=st.sampled_from([1.0, 2.5, 3.0]))
def test_plain_windows_tile_the_recording(n, window):
    w = plan_windows(n, SR, window=window)
    if n < 0.25 * SR:
        assert w == []
        return
    assert w[0][0] == 0 and w[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(w, w[1:], strict=False))  # no gap, no overlap
    lengths = [e - s for s, e in w]
    if n >= window * SR:
        assert all(window * SR / 2 <= x < 1.5 * window * SR for x in lengths)


@given(n=st.integers(0, 3000), hop=st.sampled_from([0.5, 1.0, 3.0]),
       cuts=st.lists(st.integers(1, 700), max_size=12))
@settings(max_examples=150)
def test_the_streaming_cutter_gives_exactly_the_planned_windows(n, hop, cuts):
    x = np.arange(n, dtype=np.float32)
    bounds = np.cumsum([0, *cuts])
    bounds = [b for b in bounds if b < n] + [n]
    cutter = WindowCutter(SR, window=3.0, hop=hop)
    got = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        got += cutter.feed(x[a:b])
    got += cutter.finish()
    assert [(s, e) for s, e, _ in got] == plan_windows(n, SR, window=3.0, hop=hop)
    for s, e, chunk in got:  # the audio of each window is the right slice
        np.testing.assert_array_equal(chunk, x[s:e])


def test_window_and_hop_are_checked():
    with pytest.raises(ValueError, match="window"):
        plan_windows(100, SR, window=0)
    with pytest.raises(ValueError, match="hop"):
        plan_windows(100, SR, window=1.0, hop=2.0)


def _speech(sample_dir):
    x, _ = audio.decode(sample_dir / "conversation.wav")
    return x


def _windows_with_speech(x, sr=16000):
    vad = SpeechDetector(sr)
    vad.observe(x)
    return [vad.is_speech(x[s:e]) for s, e in plan_windows(len(x), sr)]


def test_speech_is_found_in_a_quiet_recording_as_in_a_loud_one(sample_dir):
    x = _speech(sample_dir)
    padded = np.concatenate([np.zeros(6 * 16000, np.float32), x])
    noise = np.random.default_rng(0).standard_normal(padded.size).astype(np.float32)
    loud = _windows_with_speech(padded + 1e-4 * noise)
    quiet = _windows_with_speech(padded * 0.01 + 1e-5 * noise)  # 40 dB quieter, 16-bit floor
    assert loud[:2] == [False, False] and all(loud[2:])
    assert quiet == loud


@pytest.mark.parametrize("kind", ["zeros", "white", "hum"])
def test_silence_and_steady_noise_are_not_speech(kind):
    rng = np.random.default_rng(3)
    n = 10 * 16000
    x = {"zeros": np.zeros(n),
         "white": 0.05 * rng.standard_normal(n),
         "hum": 0.05 * np.sin(2 * np.pi * 50 * np.arange(n) / 16000)}[kind].astype(np.float32)
    assert not any(_windows_with_speech(x))


def test_non_speech_windows_are_left_out_or_marked(sample_dir):
    x = np.concatenate([np.zeros(6 * 16000, np.float32), _speech(sample_dir)[: 6 * 16000]])
    calls = []

    def predict(windows):
        calls.append(len(windows))
        return np.tile([0.25, 0.75], (len(windows), 1))

    [speech] = segment_blocks([x], 16000, predict_proba=predict, labels=("a", "b"))
    assert [(s["start"], s["emotion"]) for s in speech] == [(6.0, "b"), (9.0, "b")]
    assert speech[0]["scores"] == {"a": 0.25, "b": 0.75} and speech[0]["confidence"] == 0.75
    [marked] = segment_blocks([x], 16000, predict_proba=predict, labels=("a", "b"),
                              speech_only=False)
    assert [s["emotion"] for s in marked] == [None, None, "b", "b"]
    assert "scores" not in marked[0]
    assert calls == [1, 1, 1, 1]  # per run: the block's speech windows, then the last window


def test_engine_answer_of_the_wrong_shape_is_reported(sample_dir):
    x = _speech(sample_dir)[: 3 * 16000]
    with pytest.raises(ValueError, match="probabilities of shape"):
        segment_blocks([x], 16000, predict_proba=lambda w: np.ones((len(w), 3)),
                       labels=("a", "b"))
