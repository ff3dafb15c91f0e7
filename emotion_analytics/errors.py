"""The package's exceptions: one tree with a single root, all defined here.

Every class is exported from `emotion_analytics` (``except ea.BadAudioError``), and the
modules that raise one also re-export it where it was documented first (e.g.
``emotion_analytics.engines.UnknownEngineError``, ``emotion_analytics.client.UsageError``).

::

    EmotionAnalyticsError           root of every error raised on purpose
    ├── BadResponseError            a malformed API answer or table (also a ValueError)
    │   └── NotAResultError         an async acknowledgement given where a result was expected
    ├── BadAudioError               audio that cannot be decoded or used (also a ValueError)
    │   └── AudioTooLongError       decoding passed a limit on seconds of audio
    ├── APIError                    an emotion API answered with an error (status, fault, code)
    │   ├── Fault                   the server answers this fault with an HTTP status
    │   └── JobFailure              an async job of the server fails with this fault
    ├── MissingDependencyError      an optional extra is not installed (also an ImportError)
    ├── UsageError                  a call that cannot work as given (also a ValueError)
    ├── UnknownEngineError          an ``engine=`` that names no engine (also a ValueError)
    ├── JobTimeoutError             an async job not done in time (also a TimeoutError)
    ├── AppInputError               widget app settings that cannot work (also a ValueError)
    ├── AnalysisCancelled           a run of the widget app cancelled (holds the files done)
    ├── ConfigError                 a server configuration that cannot work (also a ValueError)
    ├── UnsafeURLError              a URL the server refuses to fetch or post to (ValueError)
    ├── FetchError                  a URL that could not be fetched
    ├── DuplicateJobError           an async request_id that is already taken (ValueError)
    └── QueueFullError              the server's queue of async jobs is full

Warnings: ``audio.TruncatedAudioWarning`` (the readable start of a damaged file was used) and
``analysis.UntimedRowsWarning`` (rows without an ``end`` carry no time).

Every message says what was wrong, where (which file, which record) and what to do.

>>> import emotion_analytics as ea
>>> issubclass(ea.Fault, ea.APIError), issubclass(ea.UnknownEngineError, ValueError)
(True, True)
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = [
    "EmotionAnalyticsError",
    "BadResponseError",
    "NotAResultError",
    "BadAudioError",
    "AudioTooLongError",
    "APIError",
    "MissingDependencyError",
    "UsageError",
    "UnknownEngineError",
    "JobTimeoutError",
    "AppInputError",
    "AnalysisCancelled",
    "ConfigError",
    "UnsafeURLError",
    "FetchError",
    "DuplicateJobError",
    "QueueFullError",
    "Fault",
    "JobFailure",
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


class AudioTooLongError(BadAudioError):
    """Decoding passed a limit on seconds of audio (``stream(..., max_seconds=)``).

    Raised as soon as the decoded audio passes the limit, whatever the file's header says.

    Attributes
    ----------
    limit : float
        The limit, in seconds.
    """

    def __init__(self, message: str, *, limit: float):
        self.limit = limit
        super().__init__(message)


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


class Fault(APIError):
    """An error the self-hosted server answers as fault JSON with an HTTP ``status``.

    >>> Fault(401, "Invalid ApiKey", "oauth.v2.InvalidApiKey").error_code
    'oauth.v2.InvalidApiKey'
    """

    def __init__(self, status: int, fault_string: str, error_code: str):
        super().__init__(fault_string, status=status, fault_string=fault_string,
                         error_code=error_code)


class JobFailure(APIError):
    """Raised while the server processes an async job: the job fails with this fault (no retry).

    >>> JobFailure("cannot fetch", "emotion_analytics.FetchFailed").fault
    {'faultstring': 'cannot fetch', 'errorcode': 'emotion_analytics.FetchFailed'}
    """

    def __init__(self, fault_string: str, error_code: str):
        super().__init__(fault_string, fault_string=fault_string, error_code=error_code)

    @property
    def fault(self) -> dict[str, str | None]:
        """The fault as the job store keeps it: ``{"faultstring", "errorcode"}``."""
        return {"faultstring": self.fault_string, "errorcode": self.error_code}


class MissingDependencyError(EmotionAnalyticsError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class UsageError(EmotionAnalyticsError, ValueError):
    """A function or method was called with arguments it cannot use (the message says why)."""


class UnknownEngineError(EmotionAnalyticsError, ValueError):
    """An engine name or object that is not one of the choices."""


class JobTimeoutError(EmotionAnalyticsError, TimeoutError):
    """An async job did not finish (or its webhook did not arrive) within the time given."""


class AppInputError(EmotionAnalyticsError, ValueError):
    """The widget app's settings cannot work (e.g. a remote engine without a base URL or key)."""


class AnalysisCancelled(EmotionAnalyticsError):  # noqa: N818  (a request, not a failure)
    """A run was cancelled (the widget app's Cancel, `widgets.analyze_uploads(cancel=)`).

    ``table`` and ``errors`` hold what the files finished before gave.
    """

    def __init__(self, table: object = None, errors: tuple | list = ()):
        super().__init__("the analysis was cancelled")
        self.table = table
        self.errors = list(errors)


class ConfigError(EmotionAnalyticsError, ValueError):
    """The server cannot start with these settings (the message says which and why)."""


class UnsafeURLError(EmotionAnalyticsError, ValueError):
    """A URL the server refuses to contact (scheme, or a private/loopback target)."""


class FetchError(EmotionAnalyticsError):
    """Audio could not be fetched from a URL (unreachable, error status, too big, too slow)."""


class DuplicateJobError(EmotionAnalyticsError, ValueError):
    """An async job with this ``request_id`` already exists."""


class QueueFullError(EmotionAnalyticsError):
    """The server's queue of async jobs is full (``--max-queued``); try again later."""


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
