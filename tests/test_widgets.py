"""The widget app: its plain functions, and the real widget objects driven in-process.

The browser side (upload in chunks, microphone, player) is tested in tests/test_browser.py.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import emotion_analytics as ea
from emotion_analytics import schema
from emotion_analytics import widgets as w

pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget")


@pytest.fixture(scope="module")
def mono(sample_dir):
    """The two-speaker conversation (mono WAV)."""
    return sample_dir / "conversation.wav"


@pytest.fixture(scope="module")
def stereo(sample_dir):
    """The stereo call, one speaker per channel (Ogg/Opus)."""
    return sample_dir / "call_stereo.ogg"


def upload_value(*paths, extra=()):
    """What ipywidgets 8's FileUpload.value holds after the user picked these files."""
    entries = [(p.name, p.read_bytes()) for p in paths] + list(extra)
    return tuple(
        {
            "name": name,
            "type": "audio/wav",
            "size": len(data),
            "content": memoryview(data),
            "last_modified": pd.Timestamp("2024-01-01").to_pydatetime(),
        }
        for name, data in entries
    )


# -- make_engine -------------------------------------------------------------------------------
def test_make_engine_local_and_remote():
    assert w.make_engine("local") == "local"
    client = w.make_engine("server", base_url=" http://127.0.0.1:9 ", api_key="k")
    assert isinstance(client, ea.EmotionClient)
    hosted = w.make_engine("hosted", api_key="secret")
    assert isinstance(hosted, ea.EmotionClient)


@pytest.mark.parametrize(
    ("engine", "base_url", "api_key", "says"),
    [
        ("hosted", "", "", "API key"),
        ("server", "", "", "base URL"),
        ("server", "127.0.0.1:8000", "", "http://"),
        ("cloud", "", "", "choose one of"),
    ],
)
def test_make_engine_explains_bad_settings(engine, base_url, api_key, says):
    with pytest.raises(w.AppInputError, match=says) as info:
        w.make_engine(engine, base_url=base_url, api_key=api_key)
    assert isinstance(info.value, ea.EmotionAnalyticsError)


# -- analyze_uploads ---------------------------------------------------------------------------
def test_analyse_uploads_keeps_good_files_and_names_bad_ones(mono):
    calls = []
    uploads = upload_value(mono, extra=[("notes.txt", b"not audio at all"), ("empty.wav", b"")])
    table, errors = w.analyze_uploads(uploads, progress=calls.append)
    schema.validate(table)
    assert len(table) > 0
    assert table["file"].unique().tolist() == [mono.name]
    assert table["emotion"].notna().all()
    assert [e.file for e in errors] == ["notes.txt", "empty.wav"]
    assert all(e.message for e in errors)
    assert "empty" in errors[1].message
    starts = [(p.index, p.n_files, p.name) for p in calls if p.seconds == 0 and p.total != p.total]
    assert starts == [(0, 3, mono.name), (1, 3, "notes.txt"), (2, 3, "empty.wav"), (3, 3, "")]
    assert "b'" not in errors[0].message  # no Python reprs in what people read
    assert calls[-1].fraction == 1.0


def test_analyse_uploads_accepts_paths_and_pairs_alike(mono):
    by_path, _ = w.analyze_uploads([mono])
    by_pair, _ = w.analyze_uploads([(mono.name, mono.read_bytes())])
    pd.testing.assert_frame_equal(by_path, by_pair)


def test_same_name_uploads_stay_separate_files(mono, sample_dir):
    short = (sample_dir / "conversation.wav").read_bytes()
    x, sr = sf.read(mono, dtype="int16")
    buf = io.BytesIO()
    sf.write(buf, x[: 10 * sr], sr, format="WAV", subtype="PCM_16")
    table, errors = w.analyze_uploads([("call.wav", short), ("call.wav", buf.getvalue())])
    assert errors == []
    assert table["file"].unique().tolist() == ["call.wav", "call.wav (2)"]
    ends = table.groupby("file", observed=True)["end"].max()
    assert ends["call.wav"] > 30 and ends["call.wav (2)"] <= 10.5


@pytest.fixture(scope="module")
def three_minutes(tmp_path_factory, mono):
    """The sample conversation four times over: 164 s, three blocks of the embedded model."""
    x, sr = sf.read(mono, dtype="int16")
    path = tmp_path_factory.mktemp("long") / "three.wav"
    sf.write(path, np.tile(x, 4), sr, subtype="PCM_16")
    return path


def test_progress_counts_seconds_inside_a_file(three_minutes):
    seen = []
    table, errors = w.analyze_uploads([three_minutes], progress=seen.append)
    assert errors == [] and len(table)
    inside = [p for p in seen if p.name and p.seconds > 0]
    assert len(inside) >= 3
    seconds = [p.seconds for p in inside]
    assert seconds == sorted(seconds) and seconds[-1] == pytest.approx(inside[-1].total, abs=0.1)
    assert 0 < inside[0].fraction < 1


def test_cancel_stops_inside_a_file_and_keeps_the_files_done(mono, three_minutes):
    cancel = threading.Event()

    def progress(p):
        if p.name == three_minutes.name and p.seconds > 0:
            cancel.set()  # the user presses Cancel during the long file

    with pytest.raises(w.AnalysisCancelled) as stop:
        w.analyze_uploads([mono, three_minutes, mono], progress=progress, cancel=cancel)
    assert stop.value.table["file"].unique().tolist() == [mono.name]
    assert stop.value.errors == []


def test_rttm_turns_give_the_speakers(mono, sample_dir):
    turns = w.read_turns([sample_dir / "conversation.rttm"])
    table, errors = w.analyze_uploads([mono], turns=turns)
    assert errors == []
    assert set(table["speaker"].dropna()) == set(turns["speaker"])
    renamed = w.rename_speakers(table, {"agent": "Agent Smith", "customer": ""})
    assert set(renamed["speaker"].dropna()) == {"Agent Smith", "customer"}
    assert len(renamed) == len(table)


def test_rttm_that_is_not_rttm_is_named():
    with pytest.raises(w.AppInputError, match="notes.rttm"):
        w.read_turns([("notes.rttm", b"these are my notes\nabout the call\n")])


def test_unreachable_server_says_to_start_it(mono):
    port = _free_port()
    _, errors = w.analyze_uploads([mono], engine="server", base_url=f"http://127.0.0.1:{port}")
    message = errors[0].message
    assert "emotion-analytics serve" in message and f"127.0.0.1:{port}" in message
    assert "HTTPConnectionPool" not in message and "Errno" not in message


def test_analyse_uploads_refuses_what_is_not_an_upload():
    with pytest.raises(w.AppInputError, match="upload 1"):
        w.analyze_uploads([42])


def test_stereo_call_gives_one_speaker_per_channel(stereo):
    table, errors = w.analyze_uploads([stereo], channels="speakers")
    assert errors == []
    speakers = table["speaker"].dropna().unique()
    assert len(speakers) == 2
    per_speaker = w.summary(table)
    assert sorted(per_speaker.index) == sorted(speakers)
    assert (per_speaker["total"] > 0).all()


# -- what the app shows ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def table(mono):
    table, errors = w.analyze_uploads([mono])
    assert errors == []
    return table


def test_summary_totals_match_the_covered_time(table):
    out = w.summary(table)
    emotions = [c for c in out.columns if c != "total"]
    assert list(out.index) == list(table["file"].unique())
    assert out["total"].iloc[0] == pytest.approx(out[emotions].sum(axis=1).iloc[0])
    assert out["total"].iloc[0] <= table["end"].max() + 1e-9
    assert (out[emotions] > 0).all().all()  # emotions never seen are not listed


def test_results_csv_round_trips(table):
    back = schema.normalize(pd.read_csv(io.BytesIO(w.results_csv(table))))
    pd.testing.assert_frame_equal(back, table, check_categorical=False, check_dtype=False)


def test_download_link_holds_the_csv(table):
    link = w.download_link(table, filename="my results.csv")
    payload = link.split("base64,", 1)[1].split('"', 1)[0]
    assert base64.b64decode(payload) == w.results_csv(table)
    assert 'download="my results.csv"' in link


def test_table_html_lists_every_segment(table):
    out = w.table_html(table)
    assert out.count("</tr>") == len(table) + 1  # header + one row per segment
    assert w.table_html(table, max_rows=1).count("</tr>") == 2


def test_exports_hold_the_table(table):
    out = w.exports(table)
    assert sorted(out) == ["csv", "json", "parquet", "png", "rttm"]
    back = pd.read_parquet(io.BytesIO(out["parquet"].data))
    assert back["emotion"].astype(str).tolist() == table["emotion"].astype(str).tolist()
    answer = json.loads(out["json"].data)
    assert ea.to_frame(answer, file="x")["start"].tolist() == table["start"].tolist()
    assert len(out["rttm"].data.decode().splitlines()) == len(table)
    links = w.export_links(table)
    assert links.count('class="emotion-download"') == 5
    for kind, export in out.items():
        assert f'data-kind="{kind}"' in links and f'download="{export.filename}"' in links


def test_timeline_map_boxes_sit_on_their_segments(table):
    m = w.timeline_map(table)
    assert len(m.boxes) == len(table) and len(m.lanes) == 1
    x0, _, x1, _ = m.plot_box
    for (start, end), box in zip(table[["start", "end"]].to_numpy(), m.boxes, strict=True):
        assert box[0] == pytest.approx(x0 + (x1 - x0) * start / m.span, abs=1e-3)
        assert box[2] == pytest.approx(x0 + (x1 - x0) * end / m.span, abs=1e-3)
        assert m.lanes[0][0] <= box[1] < box[3] <= m.lanes[0][1]


def test_overlapping_segments_get_their_own_sub_lane():
    df = ea.to_frame([{"emotion": "happy", "start": 0, "end": 4, "speaker_id": "A"},
                      {"emotion": "sad", "start": 2, "end": 6, "speaker_id": "A"},
                      {"emotion": "sad", "start": 5, "end": 8, "speaker_id": "A"}], file="c")
    boxes = w.timeline_map(df).boxes
    assert boxes[0][3] <= boxes[1][1] + 1e-6  # the second is below the first, not hidden
    assert boxes[2][1] == pytest.approx(boxes[0][1])  # the third reuses the first sub-lane


def test_player_segments_are_plain_json(table):
    segments, columns = w.player_segments(table)
    json.dumps(segments, allow_nan=False)
    assert len(segments) == len(table) and "emotion" in columns
    assert sum(segments[0]["probs"].values()) == pytest.approx(1.0, abs=0.01)


def test_timeline_png_is_an_image(table):
    image = matplotlib.image.imread(io.BytesIO(w.timeline_png(table)), format="png")
    height, width = image.shape[:2]
    assert width > 500 and height > 50


def test_errors_html_escapes_file_names():
    box = w.errors_html([w.FileFailure("<script>.wav", "bad & broken")])
    assert "<script>" not in box and "&lt;script&gt;.wav" in box and "bad &amp; broken" in box


# -- the real widget objects -------------------------------------------------------------------
def test_app_shows_remote_fields_only_for_remote_engines():
    app = w.app()
    assert app.remote_box.layout.display == "none"
    app.engine.value = "hosted"
    assert app.remote_box.layout.display != "none"
    assert app.base_url.value == w.HOSTED_URL
    app.engine.value = "server"
    assert app.base_url.value == w.LOCAL_SERVER_URL
    app.engine.value = "local"
    assert app.remote_box.layout.display == "none"


def test_app_run_shows_player_timeline_summary_and_exports(mono, tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEfmt garbage")
    app = w.EmotionApp()
    assert app.results.layout.display == "none"
    app.add_files([mono, broken])
    app.run_button.click()  # runs in a thread, as in the browser
    app.wait(120)
    assert app.result is not None and len(app.result) > 0
    assert app.results.layout.display != "none"
    assert app.listen.png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(app.listen.segments) == len(app.result) == len(app.listen.boxes)
    assert app.listen.sources == {mono.name: app.audio.files[0]["token"]}
    assert "total" in app.per_speaker.value and mono.name in app.per_speaker.value
    assert app.downloads.value.count("emotion-download") == 5
    assert "broken.wav" in app.message.value and "emotion-errors" in app.message.value
    assert "Done: 1 file(s)" in app.status.value and "Failed: broken.wav" in app.status.value
    assert app.progress.value == 1.0
    assert not app.run_button.disabled and app.cancel_button.disabled


def test_each_run_clears_the_last(mono, tmp_path):
    app = w.EmotionApp()
    app.add_files([mono])
    assert app.run() is not None
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    app.audio.clear()
    app.add_files([broken])
    assert app.run() is None
    assert app.result is None and app.results.layout.display == "none"
    assert "broken.wav" in app.message.value and "Failed: broken.wav" in app.status.value
    app.audio.clear()
    app.add_files([mono])
    app.run()
    assert app.message.value == "" and "Failed" not in app.status.value


def test_app_rttm_turns_and_renaming(mono, sample_dir):
    app = w.EmotionApp()
    app.add_files([mono])
    app.add_turns([sample_dir / "conversation.rttm"])
    app.run()
    assert set(app.result["speaker"].dropna()) == {"agent", "customer"}
    assert [t.description for t in app.names.children] == ["agent", "customer"]
    app.names.children[0].value = "Ann (agent)"
    app.apply_names.click()
    assert set(app.result["speaker"].dropna()) == {"Ann (agent)", "customer"}
    assert "Ann (agent)" in app.per_speaker.value
    assert {s["speaker"] for s in app.listen.segments} == {"Ann (agent)", "customer"}
    assert "Ann (agent)" in base64.b64decode(
        app.downloads.value.split("data:text/csv;base64,", 1)[1].split('"', 1)[0]).decode()


def test_app_stereo_with_turns_says_what_to_choose(stereo, sample_dir):
    app = w.EmotionApp()
    app.add_files([stereo])
    app.add_turns([sample_dir / "call_stereo.rttm"])
    app.speakers_per_channel.value = True
    assert app.run() is None
    assert "stereo box" in app.message.value and "Nothing analysed" in app.status.value


def test_app_cancel_button_stops_the_run(three_minutes):
    app = w.EmotionApp()
    app.add_files([three_minutes])
    seen = threading.Event()
    app.progress.observe(lambda change: seen.set() if 0 < change["new"] < 1 else None, "value")
    app.run_button.click()
    assert seen.wait(120)
    app.cancel_button.click()
    app.wait(120)
    assert app.status.value.startswith("Cancelled") and app.result is None
    assert not app.run_button.disabled


# -- the chunked audio input, driven through its message protocol ------------------------------
def _send_file(box, token, name, data, chunk=7):
    box._on_msg(box, {"type": "begin", "token": token, "name": name, "size": len(data)}, [])
    for offset in range(0, len(data), chunk):
        box._on_msg(box, {"type": "chunk", "token": token, "offset": offset},
                    [memoryview(data[offset:offset + chunk])])
    box._on_msg(box, {"type": "end", "token": token}, [])


def test_audio_input_reassembles_chunks_and_keeps_same_names_apart():
    from emotion_analytics.widget_parts import AudioInput

    box = AudioInput()
    _send_file(box, "t1", "a.wav", b"first file, in pieces")
    _send_file(box, "t2", "a.wav", b"second")
    ups = box.uploads()
    assert [u.label for u in ups] == ["a.wav", "a.wav (2)"]
    assert [u.path.read_bytes() for u in ups] == [b"first file, in pieces", b"second"]
    box._on_msg(box, {"type": "remove", "token": "t1"}, [])
    assert not ups[0].path.exists() and [u.label for u in box.uploads()] == ["a.wav (2)"]
    box.close()
    assert not ups[1].path.exists()


def test_audio_input_refuses_too_big_and_broken_uploads_with_a_message():
    from emotion_analytics.widget_parts import AudioInput

    box = AudioInput(max_bytes=10)
    box._on_msg(box, {"type": "begin", "token": "big", "name": "long.wav", "size": 11}, [])
    entry = box.files[0]
    assert entry["state"] == "refused" and "limit" in entry["message"]
    box.max_bytes = 100
    box._on_msg(box, {"type": "begin", "token": "gap", "name": "b.wav", "size": 8}, [])
    box._on_msg(box, {"type": "chunk", "token": "gap", "offset": 4}, [b"5678"])
    assert box.files[1]["state"] == "refused" and "again" in box.files[1]["message"]
    assert box.uploads() == []
    box.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Our real server on a loopback port, with one API key."""
    pytest.importorskip("fastapi")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("server")
    env = {**os.environ, "EMOTION_ANALYTICS_API_KEYS": "widget-key"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emotion_analytics.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited: {proc.stdout.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_app_with_our_server_matches_the_embedded_model(server, mono, table):
    app = w.app(engine="server", base_url=server, api_key="widget-key")
    app.add_files([mono])
    app.run()
    assert app.message.value == ""
    assert app.result is not None
    assert app.result["emotion"].tolist() == table["emotion"].tolist()


def test_app_with_a_wrong_key_names_the_file_and_the_key(server, mono):
    app = w.app(engine="server", base_url=server, api_key="wrong")
    app.add_files([mono])
    app.run()
    assert mono.name in app.message.value and "key" in app.message.value.lower()
    assert app.result is None
