"""recognise() end to end on real audio, and the answers the HTTP server sends."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import emotion_analytics as ea
from emotion_analytics import recognition
from emotion_analytics.schema import COLUMNS, prob_columns, validate


@pytest.fixture(scope="module")
def conversation(sample_dir):
    return sample_dir / "conversation.wav"


@pytest.fixture(scope="module")
def table(conversation):
    return ea.recognise(conversation)


def wav_bytes(x, rate=16000):
    buf = io.BytesIO()
    sf.write(buf, x, rate, format="WAV")
    return buf.getvalue()


def test_a_recording_gives_a_tidy_table(table, conversation):
    validate(table)
    from emotion_analytics.engines import get_engine

    assert list(table.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert prob_columns(table) == [f"prob_{label}" for label in get_engine("local").labels]
    assert (table["file"] == str(conversation)).all()
    np.testing.assert_allclose(table[prob_columns(table)].sum(axis=1), 1.0)
    best = table[prob_columns(table)].to_numpy().argmax(axis=1)
    assert list(table["emotion"]) == [prob_columns(table)[i][5:] for i in best]
    duration = ea.audio.probe(conversation).duration
    assert table["end"].max() == pytest.approx(duration, abs=1e-3)


def test_bytes_and_file_objects_give_the_same_table(table, conversation):
    data = conversation.read_bytes()
    for source in (data, io.BytesIO(data)):
        other = ea.recognise(source, file=str(conversation))
        pd.testing.assert_frame_equal(other, table)


def test_numpy_arrays_need_their_rate(conversation):
    x, sr = sf.read(conversation, dtype="float32")
    with pytest.raises(ea.BadAudioError, match="sample_rate"):
        ea.recognise(x)
    df = ea.recognise(x, sample_rate=sr, file="call")
    assert len(df) and (df["file"] == "call").all()


def test_stereo_call_one_speaker_per_channel(sample_dir):
    df = ea.recognise(sample_dir / "call_stereo.ogg", channels="speakers")
    validate(df)
    assert set(df["speaker"]) == {"ch0", "ch1"}
    assert set(zip(df["speaker"], df["channel"], strict=True)) == {("ch0", "0"), ("ch1", "1")}
    # the customer (right channel) speaks later than the agent
    assert df.loc[df["speaker"] == "ch1", "start"].min() > 0


def test_silence_gives_an_empty_well_formed_table():
    df = ea.recognise(np.zeros(10 * 16000, np.float32), sample_rate=16000)
    assert df.empty
    validate(df)
    assert list(df.columns[: len(COLUMNS)]) == list(COLUMNS) and prob_columns(df)
    speakers = ea.recognise(np.zeros((2, 16000 * 4), np.float32), sample_rate=16000,
                            channels="speakers")
    assert speakers.empty and "channel" in speakers.columns


def test_merge_joins_same_emotion_neighbours(table, conversation):
    merged = ea.recognise(conversation, merge=True)
    validate(merged)
    assert len(merged) <= len(table)
    assert merged["duration"].sum() == pytest.approx(table["duration"].sum())
    same = merged["emotion"].to_numpy()[1:] == merged["emotion"].to_numpy()[:-1]
    assert not same.any()


def test_non_speech_is_marked_when_asked(conversation):
    x, sr = sf.read(conversation, dtype="float32")
    x = np.concatenate([np.zeros(6 * sr, np.float32), x])
    kept = ea.recognise(x, sample_rate=sr, speech_only=False)
    assert kept["emotion"].isna().sum() == 2 and kept["emotion"].iloc[2:].notna().all()
    assert kept.loc[kept["emotion"].isna(), prob_columns(kept)].isna().all().all()
    assert len(ea.recognise(x, sample_rate=sr)) == len(kept) - 2


def test_window_and_hop(conversation):
    df = ea.recognise(conversation, window=2.0, hop=1.0)
    assert np.allclose(np.diff(df["start"]), 1.0)
    assert (df["duration"].iloc[:-1] == 2.0).all()


def test_a_list_of_files_is_one_table(sample_dir, conversation, tmp_path):
    df = ea.recognise([conversation, sample_dir / "call_stereo.ogg"])
    assert set(df["file"]) == {str(conversation), str(sample_dir / "call_stereo.ogg")}
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"")
    with pytest.raises(ea.BadAudioError, match=r"1 of 2 recordings failed: .*bad.wav"):
        ea.recognise([conversation, bad])


def test_other_engines_get_pieces_with_times_shifted(monkeypatch):
    monkeypatch.setattr(recognition, "ENGINE_CHUNK_SECONDS", 2.0)
    seen = []

    class WholeClip:
        name, labels = "whole", None

        def analyze(self, audio, sample_rate, **options):
            seen.append((len(audio), sample_rate, options))
            return [{"emotion": "calm", "start": 0.0, "end": len(audio) / sample_rate}]

    x = np.zeros(5 * 8000, np.float32)
    df = ea.recognise(x, sample_rate=8000, engine=WholeClip(), flavour="x")
    assert [n for n, _, _ in seen] == [32000, 32000, 16000]
    assert all(rate == 16000 and opts == {"flavour": "x"} for _, rate, opts in seen)
    assert list(zip(df["start"], df["end"], strict=True)) == [(0.0, 2.0), (2.0, 4.0), (4.0, 5.0)]
    with pytest.raises(ea.EmotionAnalyticsError, match="unknown option"):
        ea.recognise(x, sample_rate=8000, flavour="x")


def test_answer_v2_is_the_api_shape_with_extras(conversation, table):
    answer = recognition.answer_v2(conversation.read_bytes())
    assert len(answer) == len(table)
    # the embedded model's extras: scores and the dimensions (the server sends the dimensions
    # only with ?dimensions=true)
    assert set(answer[0]) == {"emotion", "start", "end", "confidence", "scores", "arousal",
                              "valence"}
    assert ea.to_frame(answer)["emotion"].tolist() == table["emotion"].tolist()
    assert recognition.answer_v2(wav_bytes(np.zeros(16000 * 3, np.float32))) == []
    with pytest.raises(ea.BadAudioError, match="not a recognised audio"):
        recognition.answer_v2(b"{'json': 'not audio'}")


def test_answer_v1_is_one_score_per_class(conversation, table):
    answer = recognition.answer_v1(str(conversation))
    labels = [c[5:] for c in prob_columns(table)]
    assert [a["emotion"] for a in answer] == labels
    assert sum(a["score"] for a in answer) == pytest.approx(1.0)
    expected = np.average(table[prob_columns(table)], axis=0, weights=table["duration"])
    np.testing.assert_allclose([a["score"] for a in answer], expected)
    assert recognition.answer_v1(wav_bytes(np.zeros(16000 * 3, np.float32))) == []


@pytest.mark.slow
def test_a_three_hour_file_streams(tmp_path, conversation):
    """A 3-hour 8 kHz recording (mostly silence, a minute of speech each hour) gives a table."""
    from emotion_analytics.audio import resample

    path = tmp_path / "three_hours.wav"
    rate = 8000
    rng = np.random.default_rng(0)
    speech, native = sf.read(conversation, dtype="float32", always_2d=True)
    speech = resample(speech.mean(axis=1), native, rate)
    voiced = np.resize(speech, 60 * rate)  # the sample conversation, repeated to one minute
    with sf.SoundFile(path, "w", rate, 1, subtype="PCM_16") as f:
        for minute in range(180):
            block = 1e-3 * rng.standard_normal(60 * rate)
            if minute % 60 == 0:
                block = block + voiced
            f.write(block.astype(np.float32))
    df = ea.recognise(path)
    validate(df)
    assert 0 < len(df) <= 3 * 20 + 3
    assert df["start"].min() < 60 and df["start"].max() > 2 * 3600
