"""The ``emotion-analytics serve`` sub-command: its options, and serving until interrupted.

The server itself is `emotion_analytics.server`; FastAPI and uvicorn are imported by `run` only,
so ``--help`` stays instant.

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_arguments(parser)
>>> args = parser.parse_args(["--port", "9000", "--max-sync-seconds", "30"])
>>> config_from_args(args, env={}).max_sync_seconds
30.0
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path

from ..server.config import API_KEYS_ENV, WEBHOOK_SECRET_ENV, ServerConfig, load_api_keys
from ..server.jobs.postgres import is_postgres_url

__all__ = ["add_arguments", "run", "config_from_args"]

_MB = 1024 * 1024
#: The ``--jobs-db`` default, relative to the folder the server starts in.
DEFAULT_JOBS_DB = "emotion_jobs.sqlite3"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` options to ``parser``."""
    d = ServerConfig()
    a = parser.add_argument
    a("--host", default=d.host,
      help="address to listen on (default %(default)s; anything but loopback needs API keys)")
    a("--port", type=int, default=d.port, help="port to listen on (default %(default)s)")
    a("--jobs-db", default=DEFAULT_JOBS_DB, metavar="FILE|URL",
      help="where async jobs are kept across restarts: a SQLite file (default %(default)s in "
           "the folder the server starts in), owned by one server (a second one on the same "
           "file is refused, naming the first one's pid); or a PostgreSQL URL "
           "(postgresql://user[:password]@host[:port]/database, the postgres extra) shared by "
           "several servers behind a load balancer")
    a("--lease-seconds", type=float, default=d.lease_seconds,
      help="how long a server's claim on a job or a webhook delivery lasts unless renewed "
           "(every third of it): a server killed mid-job hands its jobs to the others this "
           "long after (default %(default)s)")
    a("--api-keys-file", type=Path, default=None,
      help=f"file with one API key per line (also read: ${API_KEYS_ENV}, comma-separated)")
    a("--engine", default=d.engine, help="engine answering requests (default %(default)s)")
    a("--labels", choices=["deepaffects"], default=None,
      help="answer in the hosted API's vocabulary (anger, excited, frustration, happy, sad, "
           "neutral) instead of the engine's own labels")
    a("--webhook-secret", default=None,
      help=f"secret signing webhook posts (X-Emotion-Signature); default ${WEBHOOK_SECRET_ENV}")
    a("--workers", type=int, default=d.workers,
      help="recordings analysed at the same time, sync and async each (default %(default)s)")
    a("--max-body-mb", type=float, default=d.max_body_bytes / _MB,
      help="largest request body in MiB (default %(default)s)")
    a("--max-sync-seconds", type=float, default=d.max_sync_seconds,
      help="longest audio the sync endpoints take, in seconds of decoded audio: decoding stops "
           "and answers 413 as soon as it passes this (default %(default)s)")
    a("--max-async-seconds", type=float, default=d.max_async_seconds,
      help="longest audio an async job analyses, in seconds of decoded audio (default "
           "%(default)s, 4 hours)")
    a("--max-result-mb", type=float, default=d.max_result_bytes / _MB,
      help="largest JSON answer an async job keeps, in MiB (default %(default)s)")
    a("--max-fetch-mb", type=float, default=d.max_fetch_bytes / _MB,
      help="largest audio fetched from a url, in MiB (default %(default)s)")
    a("--fetch-timeout", type=float, default=d.fetch_timeout,
      help="seconds allowed to fetch a url, in all (not per read; default %(default)s)")
    a("--max-queued", type=int, default=d.max_queued,
      help="async jobs waiting at most; beyond it a submission is answered 429 with "
           "Retry-After (default %(default)s)")
    a("--keep-results", type=float, default=d.keep_results / 3600, metavar="HOURS",
      help="hours a finished job (answer, status, audio) is kept once its webhook is delivered "
           "or given up; then it is deleted and the database compacted (default %(default)s, "
           "7 days)")
    a("--allow-private-urls", action="store_true",
      help="let url and webhook targets be private, loopback or link-local addresses")
    a("--allow-loopback-webhooks", action="store_true",
      help="let webhooks point at this machine's loopback addresses (127.0.0.1, ::1), e.g. a "
           "receiver beside the server; off by default: behind a reverse proxy it would let "
           "remote clients post to local services")
    a("--webhook-retries", type=int, default=d.webhook_retries,
      help="retries of a failed webhook delivery (default %(default)s)")
    a("--webhook-retry-delay", type=float, default=d.webhook_retry_delay,
      help="first retry delay in seconds, doubled each time (default %(default)s)")
    a("--webhook-timeout", type=float, default=d.webhook_timeout,
      help="seconds a webhook post has in all, connecting to reading the answer "
           "(default %(default)s)")
    a("--webhooks-per-host", type=int, default=d.webhooks_per_host,
      help="webhook posts in flight to one host at a time, so a slow receiver delays only "
           "its own deliveries (default %(default)s)")
    a("--shutdown-grace", type=float, default=d.shutdown_grace,
      help="seconds a shutdown waits for running jobs before requeueing them "
           "(default %(default)s)")
    a("--log-level", default="info", choices=["debug", "info", "warning", "error"],
      help="log level (JSON lines on stderr; default %(default)s)")


def config_from_args(args: argparse.Namespace, *, env: Mapping[str, str] | None = None
                     ) -> ServerConfig:
    """The checked `ServerConfig` for parsed ``serve`` arguments and the environment."""
    env = os.environ if env is None else env
    return ServerConfig(
        host=args.host, port=args.port,
        jobs_db=args.jobs_db if is_postgres_url(args.jobs_db) else Path(args.jobs_db),
        lease_seconds=args.lease_seconds,
        api_keys=load_api_keys(env=env, keys_file=args.api_keys_file),
        engine=args.engine, labels=args.labels,
        webhook_secret=args.webhook_secret or env.get(WEBHOOK_SECRET_ENV) or None,
        max_body_bytes=int(args.max_body_mb * _MB), max_sync_seconds=args.max_sync_seconds,
        max_async_seconds=args.max_async_seconds,
        max_result_bytes=int(args.max_result_mb * _MB),
        max_fetch_bytes=int(args.max_fetch_mb * _MB), fetch_timeout=args.fetch_timeout,
        allow_private_urls=args.allow_private_urls, workers=args.workers,
        allow_loopback_webhooks=args.allow_loopback_webhooks,
        webhook_retries=args.webhook_retries, webhook_retry_delay=args.webhook_retry_delay,
        webhook_timeout=args.webhook_timeout, shutdown_grace=args.shutdown_grace,
        webhooks_per_host=args.webhooks_per_host, max_queued=args.max_queued,
        keep_results=args.keep_results * 3600,
    ).check()


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted (SIGINT/SIGTERM shut down gracefully)."""
    from ..errors import require

    config = config_from_args(args)
    uvicorn = require("uvicorn", "server")
    require("fastapi", "server")
    from ..server.app import create_app
    from ..server.logs import configure_logging

    configure_logging(args.log_level)
    from ..server.jobs import lock_database, open_store

    # a clear refusal now, before uvicorn starts: a SQLite file another server owns, or a
    # PostgreSQL database that cannot be reached (or psycopg missing)
    if is_postgres_url(config.jobs_db):
        open_store(config.jobs_db, lease_seconds=config.lease_seconds).close()
    else:
        lock_database(config.jobs_db).close()
    app = create_app(config)
    uvicorn.run(app, host=config.host, port=config.port, log_config=None, access_log=False,
                log_level=args.log_level, timeout_graceful_shutdown=int(config.shutdown_grace),
                server_header=False)
    return 0
