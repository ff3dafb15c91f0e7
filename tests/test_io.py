"""RTTM, TextGrid, CSV/Parquet and JSON answers: reading, writing, round trips and bad input."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import emotion_analytics as ea
from emotion_analytics import BadResponseError
from emotion_analytics.io import (
    read_rttm,
    read_table,
    read_textgrid,
    write_responses,
    write_rttm,
    write_table,
    write_textgrid,
)
from emotion_analytics.schema import COLUMNS, normalize

PYANNOTE_RTTM = """\
SPEAKER interview 1 0.497 3.612 <NA> <NA> SPEAKER_00 <NA> <NA>
SPEAKER interview 1 4.359 2.025 <NA> <NA> SPEAKER_01 <NA> <NA>
SPEAKER interview 1 3.900 1.200 <NA> <NA> SPEAKER_00 <NA> <NA>
"""


def values(col: pd.Series) -> list:
    """A column as a list, missing values as None."""
    return col.astype(object).where(col.notna(), None).tolist()


def emotion_table() -> pd.DataFrame:
    """Two files, int and string speakers, a missing speaker, NaN confidences, probabilities."""
    return ea.to_frame({
        "call.wav": [
            {"emotion": "anger", "start": 0.0, "end": 2.5, "speaker_id": 1, "confidence": 0.9,
             "scores": {"anger": 0.9, "neutral": 0.1}},
            {"emotion": "neutral", "start": 2.5, "end": 4.125, "speaker_id": "02"},
            {"emotion": "NA", "start": 5.0, "end": 6.0},
        ],
        "b.wav": {"request_id": "r-7", "response": [
            {"emotion": "sad", "start": 0.25, "end": 1.0, "speaker_id": "Dr. Who"}]},
    })


# --------------------------------------------------------------------------------------------
# RTTM


def test_read_rttm_gives_speaker_turns_sorted_by_time(tmp_path):
    path = tmp_path / "interview.rttm"
    path.write_text(PYANNOTE_RTTM)
    turns = read_rttm(path)
    assert list(turns.columns) == list(COLUMNS)
    assert turns["file"].tolist() == ["interview"] * 3
    assert turns["speaker"].tolist() == ["SPEAKER_00", "SPEAKER_00", "SPEAKER_01"]
    assert turns["start"].tolist() == [0.497, 3.9, 4.359]
    np.testing.assert_allclose(turns["end"], [4.109, 5.1, 6.384])
    assert turns["emotion"].isna().all() and turns["confidence"].isna().all()
    assert isinstance(turns["speaker"].dtype, pd.CategoricalDtype)


def test_read_rttm_accepts_text_skips_comments_and_other_record_types():
    text = ("# made by a diarizer\n\nSPKR-INFO call 1 <NA> <NA> <NA> unknown alice <NA> <NA>\n"
            "SPEAKER call 1 1.5 2 <NA> <NA> alice <NA> <NA>\n"
            "SPEAKER call 1 0 1.5 <NA> <NA> 7\n")  # 8 fields: some tools stop after the name
    turns = read_rttm(text)
    assert turns["speaker"].tolist() == ["7", "alice"]
    assert turns["start"].tolist() == [0.0, 1.5]


def test_read_rttm_file_renames_one_recording_and_keeps_other_channels():
    turns = read_rttm("SPEAKER call 2 0 1 <NA> <NA> a <NA> <NA>\n", file="call.wav")
    assert turns["file"].tolist() == ["call.wav"]
    assert turns["channel"].tolist() == ["2"]
    with pytest.raises(BadResponseError, match="holds 2"):
        read_rttm("SPEAKER a 1 0 1 <NA> <NA> x <NA> <NA>\n"
                  "SPEAKER b 1 0 1 <NA> <NA> x <NA> <NA>\n", file="a.wav")


def test_rttm_turns_label_an_emotion_table_through_assign_speakers():
    emotions = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 6.0}], file="interview")
    turns = read_rttm(PYANNOTE_RTTM)
    labelled = emotions.emotion.assign_speakers(turns)
    assert set(labelled["speaker"].dropna()) == {"SPEAKER_00", "SPEAKER_01"}
    assert labelled["duration"].sum() == pytest.approx(6.0)


@pytest.mark.parametrize("line, message", [
    ("SPEAKER call 1 0.0 <NA> <NA> <NA> bob <NA> <NA>", "duration must be a number.*'<NA>'"),
    ("SPEAKER call 1 abc 1.0 <NA> <NA> bob <NA> <NA>", "start must be a number.*'abc'"),
    ("SPEAKER call 1 0.0 1.0", "at least 8 fields.*got 5"),
    ("SPEAKER call 1 -1 1.0 <NA> <NA> bob <NA> <NA>", "start must be >= 0"),
    ("SPEAKER call 1 1 0 <NA> <NA> bob <NA> <NA>", "duration must be > 0"),
    ("SPEAKER call 1 1 nan <NA> <NA> bob <NA> <NA>", "finite"),
    ("0.0 1.0 bob", "unknown record type '0.0'"),
])
def test_malformed_rttm_line_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.rttm"
    path.write_text("SPEAKER call 1 0 1 <NA> <NA> ann <NA> <NA>\n\n" + line + "\n")
    with pytest.raises(BadResponseError, match=message) as info:
        read_rttm(path)
    assert str(path) in str(info.value) and "line 3" in str(info.value)


def test_read_rttm_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(BadResponseError, match="file not found"):
        read_rttm(tmp_path / "nope.rttm")
    with pytest.raises(BadResponseError, match="SPEAKER_00.rttm: file not found"):
        read_rttm("SPEAKER_00.rttm")  # a path, not RTTM text


def test_read_rttm_path_given_as_text(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "SPEAKER_00.rttm").write_text(PYANNOTE_RTTM)
    assert len(read_rttm("SPEAKER_00.rttm")) == 3


def test_write_rttm_writes_emotion_segments_as_turns(tmp_path):
    df = emotion_table()
    df["speaker"] = df["speaker"].cat.rename_categories(lambda s: s.replace(" ", "_"))
    path = write_rttm(df, tmp_path / "out.rttm")
    lines = path.read_text().splitlines()
    assert len(lines) == len(df)
    assert all(len(line.split()) == 10 and line.startswith("SPEAKER ") for line in lines)
    assert "SPEAKER call.wav 1 2.5 1.625 <NA> <NA> 02 <NA> <NA>" in lines
    back = read_rttm(path)
    assert values(back["speaker"]) == values(df["speaker"])
    assert back[["start", "end"]].to_numpy().tolist() == df[["start", "end"]].to_numpy().tolist()
    assert back["emotion"].isna().all()


def test_write_rttm_refuses_names_with_spaces(tmp_path):
    df = emotion_table()  # speaker "Dr. Who"
    with pytest.raises(BadResponseError, match="white space"):
        write_rttm(df, tmp_path / "out.rttm")


# tmp_path is shared by the examples of one test: each example overwrites its files
SCRATCH = [HealthCheck.function_scoped_fixture]
names = st.text(alphabet="abcXYZ019_-.", min_size=1, max_size=6)


@st.composite
def segment_tables(draw, *, max_rows=12, labels=("happy", "sad", "neutral", "anger")):
    n = draw(st.integers(min_value=0, max_value=max_rows))
    rows = []
    for _ in range(n):
        start = draw(st.floats(min_value=0, max_value=1e4, allow_nan=False))
        dur = draw(st.floats(min_value=1e-3, max_value=500, allow_nan=False))
        rows.append({
            "file": draw(names),
            "speaker": draw(st.one_of(st.none(), names)),
            "start": start,
            "end": start + dur,
            "emotion": draw(st.one_of(st.none(), st.sampled_from(labels))),
            "confidence": draw(st.one_of(st.just(np.nan), st.floats(0, 1))),
        })
    frame = pd.DataFrame(rows, columns=["file", "speaker", "start", "end", "emotion",
                                        "confidence"])
    return normalize(frame[frame["end"] > frame["start"]])


def _as_written(seconds: pd.Series) -> np.ndarray:
    """Times as RTTM text holds them: to the microsecond."""
    return np.array([float(f"{t:.6f}") for t in seconds], dtype=np.float64)


# Found by a random run: a start of 1e-308 is written as 0.000000 and ties with a start of 0,
# so turns that differ by less than a microsecond come back ordered by their written times.
_TIE_BELOW_A_MICROSECOND = normalize(pd.DataFrame({
    "file": ["a", "a"], "speaker": ["x", "y"], "start": [0.0, 1e-308], "end": [2.0, 1.0],
    "emotion": [None, None], "confidence": [np.nan, np.nan]}))


@settings(max_examples=40, deadline=None, suppress_health_check=SCRATCH)
@given(df=segment_tables())
@example(df=_TIE_BELOW_A_MICROSECOND)
def test_rttm_round_trip_keeps_turns_to_the_microsecond(tmp_path, df):
    back = read_rttm(write_rttm(df, tmp_path / "t.rttm"))
    # the reader orders by file, start, end as written (microseconds): compare in that order
    start = _as_written(df["start"])
    written = df.assign(_s=start, _e=start + _as_written(df["end"] - df["start"]))
    order = written.sort_values(["file", "_s", "_e"], kind="stable")
    assert values(back["file"]) == values(order["file"])
    assert values(back["speaker"]) == values(order["speaker"])
    np.testing.assert_allclose(back["start"], order["start"], atol=1e-6)
    np.testing.assert_allclose(back["end"], order["end"], atol=2e-6)


# --------------------------------------------------------------------------------------------
# TextGrid


def _intervals(text: str) -> list[list[tuple[float, float, str]]]:
    """Each tier's intervals, parsed with plain regular expressions."""
    tiers = []
    for block in text.split('class = "IntervalTier"')[1:]:
        tiers.append([(float(a), float(b), c) for a, b, c in re.findall(
            r'xmin = (\S+) \n\s+xmax = (\S+) \n\s+text = "((?:[^"]|"")*)"', block)])
    return tiers


def test_textgrid_has_one_tier_per_speaker_with_gaps_filled(tmp_path):
    df = ea.to_frame([
        {"emotion": "happy", "start": 0.5, "end": 2.0, "speaker_id": "B"},
        {"emotion": "sad", "start": 3.0, "end": 4.0, "speaker_id": "B"},
        {"emotion": 'say "hi"', "start": 1.0, "end": 6.0, "speaker_id": "A"},
    ], file="call")
    text = write_textgrid(df, tmp_path / "call.TextGrid").read_text()
    assert text.startswith('File type = "ooTextFile"\nObject class = "TextGrid"\n')
    assert re.findall(r'name = "(.*)"', text) == ["A", "B"]
    tier_a, tier_b = _intervals(text)
    assert tier_b == [(0.0, 0.5, ""), (0.5, 2.0, "happy"), (2.0, 3.0, ""), (3.0, 4.0, "sad"),
                      (4.0, 6.0, "")]
    assert tier_a == [(0.0, 1.0, ""), (1.0, 6.0, 'say ""hi""')]
    for tier in (tier_a, tier_b):  # Praat: each tier covers [xmin, xmax] without holes
        assert tier[0][0] == 0.0 and tier[-1][1] == 6.0
        assert all(a[1] == b[0] for a, b in zip(tier, tier[1:], strict=False))
    back = read_textgrid(tmp_path / "call.TextGrid")
    assert back["emotion"].tolist() == ["happy", 'say "hi"', "sad"]


def test_textgrid_overlapping_segments_go_to_an_extra_tier(tmp_path):
    df = ea.to_frame([{"emotion": "happy", "start": 0, "end": 3, "speaker_id": "A"},
                      {"emotion": "sad", "start": 2, "end": 4, "speaker_id": "A"},
                      {"emotion": "fear", "start": 3, "end": 5, "speaker_id": "A"}], file="x")
    text = write_textgrid(df, tmp_path / "x.TextGrid").read_text()
    assert re.findall(r'name = "(.*)"', text) == ["A", "A (2)"]
    first, second = _intervals(text)
    assert [i for i in first if i[2]] == [(0.0, 3.0, "happy"), (3.0, 5.0, "fear")]
    assert [i for i in second if i[2]] == [(2.0, 4.0, "sad")]


def test_textgrid_without_speakers_has_one_tier_per_file_and_reads_back(tmp_path):
    df = ea.to_frame({"a": [{"emotion": "joy", "start": 0, "end": 1}],
                      "b": [{"emotion": "sad", "start": 0.5, "end": 2}]})
    path = write_textgrid(df, tmp_path / "both.TextGrid")
    assert re.findall(r'name = "(.*)"', path.read_text()) == ["a", "b"]
    back = read_textgrid(path, tier="file")
    pd.testing.assert_frame_equal(back[["file", "start", "end", "emotion"]],
                                  df[["file", "start", "end", "emotion"]])


def test_textgrid_of_several_recordings_with_speakers_is_refused(tmp_path):
    df = emotion_table()
    with pytest.raises(BadResponseError, match="one TextGrid per file"):
        write_textgrid(df, tmp_path / "x.TextGrid")


def test_textgrid_marks_missing_speaker_and_emotion(tmp_path):
    turns = ea.to_frame({"num_speakers": 1, "segments": [
        {"speaker_id": "A", "start": 0, "end": 1}]}, file="t")
    turns = pd.concat([turns, ea.to_frame([{"emotion": "sad", "start": 1, "end": 2}], file="t")],
                      ignore_index=True)
    back = read_textgrid(write_textgrid(normalize(turns), tmp_path / "t.TextGrid"))
    assert values(back["speaker"]) == ["A", None]
    assert back["emotion"].isna().tolist() == [True, False]


@settings(max_examples=40, deadline=None, suppress_health_check=SCRATCH)
@given(df=segment_tables(max_rows=10))
def test_textgrid_round_trip_keeps_every_segment(tmp_path, df):
    df = normalize(df.assign(file="rec"))
    back = read_textgrid(write_textgrid(df, tmp_path / "rec.TextGrid"))
    if df["speaker"].isna().all():  # no speakers: one tier per file, named after it
        df = df.assign(speaker="rec")
    key = ["start", "end", "speaker", "emotion"]

    def rows(t):
        return sorted(zip(*(map(str, values(t[c])) for c in key), strict=True))

    assert rows(back) == rows(df)  # times exactly: written with repr()


def test_read_textgrid_short_format_utf16_and_point_tiers(tmp_path):
    short = ('File type = "ooTextFile"\nObject class = "TextGrid"\n\n0\n3\n<exists>\n2\n'
             '"IntervalTier"\n"Jürgen"\n0\n3\n2\n0\n1.5\n"Ärger"\n1.5\n3\n""\n'
             '"TextTier"\n"events"\n0\n3\n1\n1.0\n"click"\n')
    path = tmp_path / "short.TextGrid"
    path.write_bytes(short.encode("utf-16"))
    back = read_textgrid(path)
    assert back[["speaker", "start", "end", "emotion"]].astype(object).values.tolist() == [
        ["Jürgen", 0.0, 1.5, "Ärger"]]
    assert back["file"].tolist() == ["short"]


@pytest.mark.parametrize("content, message", [
    ("hello", "not a Praat TextGrid"),
    ('File type = "ooTextFile"\nObject class = "TextGrid"\nxmin = 0\nxmax = 3\n'
     'tiers? <exists>\nsize = 1\nitem []:\n item [1]:\n class = "IntervalTier"\n name = "A"\n'
     ' xmin = 0\n xmax = 3\n intervals: size = 2\n intervals [1]:\n xmin = 0\n xmax = 1\n'
     ' text = "x"\n', "ends where a number was expected"),
    ('File type = "ooTextFile"\nObject class = "TextGrid"\n0\n3\n<exists>\n1\n"Bogus"\n"A"\n0\n'
     '3\n0\n', "unknown tier class 'Bogus'"),
])
def test_malformed_textgrid_names_the_file(tmp_path, content, message):
    path = tmp_path / "bad.TextGrid"
    path.write_text(content)
    with pytest.raises(BadResponseError, match=message) as info:
        read_textgrid(path)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------------------------
# CSV / Parquet


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.parquet"])
def test_table_round_trip_keeps_values_and_dtypes(tmp_path, name):
    df = emotion_table()
    back = read_table(write_table(df, tmp_path / name))
    pd.testing.assert_frame_equal(back, df)
    assert "02" in set(back["speaker"].dropna())  # an id is text: "02" is not the number 2
    assert back["speaker"].isna().sum() == 1
    assert "NA" in set(back["emotion"])  # a label "NA" is a label, not a missing value
    assert np.isnan(back["confidence"]).sum() == np.isnan(df["confidence"]).sum()


def test_parquet_keeps_category_order(tmp_path):
    df = emotion_table()
    df["emotion"] = df["emotion"].cat.reorder_categories(
        sorted(df["emotion"].cat.categories, reverse=True))
    back = read_table(write_table(df, tmp_path / "t.parquet"))
    assert list(back["emotion"].cat.categories) == list(df["emotion"].cat.categories)


def test_csv_without_duration_column_is_normalised(tmp_path):
    path = tmp_path / "hand.csv"
    path.write_text("file,start,end,emotion,speaker\na,0,1.5,happy,3\n")
    back = read_table(path)
    assert list(back.columns) == list(COLUMNS)
    assert back["duration"].tolist() == [1.5] and back["speaker"].tolist() == ["3"]


@settings(max_examples=30, deadline=None, suppress_health_check=SCRATCH)
@given(df=segment_tables())
def test_csv_round_trip_property(tmp_path, df):
    back = read_table(write_table(df, tmp_path / "p.csv"))
    assert len(back) == len(df)
    np.testing.assert_array_equal(back["start"], df["start"])
    np.testing.assert_array_equal(back["end"], df["end"])
    np.testing.assert_array_equal(back["confidence"], df["confidence"])
    for col in ("file", "speaker", "emotion"):
        assert values(back[col]) == values(df[col])


def test_unknown_extension_is_refused(tmp_path):
    with pytest.raises(BadResponseError, match=r"t\.xlsx.*unknown table extension '\.xlsx'"):
        write_table(emotion_table(), tmp_path / "t.xlsx")
    with pytest.raises(BadResponseError, match="unknown table extension"):
        read_table(tmp_path / "t.txt")


def test_csv_with_a_bad_number_names_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("file,start,end\na,0,1\na,1,two\n")
    with pytest.raises(BadResponseError, match=r"bad\.csv: line 3: column 'end'.*'two'"):
        read_table(path)


def test_csv_breaking_the_table_rules_names_the_record(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("file,start,end\na,0,1\na,3,2\n")
    with pytest.raises(BadResponseError, match=r"bad\.csv, record 1: 'start' \(3\.0\) must be"):
        read_table(path)


def test_csv_missing_columns_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("name,value\na,1\n")
    with pytest.raises(BadResponseError, match=r"missing column\(s\) \['file', 'start', 'end'\]"):
        read_table(path)


# --------------------------------------------------------------------------------------------
# JSON answers


def test_write_responses_folder_round_trips_through_read_responses(tmp_path):
    df = emotion_table()
    written = write_responses(df, tmp_path / "answers")
    assert sorted(p.name for p in written) == ["b.wav.json", "call.wav.json"]
    assert isinstance(json.loads((tmp_path / "answers" / "call.wav.json").read_text()), list)
    back = ea.read_responses(tmp_path / "answers")
    key = ["file", "start"]
    pd.testing.assert_frame_equal(
        back.sort_values(key).reset_index(drop=True)[df.columns],
        df.sort_values(key).reset_index(drop=True), check_categorical=False)


def test_write_responses_single_json_and_unsafe_names(tmp_path):
    df = ea.to_frame({"https://x.org/a.wav": [{"emotion": "joy", "start": 0, "end": 1}],
                      "b": [{"emotion": "sad", "start": 0, "end": 2}]})
    [one] = write_responses(df, tmp_path / "all.json")
    pd.testing.assert_frame_equal(ea.read_responses(one), df)
    written = write_responses(df, tmp_path / "dir")
    assert all("/" not in p.name.replace(".json", "") for p in written)
    back = ea.read_responses(tmp_path / "dir")
    assert set(back["file"]) == {"https://x.org/a.wav", "b"}


def test_write_responses_plain_v2_without_extras(tmp_path):
    df = emotion_table()
    [path] = write_responses(df[df["file"] == "call.wav"], tmp_path / "c.json", extras=False)
    assert json.loads(path.read_text()) == [
        {"emotion": "anger", "start": 0.0, "end": 2.5},
        {"emotion": "neutral", "start": 2.5, "end": 4.125},
        {"emotion": "NA", "start": 5.0, "end": 6.0},
    ]


def test_parquet_without_pyarrow_says_which_extra_to_install(tmp_path, monkeypatch):
    table = emotion_table()  # pandas' string columns may use pyarrow themselves
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if pyarrow were not installed
    with pytest.raises(ea.MissingDependencyError, match=r"emotion_analytics\[parquet\]"):
        write_table(table, tmp_path / "t.parquet")
