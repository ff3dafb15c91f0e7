"""Webhook delivery: POST ``{"request_id", "response"}``, signed, retried with backoff.

A delivery counts as done when the receiver answers any 2xx. Anything else (another status,
a refused connection, a timeout) is retried ``retries`` times, waiting ``retry_delay`` seconds
and then twice as long each time; the schedule is stored with the job, so it goes on after a
restart. Each post has ``timeout`` seconds in all (`emotion_analytics.server.fetch.deadline`),
and at most ``per_host`` posts go to one host at a time, so a slow receiver delays only its own
deliveries. Each delivery is claimed in the store before it is posted (`claim_delivery`: a lease
of ``timeout`` plus the store's ``lease_seconds``), so when several servers share a job store
one of them posts it. Delivery is *at least once*: a server killed between the receiver's 200
and the store recording it has its claim pass to another server, which posts that answer again
(receivers dedupe on ``request_id``).

Each post carries ``X-Emotion-Request-Id`` and, when the server has a secret,
``X-Emotion-Signature: t=<unix seconds>,sha256=<hex HMAC-SHA256 of "<t>." and the raw body>``
(signed again at each attempt). The payload, the headers and the signature are part of the wire
contract (`emotion_analytics.protocol`), whose `sign` and `verify` this module re-exports.

>>> sig = sign(b'{"request_id": "r1"}', "s3cret")
>>> sig.startswith("t="), verify(b'{"request_id": "r1"}', "s3cret", sig)
(True, True)
>>> verify(b'{"request_id": "r2"}', "s3cret", sig)
False
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import requests

from ..protocol import (
    REQUEST_ID_HEADER,
    SIGNATURE_HEADER,
    fault_body,
    sign,
    verify,
    webhook_payload,
)
from .fetch import UnsafeURLError, URLPolicy, check_url, deadline, guarded_session
from .jobs import BaseJobStore, Job

__all__ = [
    "SIGNATURE_HEADER",
    "REQUEST_ID_HEADER",
    "sign",
    "verify",
    "webhook_body",
    "WebhookDeliverer",
]

log = logging.getLogger("emotion_analytics.server.webhooks")


def webhook_body(job: Job) -> bytes:
    """The JSON posted for a finished job: its answer, or ``{"fault": ...}`` when it failed.

    >>> from emotion_analytics.server.jobs import Job
    >>> webhook_body(Job("r1", "/api", "v2", result=[]))
    b'{"request_id": "r1", "response": []}'
    """
    response: Any = job.result
    if job.error is not None:
        response = fault_body(job.error.get("faultstring"), job.error.get("errorcode"))
    return json.dumps(webhook_payload(job.request_id, response)).encode("utf-8")


def _host(url: str | None) -> str:
    try:
        return (urlsplit(url or "").hostname or "").lower()
    except ValueError:
        return ""


class WebhookDeliverer:
    """Background threads that post finished jobs to their webhooks.

    Parameters
    ----------
    store
        The job store the due deliveries are read from and recorded in.
    policy
        Which addresses webhooks may point at.
    secret
        Signing secret (``None``: no signature header).
    retries, retry_delay, timeout
        Retry count after the first attempt, first backoff in seconds, and the time each post
        has in all (connecting, sending and reading the answer).
    threads
        Posts in flight at the same time.
    per_host
        Posts in flight to one host name at the same time.
    """

    def __init__(
        self,
        store: BaseJobStore,
        *,
        policy: URLPolicy,
        secret: str | None = None,
        retries: int = 5,
        retry_delay: float = 2.0,
        timeout: float = 10.0,
        threads: int = 8,
        per_host: int = 2,
    ):
        self.store = store
        self.policy = policy
        self.secret = secret
        self.retries = retries
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.per_host = max(1, per_host)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="webhook")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._in_flight: set[Any] = set()
        self._hosts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="webhook-scheduler", daemon=True)

    def start(self) -> None:
        """Start the scheduler thread."""
        self._thread.start()

    def wake(self) -> None:
        """Look for due deliveries now (called when a job finishes)."""
        self._wake.set()

    def stop(self, *, timeout: float = 5.0) -> None:
        """Stop scheduling; posts in flight get ``timeout`` seconds, the rest stay pending."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            waiting = False  # due, but their host has its share of posts in flight
            try:
                for job in self.store.due_deliveries(limit=512):
                    host = _host(job.webhook)
                    with self._lock:
                        if job.key in self._in_flight:
                            continue
                        if self._hosts[host] >= self.per_host:
                            waiting = True
                            continue
                        self._in_flight.add(job.key)
                        self._hosts[host] += 1
                    self._pool.submit(self._deliver_guarded, job, host)
                next_at = self.store.next_delivery_at()
            except Exception:  # the store closed under us at shutdown, or a bug: keep going
                log.exception("webhook scheduler error")
                next_at = None
            wait = 1.0 if next_at is None else min(1.0, max(0.01, next_at - time.time()))
            if waiting:  # a post finishing wakes the loop
                wait = max(wait, 0.2)
            self._wake.wait(wait)
            self._wake.clear()

    def _deliver_guarded(self, job: Job, host: str) -> None:
        try:
            # claimed here, when a thread is free to post it: a claim never waits in the pool
            claimed = self.store.claim_delivery(
                job, lease=self.timeout + self.store.lease_seconds)
            if claimed is not None:  # else another server holds it, or it changed
                self.deliver(claimed)
        except Exception:
            log.exception("webhook delivery error", extra={"request_id": job.request_id})
        finally:
            with self._lock:
                self._in_flight.discard(job.key)
                self._hosts[host] -= 1
                if self._hosts[host] <= 0:
                    del self._hosts[host]
            self._wake.set()

    def deliver(self, job: Job) -> bool:
        """Post one job's answer once and record the outcome; True when the receiver took it."""
        body = webhook_body(job)
        headers = {"Content-Type": "application/json", REQUEST_ID_HEADER: job.request_id}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        error = None
        session = guarded_session(self.policy)  # fresh connections: each is under the deadline
        try:
            with deadline(self.timeout) as limit:
                check_url(job.webhook or "", self.policy, what="webhook")
                try:
                    resp = session.post(job.webhook, data=body, headers=headers,
                                        timeout=limit.remaining(), allow_redirects=False)
                except requests.RequestException:
                    if limit.expired:
                        raise requests.Timeout(
                            f"the webhook took longer than {self.timeout:g} s in all") from None
                    raise
            if 200 <= resp.status_code < 300:
                if self.store.delivery_done(job):
                    log.info("webhook delivered", extra={"request_id": job.request_id,
                                                         "attempt": job.attempts + 1})
                else:  # the claim passed (this post outlived its lease): posted twice
                    log.warning("webhook delivered after its claim passed", extra={
                        "request_id": job.request_id, "attempt": job.attempts + 1})
                return True
            error = f"the webhook answered HTTP {resp.status_code}"
        except (requests.RequestException, UnsafeURLError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        finally:
            session.close()
        attempt = job.attempts  # failed attempts before this one
        if attempt >= self.retries:
            retry_at = None
        elif self._stop.is_set():  # shutting down: due again at the next start
            retry_at = time.time()
        else:
            retry_at = time.time() + self.retry_delay * 2 ** attempt
        self.store.delivery_failed(job, error, retry_at=retry_at)
        log.warning("webhook delivery failed", extra={
            "request_id": job.request_id, "attempt": attempt + 1, "error": error,
            "gave_up": retry_at is None})
        return False
