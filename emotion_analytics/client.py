"""HTTP client of a DeepAffects-compatible emotion API: the hosted service or our own server.

`EmotionClient` sends audio the way the hosted service documents it (base64 ``content`` or a
``url``, the ``apikey`` query parameter) and returns the answer JSON. It is also an engine
(``name``, ``labels``, ``analyze(audio, sample_rate)``), so
``emotion_analytics.recognise(path, engine=EmotionClient(...))`` works.

`WebhookReceiver` receives async answers on a local port, for notebooks.

The paths, bodies, fault bodies and webhook signatures come from `emotion_analytics.protocol`,
which the server uses too; this module never imports the server.

Why one module: the client and the receiver are the two ends a user of the API holds (send, then
receive the webhook); both are small classes over `emotion_analytics.protocol`, imported together
by notebooks, and nothing else in the package depends on either.

>>> client = EmotionClient("http://127.0.0.1:8000", api_key="k")
>>> client
EmotionClient(base_url='http://127.0.0.1:8000', api_key='***')
"""

from __future__ import annotations

import base64
import email.utils
import io
import json
import os
import random
import threading
import time
import uuid
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Union
from urllib.parse import quote

import numpy as np
import requests

from . import protocol
from .errors import (
    APIError,
    BadAudioError,
    BadResponseError,
    DuplicateJobError,
    EmotionAnalyticsError,
    JobTimeoutError,
    UsageError,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "EmotionClient",
    "WebhookReceiver",
    "JobTimeoutError",
    "UsageError",
]

#: The hosted service (`emotion_analytics.protocol.HOSTED_URL`).
DEFAULT_BASE_URL = protocol.HOSTED_URL
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_WEBHOOK_BODY = 64 * 1024 * 1024

Source = Union[str, os.PathLike, bytes, bytearray, memoryview]  # noqa: UP007 (py3.10 alias)


def _is_url(source: Any) -> bool:
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


class EmotionClient:
    """Client of the DeepAffects emotion API (hosted, or ``emotion-analytics serve``).

    Parameters
    ----------
    base_url
        ``https://proxy.api.deepaffects.com`` (default) or your server, e.g.
        ``http://127.0.0.1:8000``.
    api_key
        Sent as the ``apikey`` query parameter; ``None`` sends none (a loopback server without
        keys).
    timeout
        Seconds to connect and to wait for an answer: one number or ``(connect, read)``.
    retries
        Retries after a 429, a 5xx or a refused connection, with exponential backoff (a
        ``Retry-After`` header is respected).
    backoff
        First retry delay in seconds (doubled each retry, with jitter, capped at 60 s).
    chunk_seconds
        `analyze` sends longer audio in pieces of this length (the sync limit is about 1 min).

    Examples
    --------
    >>> client = EmotionClient("http://127.0.0.1:8000")
    >>> client.timeout, client.retries
    ((10.0, 300.0), 3)
    """

    name = "deepaffects-api"

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        *,
        timeout: float | tuple[float, float] = (10.0, 300.0),
        retries: int = 3,
        backoff: float = 0.5,
        chunk_seconds: float = 55.0,
    ):
        if not _is_url(base_url):
            raise UsageError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.chunk_seconds = float(chunk_seconds)
        self._session = requests.Session()
        self._labels: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        key = None if self.api_key is None else "***"
        return f"EmotionClient(base_url={self.base_url!r}, api_key={key!r})"

    # -- engine interface ------------------------------------------------------------------
    @property
    def labels(self) -> tuple[str, ...]:
        """The server's labels (from our ``/health``), else the hosted v2 vocabulary."""
        if self._labels is None:
            try:
                resp = self._session.get(self.base_url + protocol.HEALTH_PATH,
                                         timeout=self.timeout)
                labels = tuple(resp.json()["labels"]) if resp.status_code == 200 else ()
            except (requests.RequestException, ValueError, KeyError, TypeError):
                labels = ()
            self._labels = labels or protocol.DEEPAFFECTS_LABELS
        return self._labels

    def analyze(self, audio: np.ndarray, sample_rate: int, **options: Any) -> list[dict]:
        """Engine interface: mono float32 audio -> v2 segments, through the sync endpoint.

        The audio is sent as 16-bit FLAC, in pieces of ``chunk_seconds`` when longer; segment
        times are shifted back onto the whole recording.

        Examples
        --------
        >>> import numpy as np
        >>> EmotionClient("http://127.0.0.1:8000").analyze(np.zeros(0, np.float32), 16000)
        []
        """
        import soundfile as sf

        x = np.asarray(audio, dtype=np.float32)
        if x.ndim != 1:
            raise BadAudioError(f"analyze needs mono audio (1-D), got shape {x.shape}")
        step = max(1, int(self.chunk_seconds * sample_rate))
        segments: list[dict] = []
        for offset in range(0, len(x), step):
            buf = io.BytesIO()
            sf.write(buf, np.clip(x[offset:offset + step], -1.0, 1.0), int(sample_rate),
                     format="FLAC", subtype="PCM_16")
            shift = offset / sample_rate
            for seg in self.recognise(buf.getvalue(), encoding="FLAC", sample_rate=sample_rate):
                seg = dict(seg)
                seg["start"] = round(float(seg["start"]) + shift, 6)
                seg["end"] = round(float(seg["end"]) + shift, 6)
                segments.append(seg)
        return segments

    # -- the API ---------------------------------------------------------------------------
    def recognise(
        self,
        source: Source,
        *,
        version: str = "v2",
        encoding: str | None = None,
        sample_rate: int | None = None,
        language_code: str = "en-US",
    ) -> list:
        """Sync call: send a recording, return the answer JSON.

        Parameters
        ----------
        source
            A path or the bytes of an audio file (URLs go through `submit`: the sync API
            does not take them).
        version
            ``"v2"`` (segments with ``start``/``end``) or ``"v1"`` (one score per emotion).
        encoding, sample_rate
            Hints sent to the server; by default read from the file itself.
        language_code
            ``languageCode`` of the body.

        Returns
        -------
        list
            The answer, e.g. ``[{"emotion": "happy", "start": 0.0, "end": 3.0}, ...]``.

        Raises
        ------
        APIError
            The server answered an error (``status``, ``fault_string``, ``error_code``), or did
            not answer.
        BadAudioError
            The file cannot be read.

        Examples
        --------
        >>> EmotionClient("http://127.0.0.1:8000").recognise("https://example.org/a.wav")
        Traceback (most recent call last):
        ...
        emotion_analytics.errors.UsageError: the sync API does not take URLs...
        """
        if _is_url(source):
            raise UsageError("the sync API does not take URLs: use submit(url, ...) and "
                             "wait(request_id), or download the file and pass its path")
        body, name = self._body(source, encoding, sample_rate, language_code)
        resp = self._send("POST", protocol.recognise_path(version, "sync"), body=body,
                          what=name)
        answer = self._json(resp, name)
        if isinstance(answer, dict) and "segments" in answer:  # the pre-2020-08 v2 wrapper
            answer = answer["segments"]
        if not isinstance(answer, list):
            raise BadResponseError(f"expected a JSON list of emotions, got {type(answer).__name__}",
                                   source=name)
        return answer

    def submit(
        self,
        source: Source,
        *,
        webhook: str | None = None,
        request_id: str | None = None,
        version: str = "v2",
        encoding: str | None = None,
        sample_rate: int | None = None,
        language_code: str = "en-US",
    ) -> dict:
        """Async call: queue a recording (path, bytes or public URL); return the acknowledgement.

        The answer is posted to ``webhook`` (see `WebhookReceiver`) and, on our server, can be
        polled with `wait`. Without a ``request_id`` a UUID4 is made here, so that a retried
        submission cannot queue the job twice (our server accepts the same request sent again
        under its id, once).

        Raises
        ------
        DuplicateJobError
            This API key already has another job with this ``request_id`` (HTTP 409).

        Returns
        -------
        dict
            ``{"request_id": ..., "api": ...}``.

        Examples
        --------
        >>> EmotionClient("http://127.0.0.1:8000").submit(b"", webhook="http://x/hook")
        Traceback (most recent call last):
        ...
        emotion_analytics.errors.BadAudioError: <0 bytes>: no audio...
        """
        if _is_url(source):
            body = protocol.audio_body(url=source, encoding=encoding, sample_rate=sample_rate,
                                       language_code=language_code)
            name = str(source)
        else:
            body, name = self._body(source, encoding, sample_rate, language_code)
        request_id = request_id or str(uuid.uuid4())
        params = {"request_id": request_id}
        if webhook is not None:
            params["webhook"] = webhook
        api = protocol.recognise_path(version, "async")
        try:
            resp = self._send("POST", api, body=body, params=params, what=name)
        except APIError as exc:
            if exc.status == 409:  # the server accepts our own retry: this is another job
                raise DuplicateJobError(
                    f"{name}: the server already has another job with request_id "
                    f"{request_id!r} for this API key ({exc.fault_string}); use another "
                    "request_id, or leave it out") from exc
            raise
        return self._json(resp, name)

    def status(self, request_id: str, *, version: str = "v2") -> dict:
        """A job's state and answer (our server's status extension; see ``docs/api.md``).

        Examples
        --------
        >>> EmotionClient("http://127.0.0.1:8000").status
        <bound method EmotionClient.status of EmotionClient(...)>
        """
        resp = self._send("GET", protocol.status_path(version, quote(request_id, safe="")),
                          what=f"job {request_id}")
        return self._json(resp, f"job {request_id}")

    def wait(self, request_id: str, *, timeout: float = 600.0, poll: float = 0.5,
             version: str = "v2") -> list:
        """Poll `status` until the job is finished; return its answer.

        Raises `APIError` when the job failed (with the job's fault) and `JobTimeoutError`
        when it is still queued or running after ``timeout`` seconds.

        Examples
        --------
        >>> EmotionClient("http://127.0.0.1:8000").wait
        <bound method EmotionClient.wait of EmotionClient(...)>
        """
        deadline = time.monotonic() + timeout
        delay = poll
        while True:
            info = self.status(request_id, version=version)
            state = info.get("state")
            if state == "done":
                return info.get("response")
            if state == "failed":
                text, code = protocol.read_fault(info)
                raise APIError(f"job {request_id} failed: {text} ({code})",
                               status=None, fault_string=text, error_code=code)
            if time.monotonic() + delay > deadline:
                raise JobTimeoutError(
                    f"job {request_id} is still {state} after {timeout:g} s; call wait() again "
                    "later, or check the server's load")
            time.sleep(delay)
            delay = min(delay * 1.5, 5.0)

    def health(self) -> dict:
        """Our server's ``GET /health`` answer.

        Examples
        --------
        >>> EmotionClient("http://127.0.0.1:8000").health
        <bound method EmotionClient.health of EmotionClient(...)>
        """
        return self._json(self._send("GET", protocol.HEALTH_PATH, what="health"), "health")

    def recognise_many(
        self,
        paths: Iterable[str | os.PathLike],
        *,
        max_workers: int = 4,
        progress: bool = True,
        version: str = "v2",
    ):
        """Recognise many files with at most ``max_workers`` requests in flight; one table.

        A file that fails does not stop the others: the failures are warned about and kept in
        ``df.attrs["failures"]`` (``{file: message}``).

        Returns
        -------
        pandas.DataFrame
            The tidy segment table (``file`` is each path as given).

        Examples
        --------
        >>> df = EmotionClient("http://127.0.0.1:8000").recognise_many([], progress=False)
        >>> len(df), df.attrs["failures"]
        (0, {})
        """
        import pandas as pd
        from tqdm.auto import tqdm

        from .responses import to_frame
        from .schema import empty_frame, normalize

        paths = [os.fspath(p) for p in paths]
        answers: dict[str, Any] = {}
        failures: dict[str, str] = {}
        with ThreadPoolExecutor(max(1, int(max_workers))) as pool, \
                tqdm(total=len(paths), disable=not progress, unit="file",
                     desc="recognise") as bar:
            futures = {pool.submit(self._recognise_one, p, version): p for p in paths}
            for future in as_completed(futures):
                path = futures[future]
                try:
                    answers[path] = future.result()
                except EmotionAnalyticsError as exc:
                    failures[path] = str(exc)
                bar.update(1)
        frames = [to_frame(answers[p][0], file=p, clip_duration=answers[p][1])
                  for p in paths if p in answers]
        df = normalize(pd.concat(frames, ignore_index=True)) if frames else empty_frame()
        df.attrs["failures"] = failures
        if failures:
            first = next(iter(failures.items()))
            warnings.warn(f"{len(failures)} of {len(paths)} files failed (see "
                          f"df.attrs['failures']); first: {first[0]}: {first[1]}", stacklevel=2)
        return df

    def _recognise_one(self, path: str, version: str) -> tuple[list, float | None]:
        answer = self.recognise(path, version=version)
        duration = None
        if version == "v1":
            from .audio import probe

            duration = float(probe(path).duration)
        return answer, duration

    # -- plumbing --------------------------------------------------------------------------
    def _body(self, source, encoding, sample_rate, language_code) -> tuple[dict, str]:
        from .audio import probe, source_name

        name = source_name(source)
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise BadAudioError(f"{name}: cannot read the file ({exc.strerror}); check "
                                    "the path") from exc
        elif isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        else:
            raise UsageError(f"cannot send a {type(source).__name__}: pass a path, bytes, or "
                             "(to submit) a URL")
        if not data:
            raise BadAudioError(f"{name}: no audio: the file is empty")
        if encoding is None or sample_rate is None:
            try:
                info = probe(data)
            except BadAudioError:  # let the server judge formats this package cannot read
                info = None
            if info is not None:
                encoding = encoding or info.encoding
                sample_rate = sample_rate or int(info.sample_rate)
        body = protocol.audio_body(content=base64.b64encode(data).decode("ascii"),
                                   encoding=encoding, sample_rate=sample_rate,
                                   language_code=language_code)
        return body, name

    def _delay(self, attempt: int, resp: requests.Response | None) -> float:
        retry_after = resp.headers.get("Retry-After") if resp is not None else None
        if retry_after:
            if retry_after.strip().isdigit():
                return min(float(retry_after), 60.0)
            try:
                when = email.utils.parsedate_to_datetime(retry_after).timestamp()
                return min(max(0.0, when - time.time()), 60.0)
            except (TypeError, ValueError):
                pass
        return min(self.backoff * 2 ** attempt * (1 + 0.25 * random.random()), 60.0)

    def _send(self, method: str, path: str, *, body: dict | None = None,
              params: dict | None = None, what: str) -> requests.Response:
        url = self.base_url + path
        params = dict(params or {})
        if self.api_key is not None:
            params[protocol.API_KEY_PARAM] = self.api_key
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        for attempt in range(self.retries + 1):
            resp = None
            try:
                resp = self._session.request(method, url, params=params, data=data,
                                             headers=headers, timeout=self.timeout)
            except requests.ConnectionError as exc:
                if attempt >= self.retries:
                    raise APIError(f"{what}: no answer from {self.base_url} after "
                                   f"{attempt + 1} tries: {exc}") from exc
            except requests.RequestException as exc:  # timeouts: the server may be busy on it
                raise APIError(f"{what}: {type(exc).__name__} talking to {self.base_url}: "
                               f"{exc}; raise the client's timeout for long audio") from exc
            else:
                if resp.status_code not in _RETRY_STATUSES or attempt >= self.retries:
                    break
            time.sleep(self._delay(attempt, resp))
        if resp.status_code >= 400:
            try:
                payload = resp.json()
            except ValueError:
                payload = None
            text, code = protocol.read_fault(payload)
            text = text or (resp.text[:200].strip() or resp.reason)
            raise APIError(f"{what}: HTTP {resp.status_code}: {text}"
                           + (f" ({code})" if code else ""),
                           status=resp.status_code, fault_string=text, error_code=code)
        return resp

    @staticmethod
    def _json(resp: requests.Response, what: str) -> Any:
        try:
            return resp.json()
        except ValueError as exc:
            raise BadResponseError(f"the server answered HTTP {resp.status_code} with a body "
                                   f"that is not JSON: {resp.text[:100]!r}", source=what) from exc


class WebhookReceiver:
    """Receive async answers on a local port (for notebooks and tests).

    Parameters
    ----------
    host, port
        Where to listen (port 0 picks a free one).
    secret
        When given, posts without a valid ``X-Emotion-Signature`` are refused with 401: a wrong
        signature, or one signed more than ``tolerance`` seconds away from now (stale). A post
        whose signature was already accepted (a replay) is refused with 409.
    tolerance
        Seconds a signature stays valid (`emotion_analytics.protocol.SIGNATURE_TOLERANCE`).

    Attributes
    ----------
    results : dict
        ``request_id -> response`` of every accepted post.

    Examples
    --------
    >>> import requests
    >>> with WebhookReceiver() as hook:
    ...     _ = requests.post(hook.url, json={"request_id": "r1", "response": []}, timeout=5)
    ...     hook.wait("r1", timeout=5)
    []
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, secret: str | None = None,
                 tolerance: float = protocol.SIGNATURE_TOLERANCE):
        self.secret = secret
        self.tolerance = tolerance
        self._seen: dict[str, float] = {}  # accepted signatures -> their time (replays)
        self.results: dict[str, Any] = {}
        self.received: list[dict] = []  # every accepted payload, duplicates included
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                if length > _MAX_WEBHOOK_BODY:
                    return self._answer(413)
                body = self.rfile.read(length)
                self._answer(receiver._handle(body, dict(self.headers)))

            def _answer(self, status: int):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # keep notebooks quiet
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="webhook-receiver")
        self._thread.start()

    @property
    def url(self) -> str:
        """The URL to pass as ``webhook``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/webhook"

    def _handle(self, body: bytes, headers: dict[str, str]) -> int:
        if self.secret is not None:
            header = next((v for k, v in headers.items() if k.lower() ==
                           protocol.SIGNATURE_HEADER.lower()), None)
            if not protocol.verify(body, self.secret, header, tolerance=self.tolerance):
                return 401
            signature = header.strip()
            with self._cond:
                if signature in self._seen:
                    return 409  # this very post was accepted before: a replay
        try:
            payload = json.loads(body)
            request_id = str(payload["request_id"])
        except (ValueError, KeyError, TypeError):
            return 400
        status = self.accept(payload)
        if 200 <= status < 300:
            with self._cond:
                if self.secret is not None:
                    if signature in self._seen:
                        return 409
                    now = time.time()
                    self._seen = {k: t for k, t in self._seen.items()
                                  if now - t <= 2 * self.tolerance}
                    self._seen[signature] = protocol.signed_at(signature) or now
                self.results[request_id] = payload.get("response")
                self.received.append(payload)
                self._cond.notify_all()
        return status

    def accept(self, payload: dict) -> int:
        """The HTTP status answered to a valid post (200); override to simulate failures."""
        return 200

    def wait(self, request_id: str, timeout: float = 300.0) -> Any:
        """Block until the answer for ``request_id`` arrives; return its ``response``.

        Raises `JobTimeoutError` after ``timeout`` seconds.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: request_id in self.results, timeout):
                raise JobTimeoutError(f"no webhook for request_id {request_id!r} after "
                                      f"{timeout:g} s")
            return self.results[request_id]

    def close(self) -> None:
        """Stop listening."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
