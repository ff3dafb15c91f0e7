"""What a job is, and the job store's SQL, written once for SQLite and PostgreSQL.

`BaseJobStore` holds every query; a database gives it three things: a transaction
(``_tx``), a single statement (``_one``) and a few words of its dialect (column types, how a
claim locks the row it reads, how an insert returns its id). The SQL is written with ``?``
placeholders; PostgreSQL's driver gets them as ``%s``.

Claims are leases. `BaseJobStore.claim` takes the oldest queued job, or a running job whose
lease passed (its server died), in one transaction, and writes who holds it (``claimed_by``,
the store's `BaseJobStore.owner`) and until when (``lease_until``); the runner renews the
lease of the jobs it is running (`BaseJobStore.renew_leases`). A result is recorded only by the
claim that is still current (same ``claimed_by`` and ``runs``): a server that lost its lease
cannot overwrite the run that replaced it. Webhook deliveries are claimed the same way
(``delivery_by``, ``delivery_lease_until``; `BaseJobStore.claim_delivery`).

>>> job = new_job("abc", api="/x", version="v2", audio=b"RIFF")
>>> job.state, job.delivery, job.claimed_by
('queued', 'none', None)
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Union

from ...errors import DuplicateJobError, QueueFullError

__all__ = ["Job", "BaseJobStore", "new_job", "key_fingerprint", "MAX_RUNS", "DEFAULT_LEASE",
           "schema", "LEASE_COLUMNS"]

#: A job that was running when its server died this many times is failed, not run again:
#: it may be what kills the server.
MAX_RUNS = 3
#: Seconds a claim lasts unless renewed (``serve --lease-seconds``).
DEFAULT_LEASE = 30.0

_COLUMNS = """
    id           {serial},
    request_id   TEXT NOT NULL,
    key_id       TEXT NOT NULL DEFAULT '',
    api          TEXT NOT NULL,
    version      TEXT NOT NULL,
    state        TEXT NOT NULL,
    audio        {blob},
    url          TEXT,
    webhook      TEXT,
    options      TEXT NOT NULL,
    fingerprint  TEXT,
    result       TEXT,
    error        TEXT,
    delivery     TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt {real},
    delivery_error TEXT,
    runs         INTEGER NOT NULL DEFAULT 0,
    created      {real} NOT NULL,
    updated      {real} NOT NULL,
    claimed_by   TEXT,
    lease_until  {real},
    delivery_by  TEXT,
    delivery_lease_until {real},
    UNIQUE (key_id, request_id)
"""
#: Columns added with leases (a file written before them gets them at open).
LEASE_COLUMNS = {"claimed_by": "TEXT", "lease_until": "{real}", "delivery_by": "TEXT",
                 "delivery_lease_until": "{real}"}


def schema(*, serial: str, blob: str, real: str) -> list[str]:
    """The statements creating the jobs table and its indexes, in a dialect's column types.

    >>> pg = schema(serial="BIGSERIAL PRIMARY KEY", blob="BYTEA", real="DOUBLE PRECISION")
    >>> len(pg), "audio        BYTEA" in pg[0]
    (4, True)
    """
    return [
        f"CREATE TABLE IF NOT EXISTS jobs ({_COLUMNS.format(serial=serial, blob=blob, real=real)})",
        "CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, created)",
        "CREATE INDEX IF NOT EXISTS jobs_by_delivery ON jobs (delivery, next_attempt)",
        "CREATE INDEX IF NOT EXISTS jobs_by_age ON jobs (updated)",
    ]


@dataclass
class Job:
    """One async job as stored."""

    request_id: str
    api: str
    version: str
    state: str = "queued"
    audio: bytes | None = None
    url: str | None = None
    webhook: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    key_id: str | None = None
    result: Any = None
    error: dict[str, Any] | None = None
    delivery: str = "none"
    attempts: int = 0
    next_attempt: float | None = None
    delivery_error: str | None = None
    runs: int = 0
    created: float = 0.0
    updated: float = 0.0
    fingerprint: str | None = None
    id: int | None = None
    claimed_by: str | None = None
    lease_until: float | None = None
    delivery_by: str | None = None
    delivery_lease_until: float | None = None

    @property
    def key(self) -> tuple[str | None, str]:
        """What identifies the job: its API key's fingerprint and its ``request_id``."""
        return (self.key_id, self.request_id)


def new_job(
    request_id: str,
    *,
    api: str,
    version: str,
    audio: bytes | None = None,
    url: str | None = None,
    webhook: str | None = None,
    options: Mapping[str, Any] | None = None,
    key_id: str | None = None,
    fingerprint: str | None = None,
) -> Job:
    """A queued job, ready for `BaseJobStore.add`.

    >>> new_job("r1", api="/x", version="v1", url="https://example.org/a.wav").state
    'queued'
    """
    now = time.time()
    return Job(
        request_id=request_id, api=api, version=version, audio=audio, url=url,
        webhook=webhook, options=dict(options or {}), key_id=key_id, fingerprint=fingerprint,
        delivery="pending" if webhook else "none", created=now, updated=now,
    )


def key_fingerprint(key: str | None) -> str | None:
    """A stable, non-reversible id of an API key (stored instead of the key itself).

    >>> key_fingerprint("secret")[:12]
    '2bb80d537b1d'
    >>> key_fingerprint(None) is None
    True
    """
    return None if key is None else hashlib.sha256(key.encode("utf-8")).hexdigest()


class Result(NamedTuple):
    """What a statement gave back: its rows (as dicts), the rows it changed, an insert's id."""

    rows: list[dict[str, Any]]
    rowcount: int
    lastrowid: int | None = None


#: Runs one statement: ``run(sql, params) -> Result``.
Run = Callable[..., Result]
JobRef = Union["Job", int, str]

_DONE = "state IN ('done', 'failed')"
_CLOSE = ("UPDATE jobs SET state = ?, result = ?, error = ?, audio = NULL, lease_until = NULL,"
          " updated = ?, next_attempt = CASE delivery WHEN 'pending' THEN ? ELSE next_attempt END"
          " WHERE id = ?")
# a delivery is free to claim when no server holds a lease on it
_DELIVERY_FREE = (f"delivery = 'pending' AND {_DONE} AND (delivery_lease_until IS NULL"
                  " OR delivery_lease_until < ?)")


class BaseJobStore:
    """The job store's interface and its SQL; `~emotion_analytics.server.jobs.JobStore`
    (SQLite) and `~emotion_analytics.server.jobs.PostgresJobStore` supply the database.

    A job is known by its API key and its ``request_id`` (two keys may use the same id); the
    methods that change a job take the `Job`, its row ``id``, or, for jobs made without a key,
    its ``request_id``. Safe to use from several threads.

    Parameters
    ----------
    lease_seconds
        How long a claim on a job or a delivery lasts unless renewed: a server killed while
        holding one gives it back this long after its last renewal.

    Attributes
    ----------
    owner : str
        Who this store claims jobs as (``host/pid/random``), written to ``claimed_by``.
    sole_owner : bool
        True when one process owns the whole database (SQLite): at start it takes back every
        running job at once instead of waiting for leases.
    """

    sole_owner = True
    #: What a claim's SELECT adds to lock the row it reads (PostgreSQL: FOR UPDATE SKIP LOCKED).
    _lock_rows = ""
    #: What an INSERT adds to give back the new row's id.
    _returning_id = ""
    _duplicate_errors: tuple[type[BaseException], ...] = ()

    def __init__(self, *, lease_seconds: float = DEFAULT_LEASE):
        if not lease_seconds > 0:
            raise ValueError(f"lease_seconds must be positive, got {lease_seconds!r}")
        self.lease_seconds = float(lease_seconds)
        self.owner = f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"

    # -- what a database supplies ------------------------------------------------------------
    def _tx(self) -> AbstractContextManager[Run]:
        """A transaction: yields ``run``; commits when the block ends, rolls back on error."""
        raise NotImplementedError

    def _one(self, sql: str, params: tuple = ()) -> Result:
        """One statement, committed on its own."""
        raise NotImplementedError

    def _compact(self) -> None:
        """Give the space of deleted jobs back (after `purge`)."""

    def close(self) -> None:
        """Close the database (further calls fail)."""
        raise NotImplementedError

    def describe(self) -> str:
        """Where the jobs are, for logs (no password)."""
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------------------
    def _id(self, job: JobRef) -> int:
        if isinstance(job, Job):
            if job.id is not None:
                return job.id
            job = self.get(job.request_id, key_id=job.key_id)
        elif isinstance(job, str):
            job = self.get(job)
        if job is None:
            return -1
        return job if isinstance(job, int) else int(job.id)

    # -- writing ---------------------------------------------------------------------------
    def add(self, job: Job, *, max_queued: int | None = None) -> int:
        """Store a new queued job and return its row id.

        Raises `DuplicateJobError` when its key already has a job with this ``request_id``,
        and `QueueFullError` when ``max_queued`` jobs are already waiting.
        """
        if max_queued is not None and self.queued() >= max_queued:
            raise QueueFullError(f"{max_queued} jobs are already waiting")
        try:
            res = self._one(
                "INSERT INTO jobs (request_id, key_id, api, version, state, audio, url,"
                " webhook, options, fingerprint, delivery, created, updated)"
                " VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?)" + self._returning_id,
                (job.request_id, job.key_id or "", job.api, job.version, job.audio,
                 job.url, job.webhook, json.dumps(job.options), job.fingerprint,
                 "pending" if job.webhook else "none", job.created, job.updated),
            )
        except self._duplicate_errors as exc:
            raise DuplicateJobError(
                f"a job with request_id {job.request_id!r} already exists; pick another "
                "request_id or leave it out to get a fresh one"
            ) from exc
        job.id = int(res.rows[0]["id"] if res.rows else res.lastrowid)
        return job.id

    def claim(self) -> Job | None:
        """Take the oldest queued job, or a running one whose lease passed, and mark it running
        under this store's lease (``None`` when there is none).

        A job already run `MAX_RUNS` times (its server died while running it each time) is
        failed instead of being run again.
        """
        while True:
            now = time.time()
            with self._tx() as run:
                rows = run(
                    "SELECT id, runs FROM jobs WHERE state = 'queued' OR (state = 'running'"
                    " AND lease_until < ?) ORDER BY created, id LIMIT 1" + self._lock_rows,
                    (now,)).rows
                if not rows:
                    return None
                job_id, runs = rows[0]["id"], rows[0]["runs"]
                if runs >= MAX_RUNS:
                    run(_CLOSE, ("failed", None, json.dumps({
                        "faultstring": f"the job was interrupted {runs} times while running; "
                        "it is not run again. Check the audio, or resubmit it.",
                        "errorcode": "emotion_analytics.JobCrashed"}), now, now, job_id))
                    continue
                run("UPDATE jobs SET state = 'running', runs = runs + 1, claimed_by = ?,"
                    " lease_until = ?, updated = ? WHERE id = ?",
                    (self.owner, now + self.lease_seconds, now, job_id))
                row = run("SELECT * FROM jobs WHERE id = ?", (job_id,)).rows[0]
            return self._job(row)

    def renew_leases(self) -> int:
        """Extend the lease of every job this store is running; returns how many."""
        return self._one(
            "UPDATE jobs SET lease_until = ? WHERE state = 'running' AND claimed_by = ?",
            (time.time() + self.lease_seconds, self.owner)).rowcount

    def finish(self, job: JobRef, result: Any) -> bool:
        """Store a job's answer; its audio is dropped and its delivery (if any) becomes due.

        Given the `Job` a claim returned, the answer is recorded only while that claim is
        current; returns whether it was recorded.
        """
        return self._close_job(job, "done", result=json.dumps(result), error=None)

    def fail(self, job: JobRef, fault: Mapping[str, Any]) -> bool:
        """Mark a job failed with ``fault`` (``{"faultstring", "errorcode"}``); as `finish`."""
        return self._close_job(job, "failed", result=None, error=json.dumps(dict(fault)))

    def _close_job(self, job: JobRef, state: str, *, result, error) -> bool:
        now = time.time()
        params: tuple = (state, result, error, now, now, self._id(job))
        if isinstance(job, Job) and job.state == "running" and job.claimed_by:
            # the run this claim started, and no later one
            sql = _CLOSE + " AND state = 'running' AND claimed_by = ? AND runs = ?"
            params += (job.claimed_by, job.runs)
        else:
            sql = _CLOSE + " AND state IN ('queued', 'running')"
        return self._one(sql, params).rowcount == 1

    def requeue_running(self) -> int:
        """Put running jobs back in the queue: every one when this store is the sole owner,
        else those this store claimed (at start-up, and at shutdown)."""
        sql = ("UPDATE jobs SET state = 'queued', claimed_by = NULL, lease_until = NULL,"
               " updated = ? WHERE state = 'running'")
        params: tuple = (time.time(),)
        if not self.sole_owner:
            sql += " AND claimed_by = ?"
            params += (self.owner,)
        return self._one(sql, params).rowcount

    def due_deliveries(self, *, now: float | None = None, limit: int = 16) -> list[Job]:
        """Finished jobs whose webhook delivery is due and that no server holds."""
        now = time.time() if now is None else now
        rows = self._one(
            f"SELECT * FROM jobs WHERE {_DELIVERY_FREE} AND next_attempt <= ?"
            " ORDER BY next_attempt LIMIT ?", (now, now, limit)).rows
        return [self._job(r) for r in rows]

    def claim_delivery(self, job: Job, *, lease: float | None = None) -> Job | None:
        """Take the delivery of ``job`` for ``lease`` seconds (default `lease_seconds`), unless
        another server holds it or it changed since it was read; the `Job` to deliver, or
        ``None``."""
        now = time.time()
        until = now + (self.lease_seconds if lease is None else lease)
        res = self._one(
            "UPDATE jobs SET delivery_by = ?, delivery_lease_until = ? WHERE id = ?"
            f" AND attempts = ? AND next_attempt <= ? AND {_DELIVERY_FREE}",
            (self.owner, until, self._id(job), job.attempts, now, now))
        if res.rowcount != 1:
            return None
        job.delivery_by, job.delivery_lease_until = self.owner, until
        return job

    def next_delivery_at(self) -> float | None:
        """When the next pending delivery is due, or its lease ends (``None``: none pending)."""
        rows = self._one(
            "SELECT MIN(CASE WHEN delivery_lease_until > next_attempt THEN delivery_lease_until"
            f" ELSE next_attempt END) AS t FROM jobs WHERE delivery = 'pending' AND {_DONE}"
        ).rows
        return rows[0]["t"] if rows else None

    def delivery_done(self, job: JobRef) -> bool:
        """Record a delivery the receiver accepted (as `delivery_failed`)."""
        return self._set_delivery(job, "delivered", None, None)

    def delivery_failed(self, job: JobRef, error: str, *, retry_at: float | None) -> bool:
        """Record a failed delivery: retried at ``retry_at``, or given up when ``None``.

        Given the `Job` `claim_delivery` returned, it is recorded only while that claim is
        current; returns whether it was recorded.
        """
        state = "pending" if retry_at is not None else "gave_up"
        return self._set_delivery(job, state, error, retry_at)

    def _set_delivery(self, job, state, error, retry_at) -> bool:
        sql = ("UPDATE jobs SET delivery = ?, delivery_error = ?, next_attempt = ?,"
               " attempts = attempts + 1, delivery_lease_until = NULL, updated = ? WHERE id = ?")
        params: tuple = (state, error, retry_at, time.time(), self._id(job))
        if isinstance(job, Job) and job.delivery_by:
            sql += " AND delivery = 'pending' AND delivery_by = ? AND attempts = ?"
            params += (job.delivery_by, job.attempts)
        return self._one(sql, params).rowcount == 1

    def purge(self, older_than: float) -> int:
        """Delete finished jobs (answer, status, audio) last changed more than ``older_than``
        seconds ago whose delivery is over, then give the freed space back.

        Returns how many jobs were deleted.
        """
        n = self._one(
            f"DELETE FROM jobs WHERE {_DONE} AND delivery IN ('none', 'delivered', 'gave_up')"
            " AND updated <= ?", (time.time() - older_than,)).rowcount
        self._compact()
        return n

    # -- reading ---------------------------------------------------------------------------
    def get(self, request_id: str, *, key_id: str | None = None) -> Job | None:
        """The job of this API key (fingerprint; ``None``: made without a key) and id."""
        rows = self._one("SELECT * FROM jobs WHERE key_id = ? AND request_id = ?",
                         (key_id or "", request_id)).rows
        return self._job(rows[0]) if rows else None

    def queued(self) -> int:
        """How many jobs wait in the queue."""
        return int(self._one("SELECT COUNT(*) AS n FROM jobs WHERE state = 'queued'")
                   .rows[0]["n"])

    def counts(self) -> dict[str, int]:
        """How many jobs are in each state, and in each delivery state (``delivery_<state>``)."""
        out = {r["k"]: int(r["n"]) for r in self._one(
            "SELECT state AS k, COUNT(*) AS n FROM jobs GROUP BY state").rows}
        for r in self._one("SELECT delivery AS k, COUNT(*) AS n FROM jobs GROUP BY delivery"
                           ).rows:
            out[f"delivery_{r['k']}"] = int(r["n"])
        return out

    @staticmethod
    def _job(row: Mapping[str, Any]) -> Job:
        data = dict(row)
        data["key_id"] = data["key_id"] or None
        data["options"] = json.loads(data["options"] or "{}")
        data["result"] = None if data["result"] is None else json.loads(data["result"])
        data["error"] = None if data["error"] is None else json.loads(data["error"])
        if data.get("audio") is not None:
            data["audio"] = bytes(data["audio"])
        return Job(**data)
