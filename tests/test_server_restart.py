"""A server process killed with SIGKILL mid-jobs finishes every job after a restart."""

from __future__ import annotations

import base64
import json
import sqlite3
import time

import pytest
import requests
from server_fixtures import V2_ASYNC, V2_SYNC, ServerProcess, audio_bytes

from emotion_analytics.client import WebhookReceiver

SECRET = "restart-secret"


def _submit_jobs(url: str, hook: WebhookReceiver, clips: dict[str, bytes]) -> None:
    for rid, data in clips.items():
        r = requests.post(url + V2_ASYNC, params={"webhook": hook.url, "request_id": rid},
                          json={"content": base64.b64encode(data).decode()}, timeout=30)
        assert r.status_code == 202 and r.json()["request_id"] == rid, r.text


def _wait_all(hook: WebhookReceiver, ids, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    for rid in ids:
        hook.wait(rid, timeout=max(0.1, deadline - time.monotonic()))


@pytest.mark.slow
def test_sigkill_mid_jobs_then_restart_delivers_all(tmp_path):
    db = tmp_path / "jobs.sqlite3"
    log = tmp_path / "server.log"
    args = ("--jobs-db", str(db), "--allow-loopback-webhooks", "--workers", "1",
            "--webhook-secret", SECRET, "--webhook-retry-delay", "0.1")
    # distinct clips, so an answer delivered under the wrong id would not match
    clips = {f"job-{i:02d}": audio_bytes(20.0 + i, seed=i) for i in range(8)}
    with WebhookReceiver(secret=SECRET) as hook:
        first = ServerProcess(*args, log=log).start()
        try:
            _submit_jobs(first.url, hook, clips)
        finally:
            first.kill()
        with sqlite3.connect(db) as con:
            states = dict(con.execute("SELECT request_id, state FROM jobs").fetchall())
        assert set(states) == set(clips)  # every accepted job was stored before the 202
        unfinished = [rid for rid, s in states.items() if s in ("queued", "running")]
        assert unfinished, "the kill should land while jobs are still waiting"

        second = ServerProcess(*args, log=log, port=first.port).start()
        try:
            _wait_all(hook, clips)
            expected = {rid: requests.post(second.url + V2_SYNC, timeout=60, json={
                "content": base64.b64encode(data).decode()}).json()
                for rid, data in clips.items()}
        finally:
            # uvicorn re-raises SIGTERM after its graceful shutdown
            assert second.terminate() in (0, -15)
    assert hook.results == expected
    assert {p["request_id"] for p in hook.received} == set(clips)
    # structured logs: every line the server wrote is one JSON object
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    started = [r for r in records if r["msg"] == "server started"]
    assert len(started) == 2 and started[1]["requeued"] >= 0
    assert any(r["msg"] == "job done" for r in records)
    assert any(r["msg"] == "server stopped" for r in records)  # SIGTERM ran the shutdown


@pytest.mark.slow
def test_sigterm_requeues_and_restart_finishes(tmp_path):
    db = tmp_path / "jobs.sqlite3"
    args = ("--jobs-db", str(db), "--allow-loopback-webhooks", "--workers", "1",
            "--shutdown-grace", "0.5")
    clips = {f"term-{i}": audio_bytes(30.0, seed=20 + i) for i in range(4)}
    with WebhookReceiver() as hook:
        first = ServerProcess(*args).start()
        _submit_jobs(first.url, hook, clips)
        assert first.terminate() in (0, -15)
        with sqlite3.connect(db) as con:
            running = con.execute("SELECT COUNT(*) FROM jobs WHERE state = 'running'").fetchone()
        assert running == (0,)  # nothing is left marked running after a graceful stop
        second = ServerProcess(*args, port=first.port).start()
        try:
            _wait_all(hook, clips)
        finally:
            second.terminate()
    assert set(hook.results) == set(clips)
