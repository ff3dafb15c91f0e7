"""The async job store: one SQLite file (WAL mode) that survives the server being killed.

A job moves ``queued -> running -> done`` (or ``failed``); its webhook delivery moves
``pending -> delivered`` (or ``gave_up``), ``none`` when the job has no webhook. The request's
audio (or its ``url``) is stored with the job, so a job that was running when the process died
is put back in the queue at the next start and run again under the same ``request_id``.

>>> store = JobStore(":memory:")
>>> store.add(new_job("abc", api="/audio/generic/api/v2/async/recognise_emotion",
...                   version="v2", audio=b"RIFF...", webhook="http://example.org/hook"))
1
>>> job = store.claim()
>>> job.request_id, job.state
('abc', 'running')
>>> store.finish("abc", [{"emotion": "neutral", "start": 0.0, "end": 1.0}])
>>> store.get("abc").state, store.get("abc").delivery
('done', 'pending')
>>> store.close()
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from ..errors import ConfigError, DuplicateJobError, QueueFullError

__all__ = ["Job", "JobStore", "DuplicateJobError", "new_job", "key_fingerprint", "MAX_RUNS",
           "lock_database", "QueueFullError"]

#: A job that was running when the server died this many times is failed, not run again:
#: it may be what kills the server.
MAX_RUNS = 3

_COLUMNS = """
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id   TEXT NOT NULL,
    key_id       TEXT NOT NULL DEFAULT '',
    api          TEXT NOT NULL,
    version      TEXT NOT NULL,
    state        TEXT NOT NULL,
    audio        BLOB,
    url          TEXT,
    webhook      TEXT,
    options      TEXT NOT NULL,
    fingerprint  TEXT,
    result       TEXT,
    error        TEXT,
    delivery     TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL,
    delivery_error TEXT,
    runs         INTEGER NOT NULL DEFAULT 0,
    created      REAL NOT NULL,
    updated      REAL NOT NULL,
    UNIQUE (key_id, request_id)
"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS jobs ({_COLUMNS});
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, created);
CREATE INDEX IF NOT EXISTS jobs_by_delivery ON jobs (delivery, next_attempt);
CREATE INDEX IF NOT EXISTS jobs_by_age ON jobs (updated);
"""
# databases written before request ids were per key: request_id was the primary key
_OLD_COLUMNS = ("request_id, api, version, state, audio, url, webhook, options, result, error,"
                " delivery, attempts, next_attempt, delivery_error, runs, created, updated")
_MIGRATE = f"""
ALTER TABLE jobs RENAME TO jobs_before_keys;
DROP INDEX IF EXISTS jobs_by_state;
DROP INDEX IF EXISTS jobs_by_delivery;
{_SCHEMA}
INSERT INTO jobs ({_OLD_COLUMNS}, key_id)
    SELECT {_OLD_COLUMNS}, COALESCE(key_id, '') FROM jobs_before_keys;
DROP TABLE jobs_before_keys;
"""


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
    """A queued job, ready for `JobStore.add`.

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


def lock_database(path: str | Path):
    """Take the exclusive lock that makes this process the one owner of a jobs database.

    The lock is on the file ``<path>.lock`` beside the database, which holds the owner's pid.
    It is held while the returned file stays open and released when it is closed (or when the
    process dies, however it dies). Raises `~emotion_analytics.errors.ConfigError` naming the
    other process when it is taken.

    >>> import tempfile, pathlib
    >>> db = pathlib.Path(tempfile.mkdtemp()) / "jobs.sqlite3"
    >>> lock = lock_database(db)
    >>> lock_database(db)
    Traceback (most recent call last):
    ...
    emotion_analytics.errors.ConfigError: the jobs database ... is in use by another server (pid ...
    >>> lock.close()
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return None
    lock_path = Path(f"{path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    f = open(lock_path, "a+", encoding="ascii")  # noqa: SIM115 (held open: that is the lock)
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        holder = f.read().strip() or "unknown"
        f.close()
        raise ConfigError(
            f"the jobs database {str(path)!r} is in use by another server (pid {holder}; lock "
            f"file {str(lock_path)!r}): one server owns a jobs database. Stop that server, or "
            "give this one another --jobs-db."
        ) from None
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f


JobRef = Union["Job", int, str]


class JobStore:
    """Async jobs in one SQLite file, safe to use from several threads of one process.

    A job is known by its API key and its ``request_id`` (two keys may use the same id); the
    methods that change a job take the `Job`, its row ``id``, or, for jobs made without a key,
    its ``request_id``. Only one process may own the file (see `lock_database`).

    Parameters
    ----------
    path
        The database file (created with its folder when missing), or ``":memory:"``.
    """

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA busy_timeout = 10000")
            if self._db.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
                # deleted jobs give their pages back to the file (see `purge`); an existing
                # file is rewritten once to switch
                self._db.execute("PRAGMA auto_vacuum = INCREMENTAL")
                self._db.execute("VACUUM")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(jobs)")}
            if columns and "id" not in columns:
                self._db.executescript("BEGIN;" + _MIGRATE + "COMMIT;")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                f"cannot open the jobs database {self.path!r}: {exc}. Pass another --jobs-db "
                "path, or move this file away if it is not a jobs database."
            ) from exc

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
        with self._lock:
            if max_queued is not None and self.queued() >= max_queued:
                raise QueueFullError(f"{max_queued} jobs are already waiting")
            try:
                cur = self._db.execute(
                    "INSERT INTO jobs (request_id, key_id, api, version, state, audio, url,"
                    " webhook, options, fingerprint, delivery, created, updated)"
                    " VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?)",
                    (job.request_id, job.key_id or "", job.api, job.version, job.audio,
                     job.url, job.webhook, json.dumps(job.options), job.fingerprint,
                     "pending" if job.webhook else "none", job.created, job.updated),
                )
            except sqlite3.IntegrityError as exc:
                raise DuplicateJobError(
                    f"a job with request_id {job.request_id!r} already exists; pick another "
                    "request_id or leave it out to get a fresh one"
                ) from exc
            job.id = int(cur.lastrowid)
            return job.id

    def claim(self) -> Job | None:
        """Take the oldest queued job and mark it running (``None`` when the queue is empty).

        A job already run `MAX_RUNS` times (the server died while running it each time) is
        failed instead of being run again.
        """
        with self._lock:
            while True:
                row = self._db.execute(
                    "SELECT id, runs FROM jobs WHERE state = 'queued' ORDER BY created, id"
                    " LIMIT 1"
                ).fetchone()
                if row is None:
                    return None
                if row["runs"] >= MAX_RUNS:
                    self.fail(row["id"], {
                        "faultstring": f"the job was interrupted {row['runs']} times while "
                        "running; it is not run again. Check the audio, or resubmit it.",
                        "errorcode": "emotion_analytics.JobCrashed",
                    })
                    continue
                self._db.execute(
                    "UPDATE jobs SET state = 'running', runs = runs + 1, updated = ?"
                    " WHERE id = ?", (time.time(), row["id"]),
                )
                return self._get_id(row["id"])

    def finish(self, job: JobRef, result: Any) -> None:
        """Store a job's answer; its audio is dropped and its delivery (if any) becomes due."""
        self._close_job(job, "done", result=json.dumps(result), error=None)

    def fail(self, job: JobRef, fault: Mapping[str, Any]) -> None:
        """Mark a job failed with ``fault`` (``{"faultstring", "errorcode"}``)."""
        self._close_job(job, "failed", result=None, error=json.dumps(dict(fault)))

    def _close_job(self, job: JobRef, state: str, *, result, error) -> None:
        now = time.time()
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET state = ?, result = ?, error = ?, audio = NULL, updated = ?,"
                " next_attempt = CASE delivery WHEN 'pending' THEN ? ELSE next_attempt END"
                " WHERE id = ? AND state IN ('queued', 'running')",
                (state, result, error, now, now, self._id(job)),
            )

    def requeue_running(self) -> int:
        """Put every running job back in the queue (at start-up, and at shutdown)."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE jobs SET state = 'queued', updated = ? WHERE state = 'running'",
                (time.time(),),
            )
            return cur.rowcount

    def due_deliveries(self, *, now: float | None = None, limit: int = 16) -> list[Job]:
        """Finished jobs whose webhook delivery is due."""
        now = time.time() if now is None else now
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM jobs WHERE delivery = 'pending' AND state IN ('done', 'failed')"
                " AND next_attempt <= ? ORDER BY next_attempt LIMIT ?", (now, limit),
            ).fetchall()
        return [self._job(r) for r in rows]

    def next_delivery_at(self) -> float | None:
        """When the next pending delivery is due (``None`` when none is pending)."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(next_attempt) FROM jobs WHERE delivery = 'pending'"
                " AND state IN ('done', 'failed')"
            ).fetchone()
        return row[0]

    def delivery_done(self, job: JobRef) -> None:
        """Record a delivery the receiver accepted."""
        self._set_delivery(job, "delivered", None, None)

    def delivery_failed(self, job: JobRef, error: str, *, retry_at: float | None) -> None:
        """Record a failed delivery: retried at ``retry_at``, or given up when ``None``."""
        state = "pending" if retry_at is not None else "gave_up"
        self._set_delivery(job, state, error, retry_at)

    def _set_delivery(self, job, state, error, retry_at) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET delivery = ?, delivery_error = ?, next_attempt = ?,"
                " attempts = attempts + 1, updated = ? WHERE id = ?",
                (state, error, retry_at, time.time(), self._id(job)),
            )

    def purge(self, older_than: float) -> int:
        """Delete finished jobs (answer, status, audio) last changed more than ``older_than``
        seconds ago whose delivery is over, then give the freed pages back to the file.

        Returns how many jobs were deleted.

        >>> store = JobStore(":memory:")
        >>> store.add(new_job("old", api="/api", version="v2", audio=b"x"))
        1
        >>> store.finish("old", [])
        >>> store.purge(older_than=0.0), store.get("old")
        (1, None)
        """
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM jobs WHERE state IN ('done', 'failed') AND delivery IN"
                " ('none', 'delivered', 'gave_up') AND updated <= ?",
                (time.time() - older_than,),
            )
            # sqlite3_exec steps the pragma to the end (it frees one page per step)
            self._db.executescript("PRAGMA incremental_vacuum;")
            return cur.rowcount

    # -- reading ---------------------------------------------------------------------------
    def get(self, request_id: str, *, key_id: str | None = None) -> Job | None:
        """The job of this API key (fingerprint; ``None``: made without a key) and id."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM jobs WHERE key_id = ? AND request_id = ?",
                (key_id or "", request_id),
            ).fetchone()
        return None if row is None else self._job(row)

    def _get_id(self, job_id: int) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else self._job(row)

    def queued(self) -> int:
        """How many jobs wait in the queue."""
        with self._lock:
            return self._db.execute(
                "SELECT COUNT(*) FROM jobs WHERE state = 'queued'").fetchone()[0]

    def counts(self) -> dict[str, int]:
        """How many jobs are in each state, and in each delivery state (``delivery_<state>``).

        >>> JobStore(":memory:").counts()
        {}
        """
        with self._lock:
            out = {r[0]: r[1] for r in self._db.execute(
                "SELECT state, COUNT(*) FROM jobs GROUP BY state")}
            for state, n in self._db.execute(
                    "SELECT delivery, COUNT(*) FROM jobs GROUP BY delivery"):
                out[f"delivery_{state}"] = n
        return out

    def close(self) -> None:
        """Close the database (further calls fail)."""
        with self._lock:
            self._db.close()

    @staticmethod
    def _job(row: sqlite3.Row) -> Job:
        data = dict(row)
        data["key_id"] = data["key_id"] or None
        data["options"] = json.loads(data["options"] or "{}")
        data["result"] = None if data["result"] is None else json.loads(data["result"])
        data["error"] = None if data["error"] is None else json.loads(data["error"])
        return Job(**data)
