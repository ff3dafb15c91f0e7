"""The widgets notebook served as an app by Voila, used by a real headless Chromium.

The test uploads a sample recording through the page's file chooser, presses Analyse and waits
for the timeline image and the segment table to appear; the screenshot is kept in
``test-artifacts/widgets_app.png``. It is skipped when Chromium, Playwright or Voila is missing
(``.ci/run`` installs them). Set ``EMOTION_ANALYTICS_CHROMIUM`` to use another Chromium binary.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "04_widgets.ipynb"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

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


@pytest.fixture
def voila_url(tmp_path):
    """Serve notebooks/04_widgets.ipynb with Voila on a free loopback port; yield its URL."""
    pytest.importorskip("voila", reason="Voila is not installed (pip install voila)")
    port = _free_port()
    log_path = tmp_path / "voila.log"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "MPLBACKEND": "Agg"}
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(NOTEBOOK),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
    ]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=NOTEBOOK.parent, env=env
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"Voila exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"Voila did not listen on port {port}:\n{log_path.read_text()}")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_upload_run_and_see_timeline_and_table(voila_url, sample_dir, tmp_path):
    chromium = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    sample = sorted(sample_dir.glob("*.wav"))[0]
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "widgets_app.png"
    shot.unlink(missing_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 1300},
        )
        try:
            page = browser.new_page()
            # Nothing leaves this machine: icon fonts from a CDN are simply not loaded.
            page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
            page.set_default_timeout(90_000)
            page.goto(voila_url)
            app = page.locator(".emotion-app")
            upload = app.locator(".widget-upload")
            upload.wait_for()
            # Before a run, the results are hidden.
            assert not app.locator(".emotion-results").is_visible()

            with page.expect_file_chooser() as chooser:
                upload.click()
            chooser.value.set_files(str(sample))
            page.wait_for_selector(".emotion-app .widget-upload:has-text('(1)')")
            app.locator("button:has-text('Analyse')").click()

            table = app.locator("table.emotion-table")
            table.wait_for()
            page.wait_for_function(
                "() => { const img = document.querySelector('.emotion-app img.emotion-timeline');"
                " return img !== null && img.complete && img.naturalWidth > 100; }"
            )
            page.wait_for_selector(".emotion-app :text('Done:')")
            rows = table.locator("tbody tr")
            assert rows.count() > 0
            assert sample.name in rows.first.inner_text()
            header = table.locator("thead").inner_text()
            for column in ("file", "start", "end", "emotion", "confidence"):
                assert column in header
            assert (
                app.locator("a.emotion-download")
                .get_attribute("href")
                .startswith("data:text/csv;base64,")
            )
            assert not app.locator(".emotion-errors").count()
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
