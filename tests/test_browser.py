"""The widgets notebook, served as an app by Voila and opened in JupyterLab, used by a real
headless Chromium.

Each test opens the app in a fresh page (a fresh kernel) of one Chromium launched with a fake
microphone that plays ``data/conversation.wav``. Every request the page makes is checked: one to
an address other than this machine (127.0.0.1, localhost) fails the test. Screenshots of each
step are kept in ``test-artifacts/test_browser/<test>-<step>.png``.

- a 40-minute WAV (the sample conversation repeated) goes through the chunked upload and gives
  its table; clicking a row plays that segment (the audio element's time moves); each export
  downloads;
- a recording from the fake microphone gives a table;
- in JupyterLab (a copy of the notebook, run cell by cell as a person would): the sample
  conversation with its speaker turns gives one lane per speaker, and a row plays.

Skipped when Chromium, Playwright, Voila or JupyterLab is missing (``.ci/run`` installs them). Set
``EMOTION_ANALYTICS_CHROMIUM`` to use another Chromium binary.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "04_widgets.ipynb"
ARTIFACTS = REPO / "test-artifacts" / "test_browser"
JUPYTER_DATA = REPO / "emotion_analytics" / "jupyter"
#: Length of the long upload; EMOTION_ANALYTICS_APP_MINUTES=120 tries a two-hour call (230 MB).
LONG_MINUTES = int(os.environ.get("EMOTION_ANALYTICS_APP_MINUTES", "40"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

pytestmark = pytest.mark.slow


def _chromium() -> str:
    candidates = [os.environ.get("EMOTION_ANALYTICS_CHROMIUM"), "/usr/bin/chromium"]
    candidates += [shutil.which("chromium"), shutil.which("chromium-browser")]
    for path in candidates:
        if path and Path(path).exists():
            return path
    pytest.skip("no Chromium installed (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(what: str, cmd: list[str], port: int, *, cwd, env, log_path: Path, path: str):
    """Start a server subprocess, wait until it listens on ``port``, yield its URL at ``path``,
    then stop it (its output goes to ``log_path``, shown when it fails to come up)."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=env)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{what} exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{what} did not listen on port {port}:\n{log_path.read_text()}")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory):
    """Serve notebooks/04_widgets.ipynb as `make app` does, on a free loopback port."""
    pytest.importorskip("voila", reason="Voila is not installed (pip install voila)")
    pytest.importorskip("anywidget", reason="the widgets extra is not installed")
    tmp = tmp_path_factory.mktemp("voila")
    port = _free_port()
    log_path = tmp / "voila.log"
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTER_PATH": str(JUPYTER_DATA),
        "MPLBACKEND": "Agg",
    }
    cmd = [sys.executable, "-m", "voila", str(NOTEBOOK), "--no-browser", f"--port={port}",
           "--Voila.ip=127.0.0.1", "--template=emotion-app"]
    yield from _serve("Voila", cmd, port, cwd=NOTEBOOK.parent, env=env, log_path=log_path,
                      path="/")


@pytest.fixture(scope="module")
def browser(tmp_path_factory, sample_dir):
    """Headless Chromium (Debian's, through Playwright) with the sample call as microphone."""
    chromium = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    profile = tmp_path_factory.mktemp("chromium-profile")
    mic = sample_dir / "conversation.wav"
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            headless=True,
            args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={mic}"],
            viewport={"width": 1280, "height": 1400},
            accept_downloads=True,
            permissions=["microphone"],
        )
        try:
            yield context
        finally:
            context.close()


def _guarded_page(browser, url: str, ready, request):
    """A page at ``url`` that records (and blocks) what it asks of a non-loopback address;
    ``ready(page)`` waits for the app. Yields the page, then checks nothing went outside."""
    outside: list[str] = []

    def guard(route):
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("http://", "https://", "ws://", "wss://")) and (
            host not in LOOPBACK
        ):
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page = browser.new_page()
    page.route("**/*", guard)
    page.set_default_timeout(120_000)
    page.goto(url)
    ready(page)
    page.step = _stepper(page, request.node.name)
    try:
        yield page
    finally:
        page.close()
    assert outside == [], f"the page asked the network for {outside}"


@pytest.fixture
def page(browser, voila_url, request):
    """A fresh app page; the test fails if the page asks anything of a non-loopback address."""
    yield from _guarded_page(
        browser, voila_url,
        lambda p: p.locator(".emotion-app .emotion-audio-input .emotion-pick").wait_for(), request)


def _stepper(page, test_name: str):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(f"{test_name}-*.png"):
        old.unlink()
    counter = iter(range(1, 100))

    def step(name: str) -> Path:
        path = ARTIFACTS / f"{test_name}-{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return step


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory, sample_dir) -> Path:
    """A 40-minute 16 kHz mono WAV: the sample conversation over and over (77 MB)."""
    x, sr = sf.read(sample_dir / "conversation.wav", dtype="int16")
    reps = int(np.ceil(LONG_MINUTES * 60 * sr / len(x)))
    path = tmp_path_factory.mktemp("long") / "long call.wav"
    sf.write(path, np.tile(x, reps)[: LONG_MINUTES * 60 * sr], sr, subtype="PCM_16")
    return path


def _analyse(page):
    app = page.locator(".emotion-app")
    app.locator("button:has-text('Analyse')").click()
    page.wait_for_selector(".emotion-app .emotion-status:has-text('Done:')", timeout=300_000)
    table = app.locator("table.emotion-table")
    table.wait_for()
    page.wait_for_function(
        "() => { const img = document.querySelector('.emotion-app img.emotion-timeline');"
        " return img !== null && img.complete && img.naturalWidth > 100; }"
    )
    return table


def test_long_upload_table_listen_and_exports(page, long_wav, tmp_path):
    app = page.locator(".emotion-app")
    assert not app.locator(".emotion-results").is_visible()  # nothing before a run
    page.step("empty")

    with page.expect_file_chooser() as chooser:
        app.locator(".emotion-audio-input .emotion-pick").click()
    chooser.value.set_files(str(long_wav))
    page.wait_for_selector(".emotion-app .emotion-file-ready", timeout=300_000)
    size = f"{long_wav.stat().st_size / 1e6:.1f} MB"
    assert size in app.locator(".emotion-file-ready").inner_text()
    page.step("uploaded")

    table = _analyse(page)
    page.step("analysed")
    rows = table.locator("tbody tr")
    assert rows.count() > LONG_MINUTES * 10  # speech all along, in 3-s windows
    assert long_wav.name in rows.first.inner_text()
    header = table.locator("thead").inner_text()
    for column in ("file", "start", "end", "emotion", "confidence"):
        assert column in header
    assert not app.locator(".emotion-errors").count()
    status = app.locator(".emotion-status").inner_text()
    assert "1 file(s)" in status and "Failed" not in status

    # hover a segment of the timeline: its emotion, confidence and probabilities
    app.locator(".emotion-lane").first.hover()
    tip = page.locator(".emotion-tooltip")
    tip.wait_for(state="visible")
    assert "confidence" in tip.inner_text() and "%" in tip.inner_text()
    page.step("hover")

    # click a row: the player seeks to that segment and plays it
    row = rows.nth(10)
    start = float(row.locator("td").nth(3).inner_text())
    row.click()
    page.wait_for_function(
        "s => { const a = document.querySelector('.emotion-app audio.emotion-audio');"
        " return a && !a.paused && a.currentTime > s + 0.2; }", arg=start
    )
    now = page.evaluate("document.querySelector('.emotion-app audio.emotion-audio').currentTime")
    assert start <= now < start + 3.5
    page.step("playing")

    # each export downloads, and holds what it says
    got = {}
    for link in app.locator("a.emotion-download").all():
        kind = link.get_attribute("data-kind")
        with page.expect_download() as download:
            link.click()
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        got[kind] = path
    assert sorted(got) == ["csv", "json", "parquet", "png", "rttm"]
    n = rows.count()
    assert len(pd.read_csv(got["csv"])) == n
    assert len(pd.read_parquet(got["parquet"])) == n
    assert len(json.loads(got["json"].read_text())) == n
    assert len(got["rttm"].read_text().splitlines()) == n
    assert got["png"].read_bytes()[:4] == b"\x89PNG"
    import emotion_analytics as ea

    back = ea.to_frame(json.loads(got["json"].read_text()), file=long_wav.name)
    assert back["emotion"].tolist() == pd.read_csv(got["csv"])["emotion"].tolist()
    page.step("exported")


def test_record_from_the_microphone(page):
    app = page.locator(".emotion-app")
    record = app.locator(".emotion-record")
    record.click()
    page.wait_for_selector(".emotion-app .emotion-record:has-text('Stop (0:06)')", timeout=30_000)
    page.step("recording")
    record.click()
    page.wait_for_selector(".emotion-app .emotion-file-ready", timeout=60_000)
    name = app.locator(".emotion-file-ready b").inner_text()
    assert name.startswith("recording-") and name.endswith(".wav")
    page.step("recorded")
    table = _analyse(page)
    rows = table.locator("tbody tr")
    assert rows.count() >= 1
    assert name in rows.first.inner_text()
    ends = [float(r.locator("td").nth(4).inner_text()) for r in rows.all()]
    assert 4.0 <= max(ends) <= 9.0  # about the six seconds recorded
    page.step("analysed")


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    """JupyterLab on a free loopback port, over a copy of the widgets notebook (beside ``data/``).

    Its settings, workspaces and runtime files live in the temporary folder; the extension
    manager is read-only, the update check and the news off, so the server asks no index either.
    """
    pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (pip install jupyterlab)")
    pytest.importorskip("anywidget", reason="the widgets extra is not installed")
    root = tmp_path_factory.mktemp("lab")
    (root / "notebooks").mkdir()
    shutil.copy(NOTEBOOK, root / "notebooks" / NOTEBOOK.name)
    (root / "data").symlink_to(REPO / "data")
    notification = root / ".settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)  # no "get notified about Jupyter news?" over the app
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port = _free_port()
    log_path = root / "lab.log"
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
        "JUPYTER_CONFIG_DIR": str(root / ".config"),
        "JUPYTERLAB_SETTINGS_DIR": str(root / ".settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces"),
        "MPLBACKEND": "Agg",
    }
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
           f"--ServerApp.root_dir={root}", "--expose-app-in-browser", "--allow-root",
           "--LabApp.extension_manager=readonly",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    yield from _serve("JupyterLab", cmd, port, cwd=root, env=env, log_path=log_path,
                      path=f"/lab/tree/notebooks/{NOTEBOOK.name}")


def _run_notebook_in_lab(page):
    """Wait for the notebook and its kernel, then run every cell until the app shows."""
    page.wait_for_selector(".jp-Notebook")
    page.wait_for_function("() => window.jupyterapp !== undefined")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator, #jp-main-statusbar")
    page.wait_for_function(  # the kernel is up: the status bar names it and says Idle
        "() => /Idle/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')")
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.locator(".emotion-app .emotion-audio-input .emotion-pick").wait_for()


@pytest.fixture
def lab_page(browser, lab_url, request):
    """The notebook open in JupyterLab with its cells run (a fresh kernel each time)."""
    yield from _guarded_page(browser, lab_url, _run_notebook_in_lab, request)


def test_the_app_in_jupyterlab_with_speaker_turns(lab_page, sample_dir):
    page = lab_page
    app = page.locator(".emotion-app")
    page.step("app")
    with page.expect_file_chooser() as chooser:
        app.locator(".emotion-audio-input .emotion-pick").click()
    chooser.value.set_files(str(sample_dir / "conversation.wav"))
    page.wait_for_selector(".emotion-app .emotion-audio-input .emotion-file-ready")
    with page.expect_file_chooser() as chooser:
        app.locator(".emotion-turns-input .emotion-pick").click()
    chooser.value.set_files(str(sample_dir / "conversation.rttm"))
    page.wait_for_selector(".emotion-app .emotion-turns-input .emotion-file-ready")
    page.step("files")

    table = _analyse(page)
    page.step("analysed")
    rows = table.locator("tbody tr")
    assert rows.count() >= 8
    speakers = {r.locator("td").nth(2).inner_text() for r in rows.all()}
    truth = set(pd.read_csv(sample_dir / "conversation.truth.csv")["speaker"])
    assert speakers == truth, (speakers, truth)
    assert "Failed" not in app.locator(".emotion-status").inner_text()

    row = rows.nth(2)
    start = float(row.locator("td").nth(3).inner_text())
    row.scroll_into_view_if_needed()
    row.click()
    page.wait_for_function(
        "s => { const a = document.querySelector('.emotion-app audio.emotion-audio');"
        " return a && !a.paused && a.currentTime > s + 0.2; }", arg=start
    )
    page.step("playing")
