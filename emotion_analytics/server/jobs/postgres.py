"""The shared job store: one PostgreSQL database behind several servers.

``serve --jobs-db postgresql://user@host/db`` on each server behind a load balancer. The
queries are `~emotion_analytics.server.jobs.base.BaseJobStore`'s; what PostgreSQL adds is the
claim's row lock: ``SELECT ... FOR UPDATE SKIP LOCKED`` inside the transaction that writes the
lease, so that two servers claiming at the same moment take two different jobs. A server killed
mid-job hands its jobs back when their lease passes (``--lease-seconds``); webhook deliveries
are claimed under a lease too, so each is posted by one server. Leases are compared with the
servers' own clocks: keep them in step (NTP) to well within ``--lease-seconds``.

Needs the ``postgres`` extra (psycopg 3 and its pool), imported when a store is opened.

>>> redact("postgresql://jobs:s3cret@db.internal:5432/emotion?sslmode=require")
'postgresql://jobs:***@db.internal:5432/emotion?sslmode=require'
>>> is_postgres_url("postgresql://u@h/db"), is_postgres_url("jobs.sqlite3")
(True, False)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from ...errors import ConfigError, require
from .base import DEFAULT_LEASE, BaseJobStore, Result, Run, schema

__all__ = ["PostgresJobStore", "is_postgres_url", "redact"]

_TYPES = {"serial": "BIGSERIAL PRIMARY KEY", "blob": "BYTEA", "real": "DOUBLE PRECISION"}
#: An advisory lock held while the schema is created (two servers starting at once).
_SCHEMA_LOCK = 0x656D6F6A6F6273  # "emojobs"


def is_postgres_url(target: Any) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) connection URL."""
    return isinstance(target, str) and target.split("://", 1)[0].lower() in (
        "postgresql", "postgres")


def redact(url: str) -> str:
    """The URL without its password (for logs and errors)."""
    try:
        parts = urlsplit(url)
        if parts.password is not None:
            host = parts.netloc.rsplit("@", 1)[1]
            url = parts._replace(netloc=f"{parts.username}:***@{host}").geturl()
    except ValueError:
        return "postgresql://..."
    return re.sub(r"(password=)[^&]*", r"\1***", url)


@functools.lru_cache(maxsize=256)
def _pg(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s``."""
    return sql.replace("?", "%s")


class PostgresJobStore(BaseJobStore):
    """Async jobs in a PostgreSQL database shared by several servers.

    Parameters
    ----------
    url
        A libpq connection URL, ``postgresql://user[:password]@host[:port]/database``.
        The ``jobs`` table and its indexes are created when missing.
    lease_seconds
        How long a claim lasts unless renewed (see `BaseJobStore`).
    pool_size
        Connections this store keeps open at most.
    connect_timeout
        Seconds to wait for the database when opening the store.
    """

    sole_owner = False
    _lock_rows = " FOR UPDATE SKIP LOCKED"
    _returning_id = " RETURNING id"

    def __init__(self, url: str, *, lease_seconds: float = DEFAULT_LEASE, pool_size: int = 10,
                 connect_timeout: float = 10.0):
        super().__init__(lease_seconds=lease_seconds)
        psycopg = require("psycopg", "postgres")
        pool = require("psycopg_pool", "postgres")
        from psycopg.rows import dict_row

        self.url = url
        self._duplicate_errors = (psycopg.errors.UniqueViolation,)
        try:  # one plain connection first: its error says what is wrong (host, password, db)
            psycopg.connect(url, connect_timeout=max(1, int(connect_timeout))).close()
        except psycopg.Error as exc:
            raise ConfigError(
                f"cannot connect to the jobs database {redact(url)}: {str(exc).strip()}. Check "
                "the --jobs-db URL (postgresql://user[:password]@host[:port]/database) and "
                "that the database exists and takes connections."
            ) from exc
        self._pool = pool.ConnectionPool(
            url, min_size=1, max_size=pool_size, open=False, name="emotion-jobs",
            kwargs={"autocommit": True, "row_factory": dict_row},
            check=pool.ConnectionPool.check_connection)
        self._pool.open(wait=True, timeout=connect_timeout)
        with self._tx() as run:
            run("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))
            for statement in schema(**_TYPES):
                run(statement)

    @staticmethod
    def _run(cur, sql: str, params: tuple = ()) -> Result:
        cur.execute(_pg(sql), params)
        rows = cur.fetchall() if cur.description else []
        return Result(rows, cur.rowcount)

    @contextmanager
    def _tx(self) -> Iterator[Run]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield lambda sql, params=(): self._run(cur, sql, params)

    def _one(self, sql: str, params: tuple = ()) -> Result:
        with self._pool.connection() as conn, conn.cursor() as cur:
            return self._run(cur, sql, params)

    def describe(self) -> str:
        return redact(self.url)

    def close(self) -> None:
        self._pool.close()
