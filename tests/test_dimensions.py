"""Dimensions end to end: an engine that predicts them, the table, files, answers and plots.

The engines are built here (small `WindowEngine` subclasses), so the test does not depend on
what the embedded model predicts.
"""

from __future__ import annotations

import numpy as np
import pytest

import emotion_analytics as ea
from emotion_analytics.engines import WindowEngine
from emotion_analytics.schema import validate
from emotion_analytics.segmentation import segment_blocks


class Levels(WindowEngine):
    """Two classes and two dimensions from the window's level (louder: more aroused)."""

    name, labels, sample_rate = "levels", ("calm", "loud"), 16000

    def predict_proba(self, windows):
        rms = np.array([float(np.sqrt(np.mean(np.square(w)))) for w in windows])
        loud = np.clip(rms * 10, 0.05, 0.95)
        return np.stack([1 - loud, loud], axis=1)

    def predict_windows(self, windows):
        proba = self.predict_proba(windows)
        return proba, {"arousal": proba[:, 1], "valence": np.full(len(windows), 0.5)}


class OnlyDimensions(WindowEngine):
    """No classes at all: dimensions only (like a regression checkpoint)."""

    name, labels, sample_rate = "only-dimensions", (), 16000

    def predict_proba(self, windows):
        return np.zeros((len(windows), 0))

    def predict_windows(self, windows):
        return self.predict_proba(windows), {"dominance": np.full(len(windows), 1.7)}  # clipped


@pytest.fixture(scope="module")
def table(sample_dir):
    return ea.recognise(sample_dir / "conversation.wav", engine=Levels())


def test_recognise_puts_the_engine_dimensions_in_columns(table):
    validate(table)
    assert len(table) > 3
    assert table["arousal"].dtype == np.float64 and table["valence"].dtype == np.float64
    np.testing.assert_allclose(table["arousal"], table["prob_loud"])
    assert (table["valence"] == 0.5).all() and "dominance" not in table.columns


def test_engines_without_dimensions_give_no_columns(sample_dir):
    class Plain(Levels):
        predict_windows = WindowEngine.predict_windows

    df = ea.recognise(sample_dir / "conversation.wav", engine=Plain())
    assert len(df) > 3 and not {"arousal", "valence", "dominance"} & set(df.columns)


def test_segment_blocks_takes_predict_windows_and_clips_the_values():
    rng = np.random.default_rng(0)
    sr = 16000
    t = np.arange(4 * sr) / sr
    phase = 2 * np.pi * np.cumsum(120 + 30 * np.sin(2 * np.pi * 1.5 * t)) / sr
    voice = sum(np.sin(k * phase) / k for k in range(1, 15)) * np.maximum(
        np.sin(2 * np.pi * 4 * t), 0)
    x = (0.1 * voice + 0.001 * rng.standard_normal(len(t))).astype(np.float32)
    eng = OnlyDimensions()
    [segs] = segment_blocks([x], sr, predict_windows=eng.predict_windows, labels=())
    assert segs and all(s["emotion"] is None and s["dominance"] == 1.0 for s in segs)
    assert all("confidence" not in s and "scores" not in s for s in segs)
    # the engine's predict_proba, bound: segment_blocks finds its predict_windows
    [again] = segment_blocks([x], sr, predict_proba=eng.predict_proba, labels=())
    assert again == segs


def test_bad_dimensions_from_an_engine_are_clear_errors():
    from emotion_analytics.segmentation import _check_dims

    with pytest.raises(ValueError, match="unknown dimension 'loudness'"):
        _check_dims({"loudness": np.zeros(1)}, 1)
    with pytest.raises(ValueError, match="arousal of shape"):
        _check_dims({"arousal": np.zeros(3)}, 1)


def test_dimensions_flow_through_the_analysis(table):
    means = table.emotion.dimensions()
    weights = table["duration"].to_numpy()
    assert means["arousal"].iloc[0] == pytest.approx(
        np.sum(table["arousal"] * weights) / weights.sum())  # windows do not overlap
    grid = table.emotion.to_grid(step=1.0)
    assert grid["arousal"].dropna().between(0, 1).all()
    assert grid.loc[grid["coverage"] > 0, "arousal"].notna().all()
    merged = table.emotion.merge_adjacent()
    assert merged.emotion.dimensions()["arousal"].iloc[0] == pytest.approx(
        means["arousal"].iloc[0])
    assert "arousal" in table.emotion.summary().columns


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_files_keep_the_dimensions(table, tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    path = ea.write_table(table, tmp_path / f"table{suffix}")
    back = ea.read_table(path)
    for name in ("arousal", "valence"):
        assert back[name].dtype == np.float64
        np.testing.assert_allclose(back[name], table[name])


def test_files_keep_missing_dimension_values(tmp_path):
    df = ea.to_frame([{"emotion": "calm", "start": 0, "end": 1, "arousal": 0.4},
                      {"emotion": "calm", "start": 1, "end": 2}], file="a")
    back = ea.read_table(ea.write_table(df, tmp_path / "t.csv"))
    assert back["arousal"].iloc[0] == 0.4 and np.isnan(back["arousal"].iloc[1])


def test_answers_carry_the_dimensions(table):
    answer = ea.to_response(table)
    assert all(0 <= seg["arousal"] <= 1 and seg["valence"] == 0.5 for seg in answer)
    back = ea.to_frame(answer, file=table["file"].iloc[0])
    np.testing.assert_allclose(back["arousal"], table["arousal"])


def test_an_engine_with_dimensions_only(sample_dir):
    df = ea.recognise(sample_dir / "conversation.wav", engine=OnlyDimensions())
    assert len(df) > 3 and df["emotion"].isna().all() and (df["dominance"] == 1.0).all()
    assert df.emotion.dimensions()["dominance"].iloc[0] == 1.0
