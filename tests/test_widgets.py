"""The widget app: its plain functions, and the real ipywidgets objects driven in-process."""

from __future__ import annotations

import base64
import io
import os
import socket
import subprocess
import sys
import time

import matplotlib.image
import pandas as pd
import pytest

import emotion_analytics as ea
from emotion_analytics import schema
from emotion_analytics import widgets as w

pytest.importorskip("ipywidgets")


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


# -- analyse_uploads ---------------------------------------------------------------------------
def test_analyse_uploads_keeps_good_files_and_names_bad_ones(mono):
    calls = []
    uploads = upload_value(mono, extra=[("notes.txt", b"not audio at all"), ("empty.wav", b"")])
    table, errors = w.analyse_uploads(
        uploads, progress=lambda done, total, name: calls.append((done, total, name))
    )
    schema.validate(table)
    assert len(table) > 0
    assert table["file"].unique().tolist() == [mono.name]
    assert table["emotion"].notna().all()
    assert [e.file for e in errors] == ["notes.txt", "empty.wav"]
    assert all(e.message for e in errors)
    assert "empty" in errors[1].message
    assert calls == [(0, 3, mono.name), (1, 3, "notes.txt"), (2, 3, "empty.wav"), (3, 3, "")]


def test_analyse_uploads_accepts_paths_and_pairs_alike(mono):
    by_path, _ = w.analyse_uploads([mono])
    by_pair, _ = w.analyse_uploads([(mono.name, mono.read_bytes())])
    pd.testing.assert_frame_equal(by_path, by_pair)


def test_analyse_uploads_refuses_what_is_not_an_upload():
    with pytest.raises(w.AppInputError, match="upload 1"):
        w.analyse_uploads([42])


def test_stereo_call_gives_one_speaker_per_channel(stereo):
    table, errors = w.analyse_uploads([stereo], channels="speakers")
    assert errors == []
    speakers = table["speaker"].dropna().unique()
    assert len(speakers) == 2
    per_speaker = w.summary(table)
    assert sorted(per_speaker.index) == sorted(speakers)
    assert (per_speaker["total"] > 0).all()


# -- what the app shows ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def table(mono):
    table, errors = w.analyse_uploads([mono])
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
    back = schema.normalise(pd.read_csv(io.BytesIO(w.results_csv(table))))
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


def test_app_upload_click_shows_table_timeline_summary_and_download(mono):
    app = w.EmotionApp()
    assert app.results.layout.display == "none"
    app.upload.value = upload_value(mono, extra=[("broken.wav", b"RIFF....WAVEfmt garbage")])
    app.run_button.click()
    assert app.result is not None and len(app.result) > 0
    assert app.results.layout.display != "none"
    assert app.timeline.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert mono.name in app.table.value and "emotion-table" in app.table.value
    assert "total" in app.per_speaker.value and mono.name in app.per_speaker.value
    assert "data:text/csv;base64," in app.download.value
    assert "broken.wav" in app.message.value and "emotion-errors" in app.message.value
    assert app.progress.value == app.progress.max == 2
    assert "1 file(s)" in app.status.value
    assert not app.run_button.disabled


def test_app_without_files_says_what_to_do():
    app = w.app()
    app.run_button.click()
    assert "No file chosen" in app.message.value
    assert app.result is None


def test_app_hosted_without_key_says_so(mono):
    app = w.app(engine="hosted")
    app.upload.value = upload_value(mono)
    app.run_button.click()
    assert "API key" in app.message.value and "emotion-errors" in app.message.value
    assert app.result is None
    assert app.results.layout.display == "none"


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
    app.upload.value = upload_value(mono)
    app.run_button.click()
    assert app.message.value == ""
    assert app.result is not None
    assert app.result["emotion"].tolist() == table["emotion"].tolist()


def test_app_with_a_wrong_key_names_the_file_and_the_key(server, mono):
    app = w.app(engine="server", base_url=server, api_key="wrong")
    app.upload.value = upload_value(mono)
    app.run_button.click()
    assert mono.name in app.message.value and "key" in app.message.value.lower()
    assert app.result is None
