"""The emotion API server over HTTP on a real loopback socket, with the real local engine."""

from __future__ import annotations

import base64
import http.server
import json
import subprocess
import sys
import threading

import pytest
import requests
from server_fixtures import (
    REPO,
    V1_ASYNC,
    V1_SYNC,
    V2_ASYNC,
    V2_SYNC,
    LiveServer,
    assert_fault,
    audio_bytes,
    three_hour_wav,
)

from emotion_analytics.client import WebhookReceiver
from emotion_analytics.server.config import ConfigError, ServerConfig
from emotion_analytics.server.webhooks import SIGNATURE_HEADER, verify

SECRET = "webhook-test-secret"
MAX_BODY = 3 * 1024 * 1024


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("server") / "jobs.sqlite3"
    cfg = ServerConfig(jobs_db=db, allow_loopback_webhooks=True, webhook_secret=SECRET,
                       webhook_retry_delay=0.05, max_body_bytes=MAX_BODY, max_sync_seconds=60)
    with LiveServer(cfg) as srv:
        yield srv


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    db = tmp_path_factory.mktemp("keyed") / "jobs.sqlite3"
    with LiveServer(ServerConfig(jobs_db=db, allow_loopback_webhooks=True,
                                 api_keys=("key-one", "key-two"),
                                 webhook_retry_delay=0.05)) as srv:
        yield srv


@pytest.fixture(scope="module")
def clip():
    return audio_bytes(6.0, seed=1)


@pytest.fixture
def hook():
    with WebhookReceiver(secret=SECRET) as receiver:
        yield receiver


def healthy(srv) -> bool:
    return requests.get(srv.url + "/health", timeout=10).json()["status"] == "ok"


def test_health_and_openapi(server):
    health = requests.get(server.url + "/health", timeout=10).json()
    assert health["engine"] == "local" and "neutral" in health["labels"]
    doc = requests.get(server.url + "/openapi.json", timeout=10).json()
    for path in (V2_SYNC, V2_ASYNC, V1_SYNC, V1_ASYNC):
        op = doc["paths"][path]["post"]
        assert "422" not in op["responses"] and "400" in op["responses"]
        body = doc["components"]["schemas"][
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
        assert set(body["properties"]) == {"content", "url", "encoding", "sampleRate",
                                           "languageCode"}
    assert "/audio/generic/api/v2/async/status/{request_id}" in doc["paths"]
    scheme = doc["components"]["securitySchemes"]
    assert list(scheme.values())[0] == {"type": "apiKey", "in": "query", "name": "apikey",
                                        "description": scheme[next(iter(scheme))]["description"]}


def test_sync_v2_and_v1(server, clip):
    answer = requests.post(server.url + V2_SYNC, json={"content": b64(clip)}, timeout=60)
    assert answer.status_code == 200, answer.text
    segments = answer.json()
    assert segments, "speech-like audio gives at least one segment"
    for seg in segments:
        assert isinstance(seg["emotion"], str)
        assert 0.0 <= seg["start"] < seg["end"] <= 6.0 + 1e-6
    v1 = requests.post(server.url + V1_SYNC, json={"content": b64(clip)}, timeout=60).json()
    assert {r["emotion"] for r in v1} == set(requests.get(server.url + "/health").json()["labels"])
    assert sum(r["score"] for r in v1) == pytest.approx(1.0, abs=1e-6)


def test_hints_are_hints(server):
    """A 48 kHz stereo WAV labelled MULAW at 8000 Hz (what the Node SDK sends) is analysed."""
    data = audio_bytes(4.0, rate=48000, channels=2, seed=2)
    same = audio_bytes(4.0, rate=48000, channels=2, seed=2)
    answers = []
    for hint in ({"encoding": "MULAW", "sampleRate": 8000}, {"sampleRate": "8000"},
                 {"encoding": "FLAC", "languageCode": "de-DE", "metrics": ["all"]}, {}):
        r = requests.post(server.url + V2_SYNC, json={"content": b64(data), **hint}, timeout=60)
        assert r.status_code == 200, r.text
        answers.append(r.json())
    assert all(a == answers[0] for a in answers)
    flac = requests.post(server.url + V2_SYNC, json={"content": b64(audio_bytes(
        4.0, rate=48000, channels=2, seed=2, fmt="FLAC"))}, timeout=60).json()
    assert [s["emotion"] for s in flac] == [s["emotion"] for s in answers[0]]
    assert same == data


def test_product_page_python_sample(keyed, clip, tmp_path):
    """The hosted service's Python sample, unchanged apart from the base URL."""
    audio_file_name = tmp_path / "call.wav"
    audio_file_name.write_bytes(clip)
    with WebhookReceiver() as receiver:
        base = keyed.url
        async_url = base + "/audio/generic/api/v2/async/recognise_emotion"
        sync_url = base + "/audio/generic/api/v2/sync/recognise_emotion"
        querystring = {"apikey": "key-two", "webhook": receiver.url}
        payload = {"encoding": "Wave", "languageCode": "en-US"}
        # (the sample sets url, then "alternatively" content: a client sends one of them)
        with open(audio_file_name, "rb") as fin:
            audio_content = fin.read()
        payload["content"] = base64.b64encode(audio_content).decode("utf-8")
        headers = {"Content-Type": "application/json"}
        response = requests.post(async_url, json=payload, headers=headers, params=querystring)
        assert response.status_code == 202
        ack = response.json()
        assert set(ack) == {"request_id", "api"}
        response = requests.post(sync_url, json=payload, headers=headers, params=querystring)
        assert response.status_code == 200
        assert receiver.wait(ack["request_id"], timeout=60) == response.json()


def test_async_v2_and_v1_deliver_signed_answers(server, clip, hook):
    acks = {}
    for version, path in (("v2", V2_ASYNC), ("v1", V1_ASYNC)):
        r = requests.post(server.url + path, params={"webhook": hook.url},
                          json={"content": b64(clip), "encoding": "Wave"}, timeout=30)
        assert r.status_code == 202, r.text
        assert r.json()["api"] == path
        acks[version] = r.json()["request_id"]
    for version, sync in (("v2", V2_SYNC), ("v1", V1_SYNC)):
        expected = requests.post(server.url + sync, json={"content": b64(clip)}).json()
        assert hook.wait(acks[version], timeout=60) == expected
    assert len({p["request_id"] for p in hook.received}) == 2
    status = requests.get(f"{server.url}/audio/generic/api/v2/async/status/{acks['v2']}").json()
    assert status["state"] == "done" and status["delivery"] in ("delivered", "pending")
    assert status["response"] == hook.results[acks["v2"]]


def test_webhook_signature_header(server, clip):
    seen = []

    class Recorder(WebhookReceiver):
        def _handle(self, body, headers):
            seen.append((body, headers))
            return super()._handle(body, headers)

    with Recorder() as rec:
        r = requests.post(server.url + V2_ASYNC, params={"webhook": rec.url, "request_id": "sig-1"},
                          json={"content": b64(clip)})
        assert r.json()["request_id"] == "sig-1"
        rec.wait("sig-1", timeout=60)
    body, headers = seen[0]
    assert verify(body, SECRET, headers[SIGNATURE_HEADER])
    assert json.loads(body)["request_id"] == "sig-1"


def test_receiver_failing_first_gets_the_answer_later(server, clip):
    class Flaky(WebhookReceiver):
        calls = 0

        def accept(self, payload):
            Flaky.calls += 1
            return 500 if Flaky.calls <= 3 else 200

    with Flaky() as flaky:
        rid = requests.post(server.url + V2_ASYNC, params={"webhook": flaky.url},
                            json={"content": b64(clip)}).json()["request_id"]
        assert flaky.wait(rid, timeout=60)
    assert Flaky.calls == 4
    status = requests.get(f"{server.url}/audio/generic/api/v2/async/status/{rid}").json()
    assert status["delivery"] == "delivered" and status["delivery_attempts"] == 4


def test_async_without_webhook_is_polled(server, clip):
    rid = requests.post(server.url + V2_ASYNC, json={"content": b64(clip)}).json()["request_id"]
    from emotion_analytics.client import EmotionClient

    answer = EmotionClient(server.url).wait(rid, timeout=60)
    assert answer == requests.post(server.url + V2_SYNC, json={"content": b64(clip)}).json()
    assert requests.get(f"{server.url}/audio/generic/api/v1/async/status/{rid}").json()[
        "delivery"] == "none"


def test_duplicate_request_id(server, clip):
    body = {"content": b64(clip)}
    first = requests.post(server.url + V2_ASYNC, params={"request_id": "dup-1"}, json=body)
    assert first.status_code == 202
    # the same request again (a retry) is accepted once; another one under the id is refused
    again = requests.post(server.url + V2_ASYNC, params={"request_id": "dup-1"}, json=body)
    assert again.status_code == 202 and again.json()["request_id"] == "dup-1"
    other = requests.post(server.url + V2_ASYNC, params={"request_id": "dup-1"},
                          json={"content": b64(clip), "languageCode": "de-DE"})
    assert_fault(other, 409, "emotion_analytics.DuplicateRequestId")


def _serve_files(files: dict[str, bytes]):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


def test_async_url_with_private_urls_allowed(tmp_path, clip):
    """The JavaScript sample's body (url, FLAC, 8000, metrics) on a server allowing local URLs."""
    files, base = _serve_files({"/a.wav": clip, "/junk.wav": b"not audio at all" * 10})
    try:
        with LiveServer(ServerConfig(jobs_db=tmp_path / "j.db", allow_private_urls=True)) as srv, \
                WebhookReceiver() as rec:
            body = {"url": base + "/a.wav", "encoding": "FLAC", "languageCode": "en-US",
                    "sampleRate": 8000, "metrics": ["all"]}
            rid = requests.post(srv.url + V2_ASYNC, params={"webhook": rec.url},
                                json=body).json()["request_id"]
            expected = requests.post(srv.url + V2_SYNC, json={"content": b64(clip)}).json()
            assert rec.wait(rid, timeout=60) == expected
            for path, code in (("/junk.wav", "emotion_analytics.BadAudio"),
                               ("/missing.wav", "emotion_analytics.FetchFailed")):
                rid = requests.post(srv.url + V2_ASYNC, params={"webhook": rec.url},
                                    json={"url": base + path}).json()["request_id"]
                fault = rec.wait(rid, timeout=60)["fault"]
                assert fault["detail"]["errorcode"] == code, fault
    finally:
        files.shutdown()
        files.server_close()


BAD_INPUTS = [
    ("invalid base64", V2_SYNC, {"content": "%%%not base64%%%"}, 400,
     "emotion_analytics.BadContent"),
    ("empty content", V2_SYNC, {"content": ""}, 400, "emotion_analytics.EmptyAudio"),
    ("non-audio bytes", V2_SYNC, {"content": b64(b"<html>hello</html>" * 20)}, 400,
     "emotion_analytics.BadAudio"),
    ("header-only wav", V2_SYNC, {"content": b64(audio_bytes(2.0)[:40])}, 400,
     "emotion_analytics.BadAudio"),
    ("truncated wav", V2_SYNC, {"content": b64(audio_bytes(4.0)[:40000])}, 400,
     "emotion_analytics.BadAudio"),
    ("truncated flac", V2_SYNC, {"content": b64(audio_bytes(4.0, fmt="FLAC")[:3000])}, 400,
     "emotion_analytics.BadAudio"),
    ("3-hour file on sync", V2_SYNC, {"content": b64(three_hour_wav())}, 413,
     "emotion_analytics.AudioTooLong"),
    ("neither content nor url", V2_SYNC, {"encoding": "FLAC"}, 400, None),
    ("url on sync", V2_SYNC, {"url": "https://example.org/a.wav"}, 400, None),
    ("both on async", V2_ASYNC, {"content": b64(b"RIFF"), "url": "https://example.org/a"}, 400,
     None),
    ("neither on async", V1_ASYNC, {"languageCode": "en-US"}, 400, None),
    ("content is a number", V2_SYNC, {"content": 12345}, 400, None),
    ("sampleRate is an object", V2_SYNC, {"content": "UklGRg==", "sampleRate": {"a": 1}}, 400,
     None),
    ("body is a list", V1_SYNC, [1, 2, 3], 400, None),
    ("body is a string", V2_SYNC, "content", 400, None),
    ("url at loopback", V2_ASYNC, {"url": "http://127.0.0.1:8000/a.wav"}, 400,
     "emotion_analytics.BadUrl"),
    ("url at cloud metadata", V2_ASYNC, {"url": "http://169.254.169.254/latest/meta-data"},
     400, "emotion_analytics.BadUrl"),
    ("url not http", V2_ASYNC, {"url": "file:///etc/passwd"}, 400, "emotion_analytics.BadUrl"),
    ("empty audio on async", V2_ASYNC, {"content": ""}, 400, "emotion_analytics.EmptyAudio"),
    ("non-audio on async", V2_ASYNC, {"content": b64(b"text" * 40)}, 400,
     "emotion_analytics.BadAudio"),
]


@pytest.mark.parametrize("name,path,body,status,code", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_inputs(server, name, path, body, status, code):
    r = requests.post(server.url + path, json=body, timeout=30)
    fault = assert_fault(r, status, code)
    if status == 413:
        assert "async" in fault["faultstring"]
    assert healthy(server)


@pytest.mark.parametrize("params,code", [
    ({"webhook": "http://169.254.169.254/hook"}, "emotion_analytics.BadWebhook"),
    ({"webhook": "http://10.1.2.3/hook"}, "emotion_analytics.BadWebhook"),
    ({"webhook": "ftp://example.org/hook"}, "emotion_analytics.BadWebhook"),
    ({"request_id": "has spaces in it"}, "emotion_analytics.BadRequestId"),
])
def test_bad_query_parameters(server, clip, params, code):
    r = requests.post(server.url + V2_ASYNC, params=params, json={"content": b64(clip)})
    assert_fault(r, 400, code)


def test_not_json_and_wrong_content_type(server):
    r = requests.post(server.url + V2_SYNC, data=b"{not json",
                      headers={"Content-Type": "application/json"})
    assert "not valid JSON" in assert_fault(r, 400)["faultstring"]
    r = requests.post(server.url + V2_SYNC, data=b"content=abc",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_fault(r, 400)


def test_huge_body(server):
    big = {"content": "A" * (MAX_BODY + 10)}
    r = requests.post(server.url + V2_SYNC, json=big)
    assert "larger than" in assert_fault(r, 413, "emotion_analytics.PayloadTooLarge")[
        "faultstring"]

    def chunks():  # no Content-Length: the limit is counted while reading
        yield b'{"content": "'
        for _ in range(MAX_BODY // 65536 + 2):
            yield b"A" * 65536
        yield b'"}'

    r = requests.post(server.url + V2_SYNC, data=chunks(),
                      headers={"Content-Type": "application/json"})
    assert_fault(r, 413)
    assert healthy(server)


def test_unknown_paths_and_methods(server):
    assert_fault(requests.get(server.url + "/nope"), 404, "emotion_analytics.NotFound")
    assert_fault(requests.post(server.url + "/audio/generic/api/v3/sync/recognise_emotion",
                               json={}), 404)
    assert_fault(requests.get(server.url + V2_SYNC), 405, "emotion_analytics.MethodNotAllowed")
    assert_fault(requests.get(server.url + "/audio/generic/api/v2/async/status/no-such-job"),
                 404, "emotion_analytics.UnknownRequestId")
    assert healthy(server)


def test_api_keys(keyed, clip):
    body = {"content": b64(clip)}
    assert_fault(requests.post(keyed.url + V2_SYNC, json=body), 401, "oauth.v2.InvalidApiKey")
    assert_fault(requests.post(keyed.url + V2_SYNC, json=body, params={"apikey": "key-on"}),
                 401, "oauth.v2.InvalidApiKey")
    assert requests.post(keyed.url + V2_SYNC, json=body,
                         params={"apikey": "key-one"}).status_code == 200
    rid = requests.post(keyed.url + V2_ASYNC, json=body,
                        params={"apikey": "key-one"}).json()["request_id"]
    status = f"{keyed.url}/audio/generic/api/v2/async/status/{rid}"
    assert requests.get(status, params={"apikey": "key-one"}).status_code == 200
    # another key does not see the job, no key gets 401
    assert_fault(requests.get(status, params={"apikey": "key-two"}), 404)
    assert_fault(requests.get(status), 401)
    assert requests.get(keyed.url + "/health").status_code == 200


def test_refuses_public_bind_without_keys(tmp_path):
    with pytest.raises(ConfigError, match="refusing to listen on '0.0.0.0'"):
        ServerConfig(host="0.0.0.0").check()
    env = {k: v for k, v in __import__("os").environ.items() if k != "EMOTION_ANALYTICS_API_KEYS"}
    out = subprocess.run([sys.executable, "-m", "emotion_analytics.cli", "serve", "--host",
                          "0.0.0.0", "--port", "0", "--jobs-db", str(tmp_path / "j.db")],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "refusing to listen" in out.stderr and "EMOTION_ANALYTICS_API_KEYS" in out.stderr
    assert not (tmp_path / "j.db").exists()


def test_labels_in_the_hosted_vocabulary(tmp_path, clip):
    """``serve --labels deepaffects``: answers in the hosted API's v2 vocabulary."""
    from emotion_analytics.labels import DEEPAFFECTS_V2

    with LiveServer(ServerConfig(jobs_db=tmp_path / "j.db", labels="deepaffects")) as srv:
        v2 = requests.post(srv.url + V2_SYNC, json={"content": b64(clip)}, timeout=60).json()
        v1 = requests.post(srv.url + V1_SYNC, json={"content": b64(clip)}, timeout=60).json()
    assert v2 and {seg["emotion"] for seg in v2} <= set(DEEPAFFECTS_V2)
    for seg in v2:
        assert set(seg["scores"]) <= set(DEEPAFFECTS_V2)
        assert seg["confidence"] == max(seg["scores"].values())
    assert {r["emotion"] for r in v1} <= set(DEEPAFFECTS_V2)
    assert sum(r["score"] for r in v1) == pytest.approx(1.0, abs=1e-6)


# --- dimensions: only when a client asks --------------------------------------------------------


class _Dimensional:
    """A window engine with classes and dimensions (arousal from the window's peak level)."""

    def __new__(cls):
        import numpy as np

        from emotion_analytics.engines import WindowEngine

        class Dimensional(WindowEngine):
            name, labels, sample_rate = "dimensional", ("calm", "excited"), 16000

            def predict_proba(self, windows):
                return np.tile([0.6, 0.4], (len(windows), 1))

            def predict_windows(self, windows):
                peak = np.array([float(np.abs(w).max()) for w in windows])
                return self.predict_proba(windows), {
                    "arousal": np.clip(peak, 0, 1), "valence": np.full(len(windows), 0.25)}

        return Dimensional()


@pytest.fixture(scope="module")
def dimensional(tmp_path_factory):
    db = tmp_path_factory.mktemp("dimensional") / "jobs.sqlite3"
    cfg = ServerConfig(jobs_db=db, allow_loopback_webhooks=True)
    with LiveServer(cfg, engine=_Dimensional()) as srv:
        yield srv


DIMENSION_KEYS = {"arousal", "valence", "dominance"}


@pytest.fixture(scope="module")
def speech(sample_dir):
    """Ten seconds of the real voices of the sample conversation, as WAV bytes."""
    import io

    import soundfile as sf

    x, rate = sf.read(sample_dir / "conversation.wav", dtype="float32", frames=10 * 16000)
    buf = io.BytesIO()
    sf.write(buf, x, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_dimensions_are_left_out_unless_asked(dimensional, speech):
    plain = requests.post(dimensional.url + V2_SYNC, json={"content": b64(speech)}, timeout=60)
    assert plain.status_code == 200
    answer = plain.json()
    assert answer and all(not (set(seg) & DIMENSION_KEYS) for seg in answer)
    assert all(set(seg) <= {"emotion", "start", "end", "confidence", "scores"} for seg in answer)
    asked = requests.post(dimensional.url + V2_SYNC, params={"dimensions": "true"},
                          json={"content": b64(speech)}, timeout=60).json()
    assert [(s["start"], s["end"]) for s in asked] == [(s["start"], s["end"]) for s in answer]
    for seg in asked:
        assert 0 < seg["arousal"] <= 1 and seg["valence"] == 0.25 and "dominance" not in seg
    import emotion_analytics as ea

    df = ea.to_frame(asked, file="clip")
    assert list(df.emotion.dimensions().columns) == ["arousal", "valence"]


def test_async_jobs_keep_the_dimensions_choice(dimensional, speech):
    from emotion_analytics.client import EmotionClient

    client = EmotionClient(dimensional.url)
    body = {"content": b64(speech)}
    asked = requests.post(dimensional.url + V2_ASYNC, params={"dimensions": "true"}, json=body)
    plain = requests.post(dimensional.url + V2_ASYNC, json=body)
    assert asked.status_code == plain.status_code == 202
    with_dims = client.wait(asked.json()["request_id"], timeout=60)
    without = client.wait(plain.json()["request_id"], timeout=60)
    assert with_dims and all("arousal" in seg for seg in with_dims)
    assert without and all(not (set(seg) & DIMENSION_KEYS) for seg in without)


def test_dimensions_on_v1_is_a_clear_error(dimensional, speech):
    for path in (V1_SYNC, V1_ASYNC):
        resp = requests.post(dimensional.url + path, params={"dimensions": "true"},
                             json={"content": b64(speech)}, timeout=60)
        fault = assert_fault(resp, 400, "emotion_analytics.BadRequest")
        assert "v2" in fault["faultstring"]
