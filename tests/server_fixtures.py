"""Helpers for the server and client tests: real servers on loopback sockets, test audio.

`LiveServer` runs the app with uvicorn in a thread on a real socket; `ServerProcess` runs
``emotion-analytics serve`` in a subprocess (for kill/restart tests). Audio is synthesised
here, deterministically, so the tests need no data files.
"""

from __future__ import annotations

import functools
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import requests
import soundfile as sf
import soxr

from emotion_analytics.server.config import ServerConfig

REPO = Path(__file__).resolve().parents[1]
V2_SYNC = "/audio/generic/api/v2/sync/recognise_emotion"
V2_ASYNC = "/audio/generic/api/v2/async/recognise_emotion"
V1_SYNC = "/audio/generic/api/v1/sync/recognise_emotion"
V1_ASYNC = "/audio/generic/api/v1/async/recognise_emotion"


@functools.lru_cache(maxsize=4)
def _voices(rate: int) -> np.ndarray:
    """The sample conversation (real EmoDB voices, data/conversation.wav) at ``rate``, mono."""
    x, native = sf.read(REPO / "data" / "conversation.wav", dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    return x if native == rate else soxr.resample(x, native, rate).astype(np.float32)


def speechlike(seconds: float, rate: int = 16000, *, seed: int = 0) -> np.ndarray:
    """``seconds`` of real speech (the sample conversation, repeated as needed), float32.

    ``seed`` picks where in the conversation the piece starts, so that two seeds give
    different audio.
    """
    voices = _voices(rate)
    n = int(round(seconds * rate))
    start = (seed * 7 * rate) % len(voices)
    reps = -(-(start + n) // len(voices))
    return np.tile(voices, reps)[start:start + n].copy()


def audio_bytes(seconds: float, rate: int = 16000, *, fmt: str = "WAV", seed: int = 0,
                channels: int = 1) -> bytes:
    """An encoded test recording (WAV or FLAC)."""
    x = speechlike(seconds, rate, seed=seed)
    if channels > 1:
        x = np.stack([x] * channels, axis=1)
    buf = io.BytesIO()
    sf.write(buf, x, rate, format=fmt, subtype="PCM_16")
    return buf.getvalue()


def three_hour_wav() -> bytes:
    """A real 3-hour WAV that is small: 1 sample per second."""
    buf = io.BytesIO()
    sf.write(buf, np.zeros(3 * 3600, dtype=np.int16), 1, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The app served by uvicorn in a thread, on a real loopback socket.

    >>> with LiveServer(ServerConfig(jobs_db=tmp / "jobs.sqlite3")) as srv:  # doctest: +SKIP
    ...     requests.get(srv.url + "/health")
    """

    def __init__(self, config: ServerConfig | None = None, *, engine=None):
        self.config = config or ServerConfig()
        self.engine = engine

    def __enter__(self) -> LiveServer:
        import uvicorn

        from emotion_analytics.server.app import create_app

        self.app = create_app(self.config, engine=self.engine)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.config.host, 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{self.config.host}:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(
            self.app, log_config=None, access_log=False, lifespan="on", log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    @property
    def state(self):
        return self.app.state.server

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(60)
        self.sock.close()


class ServerProcess:
    """``python -m emotion_analytics.cli serve`` in a subprocess (killable)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, port: int | None = None,
                 log: Path | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [sys.executable, "-m", "emotion_analytics.cli", "serve", "--host",
                     "127.0.0.1", "--port", str(self.port), *args]
        self.env = {**os.environ, **(env or {})}
        self.log = log

    def start(self, timeout: float = 60.0) -> ServerProcess:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(self.args, cwd=REPO, env=self.env, stdout=out,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: "
                                   + (self.log.read_text()[-2000:] if self.log else ""))
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError("server did not come up")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM: graceful shutdown."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


def assert_fault(resp: requests.Response, status: int, code: str | None = None) -> dict:
    """The answer is ``status`` with the documented fault JSON (and ``code`` when given)."""
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    assert resp.headers["content-type"].startswith("application/json")
    fault = resp.json()["fault"]
    assert isinstance(fault["faultstring"], str) and fault["faultstring"]
    assert "Traceback" not in fault["faultstring"]
    if code is not None:
        assert fault["detail"]["errorcode"] == code, fault
    return fault
