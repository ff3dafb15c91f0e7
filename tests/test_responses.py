"""Every answer shape of the API family -> the tidy table; every malformed answer -> an error."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import emotion_analytics as ea
from emotion_analytics import APIError, BadResponseError, NotAResultError
from emotion_analytics.schema import COLUMNS

V2 = [
    {"emotion": "joy", "start": 0.0, "end": 3.0},
    {"emotion": "neutral", "start": 3.0, "end": 6.0},
]


def check_table(df: pd.DataFrame) -> None:
    assert list(df.columns[: len(COLUMNS)]) == list(COLUMNS)
    for col in ("file", "speaker", "emotion"):
        assert isinstance(df[col].dtype, pd.CategoricalDtype), col
    for col in ("start", "end", "duration", "confidence"):
        assert df[col].dtype == "float64", col
    np.testing.assert_allclose(df["duration"], df["end"] - df["start"])


def test_v2_sync_list():
    df = ea.to_frame(V2, file="call.wav")
    check_table(df)
    assert df["emotion"].tolist() == ["joy", "neutral"]
    assert df["file"].tolist() == ["call.wav", "call.wav"]
    assert df["start"].tolist() == [0.0, 3.0]
    assert df["speaker"].isna().all()
    assert df["confidence"].isna().all()


def test_default_file_name_for_unnamed_answer():
    assert ea.to_frame(V2)["file"].unique().tolist() == ["answer"]


def test_old_segments_wrapper():
    df = ea.to_frame({"segments": V2}, file="a")
    assert df["emotion"].tolist() == ["joy", "neutral"]


def test_webhook_payload_uses_request_id():
    payload = {"request_id": "8bdd983a", "response": V2}
    df = ea.to_frame(payload)
    assert df["file"].unique().tolist() == ["8bdd983a"]
    assert df["request_id"].unique().tolist() == ["8bdd983a"]
    assert ea.to_frame(payload, file="x.wav")["file"].unique().tolist() == ["x.wav"]


def test_v1_clip_level_scores_become_one_row():
    v1 = [
        {"emotion": e, "score": s}
        for e, s in [("angry", 0.1), ("happy", 0.6), ("sad", 0.2), ("neutral", 0.1)]
    ]
    df = ea.to_frame(v1, file="clip")
    check_table(df)
    assert len(df) == 1
    row = df.iloc[0]
    assert row["emotion"] == "happy" and row["confidence"] == 0.6
    assert row["start"] == 0.0 and np.isnan(row["end"])
    assert row["prob_sad"] == 0.2 and row["prob_angry"] == 0.1
    with_len = ea.to_frame(v1, clip_duration=5.0)
    assert with_len["end"].iloc[0] == 5.0 and with_len["duration"].iloc[0] == 5.0


def test_v1_in_webhook():
    df = ea.to_frame({"request_id": "r", "response": [{"emotion": "sad", "score": 0.9}]})
    assert df["emotion"].tolist() == ["sad"] and df["file"].tolist() == ["r"]


def test_interaction_analytics_segments():
    answer = {
        "request_id": "r1",
        "response": {
            "num_speakers": 2,
            "segments": [
                {
                    "speaker_id": 1,
                    "start": 0.0,
                    "end": 2.5,
                    "text": "hello",
                    "confidence": 0.93,
                    "emotion": "neutral",
                    "emotion_score": 0.8,
                    "intent": "greeting",
                },
                {
                    "speaker_id": "2",
                    "start": 2.5,
                    "end": 4.0,
                    "text": "hi",
                    "confidence": 0.5,
                    "emotion": "joy",
                    "emotion_score": 0.6,
                    "intent": None,
                },
            ],
            "energy": [{"speaker_id": 1, "value": 0.3}],
        },
    }
    df = ea.to_frame(answer)
    check_table(df)
    assert df["speaker"].tolist() == ["1", "2"]  # ints and strings -> strings
    assert df["confidence"].tolist() == [0.8, 0.6]  # the emotion's score, not the ASR's
    assert df["text_confidence"].tolist() == [0.93, 0.5]
    assert df["text"].tolist() == ["hello", "hi"]


def test_diarization_answer_gives_speaker_turns():
    answer = {
        "request_id": "d",
        "response": {
            "num_speakers": 2,
            "segments": [
                {"speaker_id": "speaker1", "start": 0, "end": 1},
                {"speaker_id": "speaker2", "start": 1, "end": 2.5},
            ],
        },
    }
    df = ea.to_frame(answer)
    check_table(df)
    assert df["speaker"].tolist() == ["speaker1", "speaker2"]
    assert df["emotion"].isna().all()


def test_realtime_segments():
    stream = [
        {
            "id": 1,
            "start": 0.0,
            "end": 1.0,
            "emotion": "anger",
            "speaker_id": 7,
            "emotion_score": 0.7,
            "identification_score": 0.9,
        }
    ]
    df = ea.to_frame(stream)
    assert df["speaker"].tolist() == ["7"] and df["confidence"].tolist() == [0.7]


def test_json_text_bytes_and_path(tmp_path):
    text = json.dumps(V2)
    path = tmp_path / "meeting.json"
    path.write_text(text)
    for source in (text, text.encode(), path, str(path)):
        df = ea.to_frame(source)
        assert df["emotion"].tolist() == ["joy", "neutral"]
    assert ea.to_frame(path)["file"].unique().tolist() == ["meeting"]


def test_many_answers_keyed_by_file():
    df = ea.to_frame({"a.wav": V2, "b.wav": {"segments": V2[:1]}})
    assert df.groupby("file", observed=True).size().to_dict() == {"a.wav": 2, "b.wav": 1}


def test_list_of_many_answers():
    webhooks = [{"request_id": "r1", "response": V2}, {"request_id": "r2", "response": V2}]
    assert ea.to_frame(webhooks)["file"].unique().tolist() == ["r1", "r2"]
    assert ea.to_frame([V2, V2[:1]])["file"].value_counts().to_dict() == {"0": 2, "1": 1}


def test_unsorted_and_overlapping_segments_are_kept_sorted():
    df = ea.to_frame(
        [{"emotion": "a", "start": 5, "end": 6}, {"emotion": "b", "start": 0, "end": 9}]
    )
    assert df["start"].tolist() == [0.0, 5.0]


def test_labels_kept_as_received_and_explicit_mapping():
    answer = [
        {"emotion": "Frustrated", "start": 0, "end": 1},
        {"emotion": "Neutral", "start": 1, "end": 2},
    ]
    assert ea.to_frame(answer)["emotion"].tolist() == ["Frustrated", "Neutral"]
    assert ea.to_frame(answer, labels="lower")["emotion"].tolist() == ["frustrated", "neutral"]
    mapped = ea.to_frame(answer, labels={"Frustrated": "frustration"})
    assert mapped["emotion"].tolist() == ["frustration", "Neutral"]


def test_scores_extra_become_prob_columns():
    df = ea.to_frame(
        [
            {
                "emotion": "a",
                "start": 0,
                "end": 1,
                "confidence": 0.7,
                "scores": {"a": 0.7, "b": 0.3},
            },
            {"emotion": "b", "start": 1, "end": 2, "scores": {"b": 1.0}},
        ]
    )
    assert df["prob_a"].tolist() == [0.7, 0.0]
    assert df["confidence"].iloc[0] == 0.7


def test_empty_answer_gives_empty_table():
    df = ea.to_frame([])
    check_table(df)
    assert len(df) == 0


def test_async_acknowledgement_is_not_a_result():
    with pytest.raises(NotAResultError, match="acknowledgement.*webhook"):
        ea.to_frame({"request_id": "8bdd", "api": "requested_api_name"})


@pytest.mark.parametrize(
    "fault",
    [
        {
            "fault": {
                "faultstring": "Invalid ApiKey",
                "detail": {"errorcode": "oauth.v2.InvalidApiKey"},
            }
        },
        {
            "fault": {
                "fault_string": "BAD REQUEST",
                "detail": {"error_code": "com.deepaffects.BadRequest"},
            }
        },
    ],
)
def test_fault_bodies_raise_api_error(fault):
    with pytest.raises(APIError) as info:
        ea.to_frame(fault)
    assert info.value.fault_string in ("Invalid ApiKey", "BAD REQUEST")
    assert info.value.error_code.endswith(("InvalidApiKey", "BadRequest"))


@pytest.mark.parametrize(
    "answer, message",
    [
        ([{"emotion": "a", "end": 1}], r"record 0: missing key 'start'"),
        (
            [V2[0], {"emotion": "a", "start": 2, "end": 2}],
            r"record 1: 'start' \(2.0\) must be before",
        ),
        (
            [{"emotion": "a", "start": 3, "end": 1}],
            r"record 0: 'start' \(3.0\) must be before 'end'",
        ),
        (
            [{"emotion": "a", "start": -1, "end": 1}],
            r"record 0: 'start' must be a finite number >= 0",
        ),
        (
            [{"emotion": "a", "start": float("nan"), "end": 1}],
            r"record 0: 'start' must be a finite",
        ),
        ([{"emotion": "a", "start": "0", "end": 1}], r"record 0: 'start' must be a number.*str"),
        ([{"emotion": "a", "start": True, "end": 1}], r"record 0: 'start' must be a number.*bool"),
        ([{"emotion": 3, "start": 0, "end": 1}], r"record 0: 'emotion' must be a string"),
        ([{"emotion": "a", "start": 0, "end": 1, "speaker_id": [1]}], r"'speaker_id' must be"),
        (
            [{"emotion": "a", "start": 0, "end": 1, "confidence": "high"}],
            r"'confidence' must be a number",
        ),
        ([V2[0], 5], r"record 1: expected a segment object, got int"),
        ({"segments": "nope"}, r"'segments' must be a list"),
        (42, r"expected a list or object"),
        ("not json at all", r"not JSON and not an existing file"),
        ('[{"emotion": ', r"not valid JSON"),
        ({"request_id": "x", "response": [{"emotion": "a", "start": 1, "end": 0}]}, r"record 0"),
    ],
)
def test_bad_answers_raise_clear_errors(answer, message):
    with pytest.raises(BadResponseError, match=message):
        ea.to_frame(answer)


def test_bad_file_is_named_in_the_error(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text(
        '[{"emotion": "a", "start": 0, "end": 1}, {"emotion": "b", "start": 4, "end": 3}]'
    )
    with pytest.raises(BadResponseError, match=r"broken\.json.*record 1"):
        ea.to_frame(bad)
    (tmp_path / "garbage.json").write_text("{oops")
    with pytest.raises(BadResponseError, match=r"garbage\.json.*not valid JSON"):
        ea.to_frame(tmp_path / "garbage.json")
    with pytest.raises(BadResponseError, match="file not found"):
        ea.to_frame(tmp_path / "missing.json")


def test_bad_record_in_a_mapping_names_the_file_key():
    with pytest.raises(BadResponseError, match=r"'b.wav'.*record 0"):
        ea.to_frame({"a.wav": V2, "b.wav": [{"emotion": "x", "start": 2, "end": 1}]})


def test_read_responses_glob_folder_and_list(tmp_path):
    for name in ("one", "two"):
        (tmp_path / f"{name}.json").write_text(json.dumps(V2))
    (tmp_path / "hook.json").write_text(json.dumps({"request_id": "r9", "response": V2[:1]}))
    by_folder = ea.read_responses(tmp_path)
    by_glob = ea.read_responses(str(tmp_path / "*.json"))
    by_list = ea.read_responses(sorted(tmp_path.glob("*.json")))
    for df in (by_folder, by_glob, by_list):
        check_table(df)
        assert sorted(df["file"].unique().tolist()) == ["hook", "one", "two"]
        assert len(df) == 5
    assert by_folder.loc[by_folder["file"] == "hook", "request_id"].tolist() == ["r9"]
    with pytest.raises(BadResponseError, match="no answer files"):
        ea.read_responses(str(tmp_path / "*.nothing"))


def test_to_response_round_trip_keeps_speakers_scores_and_files():
    df = ea.to_frame(
        {
            "a": [
                {
                    "emotion": "x",
                    "start": 0,
                    "end": 1,
                    "speaker_id": "s1",
                    "confidence": 0.5,
                    "scores": {"x": 0.5, "y": 0.5},
                }
            ],
            "b": [{"emotion": "y", "start": 2, "end": 3}],
        }
    )
    back = ea.to_frame(df.emotion.to_response())
    pd.testing.assert_frame_equal(back, df)
    plain = df.emotion.to_response(extras=False)
    assert plain["a"] == [{"emotion": "x", "start": 0.0, "end": 1.0}]


# --- dimension keys ------------------------------------------------------------------------------


def test_dimension_keys_become_float_columns_and_go_back():
    answer = [
        {"emotion": "calm", "start": 0.0, "end": 3.0, "arousal": 0.25, "valence": 0.5,
         "dominance": 1},
        {"emotion": "angry", "start": 3.0, "end": 6.0, "arousal": 0.75},
        {"emotion": None, "start": 6.0, "end": 9.0, "valence": 0.0},
    ]
    df = ea.to_frame(answer, file="a")
    for name in ("arousal", "valence", "dominance"):
        assert df[name].dtype == np.float64
    assert np.isnan(df["valence"].iloc[1]) and np.isnan(df["arousal"].iloc[2])
    assert ea.to_response(df) == [
        {"emotion": "calm", "start": 0.0, "end": 3.0, "arousal": 0.25, "valence": 0.5,
         "dominance": 1.0},
        {"emotion": "angry", "start": 3.0, "end": 6.0, "arousal": 0.75},
        {"emotion": None, "start": 6.0, "end": 9.0, "valence": 0.0},
    ]
    assert all(set(seg) == {"emotion", "start", "end"}
               for seg in ea.to_response(df, extras=False))


def test_answers_without_dimensions_get_no_dimension_columns():
    df = ea.to_frame([{"emotion": "calm", "start": 0.0, "end": 3.0}], file="a")
    assert not set(df.columns) & {"arousal", "valence", "dominance"}


@pytest.mark.parametrize("value", [1.5, -0.1, "high", True])
def test_a_bad_dimension_value_names_the_record(value):
    answer = [{"emotion": "calm", "start": 0.0, "end": 1.0},
              {"emotion": "calm", "start": 1.0, "end": 2.0, "arousal": value}]
    with pytest.raises(ea.BadResponseError, match=r"record 1: 'arousal'"):
        ea.to_frame(answer, file="a")


def test_validate_checks_the_dimension_range():
    from emotion_analytics.schema import normalize, validate

    df = normalize(pd.DataFrame({"file": ["a", "a"], "start": [0.0, 1.0], "end": [1.0, 2.0],
                                 "valence": [0.5, 2.0]}))
    with pytest.raises(ea.BadResponseError, match=r"record 1: 'valence' \(2.0\) must be in"):
        validate(df)
