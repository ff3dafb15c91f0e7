"""EmotionClient against our server on a loopback socket, and against scripted HTTP peers
that stand in for the hosted service (rate limits, its other fault spelling)."""

from __future__ import annotations

import http.server
import json
import threading

import numpy as np
import pytest
from server_fixtures import LiveServer, audio_bytes, speechlike

import emotion_analytics as ea
from emotion_analytics.client import EmotionClient, JobTimeoutError, UsageError, WebhookReceiver
from emotion_analytics.errors import APIError, BadAudioError
from emotion_analytics.server.config import ServerConfig


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("client") / "jobs.sqlite3"
    with LiveServer(ServerConfig(jobs_db=db, allow_loopback_webhooks=True, api_keys=("client-key",),
                                 webhook_retry_delay=0.05)) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    return EmotionClient(server.url, api_key="client-key", retries=1, backoff=0.01)


@pytest.fixture(scope="module")
def wav_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("audio") / "call.wav"
    path.write_bytes(audio_bytes(5.0, rate=44100, seed=3))
    return path


class Scripted:
    """A tiny HTTP peer answering a scripted list of (status, headers, body)."""

    def __init__(self, script):
        self.script = list(script)
        self.requests = []
        peer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _reply(self):
                length = int(self.headers.get("Content-Length") or 0)
                peer.requests.append((self.command, self.path, self.rfile.read(length)))
                status, headers, body = peer.script.pop(0) if peer.script else (200, {}, [])
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET = _reply  # noqa: N815

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.srv.shutdown()
        self.srv.server_close()


def test_recognise_path_bytes_and_v1(client, wav_path):
    from_path = client.recognise(wav_path)
    assert from_path == client.recognise(wav_path.read_bytes())
    assert from_path and all({"emotion", "start", "end"} <= set(s) for s in from_path)
    v1 = client.recognise(wav_path, version="v1")
    assert sum(r["score"] for r in v1) == pytest.approx(1.0)


def test_body_hints_read_from_the_file(client, wav_path):
    body, name = client._body(wav_path, None, None, "en-US")
    assert (body["encoding"], body["sampleRate"], name) == ("LINEAR16", 44100, str(wav_path))
    flac = audio_bytes(1.0, rate=8000, fmt="FLAC")
    body, _ = client._body(flac, None, None, "en-US")
    assert (body["encoding"], body["sampleRate"]) == ("FLAC", 8000)


def test_errors_carry_status_and_fault(server, wav_path):
    with pytest.raises(APIError) as info:
        EmotionClient(server.url, api_key="wrong").recognise(wav_path)
    err = info.value
    assert (err.status, err.fault_string, err.error_code) == (401, "Invalid ApiKey",
                                                              "oauth.v2.InvalidApiKey")
    with pytest.raises(APIError, match="not audio") as info:
        EmotionClient(server.url, api_key="client-key").recognise(b"definitely not audio" * 5)
    assert info.value.status == 400 and info.value.error_code == "emotion_analytics.BadAudio"
    with pytest.raises(BadAudioError, match="cannot read the file"):
        EmotionClient(server.url).recognise(wav_path.parent / "missing.wav")
    with pytest.raises(UsageError, match="submit"):
        EmotionClient(server.url).recognise("https://example.org/a.wav")


def test_hosted_fault_spelling_and_wrapped_segments():
    live_fault = {"fault": {"fault_string": "BAD REQUEST",
                            "detail": {"error_code": "com.deepaffects.BadRequest"}}}
    old_answer = {"segments": [{"emotion": "joy", "start": 0.0, "end": 3.0}]}
    with Scripted([(400, {}, live_fault), (200, {}, old_answer)]) as peer:
        client = EmotionClient(peer.url, api_key="k", retries=0)
        with pytest.raises(APIError) as info:
            client.recognise(audio_bytes(1.0))
        assert (info.value.status, info.value.fault_string, info.value.error_code) == (
            400, "BAD REQUEST", "com.deepaffects.BadRequest")
        assert client.recognise(audio_bytes(1.0)) == old_answer["segments"]
        method, path, body = peer.requests[0]
        assert path.startswith("/audio/generic/api/v2/sync/recognise_emotion?apikey=k")
        sent = json.loads(body)
        assert set(sent) == {"content", "encoding", "sampleRate", "languageCode"}


def test_retries_on_429_and_5xx_then_gives_up():
    answer = [{"emotion": "sad", "start": 0.0, "end": 1.0}]
    script = [(429, {"Retry-After": "0"}, {"fault": {"faultstring": "rate_limit"}}),
              (503, {}, {}), (200, {}, answer)]
    with Scripted(script) as peer:
        assert EmotionClient(peer.url, retries=3, backoff=0.01).recognise(
            audio_bytes(1.0)) == answer
        assert len(peer.requests) == 3
    with Scripted([(502, {}, {"fault": {"faultstring": "down"}})] * 3) as peer:
        with pytest.raises(APIError) as info:
            EmotionClient(peer.url, retries=2, backoff=0.01).recognise(audio_bytes(1.0))
        assert info.value.status == 502 and len(peer.requests) == 3
    with Scripted([(400, {}, {"fault": {"faultstring": "no"}})] * 3) as peer:
        with pytest.raises(APIError):
            EmotionClient(peer.url, retries=2, backoff=0.01).recognise(audio_bytes(1.0))
        assert len(peer.requests) == 1  # a 400 is not retried


def test_unreachable_server():
    with pytest.raises(APIError, match="no answer") as info:
        EmotionClient("http://127.0.0.1:9", retries=1, backoff=0.01).recognise(audio_bytes(1.0))
    assert info.value.status is None


def test_submit_with_webhook_receiver_and_wait(client, wav_path):
    with WebhookReceiver() as hook:
        ack = client.submit(wav_path, webhook=hook.url, request_id="client-1")
        assert ack == {"request_id": "client-1",
                       "api": "/audio/generic/api/v2/async/recognise_emotion"}
        delivered = hook.wait("client-1", timeout=60)
    assert delivered == client.recognise(wav_path)
    polled = client.submit(wav_path.read_bytes(), version="v1")
    assert client.wait(polled["request_id"], timeout=60) == client.recognise(wav_path,
                                                                             version="v1")
    assert client.status("client-1")["state"] == "done"


def test_wait_raises_for_failed_job_and_timeout(client):
    truncated = audio_bytes(4.0, fmt="FLAC")[:3000]  # header fine, frames missing
    rid = client.submit(truncated)["request_id"]
    with pytest.raises(APIError, match="failed") as info:
        client.wait(rid, timeout=60)
    assert info.value.error_code == "emotion_analytics.BadAudio"
    with Scripted([(200, {}, {"state": "queued"})] * 5) as peer:
        with pytest.raises(JobTimeoutError, match="still queued"):
            EmotionClient(peer.url).wait("x", timeout=0.2, poll=0.05)


def test_client_is_an_engine(server, client):
    """recognise(path, engine=EmotionClient(...)) gives the same table as the local engine,
    and long audio is sent in pieces placed back on the recording's time line."""
    x = speechlike(70.0, 16000, seed=4)
    remote = ea.recognise((x, 16000), engine=client)
    assert remote["end"].max() > 60.0  # the second piece is shifted
    short = speechlike(8.0, 16000, seed=5)
    local = ea.recognise((short, 16000))
    via_api = ea.recognise((short, 16000), engine=client)
    assert via_api["emotion"].tolist() == local["emotion"].tolist()
    np.testing.assert_allclose(via_api["start"], local["start"], atol=1e-3)
    assert "neutral" in client.labels


def test_recognise_many_keeps_going(client, tmp_path):
    paths = []
    for i in range(4):
        p = tmp_path / f"f{i}.wav"
        p.write_bytes(audio_bytes(4.0, seed=10 + i))
        paths.append(p)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF garbage")
    with pytest.warns(UserWarning, match="1 of 5 files failed"):
        df = client.recognise_many([*paths, broken], max_workers=2, progress=False)
    assert set(df["file"].astype(str)) == {str(p) for p in paths}
    assert list(df.attrs["failures"]) == [str(broken)]
    assert "HTTP 400" in df.attrs["failures"][str(broken)]
    v1 = client.recognise_many(paths[:2], progress=False, version="v1")
    assert len(v1) == 2 and (v1["end"] == 4.0).all()
