"""ASGI middleware of the API: the key check, the body size limit and the access log.

`KeyCheckMiddleware` runs first: a request to the emotion endpoints without a valid key is
answered 401 before its body is read (beyond draining it) or parsed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from urllib.parse import parse_qs

from fastapi import HTTPException

from ..errors import Fault
from ..protocol import API_KEY_PARAM, PREFIX
from .handlers import fault_response
from .models import CODES

__all__ = ["KeyCheckMiddleware", "BodyLimitMiddleware", "AccessLogMiddleware",
           "UploadSlotsMiddleware", "DRAIN_BYTES"]

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


class KeyCheckMiddleware:
    """Check the API key from the query string before the body is read or parsed.

    ``check(key)`` raises `~emotion_analytics.errors.Fault` (401) for a missing or wrong key;
    only paths under the emotion API's prefix are checked (``/health`` and the docs are open).
    A refused body is drained (up to :data:`DRAIN_BYTES`, never parsed) so the client reads the
    401.
    """

    def __init__(self, app, *, check: Callable[[str | None], None]):
        self.app = app
        self.check = check

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope.get("path", "").startswith(PREFIX + "/"):
            return await self.app(scope, receive, send)
        query = parse_qs((scope.get("query_string") or b"").decode("latin-1"),
                         keep_blank_values=True)
        keys = query.get(API_KEY_PARAM) or [None]
        try:
            self.check(keys[-1])
        except Fault as exc:
            response = fault_response(exc.status, exc.fault_string, exc.error_code,
                                      headers={"connection": "close"})
            await _drain(receive, DRAIN_BYTES)
            return await response(scope, receive, send)
        return await self.app(scope, receive, send)


class UploadSlotsMiddleware:
    """At most ``slots`` uploads (POSTs to the emotion API) are read, parsed and handled at a
    time; the others wait before their body is read, so the memory that bodies, their base64
    text and the decoded bytes take is bounded whatever the number of clients.
    """

    def __init__(self, app, *, slots: int):
        self.app = app
        self.slots = slots
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope, receive, send):
        if (scope["type"] != "http" or scope.get("method") != "POST"
                or not scope.get("path", "").startswith(PREFIX + "/")):
            return await self.app(scope, receive, send)
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.slots)
        async with self._semaphore:
            return await self.app(scope, receive, send)


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
