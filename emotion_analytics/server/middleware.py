"""ASGI middleware of the API: the body size limit and the access log."""

from __future__ import annotations

import logging
import time

from fastapi import HTTPException

from .handlers import fault_response
from .models import CODES

__all__ = ["BodyLimitMiddleware", "AccessLogMiddleware", "DRAIN_BYTES"]

log = logging.getLogger("emotion_analytics.server")

#: A refused body is still read (and thrown away) up to this many bytes before the 413 is sent:
#: a client that writes its whole body before reading the answer (most do) would otherwise see
#: the connection reset instead of the 413 (the "lingering close" of HTTP servers).
DRAIN_BYTES = 64 * 2**20


async def _drain(receive, budget: int) -> None:
    """Read and discard the rest of a request body, at most ``budget`` bytes."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


class BodyLimitMiddleware:
    """Answer 413 when a body is larger than ``limit`` bytes (declared or streamed).

    The refused body is drained (up to :data:`DRAIN_BYTES`) before the answer, so the client
    reads the 413 whatever the timing of its writes.
    """

    def __init__(self, app, *, limit: int):
        self.app = app
        self.limit = limit

    def message(self) -> str:
        return (f"the request body is larger than this server's limit of {self.limit} bytes; "
                "for long recordings use the async endpoint with a url")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            response = fault_response(413, self.message(), CODES[413],
                                       headers={"connection": "close"})
            await _drain(receive, DRAIN_BYTES)
            return await response(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:  # FastAPI passes HTTPException from the body read on
                    if message.get("more_body", False):
                        await _drain(receive, DRAIN_BYTES)
                    raise HTTPException(413, detail=self.message())
            return message

        await self.app(scope, limited_receive, send)


class AccessLogMiddleware:
    """One structured log record per request (the query string, with its key, is not logged)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.monotonic()
        status = 500

        async def tracking_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            log.info("request", extra={
                "method": scope.get("method"), "path": scope.get("path"), "status": status,
                "ms": round((time.monotonic() - started) * 1000, 1),
                "client": (scope.get("client") or ("?",))[0]})
