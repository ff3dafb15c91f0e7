"""Every error the API answers is the fault JSON of `emotion_analytics.protocol.fault_body`.

`install_error_handlers` turns `~emotion_analytics.errors.Fault`, request validation errors,
unknown paths and methods, the package's own errors and crashes into fault answers;
`trim_openapi` documents the 400 fault instead of FastAPI's default 422.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import EmotionAnalyticsError, Fault
from ..protocol import PREFIX, fault_body
from .models import CODES

__all__ = ["fault_response", "install_error_handlers", "trim_openapi"]

log = logging.getLogger("emotion_analytics.server")


def fault_response(status: int, fault_string: str, error_code: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """A fault answer with this HTTP status.

    >>> fault_response(401, "Invalid ApiKey", "oauth.v2.InvalidApiKey").status_code
    401
    """
    return JSONResponse(fault_body(fault_string, error_code), status_code=status,
                        headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Fault)
    async def on_fault(request: Request, exc: Fault) -> JSONResponse:
        return fault_response(exc.status, exc.fault_string, exc.error_code,
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return fault_response(400, _describe_validation(exc.errors()),
                               "emotion_analytics.BadRequest")

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            text = (f"no such endpoint: {request.method} {request.url.path}; the emotion API "
                    f"is POST {PREFIX}/v2/sync/recognise_emotion (and v1, async); see /docs")
        elif exc.status_code == 405:
            text = f"{request.method} is not allowed on {request.url.path}"
        else:
            text = str(exc.detail)
        code = CODES.get(exc.status_code, f"emotion_analytics.HTTP{exc.status_code}")
        return fault_response(exc.status_code, text, code, headers=exc.headers)

    @app.exception_handler(EmotionAnalyticsError)
    async def on_package_error(request: Request, exc: EmotionAnalyticsError) -> JSONResponse:
        return fault_response(400, str(exc), "emotion_analytics.BadRequest")

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error", exc_info=exc, extra={"path": request.url.path})
        return fault_response(500, f"internal error ({type(exc).__name__}); the server log "
                                    "has details", "emotion_analytics.InternalError")


def _describe_validation(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:5]:
        loc = [str(x) for x in err.get("loc", ()) if x != "body"]
        where = ".".join(loc) if loc else "the body"
        if err.get("type") == "json_invalid":
            parts.append("the body is not valid JSON; send "
                         '{"content": "<base64 audio>", "encoding": ..., "sampleRate": ...}')
        elif err.get("type") == "model_attributes_type" or (loc == [] and "dict" in
                                                            str(err.get("msg", ""))):
            parts.append("the body must be a JSON object with content or url")
        else:
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "bad request: " + "; ".join(dict.fromkeys(parts)) + more


def trim_openapi(app: FastAPI) -> None:
    """Replace FastAPI's default 422 answers by our 400 fault in the OpenAPI document."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original()
            for item in schema.get("paths", {}).values():
                for op in item.values():
                    op.get("responses", {}).pop("422", None)
            comps = schema.get("components", {}).get("schemas", {})
            comps.pop("HTTPValidationError", None)
            comps.pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
