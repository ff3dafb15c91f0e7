"""What a running server holds and does: settings, engine, job store, workers, deliverer.

`ServerState` checks API keys, analyses sync requests, queues async jobs and answers their
status; every refusal is a `~emotion_analytics.errors.Fault` (answered as fault JSON by
`emotion_analytics.server.handlers`). FastAPI is not imported here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import math
import re
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from ..errors import (
    AudioTooLongError,
    BadAudioError,
    DuplicateJobError,
    Fault,
    FetchError,
    JobFailure,
    QueueFullError,
    UnsafeURLError,
)
from ..protocol import fault_body, recognise_path
from .config import ServerConfig
from .fetch import URLPolicy, check_url, fetch
from .jobs import (
    BaseJobStore,
    Job,
    is_postgres_url,
    key_fingerprint,
    lock_database,
    new_job,
    open_store,
)
from .models import AudioBody
from .runner import JobRunner
from .webhooks import WebhookDeliverer

__all__ = ["ServerState", "decode_content", "REQUEST_ID_PATTERN", "job_fingerprint"]

log = logging.getLogger("emotion_analytics.server")

#: A client's ``request_id``: safe in a URL path segment as it is.
REQUEST_ID_PATTERN = r"[A-Za-z0-9._-]{1,128}"
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)


_SPACE = re.compile(r"\s")
#: Seconds a client is asked to wait (``Retry-After``) when the queue is full.
_RETRY_AFTER = 30


def job_fingerprint(api: str, audio: bytes | None, url: str | None, webhook: str | None,
                    options: dict[str, Any]) -> str:
    """What makes two submissions the same request (a retry is accepted, not refused).

    >>> job_fingerprint("/a", b"x", None, None, {}) == job_fingerprint("/a", b"x", None, None, {})
    True
    >>> job_fingerprint("/a", b"x", None, None, {}) == job_fingerprint("/a", b"y", None, None, {})
    False
    """
    h = hashlib.sha256(json.dumps([api, url, webhook, options], sort_keys=True).encode())
    h.update(audio or b"")
    return h.hexdigest()


def decode_content(content: str) -> bytes:
    """Decode base64 audio (standard or URL-safe alphabet, line breaks and a data: prefix allowed).

    >>> decode_content("UklGRg==")
    b'RIFF'
    >>> decode_content("not base64!")
    Traceback (most recent call last):
    ...
    emotion_analytics.errors.Fault: content is not valid base64 ...
    """
    text = content.strip()
    if text.startswith("data:") and "," in text[:200]:
        text = text.split(",", 1)[1]
    if _SPACE.search(text):  # line breaks: only then a copy without them
        text = "".join(text.split())
    try:
        if "-" in text or "_" in text:
            data = base64.urlsafe_b64decode(text.encode("ascii"))
        else:
            data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Fault(400, f"content is not valid base64 ({exc}); send the audio file's bytes "
                         "encoded with base64", "emotion_analytics.BadContent") from exc
    if not data:
        raise Fault(400, "content is empty: send the audio file's bytes, base64-encoded",
                    "emotion_analytics.EmptyAudio")
    return data


class ServerState:
    """Everything a running server holds: settings, engine, job store, workers, deliverer."""

    def __init__(self, config: ServerConfig, engine: Any):
        self.config = config
        self.engine = engine
        self.engine_name = str(getattr(engine, "name", engine))
        self.engine_labels = [str(x) for x in getattr(engine, "labels", ()) or ()]
        self.url_policy = URLPolicy(allow_private=config.allow_private_urls)
        self.webhook_policy = URLPolicy(allow_private=config.allow_private_urls,
                                        allow_loopback=config.allow_loopback_webhooks)
        self._keys = [k.encode("utf-8") for k in config.api_keys]
        self._sync_slots = threading.BoundedSemaphore(config.workers)
        self.store: BaseJobStore | None = None
        self.runner: JobRunner | None = None
        self.deliverer: WebhookDeliverer | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._lock_file = None

    # lifecycle
    def start(self) -> None:
        path = self.config.jobs_db
        if path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="emotion-jobs-")
            path = Path(self._tmp.name) / "jobs.sqlite3"
            log.warning("no --jobs-db given: async jobs are kept in a temporary file and lost "
                        "when the server stops", extra={"jobs_db": str(path)})
        if not is_postgres_url(path):  # a SQLite file has one owner: refuse a second
            self._lock_file = lock_database(path)
        self.store = open_store(path, lease_seconds=self.config.lease_seconds)
        # SQLite: every job left running; PostgreSQL: none (other servers' jobs come back
        # when their leases pass)
        requeued = self.store.requeue_running()
        self.deliverer = WebhookDeliverer(
            self.store, policy=self.webhook_policy, secret=self.config.webhook_secret,
            retries=self.config.webhook_retries, retry_delay=self.config.webhook_retry_delay,
            timeout=self.config.webhook_timeout, per_host=self.config.webhooks_per_host)
        self.runner = JobRunner(self.store, self.process_job, workers=self.config.workers,
                                on_finished=self.deliverer.wake)
        self.runner.start()
        self.deliverer.start()
        self._janitor_stop = threading.Event()
        self._janitor = threading.Thread(target=self._purge_loop, name="job-janitor",
                                         daemon=True)
        self._janitor.start()
        log.info("server started", extra={
            "jobs_db": self.store.describe(), "owner": self.store.owner,
            "engine": self.engine_name, "requeued": requeued,
            "counts": self.store.counts(), "auth": bool(self._keys)})

    def _purge_loop(self) -> None:
        """Delete finished jobs older than ``keep_results`` and compact the database."""
        keep = self.config.keep_results
        every = min(60.0, max(0.05, keep / 4))
        while not self._janitor_stop.wait(every):
            try:
                n = self.store.purge(older_than=keep)
            except Exception:  # the store closed at shutdown, or a bug: keep the server up
                log.exception("purging old jobs failed")
                continue
            if n:
                log.info("old jobs deleted", extra={"jobs": n, "keep_results_s": keep})

    def stop(self) -> None:
        if getattr(self, "_janitor", None) is not None:
            self._janitor_stop.set()
            self._janitor.join(10)
        if self.runner is not None:
            self.runner.stop(grace=self.config.shutdown_grace)
        if self.deliverer is not None:
            self.deliverer.stop(timeout=self.config.webhook_timeout)
        if self.store is not None:
            log.info("server stopped", extra={"counts": self.store.counts()})
            self.store.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        if self._tmp is not None:
            self._tmp.cleanup()

    # auth
    def check_key(self, apikey: str | None) -> None:
        if not self._keys:
            return
        if not apikey:
            raise Fault(401, "Missing ApiKey: add ?apikey=<KEY> to the URL",
                        "oauth.v2.InvalidApiKey")
        given = apikey.encode("utf-8")
        ok = False
        for key in self._keys:  # compare with every key: the time does not say which matched
            ok |= hmac.compare_digest(key, given)
        if not ok:
            raise Fault(401, "Invalid ApiKey", "oauth.v2.InvalidApiKey")

    # the work
    def analyze(self, data: Any, version: str, *, dimensions: bool = False) -> list[dict]:
        from .. import recognition
        from ..schema import DIMENSIONS

        answer = recognition.answer_v2 if version == "v2" else recognition.answer_v1
        # a cut-off upload is an error here, not a silently shorter answer
        result = answer(data, engine=self.engine, truncated="error", labels=self.config.labels)
        if not dimensions:  # the hosted answer's shape unless a client asks (?dimensions=true)
            result = [{k: v for k, v in seg.items() if k not in DIMENSIONS} for seg in result]
        return result

    @staticmethod
    def check_dimensions(version: str, dimensions: bool) -> None:
        if dimensions and version != "v2":
            raise Fault(400, "dimensions=true is for the v2 answers (segments); the v1 answer "
                             "is one score per emotion for the clip: use the v2 path",
                        "emotion_analytics.BadRequest")

    def probe_duration(self, data: bytes) -> float:
        """The duration the header states (NaN when it does not say); 400 for non-audio.

        Only ever used to refuse early: the limits are enforced on the decoded audio.
        """
        from ..audio import probe

        try:
            return float(probe(data).duration)
        except BadAudioError as exc:
            raise Fault(400, f"content is not audio this server can read: {exc}",
                        "emotion_analytics.BadAudio") from exc

    @staticmethod
    def too_long(limit: float, what: str, hint: str, stated: float | None = None) -> Fault:
        said = f"the file's header says {stated:.1f} s" if stated is not None else \
            "decoding passed it"
        return Fault(413, f"the audio is longer than the {what} limit of {limit:g} s ({said}); "
                          f"{hint}", "emotion_analytics.AudioTooLong")

    def recognise_sync(self, body: AudioBody, version: str, *,
                       dimensions: bool = False) -> list[dict]:
        self.check_dimensions(version, dimensions)
        if body.url is not None:
            detail = " (and content was sent too: send exactly one)" if body.content else ""
            raise Fault(400, "url is supported by the async endpoint only: send the audio "
                             f"base64-encoded in content, or POST to the async path{detail}",
                        "emotion_analytics.BadRequest")
        if body.content is None:
            raise Fault(400, "the body needs content: the audio file, base64-encoded",
                        "emotion_analytics.BadRequest")
        from ..audio import decode_limit

        data = decode_content(body.content)
        limit = self.config.max_sync_seconds
        hint = f"use the async endpoint {recognise_path(version, 'async')}"
        # the parallel-analysis limit covers reading the file too; the audio is decoded as a
        # stream that stops as soon as it passes the limit (the header is never trusted)
        with self._sync_slots:
            stated = self.probe_duration(data)
            if math.isfinite(stated) and stated > limit:
                raise self.too_long(limit, "sync", hint, stated)
            try:
                with decode_limit(limit):
                    return self.analyze(data, version, dimensions=dimensions)
            except AudioTooLongError as exc:
                raise self.too_long(limit, "sync", hint) from exc
            except BadAudioError as exc:
                raise Fault(400, f"the audio cannot be analysed: {exc}",
                            "emotion_analytics.BadAudio") from exc

    def submit(self, body: AudioBody, *, version: str, api: str, webhook: str | None,
               request_id: str | None, apikey: str | None,
               dimensions: bool = False) -> dict[str, str]:
        self.check_dimensions(version, dimensions)
        if (body.content is None) == (body.url is None):
            raise Fault(400, "send exactly one of content (base64 audio) and url; "
                             + ("both were sent" if body.content is not None else
                                "neither was sent"), "emotion_analytics.BadRequest")
        if request_id is not None and (not _REQUEST_ID.fullmatch(request_id)
                                       or request_id in (".", "..")):
            raise Fault(400, f"request_id must be 1 to 128 letters, digits, '.', '_' or '-' "
                             f"(and not '.' or '..'), got {request_id[:140]!r}; leave it out "
                             "to get a fresh one", "emotion_analytics.BadRequestId")
        if webhook is not None:
            try:
                check_url(webhook, self.webhook_policy, what="webhook")
            except UnsafeURLError as exc:
                raise Fault(400, str(exc), "emotion_analytics.BadWebhook") from exc
        data = None
        if body.content is not None:
            data = decode_content(body.content)
            stated = self.probe_duration(data)
            limit = self.config.max_async_seconds
            if math.isfinite(stated) and stated > limit:
                raise self.too_long(limit, "async", "split the recording", stated)
        else:
            try:
                check_url(body.url, self.url_policy, what="url")
            except UnsafeURLError as exc:
                raise Fault(400, str(exc), "emotion_analytics.BadUrl") from exc
        options = {"encoding": body.encoding, "sampleRate": body.sampleRate,
                   "languageCode": body.languageCode, "dimensions": dimensions}
        job = new_job(request_id or str(uuid.uuid4()), api=api, version=version, audio=data,
                      url=body.url, webhook=webhook, key_id=key_fingerprint(apikey),
                      options=options,
                      fingerprint=job_fingerprint(api, data, body.url, webhook, options))
        try:
            self.store.add(job, max_queued=self.config.max_queued)
        except DuplicateJobError as exc:
            same = self.store.get(job.request_id, key_id=job.key_id)
            if same is not None and same.fingerprint == job.fingerprint:
                # the same request again (a client retrying after a lost answer): accepted
                return {"request_id": job.request_id, "api": api}
            raise Fault(409, str(exc), "emotion_analytics.DuplicateRequestId") from exc
        except QueueFullError as exc:
            fault = Fault(429, f"the queue of async jobs is full ({exc}); try again later",
                          "emotion_analytics.QueueFull")
            fault.headers = {"Retry-After": str(_RETRY_AFTER)}
            raise fault from exc
        self.runner.notify()
        log.info("job queued", extra={"request_id": job.request_id, "api": api,
                                      "bytes": len(data) if data else None,
                                      "webhook": webhook is not None})
        return {"request_id": job.request_id, "api": api}

    def process_job(self, job: Job) -> list[dict]:
        data = job.audio
        if data is None:
            try:
                data = fetch(job.url, self.url_policy, max_bytes=self.config.max_fetch_bytes,
                             timeout=self.config.fetch_timeout)
            except (FetchError, UnsafeURLError) as exc:
                raise JobFailure(str(exc), "emotion_analytics.FetchFailed") from exc
        from ..audio import decode_limit

        limit = self.config.max_async_seconds
        try:
            with decode_limit(limit):
                result = self.analyze(data, job.version,
                                      dimensions=bool(job.options.get("dimensions", False)))
        except AudioTooLongError as exc:
            raise JobFailure(self.too_long(limit, "async", "split the recording").fault_string,
                             "emotion_analytics.AudioTooLong") from exc
        except BadAudioError as exc:
            raise JobFailure(f"the audio cannot be analysed: {exc}",
                             "emotion_analytics.BadAudio") from exc
        size = len(json.dumps(result))
        if size > self.config.max_result_bytes:
            raise JobFailure(f"the answer would be {size} bytes, more than this server's limit "
                             f"of {self.config.max_result_bytes} bytes; split the recording",
                             "emotion_analytics.ResultTooLarge")
        return result

    def status(self, request_id: str, *, apikey: str | None) -> dict[str, Any]:
        # a job is the key's own: made without a key, it is not readable with one
        job = self.store.get(request_id, key_id=key_fingerprint(apikey))
        if job is None:
            raise Fault(404, f"no job with request_id {request_id!r} (jobs are visible to the "
                             "API key that submitted them)", "emotion_analytics.UnknownRequestId")
        fault = None
        if job.error is not None:
            fault = fault_body(job.error.get("faultstring"), job.error.get("errorcode"))["fault"]
        return {"request_id": job.request_id, "api": job.api, "state": job.state,
                "delivery": job.delivery, "delivery_attempts": job.attempts,
                "delivery_error": job.delivery_error, "response": job.result, "fault": fault,
                "created": job.created, "updated": job.updated}
