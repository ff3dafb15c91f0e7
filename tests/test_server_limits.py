"""The server under a careless or hostile client: bounded decoding, keys before work, deadlines,
one owner per job database, per-key job ids, queue and retention limits.

Every test runs a real server on loopback (real SQLite, real uploads); slow peers and receivers
are real sockets written here. Deadlines in these tests only keep a broken server from hanging
the suite; nothing is timed.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import sqlite3
import threading
import time

import numpy as np
import pytest
import requests
import soundfile as sf
from server_fixtures import (
    V1_SYNC,
    V2_ASYNC,
    V2_SYNC,
    LiveServer,
    ServerProcess,
    assert_fault,
    audio_bytes,
    speechlike,
)

from emotion_analytics.server.config import ServerConfig

av = pytest.importorskip("av")

LIMIT = 20.0  # seconds of decoded audio, sync and async


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class _Pipe(io.RawIOBase):
    """A write-only, non-seekable file: the muxer cannot go back to write the duration."""

    def __init__(self):
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, b) -> int:
        self.data += bytes(b)
        return len(b)


def encode(fmt: str, codec: str, seconds: float, *, rate: int = 16000, bit_rate=None,
           seekable: bool = True) -> bytes:
    """Real speech encoded with PyAV (FFmpeg); ``seekable=False`` writes as a live stream."""
    out = io.BytesIO() if seekable else _Pipe()
    container = av.open(out, mode="w", format=fmt)
    st = container.add_stream(codec, rate=rate)
    st.layout = "mono"
    if bit_rate:
        st.bit_rate = bit_rate
    x = speechlike(seconds, rate)
    for i in range(0, len(x), rate):
        frame = av.AudioFrame.from_ndarray(x[None, i:i + rate], format="fltp", layout="mono")
        frame.sample_rate = rate
        for packet in st.encode(frame):
            container.mux(packet)
    for packet in st.encode(None):
        container.mux(packet)
    container.close()
    return bytes(out.getvalue() if seekable else out.data)


def webm_without_duration(seconds: float, *, bit_rate: int | None = None) -> bytes:
    """A webm/Opus recording whose header states no duration (written by a live recorder)."""
    return encode("webm", "libopus", seconds, rate=48000, seekable=False, bit_rate=bit_rate)


def adts_that_lies(seconds: float) -> bytes:
    """ADTS AAC whose start is dense (2 s at 256 kbps) and the rest sparse (8 kbps): FFmpeg
    estimates its duration from the start's bit rate, far shorter than what decodes."""
    return (encode("adts", "aac", 2.0, bit_rate=256000)
            + encode("adts", "aac", seconds - 2.0, bit_rate=8000))


def one_hertz_wav(samples: int) -> bytes:
    """A small WAV whose header says 1 sample per second: ``samples`` seconds of 'audio'."""
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    sf.write(buf, (rng.standard_normal(samples) * 3000).astype(np.int16), 1, format="WAV",
             subtype="PCM_16")
    return buf.getvalue()


def wait_job(srv, request_id: str, *, params=None, timeout: float = 120.0) -> dict:
    status = f"/audio/generic/api/v2/async/status/{request_id}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = requests.get(srv.url + status, params=params, timeout=30).json()
        if info.get("state") in ("done", "failed"):
            return info
        time.sleep(0.1)
    raise AssertionError(f"job {request_id} not finished after {timeout} s: {info}")


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    db = tmp_path_factory.mktemp("limits") / "jobs.sqlite3"
    cfg = ServerConfig(jobs_db=db, max_sync_seconds=LIMIT, max_async_seconds=LIMIT,
                       max_result_bytes=1)  # every answer is too large here
    with LiveServer(cfg) as srv:
        yield srv


# -- 1. decoding stops at the limit --------------------------------------------------------------

def test_sync_refuses_audio_longer_than_its_header_says(limited):
    lying = adts_that_lies(60.0)  # its header estimate is well under the limit
    from emotion_analytics.audio import probe

    assert probe(lying).duration < LIMIT
    for path in (V2_SYNC, V1_SYNC):
        r = requests.post(limited.url + path, json={"content": b64(lying)}, timeout=120)
        fault = assert_fault(r, 413, "emotion_analytics.AudioTooLong")
        assert "20 s" in fault["faultstring"] and "async" in fault["faultstring"]


def test_sync_webm_without_duration_stops_at_the_limit(limited):
    long_clip = webm_without_duration(90.0)
    from emotion_analytics.audio import probe

    assert np.isnan(probe(long_clip).duration)
    r = requests.post(limited.url + V2_SYNC, json={"content": b64(long_clip)}, timeout=120)
    fault = assert_fault(r, 413, "emotion_analytics.AudioTooLong")
    assert "decoding passed it" in fault["faultstring"]
    short = webm_without_duration(6.0)
    r = requests.post(limited.url + V2_SYNC, json={"content": b64(short)}, timeout=120)
    assert r.status_code == 200, r.text
    assert all(seg["end"] <= 6.5 for seg in r.json())


def test_async_limit_on_decoded_seconds(limited):
    # a header that says 1 Hz: 40,000 s claimed, refused at the door
    r = requests.post(limited.url + V2_ASYNC, json={"content": b64(one_hertz_wav(40_000))},
                      timeout=60)
    assert_fault(r, 413, "emotion_analytics.AudioTooLong")
    # no duration in the header: the job decodes up to the limit and fails there
    r = requests.post(limited.url + V2_ASYNC, params={"request_id": "long-webm"},
                      json={"content": b64(webm_without_duration(60.0))}, timeout=60)
    assert r.status_code == 202, r.text
    info = wait_job(limited, "long-webm")
    assert info["state"] == "failed", info
    assert info["fault"]["detail"]["errorcode"] == "emotion_analytics.AudioTooLong"


def test_async_result_size_is_capped(limited):
    r = requests.post(limited.url + V2_ASYNC, params={"request_id": "many-segments"},
                      json={"content": b64(audio_bytes(6.0, seed=1))}, timeout=60)
    assert r.status_code == 202, r.text
    info = wait_job(limited, "many-segments")
    assert info["state"] == "failed", info
    assert info["fault"]["detail"]["errorcode"] == "emotion_analytics.ResultTooLarge"
    assert "limit of 1 bytes" in info["fault"]["faultstring"]


# -- 2. the key before the body ------------------------------------------------------------------

@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    db = tmp_path_factory.mktemp("keyed-limits") / "jobs.sqlite3"
    with LiveServer(ServerConfig(jobs_db=db, api_keys=("key-a", "key-b"))) as srv:
        yield srv


def test_key_is_checked_before_the_body_is_parsed(keyed):
    not_json = b"{" * 4096
    many_keys = json.dumps({f"k{i}": i for i in range(200_000)}).encode()
    for params in ({}, {"apikey": "wrong"}):
        for body in (not_json, many_keys):
            r = requests.post(keyed.url + V2_SYNC, params=params, data=body,
                              headers={"Content-Type": "application/json"}, timeout=60)
            assert_fault(r, 401, "oauth.v2.InvalidApiKey")
    # with the key the same body is read and refused for what it is
    r = requests.post(keyed.url + V2_SYNC, params={"apikey": "key-a"}, data=not_json,
                      headers={"Content-Type": "application/json"}, timeout=60)
    assert_fault(r, 400, "emotion_analytics.BadRequest")
    assert requests.get(keyed.url + "/health", timeout=30).status_code == 200


# -- 3. deadlines on the whole request, and no receiver holding every delivery -----------------

class SlowPeer:
    """A real HTTP peer on loopback that answers one byte at a time, forever (until closed).

    ``status_first=True`` sends a whole status line and headers announcing a large body, then
    trickles the body; otherwise even the status line trickles.
    """

    def __init__(self, *, status_first: bool, interval: float = 0.1):
        self.status_first = status_first
        self.interval = interval
        self.connections = 0
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/slow"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)  # the request (its body is not needed)
                head = b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n"
                if self.status_first:
                    conn.sendall(head)
                data = b"x" * 10_000_000 if self.status_first else head
                for i in range(len(data)):
                    if self._stop.wait(self.interval):
                        return
                    conn.sendall(data[i:i + 1])
            except OSError:  # the server gave up on us: what the test wants
                return

    def close(self):
        self._stop.set()
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_url_fetch_has_a_deadline_in_all(tmp_path):
    cfg = ServerConfig(jobs_db=tmp_path / "jobs.sqlite3", allow_private_urls=True,
                       fetch_timeout=1.0)
    with SlowPeer(status_first=True) as peer, LiveServer(cfg) as srv:
        r = requests.post(srv.url + V2_ASYNC, params={"request_id": "slow-url"},
                          json={"url": peer.url}, timeout=30)
        assert r.status_code == 202, r.text
        info = wait_job(srv, "slow-url", timeout=60)
        assert info["state"] == "failed"
        assert info["fault"]["detail"]["errorcode"] == "emotion_analytics.FetchFailed"
        assert "in all" in info["fault"]["faultstring"]


def test_slow_webhook_receivers_do_not_hold_other_deliveries(tmp_path):
    from emotion_analytics.client import WebhookReceiver

    cfg = ServerConfig(jobs_db=tmp_path / "jobs.sqlite3", allow_private_urls=True,
                       webhook_timeout=1.0, webhook_retries=0)
    clip = b64(audio_bytes(1.0))
    with SlowPeer(status_first=False) as peer, WebhookReceiver() as good, \
            LiveServer(cfg) as srv:
        for i in range(8):
            r = requests.post(srv.url + V2_ASYNC, json={"content": clip},
                              params={"webhook": peer.url, "request_id": f"slow-{i}"},
                              timeout=30)
            assert r.status_code == 202, r.text
        good_url = good.url.replace("127.0.0.1", "localhost")  # another host
        r = requests.post(srv.url + V2_ASYNC, json={"content": clip},
                          params={"webhook": good_url, "request_id": "good"}, timeout=30)
        assert r.status_code == 202, r.text
        good.wait("good", timeout=60)
        info = wait_job(srv, "slow-0")
        deadline = time.monotonic() + 60
        while info["delivery"] == "pending" and time.monotonic() < deadline:
            time.sleep(0.1)
            info = wait_job(srv, "slow-0")
        assert info["delivery"] == "gave_up", info
        assert "in all" in info["delivery_error"]


# -- 4. one owner per job database ---------------------------------------------------------------

def test_second_server_on_one_database_is_refused_naming_the_first(tmp_path):
    db = tmp_path / "jobs.sqlite3"
    first = ServerProcess("--jobs-db", str(db), log=tmp_path / "first.log").start()
    try:
        second = ServerProcess("--jobs-db", str(db), log=tmp_path / "second.log")
        with pytest.raises(RuntimeError, match="server exited"):
            second.start(timeout=60)
        text = (tmp_path / "second.log").read_text()
        assert f"in use by another server (pid {first.proc.pid}" in text, text[-2000:]
        assert "Traceback" not in text
        assert requests.get(first.url + "/health", timeout=30).status_code == 200
    finally:
        first.terminate()
    # the lock goes with its owner: a new server may take the database
    third = ServerProcess("--jobs-db", str(db), log=tmp_path / "third.log").start()
    third.kill()
    fourth = ServerProcess("--jobs-db", str(db), log=tmp_path / "fourth.log").start()
    fourth.terminate()


def test_default_jobs_database_is_stated_in_help():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "emotion_analytics.cli", "serve", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "emotion_jobs.sqlite3 in the folder" in " ".join(out.split())


# -- 5. request ids per key ----------------------------------------------------------------------

def test_request_ids_are_per_key_validated_and_private(keyed, tmp_path):
    from emotion_analytics.client import EmotionClient
    from emotion_analytics.errors import DuplicateJobError

    clip = b64(audio_bytes(1.0))
    post = lambda key, rid, content=clip: requests.post(  # noqa: E731
        keyed.url + V2_ASYNC, params={"apikey": key, "request_id": rid},
        json={"content": content}, timeout=30)
    assert post("key-a", "shared-id").status_code == 202
    assert post("key-b", "shared-id").status_code == 202  # another key, the same id: its own
    # the same request again is a retry: accepted, not queued twice
    assert post("key-a", "shared-id").status_code == 202
    # another request under a taken id is refused
    assert_fault(post("key-a", "shared-id", b64(audio_bytes(2.0))), 409,
                 "emotion_analytics.DuplicateRequestId")
    for bad in ("../../etc", "a/b", "a b", "x" * 129, "..", "é"):
        assert_fault(post("key-a", bad), 400, "emotion_analytics.BadRequestId")
    a = wait_job(keyed, "shared-id", params={"apikey": "key-a"})
    b = wait_job(keyed, "shared-id", params={"apikey": "key-b"})
    assert a["state"] == b["state"] == "done"
    # the client: a taken id is its own error, not an acceptance
    client = EmotionClient(keyed.url, api_key="key-a", retries=0)
    wav = tmp_path / "a.wav"
    wav.write_bytes(audio_bytes(2.0, seed=3))
    with pytest.raises(DuplicateJobError, match="shared-id"):
        client.submit(wav, request_id="shared-id")
    ack = client.submit(wav, request_id="with.dots_and-dashes")
    assert client.wait(ack["request_id"], timeout=120) is not None


def test_jobs_made_without_keys_are_not_readable_with_a_key(tmp_path):
    db = tmp_path / "jobs.sqlite3"
    with LiveServer(ServerConfig(jobs_db=db)) as srv:
        r = requests.post(srv.url + V2_ASYNC, params={"request_id": "open-job"},
                          json={"content": b64(audio_bytes(1.0))}, timeout=30)
        assert r.status_code == 202
        assert wait_job(srv, "open-job")["state"] == "done"
    with LiveServer(ServerConfig(jobs_db=db, api_keys=("k1",))) as srv:
        r = requests.get(srv.url + "/audio/generic/api/v2/async/status/open-job",
                         params={"apikey": "k1"}, timeout=30)
        assert_fault(r, 404, "emotion_analytics.UnknownRequestId")


# -- 6. a bounded queue, and retention -----------------------------------------------------------

class HeldEngine:
    """An engine that answers only once the test lets it (to keep jobs running)."""

    name = "held"
    labels = ("neutral",)

    def __init__(self):
        self.go = threading.Event()

    def analyze(self, audio, sample_rate, **options):
        self.go.wait(120)
        return [{"emotion": "neutral", "start": 0.0, "end": len(audio) / sample_rate,
                 "confidence": 1.0, "scores": {"neutral": 1.0}}]


def test_full_queue_answers_429_with_retry_after(tmp_path):
    engine = HeldEngine()
    cfg = ServerConfig(jobs_db=tmp_path / "jobs.sqlite3", max_queued=2, workers=1)
    clip = b64(audio_bytes(1.0))
    with LiveServer(cfg, engine=engine) as srv:
        try:
            answers = []
            for i in range(6):  # one may be running, two waiting: the fourth at most is refused
                r = requests.post(srv.url + V2_ASYNC, params={"request_id": f"q{i}"},
                                  json={"content": clip}, timeout=30)
                answers.append(r)
                if r.status_code == 429:
                    break
            refused = answers[-1]
            assert_fault(refused, 429, "emotion_analytics.QueueFull")
            assert int(refused.headers["Retry-After"]) > 0
            assert len(answers) <= 4
        finally:
            engine.go.set()
        assert wait_job(srv, "q0")["state"] == "done"


def test_finished_jobs_are_deleted_after_keep_results_and_space_reclaimed(tmp_path):
    db = tmp_path / "jobs.sqlite3"
    cfg = ServerConfig(jobs_db=db, keep_results=0.5)
    upload = audio_bytes(60.0, seed=4)  # ~1.9 MB kept in the database until the job ends
    with LiveServer(cfg) as srv:
        r = requests.post(srv.url + V2_ASYNC, params={"request_id": "kept"},
                          json={"content": b64(upload)}, timeout=60)
        assert r.status_code == 202
        status = srv.url + "/audio/generic/api/v2/async/status/kept"
        deadline = time.monotonic() + 120
        while requests.get(status, timeout=30).status_code == 200:
            assert time.monotonic() < deadline, "the finished job was never deleted"
            time.sleep(0.1)
        assert_fault(requests.get(status, timeout=30), 404)
        with sqlite3.connect(db) as con:
            pages, size, free = (con.execute(f"PRAGMA {p}").fetchone()[0]
                                 for p in ("page_count", "page_size", "freelist_count"))
        assert pages * size < len(upload) / 4 and free < 16, (pages, size, free)


# -- 7. signed times, replays, IPv6 forms of private addresses, loopback webhooks on request ------

SECRET = "limits-secret"


def test_webhook_signature_carries_a_time_and_the_receiver_refuses_stale_and_replayed(tmp_path):
    from emotion_analytics.client import WebhookReceiver
    from emotion_analytics.protocol import SIGNATURE_HEADER, sign, signed_at, verify

    cfg = ServerConfig(jobs_db=tmp_path / "jobs.sqlite3", allow_loopback_webhooks=True,
                       webhook_secret=SECRET, webhook_retry_delay=0.05)
    posts = []

    class Recorder(WebhookReceiver):
        def _handle(self, body, headers):
            status = super()._handle(body, headers)
            posts.append((body, dict(headers), status))
            return status

    with Recorder(secret=SECRET) as hook, LiveServer(cfg) as srv:
        r = requests.post(srv.url + V2_ASYNC, json={"content": b64(audio_bytes(1.0))},
                          params={"webhook": hook.url, "request_id": "signed"}, timeout=30)
        assert r.status_code == 202
        hook.wait("signed", timeout=60)
        body, headers, status = posts[0]
        header = headers[SIGNATURE_HEADER]
        assert status == 200 and abs(signed_at(header) - time.time()) < 600
        assert verify(body, SECRET, header)
        # the captured post sent again: refused as a replay
        replay = requests.post(hook.url, data=body, timeout=30,
                               headers={SIGNATURE_HEADER: header,
                                        "Content-Type": "application/json"})
        assert replay.status_code == 409
        # re-signed with an old time: stale
        old = sign(body, SECRET, timestamp=time.time() - 3600)
        stale = requests.post(hook.url, data=body, timeout=30, headers={SIGNATURE_HEADER: old})
        assert stale.status_code == 401
        # the old form without a time is refused
        bare = "sha256=" + old.split("sha256=")[1]
        assert requests.post(hook.url, data=body, timeout=30,
                             headers={SIGNATURE_HEADER: bare}).status_code == 401
        assert len(hook.received) == 1


@pytest.mark.parametrize("address", [
    "2002:a9fe:a9fe::",           # 6to4 of 169.254.169.254
    "2002:0a00:0001::1",          # 6to4 of 10.0.0.1
    "2002:7f00:0001::",           # 6to4 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",         # NAT64 of 169.254.169.254
    "64:ff9b::10.1.2.3",          # NAT64 of 10.1.2.3
    "64:ff9b:1::c0a8:1",          # local-use NAT64 of 192.168.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
    "::ffff:169.254.169.254",     # IPv4-mapped
    "::169.254.169.254",          # IPv4-compatible
    "::ffff:127.0.0.1",
])
def test_ssrf_filter_sees_ipv4_inside_ipv6(address):
    from emotion_analytics.server.fetch import URLPolicy

    assert not URLPolicy().allows(address)
    assert not URLPolicy(allow_loopback=True).allows(address) or "127.0.0.1" in address \
        or "7f00" in address


def test_public_ipv4_inside_ipv6_is_allowed():
    from emotion_analytics.server.fetch import URLPolicy

    for address in ("2002:5db8:d822::1", "64:ff9b::93.184.216.34", "::ffff:93.184.216.34"):
        assert URLPolicy().allows(address), address


def test_loopback_webhooks_need_the_flag(tmp_path):
    from emotion_analytics.client import WebhookReceiver

    clip = b64(audio_bytes(1.0))
    with WebhookReceiver() as hook:
        with LiveServer(ServerConfig(jobs_db=tmp_path / "a.sqlite3")) as srv:
            r = requests.post(srv.url + V2_ASYNC, json={"content": clip},
                              params={"webhook": hook.url}, timeout=30)
            fault = assert_fault(r, 400, "emotion_analytics.BadWebhook")
            assert "127.0.0.1" in fault["faultstring"]
        cfg = ServerConfig(jobs_db=tmp_path / "b.sqlite3", allow_loopback_webhooks=True)
        with LiveServer(cfg) as srv:
            r = requests.post(srv.url + V2_ASYNC, json={"content": clip},
                              params={"webhook": hook.url, "request_id": "local"}, timeout=30)
            assert r.status_code == 202
            hook.wait("local", timeout=60)


# -- 8. analyze checks its options before any work -----------------------------------------------

@pytest.mark.parametrize("options,message", [
    (["-o", "{tmp}/out.xlsx"], "unknown table extension"),
    (["-o", "/proc/nope/x.csv"], "cannot make its folder"),
    (["--plot", "{tmp}/timeline.docx"], "unknown image extension"),
    (["--window", "0"], "--window must be more than 0"),
    (["--window", "nan"], "--window must be more than 0"),
    (["--hop", "0.0001"], "--hop 0.0001 is too small"),
])
def test_analyze_refuses_bad_options_before_any_work(tmp_path, capsys, options, message):
    from emotion_analytics.cli import main

    for i in range(3):
        (tmp_path / f"a{i}.wav").write_bytes(audio_bytes(2.0, seed=i))
    options = [o.format(tmp=tmp_path) for o in options]
    rc = main(["analyze", str(tmp_path), "-q", *options])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert message in err and err.count(message) == 1, err
    assert "Traceback" not in err and "failed:" not in err


def test_analyze_reports_broken_symlinks_as_skipped(tmp_path, capsys):
    from emotion_analytics.cli import main

    (tmp_path / "good.wav").write_bytes(audio_bytes(3.0, seed=1))
    (tmp_path / "gone.wav").symlink_to(tmp_path / "deleted.wav")
    rc = main(["analyze", str(tmp_path), "-q", "-o", str(tmp_path / "out" / "t.csv")])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert f"skipped: {tmp_path / 'gone.wav'}: a broken symbolic link" in err
    assert (tmp_path / "out" / "t.csv").exists()
