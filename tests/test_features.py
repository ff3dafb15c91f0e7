"""Feature extraction of the embedded model: shapes, invariances, batching, edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from emotion_analytics.model import features as F

SR = F.SAMPLE_RATE


def _voice(f0=140.0, seconds=2.0, seed=0):
    """A crude voiced signal: harmonics of a gliding f0 with syllable-like amplitude."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f = f0 * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
    ph = 2 * np.pi * np.cumsum(f) / SR
    x = sum(np.sin(k * ph) / k for k in range(1, 15))
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    return (0.05 * x * env + 1e-4 * rng.standard_normal(len(t))).astype(np.float32)


def test_names_match_vector_length():
    v = F.extract(_voice())
    assert v.shape == (F.n_features(),)
    assert len(set(F.feature_names())) == F.n_features()
    assert np.isfinite(v).all()


def test_pitch_is_tracked():
    names = F.feature_names()
    lo = F.extract(_voice(110.0))[names.index("f0_median_st")]
    hi = F.extract(_voice(220.0))[names.index("f0_median_st")]
    # 12 semitones apart (an octave); the tracker must see it within a semitone
    assert abs((hi - lo) - 12.0) < 1.0
    assert abs(lo - 12 * np.log2(110 / 100)) < 1.5


def test_gain_invariance():
    x = _voice()
    a, b = F.extract(x), F.extract(x * 0.05)
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)


def test_batch_equals_single_and_mixed_lengths():
    xs = [_voice(seed=1), _voice(180.0, 3.0, seed=2), _voice(seed=3)[:9000]]
    batch = F.extract_batch(xs)
    single = np.vstack([F.extract(x) for x in xs])
    np.testing.assert_allclose(batch, single, rtol=1e-9, atol=1e-9)
    two_d = F.extract_batch(np.stack([xs[0], xs[2][:8000].repeat(4)[:32000]]))
    assert two_d.shape == (2, F.n_features())


@pytest.mark.parametrize(
    "x",
    [
        np.zeros(0, np.float32),
        np.zeros(10, np.float32),
        np.zeros(SR, np.float32),
        np.full(SR, np.nan, np.float32),
        np.ones(SR, np.float32),
        (np.random.default_rng(0).standard_normal(SR) * 1e-9).astype(np.float32),
    ],
    ids=["empty", "10-samples", "silence", "nan", "dc", "tiny-noise"],
)
def test_degenerate_inputs_are_finite(x):
    v = F.extract(x)
    assert v.shape == (F.n_features(),)
    assert np.isfinite(v).all()


def test_long_windows_use_their_first_minute_and_stay_bounded():
    x = np.tile(_voice(seconds=2.0), 40)[: 80 * SR]  # 80 s
    a = F.extract_batch([x])
    b = F.extract_batch([x[: F.MAX_SAMPLES]])
    np.testing.assert_array_equal(a, b)
