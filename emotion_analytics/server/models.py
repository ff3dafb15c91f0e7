"""Request and answer models of the emotion API (pydantic): they make the OpenAPI document.

The field names are the DeepAffects wire contract (`emotion_analytics.protocol`).
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AudioBody", "Segment", "ClipScore", "AsyncAck", "FaultModel", "FaultInner",
           "JobStatus", "Health", "CODES", "error_responses"]


CODES = {
    400: "emotion_analytics.BadRequest", 401: "oauth.v2.InvalidApiKey",
    404: "emotion_analytics.NotFound", 405: "emotion_analytics.MethodNotAllowed",
    409: "emotion_analytics.Conflict", 413: "emotion_analytics.PayloadTooLarge",
    415: "emotion_analytics.UnsupportedMediaType", 429: "emotion_analytics.QueueFull",
    500: "emotion_analytics.InternalError",
}


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
    # only with ?dimensions=true, from engines that predict them: [0, 1], 0.5 the middle
    arousal: float | None = None
    valence: float | None = None
    dominance: float | None = None


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


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": FaultModel, "description": CODES.get(c, "error")} for c in codes}
