"""The embedded job store: one SQLite file (WAL mode), owned by one server.

The file survives the server being killed; a second server on the same file is refused
(`lock_database`). The queries are `~emotion_analytics.server.jobs.base.BaseJobStore`'s.

>>> store = JobStore(":memory:")
>>> store.add(new_job("abc", api="/audio/generic/api/v2/async/recognise_emotion",
...                   version="v2", audio=b"RIFF...", webhook="http://example.org/hook"))
1
>>> job = store.claim()
>>> job.request_id, job.state
('abc', 'running')
>>> store.finish(job, [{"emotion": "neutral", "start": 0.0, "end": 1.0}])
True
>>> store.get("abc").state, store.get("abc").delivery
('done', 'pending')
>>> store.close()
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...errors import ConfigError
from .base import DEFAULT_LEASE, LEASE_COLUMNS, BaseJobStore, Result, Run, new_job, schema

__all__ = ["JobStore", "lock_database", "new_job"]

_TYPES = {"serial": "INTEGER PRIMARY KEY AUTOINCREMENT", "blob": "BLOB", "real": "REAL"}
_SCHEMA = ";\n".join(schema(**_TYPES)) + ";\n"
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
            "give this one another --jobs-db (several servers share a PostgreSQL --jobs-db)."
        ) from None
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f


class JobStore(BaseJobStore):
    """Async jobs in one SQLite file, safe to use from several threads of one process.

    Only one process may own the file (see `lock_database`); at start it puts every job left
    running back in the queue (`requeue_running`).

    Parameters
    ----------
    path
        The database file (created with its folder when missing), or ``":memory:"``.
    lease_seconds
        How long a claim lasts unless renewed (see `BaseJobStore`).
    """

    sole_owner = True
    _duplicate_errors = (sqlite3.IntegrityError,)

    def __init__(self, path: str | Path, *, lease_seconds: float = DEFAULT_LEASE):
        super().__init__(lease_seconds=lease_seconds)
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
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(jobs)")}
            for name, kind in LEASE_COLUMNS.items():  # a file written before leases
                if name not in columns:
                    self._db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind.format(**_TYPES)}")
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                f"cannot open the jobs database {self.path!r}: {exc}. Pass another --jobs-db "
                "path, or move this file away if it is not a jobs database."
            ) from exc

    def _run(self, sql: str, params: tuple = ()) -> Result:
        cur = self._db.execute(sql, params)
        rows = [dict(r) for r in cur.fetchall()] if cur.description else []
        return Result(rows, cur.rowcount, cur.lastrowid)

    @contextmanager
    def _tx(self) -> Iterator[Run]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # the write lock now: claims never interleave
            try:
                yield self._run
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, params: tuple = ()) -> Result:
        with self._lock:
            return self._run(sql, params)

    def _compact(self) -> None:
        with self._lock:
            # sqlite3_exec steps the pragma to the end (it frees one page per step)
            self._db.executescript("PRAGMA incremental_vacuum;")

    def purge(self, older_than: float) -> int:
        """Delete finished jobs last changed more than ``older_than`` seconds ago whose delivery
        is over, then give the freed pages back to the file; returns how many were deleted.

        >>> store = JobStore(":memory:")
        >>> store.add(new_job("old", api="/api", version="v2", audio=b"x"))
        1
        >>> store.finish("old", [])
        True
        >>> store.purge(older_than=0.0), store.get("old")
        (1, None)
        """
        return super().purge(older_than)

    def counts(self) -> dict[str, int]:
        """How many jobs are in each state, and in each delivery state (``delivery_<state>``).

        >>> JobStore(":memory:").counts()
        {}
        """
        return super().counts()

    def describe(self) -> str:
        return self.path

    def close(self) -> None:
        with self._lock:
            self._db.close()
