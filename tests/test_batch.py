"""The analyze command and analyze_files: many files, parallel, per-file failures kept apart."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from emotion_analytics import io as table_io
from emotion_analytics.batch import analyze_files, expand_files
from emotion_analytics.cli import main
from emotion_analytics.schema import validate


@pytest.fixture()
def files(sample_dir, tmp_path):
    good = [tmp_path / "conversation.wav", tmp_path / "call_stereo.ogg"]
    shutil.copy(sample_dir / "conversation.wav", good[0])
    shutil.copy(sample_dir / "call_stereo.ogg", good[1])
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp3"
    text.write_text("these are meeting notes, not audio")
    return good, [empty, text]


def test_failures_are_reported_per_file_and_the_rest_is_kept(files):
    good, bad = files
    result = analyze_files([good[0], bad[0], good[1], bad[1]])
    assert not result.ok
    assert set(result.failures) == {str(p) for p in bad}
    assert "empty (0 bytes)" in result.failures[str(bad[0])]
    assert "not a recognised audio file" in result.failures[str(bad[1])]
    validate(result.table)
    assert list(result.table["file"].unique()) == [str(p) for p in good]


@pytest.mark.slow
def test_processes_give_the_same_table(files):
    good, _ = files
    here = analyze_files(good, channels="speakers")
    there = analyze_files(good, channels="speakers", jobs=2)
    pd.testing.assert_frame_equal(here.table, there.table)


def test_cli_writes_table_plot_and_summary(files, tmp_path, capsys):
    good, bad = files
    out, png = tmp_path / "table.csv", tmp_path / "timeline.png"
    code = main(["analyze", *map(str, good), str(bad[0]), "-o", str(out), "--plot", str(png),
                 "--merge"])
    assert code == 1
    captured = capsys.readouterr()
    assert "failed: " in captured.err and "empty.wav" in captured.err
    assert "conversation.wav" in captured.out and "dominant" in captured.out
    table = table_io.read_table(out)
    validate(table)
    assert set(table["file"]) == {str(p) for p in good}
    assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"


def test_cli_parquet_and_folders(files, tmp_path, capsys):
    pytest.importorskip("pyarrow")
    good, _ = files
    folder = tmp_path / "only_good"
    folder.mkdir()
    shutil.copy(good[0], folder / "a.wav")
    out = tmp_path / "t.parquet"
    assert main(["analyze", str(folder), "-o", str(out), "--quiet", "--window", "2"]) == 0
    table = pd.read_parquet(out)
    assert (table["duration"].iloc[:-1] == 2.0).all()
    assert capsys.readouterr().out == ""


def test_cli_errors_exit_2(capsys):
    assert main(["analyze", "x.wav", "--engine", "nope"]) == 2
    assert "unknown engine 'nope'" in capsys.readouterr().err


def test_expand_files_keeps_audio_in_folders(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"x")
    (tmp_path / "b.txt").write_text("x")
    assert expand_files([str(tmp_path)]) == [str(tmp_path / "a.wav")]
    assert expand_files([str(tmp_path / "*.wav")]) == [str(tmp_path / "a.wav")]


def test_cli_cuts_windows_inside_speaker_turns(sample_dir, tmp_path, capsys):
    out = tmp_path / "new" / "folder" / "t.csv"  # created as needed
    wav, rttm = sample_dir / "conversation.wav", sample_dir / "conversation.rttm"
    assert main(["analyze", str(wav), "--turns", str(rttm), "-o", str(out)]) == 0
    from emotion_analytics.io import read_rttm, read_table

    table = read_table(out)
    turns = read_rttm(rttm)
    assert len(table) and table["speaker"].notna().all()
    assert set(table["speaker"]) == set(turns["speaker"])
    assert table["adapted"].dtype == bool
    # every row lies inside one turn of its own speaker: no pauses, no change of speaker
    for speaker, start, end in table[["speaker", "start", "end"]].itertuples(index=False):
        own = turns[turns["speaker"] == speaker]
        assert ((own["start"] <= start + 1e-6) & (own["end"] >= end - 1e-6)).any(), (start, end)
    printed = capsys.readouterr().out
    assert "agent" in printed and "customer" in printed and "(no speaker)" not in printed
    assert main(["analyze", str(wav), "--turns", str(rttm), "--adapt", "off", "-o", str(out),
                 "--quiet"]) == 0
    assert not read_table(out)["adapted"].any()
    assert main(["analyze", str(wav), "--turns", str(tmp_path / "none.rttm")]) == 2
