"""The package's exceptions, one tree with a single root.

::

    EmotionAnalyticsError
    ├── BadResponseError      a malformed API answer or table (also a ValueError)
    │   └── NotAResultError   an async acknowledgement was given where a result was expected
    ├── BadAudioError         audio that cannot be decoded or used (also a ValueError)
    ├── APIError              an HTTP API answered with an error (status, fault string, code)
    ├── MissingDependencyError  an optional extra is not installed (also an ImportError)
    │
    │   children that belong to one part live beside it:
    ├── engines.UnknownEngineError      an ``engine=`` that names no engine (also a ValueError)
    ├── client.UsageError               a client call that cannot work as given (ValueError)
    ├── client.JobTimeoutError          an async job not done in time (also a TimeoutError)
    ├── widgets.AppInputError           app settings that cannot work (also a ValueError)
    ├── server.config.ConfigError       a server configuration that cannot work (ValueError)
    ├── server.fetch.UnsafeURLError     a URL the server refuses to fetch (ValueError)
    ├── server.fetch.FetchError         a URL that could not be fetched
    └── server.jobs.DuplicateJobError   an async request_id that is already taken (ValueError)

Warnings: ``audio.TruncatedAudioWarning`` (the readable start of a damaged file was used) and
``analysis.UntimedRowsWarning`` (rows without an ``end`` carry no time).

Every message says what was wrong, where (which file, which record) and what to do.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = [
    "EmotionAnalyticsError",
    "BadResponseError",
    "NotAResultError",
    "BadAudioError",
    "APIError",
    "MissingDependencyError",
    "require",
]


class EmotionAnalyticsError(Exception):
    """Root of every error this package raises on purpose."""


class BadResponseError(EmotionAnalyticsError, ValueError):
    """An answer, a saved JSON file or a table is malformed.

    Attributes
    ----------
    source : str or None
        Which file or answer (a path, a file key or ``None`` for an in-memory object).
    record : int or None
        The index of the offending record inside the answer, when there is one.
    """

    def __init__(self, message: str, *, source: str | None = None, record: int | None = None):
        self.source = source
        self.record = record
        where = []
        if source is not None:
            where.append(f"{source!s}")
        if record is not None:
            where.append(f"record {record}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)


class NotAResultError(BadResponseError):
    """An async acknowledgement (``{"request_id", "api"}``) is not an emotion result."""


class BadAudioError(EmotionAnalyticsError, ValueError):
    """Audio that cannot be decoded, is empty, or is otherwise unusable."""


class APIError(EmotionAnalyticsError):
    """An emotion API answered with an error.

    Attributes
    ----------
    status : int or None
        The HTTP status code (``None`` when no answer came back at all).
    fault_string : str or None
        The server's ``faultstring`` (or ``fault_string``) text.
    error_code : str or None
        The server's ``errorcode`` (or ``error_code``), e.g. ``"oauth.v2.InvalidApiKey"``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        fault_string: str | None = None,
        error_code: str | None = None,
    ):
        self.status = status
        self.fault_string = fault_string
        self.error_code = error_code
        super().__init__(message)


class MissingDependencyError(EmotionAnalyticsError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


def require(module: str, extra: str) -> ModuleType:
    """Import an optional dependency, or explain which extra installs it.

    >>> require("json", "core").__name__
    'json'
    >>> require("no_such_module_xyz", "server")
    Traceback (most recent call last):
    ...
    emotion_analytics.errors.MissingDependencyError: ... pip install 'emotion_analytics[server]'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"This feature needs the optional package {module.split('.')[0]!r}, which is not "
            f"installed. Install it with: pip install 'emotion_analytics[{extra}]'"
        ) from exc
