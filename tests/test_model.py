"""The embedded emotion model: interface, robustness, accuracy on EmoDB, reproducible training."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from emotion_analytics.model import (
    DEEPAFFECTS_LABELS,
    LABELS,
    TO_DEEPAFFECTS,
    load_model,
)
from emotion_analytics.model.classifier import WEIGHTS_PATH

EMODB = Path(__file__).parents[1].parent / "shared" / "data" / "emodb"
needs_emodb = pytest.mark.skipif(
    not (EMODB / "metadata.csv").is_file(), reason=f"EmoDB not found at {EMODB}"
)


@pytest.fixture(scope="module")
def model():
    return load_model()


def test_interface(model):
    assert (
        model.labels
        == LABELS
        == (
            "anger",
            "boredom",
            "disgust",
            "fear",
            "happiness",
            "neutral",
            "sadness",
        )
    )
    assert model.sample_rate == 16000
    assert WEIGHTS_PATH.stat().st_size < 3_000_000
    assert model.has_speaker_mode


def test_mapping_covers_every_label():
    assert set(TO_DEEPAFFECTS) == set(LABELS)
    assert set(TO_DEEPAFFECTS.values()) <= set(DEEPAFFECTS_LABELS)


def test_load_is_fast_and_cached():
    load_model.cache_clear()
    t = time.perf_counter()
    m = load_model()
    assert time.perf_counter() - t < 0.5
    assert load_model() is m


@pytest.mark.parametrize("as_array", [True, False])
def test_probabilities(model, as_array):
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((5, 3 * model.sample_rate))).astype(np.float32)
    p = model.predict_proba(x if as_array else list(x))
    assert p.shape == (5, 7) and p.dtype == np.float64
    assert np.isfinite(p).all() and (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)


def test_short_silent_long_and_odd_inputs(model):
    sr = model.sample_rate
    rng = np.random.default_rng(1)
    windows = [
        (0.1 * rng.standard_normal(int(0.3 * sr))).astype(np.float32),  # 0.3 s
        np.zeros(sr, np.float32),  # silence
        (0.1 * rng.standard_normal(30 * sr)).astype(np.float32),  # 30 s
        np.zeros(0, np.float32),  # empty
        np.full(sr, np.nan, np.float32),  # garbage
    ]
    p = model.predict_proba(windows)
    assert p.shape == (5, 7)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert model.predict_proba([]).shape == (0, 7)


def test_speaker_mode_shapes(model):
    rng = np.random.default_rng(2)
    x = (0.1 * rng.standard_normal((12, 2 * model.sample_rate))).astype(np.float32)
    p = model.predict_proba(x, adapt=True)
    assert p.shape == (12, 7)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    # too few windows to normalise over: same answer as clip mode
    np.testing.assert_allclose(model.predict_proba(x[:3], adapt=True), model.predict_proba(x[:3]))


@pytest.fixture(scope="module")
def emodb_small():
    from emotion_analytics.model.corpus import load_emodb

    return load_emodb(EMODB, limit=140)


@needs_emodb
def test_shipped_weights_classify_emodb(model, emodb_small):
    c = emodb_small
    p = model.predict_proba(c.audio)
    acc = float(np.mean(p.argmax(axis=1) == c.labels))
    # chance is about 1/7; the shipped model has seen these clips, so expect far above it
    assert acc > 0.6, acc
    # confidences mean something: right answers are more confident than wrong ones
    right = p.argmax(axis=1) == c.labels
    if (~right).any():
        assert p.max(axis=1)[right].mean() > p.max(axis=1)[~right].mean()
    # and every class is recognised on some of its clips
    assert set(p.argmax(axis=1)[right]) == set(range(7))


@needs_emodb
def test_training_is_deterministic(emodb_small):
    pytest.importorskip("sklearn")
    pytest.importorskip("torch")
    from emotion_analytics.model.augment import corpus_features
    from emotion_analytics.model.classifier import EmotionModel
    from emotion_analytics.model.cnn_train import CnnConfig
    from emotion_analytics.model.fitting import Config, fit_all

    c = emodb_small
    X, src, is_aug, mels = corpus_features(c, 1, seed=5)
    y = c.labels[src]
    copy = np.arange(len(src)) // len(c.audio)
    cfg = Config(
        linear=(("lda", 0.0), ("lr", 0.1)),
        use_mlp=True,
        mlp_iter=40,
        mlp_bag=2,
        cnn=CnnConfig(epochs=2, bag=2),
    )
    runs = []
    for _ in range(2):
        params = fit_all(X, mels, y, c.speakers[src], copy, is_aug, 7, cfg, 5, LABELS)
        model = EmotionModel(params)
        assert model.has_cnn and int(params["cnn_members"]) == 2
        runs.append(model.proba_from_features(X[:40], mels=mels[:40]))
    np.testing.assert_array_equal(runs[0], runs[1])
    # the CNN member changes the answer (it is really part of the ensemble)
    assert not np.allclose(runs[0], model.proba_from_features(X[:40]))
    # and the features and spectrograms of augmented copies are themselves reproducible
    X2, _, _, mels2 = corpus_features(c, 1, seed=5)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(np.concatenate(mels), np.concatenate(mels2))


def test_numpy_cnn_matches_the_trained_torch_network():
    torch = pytest.importorskip("torch")
    from emotion_analytics.model import cnn
    from emotion_analytics.model.cnn_train import CnnConfig, build_network, export

    torch.manual_seed(0)
    net = build_network(5, CnnConfig())
    # non-trivial batch-norm statistics, so that folding them is really tested
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    net.eval()
    rng = np.random.default_rng(0)
    for frames in (150, 37):  # a 3-s window, and odd lengths that pooling truncates
        x = rng.normal(-9, 4, (3, frames, 40)).astype(np.float32)
        with torch.no_grad():
            want = net(torch.from_numpy(x)).numpy()
        *blocks, head = export(net)
        params = {"cnn_blocks": len(blocks), "cnn_members": 1}
        for i, b in enumerate(blocks):
            params[f"cnn_m0_w{i}"], params[f"cnn_m0_b{i}"] = b["w"], b["b"]
        params["cnn_m0_ow"], params["cnn_m0_ob"] = head["ow"], head["ob"]
        np.testing.assert_allclose(cnn.logits(params, x), want, rtol=1e-4, atol=1e-4)


def test_shipped_weights_include_the_cnn_member(model):
    assert model.has_cnn
    assert 0.0 < model.cnn_mix < 1.0
    t = np.arange(3 * model.sample_rate) / model.sample_rate
    x = (0.1 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    from emotion_analytics.model import features

    f, mels = features.extract_batch([x], with_mels=True)
    np.testing.assert_allclose(
        model.predict_proba([x]), model.proba_from_features(f, mels=mels), rtol=1e-12
    )
    assert not np.allclose(model.predict_proba([x]), model.proba_from_features(f))


def test_mlp_bag_is_the_mean_of_its_members_logits():
    pytest.importorskip("sklearn")
    from emotion_analytics.model.fitting import Config, _fit_mlp, _fit_one_mlp

    rng = np.random.default_rng(3)
    y = np.repeat([0, 1, 2], 30)
    Z = rng.standard_normal((90, 6)) + y[:, None]
    cfg = Config(mlp_hidden=8, mlp_iter=30, mlp_bag=3)
    (w1, b1), (w2, b2) = _fit_mlp(Z, y, 1.0, cfg, 7, 4)
    assert w1.shape == (6, 24) and w2.shape == (24, 4)
    logits = np.maximum(Z @ w1 + b1, 0.0) @ w2 + b2
    members = []
    for j in range(3):
        (v1, c1), (v2, c2) = _fit_one_mlp(Z, y, 1.0, cfg, 7 + 1000 * j, 4)
        members.append(np.maximum(Z @ v1 + c1, 0.0) @ v2 + c2)
    np.testing.assert_allclose(logits, np.mean(members, axis=0), atol=1e-9)
    # the members differ (different seeds), so the bag is not one network repeated
    assert not np.allclose(members[0], members[1])
    # a class absent from the training labels gets a very low logit, never NaN
    assert np.isfinite(logits).all() and (logits[:, 3] < logits[:, :3].min(axis=1)).all()


@needs_emodb
def test_train_without_torch_says_what_to_install(monkeypatch, capsys, tmp_path):
    import sys

    from emotion_analytics.model.train import main

    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    assert main(["--data", str(EMODB), "--out", str(tmp_path / "w.npz"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "emotion_analytics[train]" in err and "--no-cnn" in err
    assert not (tmp_path / "w.npz").exists()


@needs_emodb
def test_train_no_cnn_needs_no_torch_and_gives_a_feature_only_model(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "w.npz"
    code = (
        "import sys; from emotion_analytics.model.train import main; "
        f"rc = main(['--data', {str(EMODB)!r}, '--out', {str(out)!r}, '--no-cnn', "
        "'--no-mlp', '--limit', '40', '--quiet']); print(rc, 'torch' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.split() == ["0", "False"], res.stdout + res.stderr
    m = load_model(str(out))
    assert not m.has_cnn
    p = m.predict_proba(np.zeros((2, m.sample_rate), dtype=np.float32))
    assert p.shape == (2, 7) and np.allclose(p.sum(axis=1), 1)


def test_predict_windows_gives_arousal_and_valence_from_the_probabilities(model):
    from emotion_analytics.engines.local import LocalEngine
    from emotion_analytics.model.dimensions import derived_dimensions

    rng = np.random.default_rng(4)
    x = (0.1 * rng.standard_normal((4, 2 * model.sample_rate))).astype(np.float32)
    proba, dims = model.predict_windows(x)
    np.testing.assert_allclose(proba, model.predict_proba(x), rtol=1e-12)
    assert set(dims) == {"arousal", "valence"}
    for name, v in dims.items():
        assert v.shape == (4,) and ((v >= 0) & (v <= 1)).all()
        np.testing.assert_allclose(v, derived_dimensions(proba, model.labels)[name])
    # arousal: anger, fear, happiness count 1, disgust 0.5, the rest 0
    want = proba[:, [0, 3, 4]].sum(axis=1) + 0.5 * proba[:, 2]
    np.testing.assert_allclose(dims["arousal"], want)
    eng_p, eng_d = LocalEngine().predict_windows(list(x))
    np.testing.assert_allclose(eng_p, proba)
    np.testing.assert_allclose(eng_d["arousal"], want)
    p0, d0 = model.predict_windows([])
    assert p0.shape == (0, 7) and all(v.shape == (0,) for v in d0.values())


def test_dimension_heads_in_the_weights_answer_instead_of_the_derived_values(model):
    from emotion_analytics.model import features
    from emotion_analytics.model.classifier import EmotionModel

    w = np.zeros(features.n_features())
    heads = {"dim_arousal_w": w, "dim_arousal_b": np.float64(2.0)}  # always sigmoid(2)
    m = EmotionModel({**model.params, **heads})
    _, dims = m.predict_windows(np.zeros((2, m.sample_rate), np.float32))
    np.testing.assert_allclose(dims["arousal"], 1 / (1 + np.exp(-2.0)))
    _, plain = model.predict_windows(np.zeros((2, m.sample_rate), np.float32))
    np.testing.assert_allclose(dims["valence"], plain["valence"])  # no valence head: derived


@needs_emodb
def test_arousal_separates_aroused_from_calm_emodb_clips(model, emodb_small):
    c = emodb_small
    _, dims = model.predict_windows(c.audio)
    high = np.isin(c.labels, [LABELS.index(x) for x in ("anger", "fear", "happiness")])
    low = np.isin(c.labels, [LABELS.index(x) for x in ("boredom", "neutral", "sadness")])
    acc = (np.mean(dims["arousal"][high] > 0.5) + np.mean(dims["arousal"][low] <= 0.5)) / 2
    assert acc > 0.9, acc
