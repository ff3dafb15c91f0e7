"""Settings of the emotion API server, and where API keys come from.

Everything here is plain Python (no FastAPI import), so the ``serve`` command's ``--help`` stays
instant and the settings can be tested alone.

>>> cfg = ServerConfig()
>>> cfg.max_sync_seconds, cfg.webhook_retries
(60.0, 5)
>>> is_loopback_host("127.0.0.1"), is_loopback_host("0.0.0.0")
(True, False)
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

__all__ = [
    "API_KEYS_ENV",
    "WEBHOOK_SECRET_ENV",
    "ServerConfig",
    "ConfigError",
    "load_api_keys",
    "is_loopback_host",
]

#: Environment variable holding comma-separated API keys (**fixed** name).
API_KEYS_ENV = "EMOTION_ANALYTICS_API_KEYS"
#: Environment variable holding the secret that signs webhook posts.
WEBHOOK_SECRET_ENV = "EMOTION_ANALYTICS_WEBHOOK_SECRET"


@dataclass(frozen=True)
class ServerConfig:
    """Settings of one server.

    Parameters
    ----------
    host, port
        Where the server listens. Anything but loopback requires API keys.
    jobs_db
        Where async jobs are kept: a SQLite file (one server owns it), or a
        ``postgresql://user@host/db`` URL (shared by several servers); ``None`` keeps them in a
        temporary SQLite file that is lost with the process.
    lease_seconds
        How long a server's claim on a job or a webhook delivery lasts unless renewed: a server
        killed mid-job hands its jobs back this long after its last renewal.
    api_keys
        Accepted keys. Empty means no authentication, which is allowed on loopback only.
    engine
        Engine name (``"local"``) used when the app factory is not given an engine object.
    labels
        ``None`` (default): answer with the engine's own labels; ``"deepaffects"``: map them,
        probabilities included, onto the hosted API's v2 vocabulary
        (`emotion_analytics.labels.relabel_table`).
    webhook_secret
        Secret for the ``X-Emotion-Signature`` HMAC-SHA256 header on webhook posts (none: no
        header).
    max_body_bytes
        Largest request body accepted, in bytes (413 above it).
    max_sync_seconds
        Longest audio the sync endpoints analyse, counted on the decoded audio (413 as soon as
        decoding passes it, whatever the file's header claims).
    max_async_seconds
        Longest audio an async job analyses, counted the same way (413 at submission when the
        header already says more; the job fails with ``AudioTooLong`` when decoding passes it).
    max_result_bytes
        Largest JSON answer an async job keeps (the job fails with ``ResultTooLarge`` above).
    max_fetch_bytes, fetch_timeout
        Limits on audio fetched from a ``url`` body field; ``fetch_timeout`` is the whole
        download's time, not a time per read.
    allow_private_urls
        Let ``url`` and webhook targets be private, loopback or link-local addresses.
    allow_loopback_webhooks
        Let webhooks point at loopback addresses (``127.0.0.1``, ``::1``): for a receiver on
        the server's own machine. Off by default, as behind a reverse proxy it would let remote
        clients post to local services.
    max_queued
        Async jobs waiting in the queue at most; a submission beyond it is answered 429 with
        ``Retry-After``.
    keep_results
        Seconds a finished job (its answer, status and audio) is kept after it finished and its
        webhook was delivered or given up; then it is deleted and the space reclaimed.
    workers
        Jobs analysed at the same time (async and sync each get this many).
    webhook_retries, webhook_retry_delay, webhook_timeout
        A failed delivery is retried ``webhook_retries`` times, waiting ``webhook_retry_delay``
        seconds, then twice as long each time; each post has ``webhook_timeout`` seconds in all.
    webhooks_per_host
        Posts in flight to one host at the same time, so that a slow receiver cannot hold every
        delivery thread.
    shutdown_grace
        Seconds a graceful shutdown waits for running jobs before putting them back in the queue.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    jobs_db: Path | str | None = None
    lease_seconds: float = 30.0
    api_keys: tuple[str, ...] = ()
    engine: str = "local"
    labels: str | None = None
    webhook_secret: str | None = None
    max_body_bytes: int = 64 * 1024 * 1024
    max_sync_seconds: float = 60.0
    max_async_seconds: float = 4 * 3600.0
    max_result_bytes: int = 16 * 1024 * 1024
    max_fetch_bytes: int = 512 * 1024 * 1024
    fetch_timeout: float = 30.0
    allow_private_urls: bool = False
    allow_loopback_webhooks: bool = False
    max_queued: int = 1000
    keep_results: float = 7 * 24 * 3600.0
    workers: int = 2
    webhook_retries: int = 5
    webhook_retry_delay: float = 2.0
    webhook_timeout: float = 10.0
    webhooks_per_host: int = 2
    shutdown_grace: float = 30.0

    @property
    def loopback_only(self) -> bool:
        """True when the server listens on a loopback address only."""
        return is_loopback_host(self.host)

    def check(self) -> ServerConfig:
        """Refuse settings that would expose an unauthenticated server, or make no sense.

        >>> ServerConfig(host="0.0.0.0").check()
        Traceback (most recent call last):
        ...
        emotion_analytics.errors.ConfigError: refusing to listen on '0.0.0.0' ...
        """
        if not self.api_keys and not self.loopback_only:
            raise ConfigError(
                f"refusing to listen on {self.host!r} without API keys: anyone who can reach "
                f"it could use it. Set {API_KEYS_ENV}=key1,key2 or pass --api-keys-file FILE, "
                "or listen on loopback only (--host 127.0.0.1)."
            )
        for name in ("max_body_bytes", "max_sync_seconds", "max_async_seconds",
                     "max_result_bytes", "max_fetch_bytes", "fetch_timeout", "max_queued",
                     "keep_results", "workers", "webhook_timeout", "webhooks_per_host",
                     "lease_seconds"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.webhook_retries < 0 or self.webhook_retry_delay < 0:
            raise ConfigError("webhook_retries and webhook_retry_delay must not be negative")
        return self


def load_api_keys(
    *, env: Mapping[str, str] | None = None, keys_file: str | os.PathLike | None = None
) -> tuple[str, ...]:
    """API keys from the environment variable and/or a file (one key per line).

    Blank lines and lines starting with ``#`` in the file are skipped; surrounding spaces are
    removed. Keys from both sources are accepted.

    >>> load_api_keys(env={"EMOTION_ANALYTICS_API_KEYS": "k1, k2,,"})
    ('k1', 'k2')
    """
    env = os.environ if env is None else env
    keys = [k.strip() for k in env.get(API_KEYS_ENV, "").split(",")]
    if keys_file is not None:
        path = Path(keys_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"cannot read the API keys file {str(path)!r}: {exc}") from exc
        keys += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
        if not any(keys):
            raise ConfigError(f"the API keys file {str(path)!r} holds no key (one per line)")
    return tuple(dict.fromkeys(k for k in keys if k))


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``).

    >>> is_loopback_host("localhost"), is_loopback_host("::1"), is_loopback_host("10.0.0.1")
    (True, True, False)
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
