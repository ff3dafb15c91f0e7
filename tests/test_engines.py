"""get_engine and the embedded engine behind the engine interface."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from emotion_analytics import audio
from emotion_analytics.engines import UnknownEngineError, WindowEngine, get_engine
from emotion_analytics.engines.local import LocalEngine
from emotion_analytics.segmentation import plan_windows


@pytest.fixture(scope="module")
def speech(sample_dir):
    return audio.decode(sample_dir / "conversation.wav")[0]


def test_local_engine_answers_v2_segments_with_scores(speech):
    eng = get_engine("local")
    assert eng is get_engine(None) and eng.name == "local"
    segs = eng.analyze(speech, 16000)
    assert len(segs) == len(plan_windows(len(speech), 16000))  # every window is speech
    for seg in segs:
        assert set(seg) == {"emotion", "start", "end", "confidence", "scores", "arousal",
                            "valence"}
        assert 0.0 <= seg["arousal"] <= 1.0 and 0.0 <= seg["valence"] <= 1.0
        assert seg["emotion"] in eng.labels and list(seg["scores"]) == list(eng.labels)
        assert sum(seg["scores"].values()) == pytest.approx(1.0)
        assert seg["confidence"] == max(seg["scores"].values())
        assert seg["scores"][seg["emotion"]] == seg["confidence"]


def test_analyze_resamples_its_input(speech):
    eng = get_engine("local")
    at8k = audio.resample(speech, 16000, 8000)
    a, b = eng.analyze(speech, 16000), eng.analyze(at8k, 8000)
    assert [(s["start"], s["end"]) for s in a] == [(s["start"], s["end"]) for s in b]
    with pytest.raises(ValueError, match="mono"):
        eng.analyze(np.zeros((2, 16000), np.float32), 16000)


def test_unknown_engines_list_the_choices():
    with pytest.raises(UnknownEngineError, match="'local'.*transformers:<model id or path>"):
        get_engine("local-ish")
    with pytest.raises(UnknownEngineError, match="no analyze"):
        get_engine(42)
    with pytest.raises(UnknownEngineError, match="needs a model id"):
        get_engine("transformers:")


def test_any_object_with_analyze_is_an_engine():
    class Mine:
        name, labels = "mine", None

        def analyze(self, audio, sample_rate):
            return []

    mine = Mine()
    assert get_engine(mine) is mine


def test_local_engine_travels_to_worker_processes_by_name():
    eng = LocalEngine()
    back = pickle.loads(pickle.dumps(eng))
    assert isinstance(back, LocalEngine) and back.labels == eng.labels
    assert len(pickle.dumps(eng)) < 500  # the weights are not shipped


def test_window_engine_needs_predict_proba():
    with pytest.raises(NotImplementedError):
        WindowEngine().predict_proba([np.zeros(10)])
