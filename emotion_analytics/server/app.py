"""The DeepAffects-compatible emotion API as a FastAPI application.

`create_app` builds the app from a `ServerConfig` and an engine. Endpoints (see ``docs/api.md``):

* ``POST /audio/generic/api/{v1,v2}/sync/recognise_emotion``: base64 ``content`` -> answer;
* ``POST /audio/generic/api/{v1,v2}/async/recognise_emotion``: ``content`` or ``url`` -> 202
  ``{request_id, api}``, the answer is posted to ``webhook``;
* ``GET /audio/generic/api/{v1,v2}/async/status/{request_id}``: a job's state and answer
  (an extension of the hosted service);
* ``GET /health``.

Every error is the fault JSON ``{"fault": {"faultstring": ..., "detail": {"errorcode": ...}}}``.

>>> from fastapi.testclient import TestClient
>>> with TestClient(create_app(ServerConfig(), engine=_EchoEngine())) as client:
...     client.get("/health").json()["status"]
'ok'
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import math
import re
import tempfile
import threading
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal, Union

from fastapi import FastAPI, HTTPException, Query, Request, Security
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyQuery
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import BadAudioError, EmotionAnalyticsError
from .config import ServerConfig
from .fetch import FetchError, UnsafeURLError, URLPolicy, check_url, fetch
from .jobs import DuplicateJobError, Job, JobStore, key_fingerprint, new_job
from .runner import JobFailure, JobRunner
from .webhooks import WebhookDeliverer

__all__ = ["create_app", "Fault", "fault_body", "PREFIX"]

log = logging.getLogger("emotion_analytics.server")

#: Common prefix of the emotion endpoints.
PREFIX = "/audio/generic/api"
_VERSIONS = ("v1", "v2")
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,200}$")  # printable ASCII, no spaces


# -- errors -------------------------------------------------------------------------------------
class Fault(Exception):
    """An error answered as fault JSON with an HTTP status."""

    def __init__(self, status: int, faultstring: str, errorcode: str):
        super().__init__(faultstring)
        self.status = status
        self.faultstring = faultstring
        self.errorcode = errorcode


def fault_body(faultstring: str, errorcode: str) -> dict[str, Any]:
    """The documented error body.

    >>> fault_body("Invalid ApiKey", "oauth.v2.InvalidApiKey")
    {'fault': {'faultstring': 'Invalid ApiKey', 'detail': {'errorcode': 'oauth.v2.InvalidApiKey'}}}
    """
    return {"fault": {"faultstring": faultstring, "detail": {"errorcode": errorcode}}}


def _fault_response(status: int, faultstring: str, errorcode: str, headers=None) -> JSONResponse:
    return JSONResponse(fault_body(faultstring, errorcode), status_code=status, headers=headers)


_CODES = {
    400: "emotion_analytics.BadRequest", 401: "oauth.v2.InvalidApiKey",
    404: "emotion_analytics.NotFound", 405: "emotion_analytics.MethodNotAllowed",
    409: "emotion_analytics.Conflict", 413: "emotion_analytics.PayloadTooLarge",
    415: "emotion_analytics.UnsupportedMediaType", 500: "emotion_analytics.InternalError",
}


# -- request and answer models (these make the OpenAPI document) ------------------------------
class AudioBody(BaseModel):
    """The request body of every recognise_emotion call; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    content: str | None = Field(
        None, description="The audio file, base64-encoded. Exactly one of content and url.")
    url: str | None = Field(
        None, description="A public http(s) URL of the audio file (async calls only).")
    encoding: str | None = Field(
        None, description="Hint only (e.g. FLAC, Wave, MP3): the format is read from the bytes.")
    sampleRate: Union[int, float, str, None] = Field(  # noqa: UP007
        None, description="Hint only: the rate is read from the file and resampled as needed.")
    languageCode: str | None = Field("en-US", description="Language spoken in the audio.")


class Segment(BaseModel):
    emotion: str
    start: float
    end: float
    confidence: float | None = None
    scores: dict[str, float] | None = None


class ClipScore(BaseModel):
    emotion: str
    score: float


class AsyncAck(BaseModel):
    request_id: str
    api: str


class FaultDetail(BaseModel):
    errorcode: str


class FaultInner(BaseModel):
    faultstring: str
    detail: FaultDetail


class FaultModel(BaseModel):
    fault: FaultInner


class JobStatus(BaseModel):
    request_id: str
    api: str
    state: Literal["queued", "running", "done", "failed"]
    delivery: Literal["none", "pending", "delivered", "gave_up"]
    delivery_attempts: int
    delivery_error: str | None = None
    response: list[dict[str, Any]] | None = None
    fault: FaultInner | None = None
    created: float
    updated: float


class Health(BaseModel):
    status: str
    engine: str
    labels: list[str]
    queued: int
    running: int


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": FaultModel, "description": _CODES.get(c, "error")} for c in codes}


# -- audio helpers ------------------------------------------------------------------------------
def decode_content(content: str) -> bytes:
    """Decode base64 audio (standard or URL-safe alphabet, line breaks and a data: prefix allowed).

    >>> decode_content("UklGRg==")
    b'RIFF'
    >>> decode_content("not base64!")
    Traceback (most recent call last):
    ...
    emotion_analytics.server.app.Fault: content is not valid base64 ...
    """
    text = content.strip()
    if text.startswith("data:") and "," in text[:200]:
        text = text.split(",", 1)[1]
    text = "".join(text.split())
    try:
        if "-" in text or "_" in text:
            data = base64.urlsafe_b64decode(text.encode("ascii"))
        else:
            data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Fault(400, f"content is not valid base64 ({exc}); send the audio file's bytes "
                         "encoded with base64", "emotion_analytics.BadContent") from exc
    if not data:
        raise Fault(400, "content is empty: send the audio file's bytes, base64-encoded",
                    "emotion_analytics.EmptyAudio")
    return data


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


# -- the app ------------------------------------------------------------------------------------
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
    state = _ServerState(config, engine)

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
    _install_error_handlers(app)
    app.add_middleware(_BodyLimitMiddleware, limit=config.max_body_bytes)
    app.add_middleware(_AccessLogMiddleware)

    api_key_scheme = APIKeyQuery(name="apikey", auto_error=False,
                                 description="API key (when the server has keys configured)")

    def authorise(apikey: str | None = Security(api_key_scheme)) -> str | None:
        state.check_key(apikey)
        return apikey

    for version in _VERSIONS:
        _add_version_routes(app, state, version, authorise)

    @app.get("/health", response_model=Health, tags=["service"])
    def health() -> dict[str, Any]:
        """Liveness and the engine in use (no API key needed)."""
        counts = state.store.counts() if state.store else {}
        return {"status": "ok", "engine": state.engine_name, "labels": state.engine_labels,
                "queued": counts.get("queued", 0), "running": counts.get("running", 0)}

    _trim_openapi(app)
    return app


def _add_version_routes(app: FastAPI, state: _ServerState, version: str, authorise) -> None:
    answer_model = list[Segment] if version == "v2" else list[ClipScore]
    sync_path = f"{PREFIX}/{version}/sync/recognise_emotion"
    async_path = f"{PREFIX}/{version}/async/recognise_emotion"
    what = ("emotion segments with start and end times" if version == "v2"
            else "one score per emotion for the whole clip")

    @app.post(sync_path, response_model=answer_model, tags=[version],
              summary=f"Recognise emotions ({version}, sync)",
              description=f"Analyse base64 audio up to the server's sync limit and answer {what}.",
              responses=_errors(400, 401, 413, 500), operation_id=f"recognise_{version}_sync")
    def recognise_sync(body: AudioBody, apikey: str | None = Security(authorise)) -> Any:
        return JSONResponse(state.recognise_sync(body, version))

    @app.post(async_path, status_code=202, response_model=AsyncAck, tags=[version],
              summary=f"Recognise emotions ({version}, async)",
              description="Queue base64 audio or a URL; the answer is POSTed to `webhook` as "
                          "{request_id, response} and can be read from the status endpoint.",
              responses=_errors(400, 401, 409, 413, 500),
              operation_id=f"recognise_{version}_async")
    def recognise_async(
        body: AudioBody,
        webhook: str | None = Query(None, description="URL the answer is POSTed to "
                                    "(optional here: omit it and poll the status endpoint)"),
        request_id: str | None = Query(None, description="Your id for the job (default a UUID4)"),
        apikey: str | None = Security(authorise),
    ) -> Any:
        ack = state.submit(body, version=version, api=async_path, webhook=webhook,
                           request_id=request_id, apikey=apikey)
        return JSONResponse(ack, status_code=202)

    @app.get(f"{PREFIX}/{version}/async/status/{{request_id}}", response_model=JobStatus,
             tags=[version], summary=f"State and answer of an async job ({version})",
             responses=_errors(400, 401, 404, 500), operation_id=f"job_status_{version}")
    def job_status(request_id: str = PathParam(..., max_length=200),
                   apikey: str | None = Security(authorise)) -> Any:
        return state.status(request_id, apikey=apikey)


class _ServerState:
    """Everything a running server holds: settings, engine, job store, workers, deliverer."""

    def __init__(self, config: ServerConfig, engine: Any):
        self.config = config
        self.engine = engine
        self.engine_name = str(getattr(engine, "name", engine))
        self.engine_labels = [str(x) for x in getattr(engine, "labels", ()) or ()]
        self.url_policy = URLPolicy(allow_private=config.allow_private_urls)
        self.webhook_policy = URLPolicy(allow_private=config.allow_private_urls,
                                        allow_loopback=config.loopback_only)
        self._keys = [k.encode("utf-8") for k in config.api_keys]
        self._sync_slots = threading.BoundedSemaphore(config.workers)
        self.store: JobStore | None = None
        self.runner: JobRunner | None = None
        self.deliverer: WebhookDeliverer | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None

    # lifecycle
    def start(self) -> None:
        path = self.config.jobs_db
        if path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="emotion-jobs-")
            path = Path(self._tmp.name) / "jobs.sqlite3"
            log.warning("no --jobs-db given: async jobs are kept in a temporary file and lost "
                        "when the server stops", extra={"jobs_db": str(path)})
        self.store = JobStore(path)
        requeued = self.store.requeue_running()
        self.deliverer = WebhookDeliverer(
            self.store, policy=self.webhook_policy, secret=self.config.webhook_secret,
            retries=self.config.webhook_retries, retry_delay=self.config.webhook_retry_delay,
            timeout=self.config.webhook_timeout)
        self.runner = JobRunner(self.store, self.process_job, workers=self.config.workers,
                                on_finished=self.deliverer.wake)
        self.runner.start()
        self.deliverer.start()
        log.info("server started", extra={
            "jobs_db": str(path), "engine": self.engine_name, "requeued": requeued,
            "counts": self.store.counts(), "auth": bool(self._keys)})

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop(grace=self.config.shutdown_grace)
        if self.deliverer is not None:
            self.deliverer.stop(timeout=self.config.webhook_timeout)
        if self.store is not None:
            log.info("server stopped", extra={"counts": self.store.counts()})
            self.store.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    # auth
    def check_key(self, apikey: str | None) -> None:
        if not self._keys:
            return
        if not apikey:
            raise Fault(401, "Missing ApiKey: add ?apikey=<KEY> to the URL",
                        "oauth.v2.InvalidApiKey")
        given = apikey.encode("utf-8")
        ok = False
        for key in self._keys:  # compare with every key: the time does not say which matched
            ok |= hmac.compare_digest(key, given)
        if not ok:
            raise Fault(401, "Invalid ApiKey", "oauth.v2.InvalidApiKey")

    # the work
    def analyse(self, data: Any, version: str) -> list[dict]:
        from .. import recognition

        answer = recognition.answer_v2 if version == "v2" else recognition.answer_v1
        # a cut-off upload is an error here, not a silently shorter answer
        return answer(data, engine=self.engine, truncated="error", labels=self.config.labels)

    def probe_duration(self, data: bytes) -> float:
        from ..audio import probe

        try:
            return float(probe(data).duration)
        except BadAudioError as exc:
            raise Fault(400, f"content is not audio this server can read: {exc}",
                        "emotion_analytics.BadAudio") from exc

    def recognise_sync(self, body: AudioBody, version: str) -> list[dict]:
        if body.url is not None:
            detail = " (and content was sent too: send exactly one)" if body.content else ""
            raise Fault(400, "url is supported by the async endpoint only: send the audio "
                             f"base64-encoded in content, or POST to the async path{detail}",
                        "emotion_analytics.BadRequest")
        if body.content is None:
            raise Fault(400, "the body needs content: the audio file, base64-encoded",
                        "emotion_analytics.BadRequest")
        data: Any = decode_content(body.content)
        duration = self.probe_duration(data)
        if not math.isfinite(duration):  # the container does not say: decode to measure
            from ..audio import decode

            try:
                audio, rate = decode(data)
            except BadAudioError as exc:
                raise Fault(400, f"the audio cannot be decoded: {exc}",
                            "emotion_analytics.BadAudio") from exc
            duration, data = len(audio) / rate, (audio, rate)
        limit = self.config.max_sync_seconds
        if duration > limit:
            raise Fault(413, f"the audio lasts {duration:.1f} s, longer than the sync limit of "
                             f"{limit:g} s; use the async endpoint "
                             f"{PREFIX}/{version}/async/recognise_emotion",
                        "emotion_analytics.AudioTooLong")
        with self._sync_slots:
            try:
                return self.analyse(data, version)
            except BadAudioError as exc:
                raise Fault(400, f"the audio cannot be analysed: {exc}",
                            "emotion_analytics.BadAudio") from exc

    def submit(self, body: AudioBody, *, version: str, api: str, webhook: str | None,
               request_id: str | None, apikey: str | None) -> dict[str, str]:
        if (body.content is None) == (body.url is None):
            raise Fault(400, "send exactly one of content (base64 audio) and url; "
                             + ("both were sent" if body.content is not None else
                                "neither was sent"), "emotion_analytics.BadRequest")
        if request_id is not None and not _REQUEST_ID.match(request_id):
            raise Fault(400, "request_id must be 1 to 200 printable characters without spaces",
                        "emotion_analytics.BadRequest")
        if webhook is not None:
            try:
                check_url(webhook, self.webhook_policy, what="webhook")
            except UnsafeURLError as exc:
                raise Fault(400, str(exc), "emotion_analytics.BadWebhook") from exc
        data = None
        if body.content is not None:
            data = decode_content(body.content)
            self.probe_duration(data)
        else:
            try:
                check_url(body.url, self.url_policy, what="url")
            except UnsafeURLError as exc:
                raise Fault(400, str(exc), "emotion_analytics.BadUrl") from exc
        job = new_job(request_id or str(uuid.uuid4()), api=api, version=version, audio=data,
                      url=body.url, webhook=webhook, key_id=key_fingerprint(apikey),
                      options={"encoding": body.encoding, "sampleRate": body.sampleRate,
                               "languageCode": body.languageCode})
        try:
            self.store.add(job)
        except DuplicateJobError as exc:
            raise Fault(409, str(exc), "emotion_analytics.DuplicateRequestId") from exc
        self.runner.notify()
        log.info("job queued", extra={"request_id": job.request_id, "api": api,
                                      "bytes": len(data) if data else None,
                                      "webhook": webhook is not None})
        return {"request_id": job.request_id, "api": api}

    def process_job(self, job: Job) -> list[dict]:
        data = job.audio
        if data is None:
            try:
                data = fetch(job.url, self.url_policy, max_bytes=self.config.max_fetch_bytes,
                             timeout=self.config.fetch_timeout)
            except (FetchError, UnsafeURLError) as exc:
                raise JobFailure(str(exc), "emotion_analytics.FetchFailed") from exc
        try:
            return self.analyse(data, job.version)
        except BadAudioError as exc:
            raise JobFailure(f"the audio cannot be analysed: {exc}",
                             "emotion_analytics.BadAudio") from exc

    def status(self, request_id: str, *, apikey: str | None) -> dict[str, Any]:
        job = self.store.get(request_id)
        if job is None or (job.key_id is not None and job.key_id != key_fingerprint(apikey)):
            raise Fault(404, f"no job with request_id {request_id!r} (jobs are visible to the "
                             "API key that submitted them)", "emotion_analytics.UnknownRequestId")
        fault = None
        if job.error is not None:
            fault = {"faultstring": job.error.get("faultstring"),
                     "detail": {"errorcode": job.error.get("errorcode")}}
        return {"request_id": job.request_id, "api": job.api, "state": job.state,
                "delivery": job.delivery, "delivery_attempts": job.attempts,
                "delivery_error": job.delivery_error, "response": job.result, "fault": fault,
                "created": job.created, "updated": job.updated}


# -- error handling -----------------------------------------------------------------------------
def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Fault)
    async def on_fault(request: Request, exc: Fault) -> JSONResponse:
        return _fault_response(exc.status, exc.faultstring, exc.errorcode)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _fault_response(400, _describe_validation(exc.errors()),
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
        code = _CODES.get(exc.status_code, f"emotion_analytics.HTTP{exc.status_code}")
        return _fault_response(exc.status_code, text, code, headers=exc.headers)

    @app.exception_handler(EmotionAnalyticsError)
    async def on_package_error(request: Request, exc: EmotionAnalyticsError) -> JSONResponse:
        return _fault_response(400, str(exc), "emotion_analytics.BadRequest")

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error", exc_info=exc, extra={"path": request.url.path})
        return _fault_response(500, f"internal error ({type(exc).__name__}); the server log "
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


def _trim_openapi(app: FastAPI) -> None:
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


# -- middleware ---------------------------------------------------------------------------------
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


class _BodyLimitMiddleware:
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
            response = _fault_response(413, self.message(), _CODES[413],
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


class _AccessLogMiddleware:
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


def _version() -> str:
    from .. import __version__

    return __version__
