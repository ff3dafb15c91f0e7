"""Webhook delivery and URL safety against real receivers on loopback sockets."""

from __future__ import annotations

import json
import threading
import time

import pytest

from emotion_analytics.client import WebhookReceiver
from emotion_analytics.server.fetch import (
    FetchError,
    UnsafeURLError,
    URLPolicy,
    check_url,
    fetch,
    guarded_session,
)
from emotion_analytics.server.jobs import JobStore, new_job
from emotion_analytics.server.webhooks import (
    REQUEST_ID_HEADER,
    SIGNATURE_HEADER,
    WebhookDeliverer,
    sign,
    verify,
    webhook_body,
)

LOOPBACK_OK = URLPolicy(allow_loopback=True)


class FlakyReceiver(WebhookReceiver):
    """Answers 503 to the first ``failures`` posts, then 200."""

    def __init__(self, failures: int, **kw):
        super().__init__(**kw)
        self.failures = failures
        self.attempts: list[float] = []

    def accept(self, payload):
        self.attempts.append(time.monotonic())
        return 503 if len(self.attempts) <= self.failures else 200


def finished_job(store, rid, webhook, result=None):
    store.add(new_job(rid, api="/api", version="v2", audio=b"x", webhook=webhook))
    store.claim()
    store.finish(rid, result if result is not None else [{"emotion": "happy", "start": 0.0,
                                                          "end": 2.0}])


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "10.0.0.1", "192.168.1.1",
                                     "::1", "fe80::1", "0.0.0.0", "::ffff:127.0.0.1",
                                     "100.64.0.1", "224.0.0.1"])
def test_private_addresses_refused(address):
    assert not URLPolicy().allows(address)
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(UnsafeURLError, match="private, loopback or link-local"):
        check_url(f"http://{host}/x", URLPolicy())


def test_policy_switches():
    assert URLPolicy(allow_private=True).allows("169.254.169.254")
    assert URLPolicy(allow_loopback=True).allows("127.0.0.1")
    assert not URLPolicy(allow_loopback=True).allows("169.254.169.254")
    assert URLPolicy().allows("8.8.8.8")
    with pytest.raises(UnsafeURLError, match="cannot be resolved"):
        check_url("http://no-such-host.invalid/a.wav", URLPolicy())
    with pytest.raises(UnsafeURLError, match="not an http"):
        check_url("file:///etc/passwd", URLPolicy())


def test_guarded_session_checks_the_real_peer():
    """Even when the name check is skipped, the connection itself is refused."""
    with WebhookReceiver() as hook:
        with pytest.raises(UnsafeURLError):
            guarded_session(URLPolicy()).post(hook.url, json={"request_id": "r"}, timeout=5)
        assert hook.results == {}
        ok = guarded_session(LOOPBACK_OK).post(hook.url, json={"request_id": "r"}, timeout=5)
        assert ok.status_code == 200 and hook.results == {"r": None}


def test_fetch_limits(tmp_path):
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path == "/redirect-to-metadata":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest")
                self.end_headers()
                return
            body = b"x" * (5000 if self.path == "/big" else 100)
            self.send_response(404 if self.path == "/missing" else 200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        with pytest.raises(UnsafeURLError):
            fetch(base + "/a", URLPolicy(), max_bytes=1000, timeout=5)
        allow = URLPolicy(allow_loopback=True)
        assert fetch(base + "/a", allow, max_bytes=1000, timeout=5) == b"x" * 100
        with pytest.raises(FetchError, match="larger than"):
            fetch(base + "/big", allow, max_bytes=1000, timeout=5)
        with pytest.raises(FetchError, match="HTTP 404"):
            fetch(base + "/missing", allow, max_bytes=1000, timeout=5)
        with pytest.raises(UnsafeURLError, match="169.254.169.254"):
            fetch(base + "/redirect-to-metadata", allow, max_bytes=1000, timeout=5)
    finally:
        srv.shutdown()
        srv.server_close()


def test_signature_round_trip():
    body = webhook_body(new_job("r9", api="/a", version="v2"))
    assert json.loads(body) == {"request_id": "r9", "response": None}
    assert verify(body, "k", sign(body, "k"))
    assert not verify(body, "other", sign(body, "k"))
    assert not verify(body + b" ", "k", sign(body, "k"))


def test_failing_receiver_gets_it_later_signed(tmp_path):
    store = JobStore(tmp_path / "jobs.db")
    with FlakyReceiver(failures=2, secret="s3cret") as hook:
        finished_job(store, "flaky-1", hook.url)
        deliverer = WebhookDeliverer(store, policy=LOOPBACK_OK, secret="s3cret", retries=5,
                                     retry_delay=0.05, timeout=5)
        deliverer.start()
        try:
            assert hook.wait("flaky-1", timeout=20) == [{"emotion": "happy", "start": 0.0,
                                                         "end": 2.0}]
        finally:
            deliverer.stop()
        assert len(hook.attempts) == 3
        job = store.get("flaky-1")
        assert job.delivery == "delivered" and job.attempts == 3
        assert len(hook.received) == 1


def test_wrong_secret_is_refused_by_receiver_and_retried_then_given_up(tmp_path):
    store = JobStore(tmp_path / "jobs.db")
    with WebhookReceiver(secret="right") as hook:
        finished_job(store, "signed-wrong", hook.url)
        deliverer = WebhookDeliverer(store, policy=LOOPBACK_OK, secret="wrong", retries=2,
                                     retry_delay=0.01, timeout=5)
        deliverer.start()
        try:
            deadline = time.monotonic() + 20
            while store.get("signed-wrong").delivery != "gave_up":
                assert time.monotonic() < deadline, store.get("signed-wrong")
                time.sleep(0.02)
        finally:
            deliverer.stop()
        job = store.get("signed-wrong")
        assert job.attempts == 3 and "401" in job.delivery_error
        assert hook.results == {}


def test_headers_and_failed_job_payload(tmp_path):
    store = JobStore(tmp_path / "jobs.db")
    seen = {}

    class Recorder(WebhookReceiver):
        def _handle(self, body, headers):
            seen.update(headers=headers, body=body)
            return super()._handle(body, headers)

    with Recorder() as hook:
        store.add(new_job("bad-1", api="/api", version="v2", audio=b"x", webhook=hook.url))
        store.claim()
        store.fail("bad-1", {"faultstring": "not audio", "errorcode": "emotion_analytics.BadAudio"})
        deliverer = WebhookDeliverer(store, policy=LOOPBACK_OK, secret="k", retry_delay=0.01)
        assert deliverer.deliver(store.get("bad-1"))
    assert seen["headers"][REQUEST_ID_HEADER] == "bad-1"
    assert verify(seen["body"], "k", seen["headers"][SIGNATURE_HEADER])
    assert hook.results["bad-1"] == {"fault": {"faultstring": "not audio", "detail": {
        "errorcode": "emotion_analytics.BadAudio"}}}


def test_unsafe_webhook_is_given_up_without_contact(tmp_path):
    store = JobStore(tmp_path / "jobs.db")
    finished_job(store, "meta", "http://169.254.169.254/hook")
    deliverer = WebhookDeliverer(store, policy=URLPolicy(), retries=0)
    assert not deliverer.deliver(store.get("meta"))
    job = store.get("meta")
    assert job.delivery == "gave_up" and "UnsafeURLError" in job.delivery_error


def test_backoff_schedule_doubles(tmp_path):
    store = JobStore(tmp_path / "jobs.db")
    with FlakyReceiver(failures=100) as hook:
        finished_job(store, "sched", hook.url)
        deliverer = WebhookDeliverer(store, policy=LOOPBACK_OK, retries=3, retry_delay=10.0)
        waits = []
        for _ in range(4):
            before = time.time()
            assert not deliverer.deliver(store.get("sched"))
            job = store.get("sched")
            waits.append(None if job.next_attempt is None else job.next_attempt - before)
    assert [round(w, -1) if w is not None else None for w in waits] == [10, 20, 40, None]
    assert store.get("sched").delivery == "gave_up" and len(hook.attempts) == 4
