"""The async job store: SQLite for one server, PostgreSQL for several.

A job moves ``queued -> running -> done`` (or ``failed``); its webhook delivery moves
``pending -> delivered`` (or ``gave_up``), ``none`` when the job has no webhook. The request's
audio (or its ``url``) is stored with the job, so a job whose server died while running it is
run again under the same ``request_id``.

One interface (`BaseJobStore`, its SQL written once in `base`), two databases, chosen by
`open_store` from ``--jobs-db``:

* `JobStore` (`sqlite`): a file owned by one server (`lock_database`), the default;
* `PostgresJobStore` (`postgres`): a ``postgresql://`` URL shared by several servers, which
  claim jobs and webhook deliveries under leases.

>>> store = open_store(":memory:")
>>> type(store).__name__, store.sole_owner
('JobStore', True)
>>> store.add(new_job("abc", api="/api", version="v2", audio=b"RIFF"))
1
>>> store.claim().request_id
'abc'
>>> store.close()
"""

from __future__ import annotations

from pathlib import Path

from ...errors import DuplicateJobError, QueueFullError
from .base import DEFAULT_LEASE, MAX_RUNS, BaseJobStore, Job, key_fingerprint, new_job
from .postgres import PostgresJobStore, is_postgres_url, redact
from .sqlite import JobStore, lock_database

__all__ = ["Job", "BaseJobStore", "JobStore", "PostgresJobStore", "DuplicateJobError",
           "QueueFullError", "new_job", "key_fingerprint", "MAX_RUNS", "DEFAULT_LEASE",
           "lock_database", "open_store", "is_postgres_url", "redact"]


def open_store(target: str | Path, *, lease_seconds: float = DEFAULT_LEASE) -> BaseJobStore:
    """The job store ``target`` names: a ``postgresql://`` URL, else a SQLite file.

    The SQLite file is not locked here: its owner takes `lock_database` first.
    """
    if is_postgres_url(target):
        return PostgresJobStore(str(target), lease_seconds=lease_seconds)
    return JobStore(target, lease_seconds=lease_seconds)
