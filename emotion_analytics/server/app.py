"""The DeepAffects-compatible emotion API as a FastAPI application.

`create_app` builds the app from a `ServerConfig` and an engine. Endpoints (see ``docs/api.md``):

* ``POST /audio/generic/api/{v1,v2}/sync/recognise_emotion``: base64 ``content`` -> answer;
* ``POST /audio/generic/api/{v1,v2}/async/recognise_emotion``: ``content`` or ``url`` -> 202
  ``{request_id, api}``, the answer is posted to ``webhook``;
* ``GET /audio/generic/api/{v1,v2}/async/status/{request_id}``: a job's state and answer
  (an extension of the hosted service);
* ``GET /health``.

Every error is the fault JSON ``{"fault": {"faultstring": ..., "detail": {"errorcode": ...}}}``.

The paths, versions and fault bodies come from `emotion_analytics.protocol`. The app's parts
live beside it: `models` (request and answer models, the OpenAPI document), `state` (what a
running server holds and does), `handlers` (errors -> fault answers) and `middleware` (body
limit, access log); this module only wires them into routes.

>>> from fastapi.testclient import TestClient
>>> with TestClient(create_app(ServerConfig(), engine=_EchoEngine())) as client:
...     client.get("/health").json()["status"]
'ok'
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Query, Security
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyQuery

from ..errors import Fault
from ..protocol import (
    API_KEY_PARAM,
    HEALTH_PATH,
    PREFIX,
    VERSIONS,
    fault_body,
    recognise_path,
    status_path,
)
from .config import ServerConfig
from .handlers import install_error_handlers, trim_openapi
from .middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    KeyCheckMiddleware,
    UploadSlotsMiddleware,
)
from .models import AsyncAck, AudioBody, ClipScore, Health, JobStatus, Segment, error_responses
from .state import ServerState, decode_content

__all__ = ["create_app", "Fault", "fault_body", "decode_content", "PREFIX"]


class _EchoEngine:
    """A tiny engine for examples: one neutral segment over the whole clip."""

    name = "echo"
    labels = ("neutral",)

    def analyze(self, audio, sample_rate: int, **options) -> list[dict]:
        end = round(len(audio) / sample_rate, 3)
        return [{"emotion": "neutral", "start": 0.0, "end": end, "confidence": 1.0,
                 "scores": {"neutral": 1.0}}]


def _resolve_engine(engine: Any, name: str) -> Any:
    if engine is not None:
        return engine
    try:
        from ..engines import get_engine
    except ImportError:  # the engines module is not there: recognition resolves the name
        return name
    return get_engine(name)


def create_app(config: ServerConfig | None = None, *, engine: Any = None) -> FastAPI:
    """Build the emotion API application.

    Parameters
    ----------
    config
        Server settings (`ServerConfig`); defaults listen on loopback without keys.
    engine
        An engine object (``name``, ``labels``, ``analyze(audio, sample_rate)``) or ``None``
        for ``config.engine`` (``"local"``: the embedded model).

    Returns
    -------
    fastapi.FastAPI
        The app; its job store, workers and webhook deliverer start with its lifespan.

    Examples
    --------
    >>> from fastapi.testclient import TestClient
    >>> with TestClient(create_app(engine=_EchoEngine())) as client:
    ...     r = client.post("/audio/generic/api/v2/sync/recognise_emotion", json={"content": "!"})
    >>> r.status_code, r.json()["fault"]["detail"]["errorcode"]
    (400, 'emotion_analytics.BadContent')
    """
    config = (config or ServerConfig()).check()
    engine = _resolve_engine(engine, config.engine)
    state = ServerState(config, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state.start()
        try:
            yield
        finally:
            state.stop()

    app = FastAPI(
        title="emotion_analytics emotion API",
        version=_version(),
        description="A self-hosted, DeepAffects-compatible emotion recognition API. "
                    "Errors are answered as {fault: {faultstring, detail: {errorcode}}}.",
        lifespan=lifespan,
    )
    app.state.server = state
    install_error_handlers(app)
    # outermost last: the access log, then the key (before any body byte is read), a slot
    # among the uploads handled at a time, the size limit
    app.add_middleware(BodyLimitMiddleware, limit=config.max_body_bytes)
    app.add_middleware(UploadSlotsMiddleware, slots=2 * config.workers)
    app.add_middleware(KeyCheckMiddleware, check=state.check_key)
    app.add_middleware(AccessLogMiddleware)

    api_key_scheme = APIKeyQuery(name=API_KEY_PARAM, auto_error=False,
                                 description="API key (when the server has keys configured)")

    def authorise(apikey: str | None = Security(api_key_scheme)) -> str | None:
        state.check_key(apikey)
        return apikey

    for version in VERSIONS:
        _add_version_routes(app, state, version, authorise)

    @app.get(HEALTH_PATH, response_model=Health, tags=["service"])
    def health() -> dict[str, Any]:
        """Liveness and the engine in use (no API key needed)."""
        counts = state.store.counts() if state.store else {}
        return {"status": "ok", "engine": state.engine_name, "labels": state.engine_labels,
                "queued": counts.get("queued", 0), "running": counts.get("running", 0)}

    trim_openapi(app)
    return app


# the answers carry the dimension keys only when a client asks: hosted-shape clients never do
_DIMENSIONS_QUERY = Query(
    False, description="v2 only: add arousal, valence and dominance (0..1) to each segment "
    "when the engine predicts them (this server's extension; off by default)")


def _add_version_routes(app: FastAPI, state: ServerState, version: str, authorise) -> None:
    answer_model = list[Segment] if version == "v2" else list[ClipScore]
    sync_path = recognise_path(version, "sync")
    async_path = recognise_path(version, "async")
    what = ("emotion segments with start and end times" if version == "v2"
            else "one score per emotion for the whole clip")

    @app.post(sync_path, response_model=answer_model, tags=[version],
              summary=f"Recognise emotions ({version}, sync)",
              description=f"Analyse base64 audio up to the server's sync limit and answer {what}.",
              responses=error_responses(400, 401, 413, 500),
              operation_id=f"recognise_{version}_sync")
    def recognise_sync(body: AudioBody, dimensions: bool = _DIMENSIONS_QUERY,
                       apikey: str | None = Security(authorise)) -> Any:
        return JSONResponse(state.recognise_sync(body, version, dimensions=dimensions))

    @app.post(async_path, status_code=202, response_model=AsyncAck, tags=[version],
              summary=f"Recognise emotions ({version}, async)",
              description="Queue base64 audio or a URL; the answer is POSTed to `webhook` as "
                          "{request_id, response} and can be read from the status endpoint.",
              responses=error_responses(400, 401, 409, 413, 429, 500),
              operation_id=f"recognise_{version}_async")
    def recognise_async(
        body: AudioBody,
        webhook: str | None = Query(None, description="URL the answer is POSTed to "
                                    "(optional here: omit it and poll the status endpoint)"),
        request_id: str | None = Query(
            None, description="Your id for the job (default a UUID4): 1 to 128 letters, digits, "
            "'.', '_' or '-', unique per API key; the same request sent again with the same id "
            "is accepted once"),
        dimensions: bool = _DIMENSIONS_QUERY,
        apikey: str | None = Security(authorise),
    ) -> Any:
        ack = state.submit(body, version=version, api=async_path, webhook=webhook,
                           request_id=request_id, apikey=apikey, dimensions=dimensions)
        return JSONResponse(ack, status_code=202)

    @app.get(status_path(version), response_model=JobStatus,
             tags=[version], summary=f"State and answer of an async job ({version})",
             responses=error_responses(400, 401, 404, 500), operation_id=f"job_status_{version}")
    def job_status(request_id: str = PathParam(..., max_length=128),
                   apikey: str | None = Security(authorise)) -> Any:
        return state.status(request_id, apikey=apikey)


def _version() -> str:
    from .. import __version__

    return __version__
