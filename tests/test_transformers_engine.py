"""The transformers engine with a tiny random checkpoint the test builds itself (no download)."""

from __future__ import annotations

import numpy as np
import pytest

import emotion_analytics as ea
from emotion_analytics.engines import get_engine
from emotion_analytics.schema import prob_columns, validate

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

LABELS = {0: "angry", 1: "calm", 2: "happy", 3: "sad"}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    config = transformers.Wav2Vec2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2, classifier_proj_size=16, num_labels=4,
        id2label=LABELS, label2id={v: k for k, v in LABELS.items()},
    )
    model = transformers.Wav2Vec2ForSequenceClassification(config)
    extractor = transformers.Wav2Vec2FeatureExtractor(sampling_rate=16000)
    path = tmp_path_factory.mktemp("tiny-wav2vec2")
    model.save_pretrained(path)
    extractor.save_pretrained(path)
    return str(path)


def test_labels_come_from_the_checkpoint(checkpoint):
    eng = get_engine(f"transformers:{checkpoint}")
    assert eng.labels == ("angry", "calm", "happy", "sad")
    assert eng.sample_rate == 16000 and eng.name == f"transformers:{checkpoint}"


def test_recognise_with_the_checkpoint(checkpoint, sample_dir):
    df = ea.recognise(sample_dir / "conversation.wav", engine=f"transformers:{checkpoint}")
    validate(df)
    assert prob_columns(df) == ["prob_angry", "prob_calm", "prob_happy", "prob_sad"]
    np.testing.assert_allclose(df[prob_columns(df)].sum(axis=1), 1.0, rtol=1e-5)
    local = ea.recognise(sample_dir / "conversation.wav")
    assert list(zip(df["start"], df["end"], strict=True)) == list(
        zip(local["start"], local["end"], strict=True))


def test_windows_are_batched_without_padding_effects(checkpoint):
    eng = get_engine(f"transformers:{checkpoint}")
    rng = np.random.default_rng(0)
    windows = [rng.standard_normal(n).astype(np.float32) * 0.1 for n in (48000, 30000, 48000)]
    together = eng.predict_proba(windows)
    alone = np.vstack([eng.predict_proba([w]) for w in windows])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_label_mapping_adds_merged_classes(checkpoint):
    from emotion_analytics.engines.transformers_engine import TransformersEngine

    plain = get_engine(f"transformers:{checkpoint}")
    mapped = TransformersEngine(checkpoint, labels={"angry": "negative", "sad": "negative",
                                                    "calm": "neutral"})
    assert mapped.labels == ("negative", "neutral", "happy")
    x = [np.random.default_rng(1).standard_normal(32000).astype(np.float32) * 0.1]
    p, q = plain.predict_proba(x)[0], mapped.predict_proba(x)[0]
    np.testing.assert_allclose(q, [p[0] + p[3], p[1], p[2]], rtol=1e-6)


def test_a_missing_checkpoint_is_a_clear_error(tmp_path):
    from emotion_analytics.engines.transformers_engine import TransformersEngine

    with pytest.raises(ea.EmotionAnalyticsError, match="cannot load the audio-classification"):
        TransformersEngine(str(tmp_path / "nothing-here"))
