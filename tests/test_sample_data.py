"""The sample recordings in data/, their true labels, and the agreement of an answer with them."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from emotion_analytics import BadResponseError
from emotion_analytics.agreement import AROUSAL, agreement, read_truth
from emotion_analytics.cli import main
from emotion_analytics.io import read_rttm, read_table

RECORDINGS = [("conversation.wav", 1), ("call_stereo.ogg", 2)]


# --------------------------------------------------------------------------------------------
# the files agree with each other and with the audio


@pytest.mark.parametrize(("name", "channels"), RECORDINGS)
def test_truth_matches_the_audio_and_the_turns(sample_dir, name, channels):
    stem = name.rsplit(".", 1)[0]
    info = sf.info(sample_dir / name)
    truth = read_truth(sample_dir / f"{stem}.truth.csv")
    turns = read_rttm(sample_dir / f"{stem}.rttm")
    assert info.samplerate == 16000 and info.channels == channels
    assert 30 <= info.duration <= 60
    assert set(truth["file"]) == {name} and set(turns["file"]) == {stem}
    assert set(truth["speaker"]) == set(turns["speaker"]) == {"agent", "customer"}
    assert set(truth["emotion"]) <= set(AROUSAL)  # EmoDB emotions with a known arousal
    assert (truth["corpus"] == "emodb").all() and truth["source"].is_unique
    assert truth["end"].max() < info.duration and truth["start"].min() >= 0
    # clips are 1-2 s of EmoDB speech, in time order per speaker, each inside a turn of its
    # speaker; every turn is made of clips
    assert truth.eval("end - start").between(1.0, 2.01).all()
    for speaker, clips in truth.groupby("speaker"):
        assert clips["start"].is_monotonic_increasing
        own = turns[turns["speaker"] == speaker]
        inside = [((own["start"] <= s + 1e-3) & (own["end"] >= e - 1e-3)).any()
                  for s, e in zip(clips["start"], clips["end"], strict=True)]
        assert all(inside), f"{speaker}: a clip outside its turns"
        assert np.isclose(own["start"].to_numpy()[:, None], clips["start"].to_numpy()).any(1).all()
    # pauses between turns of 0.2-0.8 s, and at most two overlaps
    by_time = turns.sort_values("start")
    gaps = by_time["start"].to_numpy()[1:] - by_time["end"].to_numpy()[:-1]
    assert ((gaps >= 0.2 - 1e-3) & (gaps <= 0.8 + 1e-3) | (gaps < 0)).all()
    assert 1 <= (gaps < 0).sum() <= 2 and gaps.min() > -0.6


def test_the_truth_is_where_the_speech_is(sample_dir):
    x, sr = sf.read(sample_dir / "conversation.wav", dtype="float32")
    truth = read_truth(sample_dir / "conversation.truth.csv")
    speech = np.zeros(len(x), bool)
    for s, e in zip(truth["start"], truth["end"], strict=True):
        speech[int(s * sr):int(e * sr)] = True
    level = 20 * np.log10(np.sqrt(np.mean(x[speech] ** 2)) / np.sqrt(np.mean(x[~speech] ** 2)))
    assert level > 30  # speech in the clips, the room's noise between them


def test_the_stereo_call_has_each_speaker_on_their_own_channel(sample_dir):
    x, sr = sf.read(sample_dir / "call_stereo.ogg", dtype="float32")
    truth = read_truth(sample_dir / "call_stereo.truth.csv")
    assert dict(zip(truth["speaker"], truth["channel"], strict=True)) == {"agent": 0,
                                                                          "customer": 1}
    for s, e, ch in zip(truth["start"], truth["end"], truth["channel"], strict=True):
        other = truth[truth["channel"] != ch]
        if ((other["start"] < e) & (other["end"] > s)).any():
            continue  # an interruption: both speak
        part = x[int(s * sr):int(e * sr)]
        rms = np.sqrt(np.mean(part ** 2, axis=0))
        assert rms[ch] > 10 * rms[1 - ch], (s, ch)  # 20 dB louder on its own channel


def test_the_samples_are_small(sample_dir):
    size = sum(p.stat().st_size for p in sample_dir.iterdir())
    assert size < 1.5e6


def test_the_script_rebuilds_the_samples(emodb, repo, sample_dir, tmp_path):
    """Seeded: the same clips, turns and samples on every run (the Opus file is left out,
    since its bytes follow the encoder's version)."""
    subprocess.run([sys.executable, str(repo / "scripts" / "make_sample_audio.py"),
                    "--emodb", str(emodb), "--out", str(tmp_path)], check=True,
                   capture_output=True)
    for name in ("conversation.truth.csv", "call_stereo.truth.csv", "conversation.rttm",
                 "call_stereo.rttm"):
        assert (tmp_path / name).read_bytes() == (sample_dir / name).read_bytes(), name
    # the same samples, up to one step of 16-bit rounding (another soxr build may round apart)
    new, _ = sf.read(tmp_path / "conversation.wav", dtype="int16")
    old, _ = sf.read(sample_dir / "conversation.wav", dtype="int16")
    assert new.shape == old.shape and np.abs(new.astype(int) - old).max() <= 1
    meta = pd.read_csv(emodb / "metadata.csv", dtype={"speaker": str})
    meta["source"] = meta["file"].str.rsplit("/", n=1).str[-1]
    for stem in ("conversation", "call_stereo"):
        truth = read_truth(sample_dir / f"{stem}.truth.csv").merge(meta, on="source")
        assert (truth["emotion_x"] == truth["emotion_y"]).all()  # the labels are EmoDB's
        genders = truth.groupby("speaker_x")["gender"].unique()
        assert genders.map(len).eq(1).all() and set(genders.str[0]) == {"male", "female"}


# --------------------------------------------------------------------------------------------
# agreement on hand-made tables (expected values worked out by hand in the comments)


def _t(rows, cols=("file", "speaker", "start", "end", "emotion")):
    return pd.DataFrame(rows, columns=list(cols))


def test_agreement_splits_overlapping_predictions_and_counts_gaps_as_wrong():
    truth = _t([("a.wav", "A", 0.0, 4.0, "anger")])
    # 0-2 anger alone: 2 s; 2-3 anger and sadness: half of 1 s; 3-4 sadness: 0 -> 2.5 / 4
    pred = _t([("a.wav", None, 0.0, 3.0, "anger"), ("a.wav", None, 2.0, 4.0, "sadness")])
    assert agreement(pred, truth, by=None)["emotion_agreement"].item() == pytest.approx(0.625)
    # 1-3 anger, nothing before or after: 2 / 4
    pred = _t([("a.wav", None, 1.0, 3.0, "anger")])
    out = agreement(pred, truth, by=None)
    assert out["emotion_agreement"].item() == pytest.approx(0.5)
    assert out["seconds"].item() == 4.0 and out.index.tolist() == ["all"]


def test_agreement_matches_speakers_when_the_prediction_has_them():
    # A angry 0-2, B neutral 1-3 (they overlap from 1 to 2)
    truth = _t([("a.wav", "A", 0.0, 2.0, "anger"), ("a.wav", "B", 1.0, 3.0, "neutral")])
    with_speakers = _t([("a.wav", "A", 0.0, 2.0, "anger"), ("a.wav", "B", 1.0, 2.0, "anger"),
                        ("a.wav", "B", 2.0, 3.0, "neutral")])
    out = agreement(with_speakers, truth, by="speaker")
    # A: 2 of 2 s; B: 1-2 anger (wrong), 2-3 neutral (right) -> 1 of 2 s
    assert out["emotion_agreement"].to_dict() == {"A": 1.0, "B": 0.5}
    assert agreement(with_speakers, truth, by=None)["emotion_agreement"].item() == 0.75
    # without speakers every prediction in the time counts: B's 1-2 s meets the anger row
    no_speakers = _t([("a.wav", None, 0.0, 2.0, "anger"), ("a.wav", None, 2.0, 3.0, "neutral")])
    out = agreement(no_speakers, truth, by="speaker")
    assert out["emotion_agreement"].to_dict() == {"A": 1.0, "B": 0.5}
    # speakers named otherwise (ch0/ch1) cannot be matched by name: time only
    other = with_speakers.assign(speaker=["ch0", "ch1", "ch1"])
    out = agreement(other, truth, by="speaker")
    # A 0-1: anger; A 1-2: two anger rows -> right; B 1-2: anger x2 -> wrong; B 2-3 right
    assert out["emotion_agreement"].to_dict() == {"A": 1.0, "B": 0.5}


def test_agreement_matches_channels_of_a_stereo_call():
    truth = _t([("call.ogg", "agent", 0.0, 2.0, "neutral", 0),
                ("call.ogg", "customer", 0.0, 2.0, "anger", 1)],
               cols=("file", "speaker", "start", "end", "emotion", "channel"))
    pred = _t([("data/call.ogg", "ch0", 0.0, 2.0, "neutral", "0"),
               ("data/call.ogg", "ch1", 0.0, 1.0, "anger", "1"),
               ("data/call.ogg", "ch1", 1.0, 2.0, "sadness", "1")],
              cols=("file", "speaker", "start", "end", "emotion", "channel"))
    out = agreement(pred, truth)
    assert out["emotion_agreement"].tolist() == [1.0, 0.5]
    assert out.index.tolist() == [("call.ogg", "agent"), ("call.ogg", "customer")]


def test_agreement_matches_files_by_recording_name():
    truth = _t([("a.wav", "A", 0.0, 2.0, "anger"), ("b.wav", "A", 0.0, 2.0, "anger")])
    pred = _t([("data/a.wav", None, 0.0, 2.0, "anger"), ("c.wav", None, 0.0, 2.0, "anger")])
    out = agreement(pred, truth, by="file")
    assert out["emotion_agreement"].to_dict() == {"a.wav": 1.0, "b.wav": 0.0}
    # a truth table without files applies to every predicted file
    out = agreement(pred, truth.drop(columns="file").iloc[:1], by=None)
    assert out["emotion_agreement"].item() == 1.0


def test_arousal_agreement_needs_the_column_and_leaves_disgust_out():
    truth = _t([("a.wav", "A", 0.0, 2.0, "happiness"), ("a.wav", "A", 2.0, 4.0, "boredom"),
                ("a.wav", "A", 4.0, 6.0, "disgust")])
    pred = _t([("a.wav", None, 0.0, 6.0, "anger")])
    out = agreement(pred, truth, by=None)
    assert out["emotion_agreement"].item() == 0.0
    assert out["arousal_seconds"].item() == 4.0 and np.isnan(out["arousal_agreement"].item())
    # arousal 0.9 over 0-3 s, 0.2 over 3-5 s, NaN over 5-6 s:
    # happiness 0-2 high: right 2 s; boredom 2-3 high: wrong, 3-4 low: right -> 3 of 4 s
    pred = pd.DataFrame({"file": "a.wav", "start": [0.0, 3.0, 5.0], "end": [3.0, 5.0, 6.0],
                         "emotion": "anger", "arousal": [0.9, 0.2, np.nan]})
    assert agreement(pred, truth, by=None)["arousal_agreement"].item() == 0.75
    # a missing value is no answer: boredom 2-4 s with arousal NaN -> wrong
    pred["arousal"] = [0.9, np.nan, np.nan]
    assert agreement(pred, truth, by=None)["arousal_agreement"].item() == 0.5


def test_agreement_maps_the_truth_to_the_prediction_vocabulary():
    truth = _t([("a.wav", "A", 0.0, 2.0, "happiness"), ("a.wav", "A", 2.0, 4.0, "sadness")])
    pred = _t([("a.wav", None, 0.0, 2.0, "happy"), ("a.wav", None, 2.0, 4.0, "sad")])
    assert agreement(pred, truth, by=None)["emotion_agreement"].item() == 0.0
    out = agreement(pred, truth, by=None, labels="deepaffects")
    assert out["emotion_agreement"].item() == 1.0


def test_bad_truth_tables_are_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("file,speaker,start,end\na.wav,A,0,1\n")
    with pytest.raises(BadResponseError, match=r"t\.csv.*\['emotion'\]"):
        read_truth(path)
    path.write_text("file,speaker,start,end,emotion\na.wav,A,0,1,anger\na.wav,A,2,2,anger\n")
    with pytest.raises(BadResponseError, match=r"t\.csv, row 1 \(line 3\)"):
        read_truth(path)
    with pytest.raises(BadResponseError, match="by="):
        agreement(_t([]), _t([("a", "A", 0.0, 1.0, "x")]), by="channel")


# --------------------------------------------------------------------------------------------
# the analyze command


def test_analyze_prints_the_agreement_with_the_truth(sample_dir, tmp_path, capsys):
    out = tmp_path / "t.csv"
    args = ["analyze", str(sample_dir / "conversation.wav"),
            "--turns", str(sample_dir / "conversation.rttm"),
            "--truth", str(sample_dir / "conversation.truth.csv"), "-o", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    head, _, rest = printed.partition("agreement with the truth")
    assert "dominant" in head and rest  # after the summary
    rows = {line.split()[0:2][-1]: line.split() for line in rest.splitlines()[2:5]}
    table = read_table(out)
    expected = agreement(table, read_truth(sample_dir / "conversation.truth.csv"))
    for speaker in ("agent", "customer"):
        value = expected.loc[("conversation.wav", speaker), "emotion_agreement"]
        assert float(rows[speaker][-1 - ("arousal" in table)]) == pytest.approx(value, abs=0.006)
    assert "all" in rest and "in the embedded model's training data" in rest
    # arousal is shown (the summary's mean, the agreement's share) when the engine gives it
    gives_arousal = "arousal" in table and bool(table["arousal"].notna().any())
    assert ("arousal" in head.splitlines()[1]) == gives_arousal
    assert ("arousal" in rest.splitlines()[1]) == gives_arousal
    assert "MODEL_CARD.md" in rest


def test_analyze_without_emodb_truth_prints_no_training_data_note(sample_dir, tmp_path, capsys):
    truth = tmp_path / "mine.csv"
    truth.write_text("file,speaker,start,end,emotion\nconversation.wav,agent,1.0,3.0,neutral\n")
    assert main(["analyze", str(sample_dir / "conversation.wav"), "--truth", str(truth)]) == 0
    printed = capsys.readouterr().out
    assert "agreement with the truth" in printed and "training data" not in printed
