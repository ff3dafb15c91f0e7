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


# --- dimensional (regression) checkpoints ----------------------------------------------------

DIMS = {0: "arousal", 1: "dominance", 2: "valence"}  # the order of the public dimensional models


def _regression_checkpoint(path, *, id2label=DIMS, problem_type="regression", bias=0.5):
    torch.manual_seed(1)
    config = transformers.Wav2Vec2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2, classifier_proj_size=16, num_labels=len(id2label),
        id2label=id2label, label2id={v: k for k, v in id2label.items()},
        problem_type=problem_type,
    )
    model = transformers.Wav2Vec2ForSequenceClassification(config)
    with torch.no_grad():  # outputs near `bias`, varying a little with the audio
        model.classifier.weight.mul_(0.05)
        model.classifier.bias.fill_(bias)
    model.save_pretrained(path)
    transformers.Wav2Vec2FeatureExtractor(sampling_rate=16000).save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def dimensional(tmp_path_factory):
    return _regression_checkpoint(tmp_path_factory.mktemp("tiny-dimensional"))


def _windows(seed=2):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n).astype(np.float32) * 0.1 for n in (48000, 32000)]


def test_a_regression_checkpoint_gives_dimensions_not_classes(dimensional):
    from emotion_analytics.engines.transformers_engine import TransformersEngine

    eng = TransformersEngine(dimensional)
    assert eng.labels == () and eng.dimensions == ("arousal", "dominance", "valence")
    proba, dims = eng.predict_windows(_windows())
    assert proba.shape == (2, 0)
    assert sorted(dims) == ["arousal", "dominance", "valence"]
    # the raw outputs, not a softmax (three softmax outputs would sum to 1)
    model = transformers.AutoModelForAudioClassification.from_pretrained(dimensional).eval()
    extractor = transformers.AutoFeatureExtractor.from_pretrained(dimensional)
    with torch.no_grad():
        raw = [model(**extractor([w], sampling_rate=16000, return_tensors="pt")).logits[0].numpy()
               for w in _windows()]
    for i, name in DIMS.items():
        np.testing.assert_allclose(dims[name], [r[i] for r in raw], atol=1e-5)
    total = dims["arousal"] + dims["dominance"] + dims["valence"]
    assert not np.allclose(total, 1.0)


def test_labels_named_as_dimensions_make_a_regression_checkpoint(tmp_path):
    from emotion_analytics.engines.transformers_engine import TransformersEngine

    path = _regression_checkpoint(tmp_path, id2label={0: "Valence", 1: "Arousal"},
                                  problem_type=None)
    eng = TransformersEngine(path)
    assert eng.dimensions == ("valence", "arousal")
    assert sorted(eng.predict_windows(_windows())[1]) == ["arousal", "valence"]


def test_dimensions_are_clipped_to_the_unit_interval(tmp_path):
    from emotion_analytics.engines.transformers_engine import TransformersEngine

    eng = TransformersEngine(_regression_checkpoint(tmp_path, bias=3.0))
    _, dims = eng.predict_windows(_windows())
    for values in dims.values():
        np.testing.assert_array_equal(values, 1.0)


def test_a_regression_checkpoint_with_unnamed_outputs_is_a_clear_error(tmp_path):
    from emotion_analytics.engines.transformers_engine import TransformersEngine

    path = _regression_checkpoint(tmp_path, id2label={0: "LABEL_0", 1: "LABEL_1"})
    with pytest.raises(ea.EmotionAnalyticsError, match="not arousal/valence/dominance"):
        TransformersEngine(path)


def test_recognise_with_a_dimensional_checkpoint(dimensional, checkpoint, sample_dir):
    wav = sample_dir / "conversation.wav"
    df = ea.recognise(wav, engine=f"transformers:{dimensional}")
    validate(df)
    assert len(df) > 0
    assert df["emotion"].isna().all()  # no classes: emotion missing, the dimensions given
    assert prob_columns(df) == []
    for name in ("arousal", "valence", "dominance"):
        assert df[name].dtype == np.float64
        assert df[name].between(0, 1).all()
    # the speech windows are the same as a classifier's: none is dropped for lack of a class
    classes = ea.recognise(wav, engine=f"transformers:{checkpoint}")
    assert list(zip(df["start"], df["end"], strict=True)) == list(
        zip(classes["start"], classes["end"], strict=True))
    means = df.emotion.dimensions()
    assert list(means.columns) == ["arousal", "valence", "dominance"]
    answer = ea.to_response(df)
    assert answer[0]["emotion"] is None and 0 <= answer[0]["arousal"] <= 1
