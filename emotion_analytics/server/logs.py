"""Structured logs: one JSON object per line, with the record's ``extra`` fields.

>>> import logging
>>> record = logging.LogRecord("x", logging.INFO, __file__, 1, "job done", None, None)
>>> record.request_id = "r1"
>>> import json; json.loads(JSONFormatter().format(record))["request_id"]
'r1'
"""

from __future__ import annotations

import json
import logging
import sys
import time

__all__ = ["JSONFormatter", "configure_logging"]

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    """Format records as JSON lines: ``ts``, ``level``, ``logger``, ``msg`` and extras."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(level: str = "info") -> None:
    """Send the server's and uvicorn's logs to stderr as JSON lines.

    >>> callable(configure_logging)
    True
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    for name in ("emotion_analytics", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
