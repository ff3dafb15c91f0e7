"""Label vocabularies and the explicit mappings between them."""

from __future__ import annotations

import numpy as np
import pytest

import emotion_analytics as ea
from emotion_analytics.labels import DEEPAFFECTS_V2, EMBEDDED, named_mapping, relabel_table


def test_deepaffects_mapping_covers_every_embedded_label():
    mapping = named_mapping("deepaffects")
    assert {mapping[label] for label in EMBEDDED} <= set(DEEPAFFECTS_V2)
    assert mapping["joy"] == "happy" and mapping["Neutral"] == "neutral"
    with pytest.raises(ValueError, match="unknown label mapping"):
        named_mapping("nope")


def test_relabel_adds_up_probabilities_and_picks_the_best_mapped_class():
    df = ea.to_frame([
        {"emotion": "anger", "start": 0, "end": 3, "confidence": 0.4,
         "scores": {"anger": 0.4, "fear": 0.3, "disgust": 0.3}},
        {"emotion": "sadness", "start": 3, "end": 6, "confidence": 0.9,
         "scores": {"anger": 0.05, "fear": 0.05, "disgust": 0.0, "sadness": 0.9}},
    ], file="a")
    out = relabel_table(df, "deepaffects")
    assert out["emotion"].tolist() == ["frustration", "sad"]
    np.testing.assert_allclose(out["confidence"], [0.6, 0.9])
    probs = out.filter(like="prob_")
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert set(probs.columns) == {"prob_anger", "prob_frustration", "prob_sad"}
    np.testing.assert_allclose(out["duration"], df["duration"])


def test_relabel_without_probabilities_maps_labels_and_keeps_missing():
    df = ea.to_frame([{"emotion": "joy", "start": 0, "end": 1},
                      {"speaker_id": "s", "start": 1, "end": 2}], file="a")
    out = relabel_table(df, {"joy": "happy"})
    assert out["emotion"].tolist()[0] == "happy" and out["emotion"].isna().tolist()[1]


def test_recognise_in_the_hosted_vocabulary(sample_dir):
    own = ea.recognise(sample_dir / "conversation.wav")
    mapped = ea.recognise(sample_dir / "conversation.wav", labels="deepaffects")
    assert set(mapped["emotion"].dropna()) <= set(DEEPAFFECTS_V2)
    np.testing.assert_allclose(mapped.filter(like="prob_").sum(axis=1), 1.0)
    assert mapped[["start", "end"]].equals(own[["start", "end"]])
