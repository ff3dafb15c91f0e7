"""The DeepAffects wire contract, written once: paths, bodies, faults, webhook signatures, labels.

The HTTP client (`emotion_analytics.client`), the self-hosted server
(`emotion_analytics.server`) and the answer reader (`emotion_analytics.responses`) all speak
this contract. Each imports it from here, and none of them imports another, so the contract
cannot drift between the side that writes a body and the side that reads it.

* **Paths and versions**: `recognise_path`, `status_path`, :data:`VERSIONS`,
  :data:`HOSTED_URL`, :data:`API_KEY_PARAM`.
* **Request bodies**: `audio_body` (base64 ``content`` or a ``url``, with the hints
  ``encoding``, ``sampleRate`` and ``languageCode``).
* **Fault bodies**, written by `fault_body` and read by `read_fault` (both the hosted spelling
  ``faultstring``/``errorcode`` and the older ``fault_string``/``error_code``).
* **Webhooks**: the posted payload (`webhook_payload`), the headers, and the HMAC-SHA256
  signature (`sign`, `verify`) of our server's extension.
* **The hosted vocabulary**: :data:`DEEPAFFECTS_LABELS`.

Nothing here does input or output; this module imports only the standard library and
`emotion_analytics.errors`.

>>> recognise_path("v2", "sync")
'/audio/generic/api/v2/sync/recognise_emotion'
>>> read_fault(fault_body("Invalid ApiKey", "oauth.v2.InvalidApiKey"))
('Invalid ApiKey', 'oauth.v2.InvalidApiKey')
>>> verify(b"{}", "k", sign(b"{}", "k"))
True
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

from .errors import UsageError

__all__ = [
    "HOSTED_URL",
    "PREFIX",
    "VERSIONS",
    "MODES",
    "API_KEY_PARAM",
    "HEALTH_PATH",
    "recognise_path",
    "status_path",
    "audio_body",
    "fault_body",
    "read_fault",
    "SIGNATURE_HEADER",
    "REQUEST_ID_HEADER",
    "sign",
    "verify",
    "signed_at",
    "SIGNATURE_TOLERANCE",
    "webhook_payload",
    "DEEPAFFECTS_LABELS",
]

# -- paths and versions -------------------------------------------------------------------------

#: Base URL of the hosted service.
HOSTED_URL = "https://proxy.api.deepaffects.com"
#: Common prefix of the emotion endpoints.
PREFIX = "/audio/generic/api"
#: API versions: ``v2`` answers segments with times, ``v1`` one score per emotion.
VERSIONS = ("v1", "v2")
#: ``sync`` answers in the response; ``async`` acknowledges and posts the answer to a webhook.
MODES = ("sync", "async")
#: The query parameter that carries the API key.
API_KEY_PARAM = "apikey"
#: Our server's liveness endpoint (an extension of the hosted service).
HEALTH_PATH = "/health"


def recognise_path(version: str, mode: str) -> str:
    """The path of the emotion endpoint of ``version`` (``"v1"``, ``"v2"``) and ``mode``.

    Raises `~emotion_analytics.errors.UsageError` for another version or mode.

    >>> recognise_path("v1", "async")
    '/audio/generic/api/v1/async/recognise_emotion'
    >>> recognise_path("v3", "sync")
    Traceback (most recent call last):
    ...
    emotion_analytics.errors.UsageError: version must be 'v1' or 'v2', not 'v3'
    """
    if version not in VERSIONS:
        raise UsageError(f"version must be 'v1' or 'v2', not {version!r}")
    if mode not in MODES:
        raise UsageError(f"mode must be 'sync' or 'async', not {mode!r}")
    return f"{PREFIX}/{version}/{mode}/recognise_emotion"


def status_path(version: str, request_id: str = "{request_id}") -> str:
    """The path of an async job's status (our server's extension; see ``docs/api.md``).

    Without ``request_id`` it is the route template.

    >>> status_path("v2", "r1")
    '/audio/generic/api/v2/async/status/r1'
    >>> status_path("v2")
    '/audio/generic/api/v2/async/status/{request_id}'
    """
    if version not in VERSIONS:
        raise UsageError(f"version must be 'v1' or 'v2', not {version!r}")
    return f"{PREFIX}/{version}/async/status/{request_id}"


# -- request bodies -----------------------------------------------------------------------------


def audio_body(
    *,
    content: str | None = None,
    url: str | None = None,
    encoding: str | None = None,
    sample_rate: int | None = None,
    language_code: str = "en-US",
) -> dict[str, Any]:
    """The JSON body of a recognise_emotion call: base64 ``content`` or a ``url``, and hints.

    >>> audio_body(content="UklGRg==", encoding="Wave", sample_rate=16000)
    {'content': 'UklGRg==', 'languageCode': 'en-US', 'encoding': 'Wave', 'sampleRate': 16000}
    """
    if (content is None) == (url is None):
        raise UsageError("a request body holds exactly one of content and url")
    body: dict[str, Any] = {"content": content} if content is not None else {"url": url}
    body["languageCode"] = language_code
    if encoding:
        body["encoding"] = encoding
    if sample_rate:
        body["sampleRate"] = int(sample_rate)
    return body


# -- fault bodies -------------------------------------------------------------------------------


def fault_body(fault_string: str | None, error_code: str | None) -> dict[str, Any]:
    """The documented error body; ``fault_body(...)["fault"]`` is a job's ``fault``.

    >>> fault_body("Invalid ApiKey", "oauth.v2.InvalidApiKey")
    {'fault': {'faultstring': 'Invalid ApiKey', 'detail': {'errorcode': 'oauth.v2.InvalidApiKey'}}}
    """
    return {"fault": {"faultstring": fault_string, "detail": {"errorcode": error_code}}}


def read_fault(payload: Any) -> tuple[str | None, str | None]:
    """``(fault string, error code)`` from an error body, in either spelling.

    Reads ``{"fault": {...}}`` and a bare fault object; anything else gives ``(None, None)``.

    >>> read_fault({"fault": {"faultstring": "Invalid ApiKey",
    ...                       "detail": {"errorcode": "oauth.v2.InvalidApiKey"}}})
    ('Invalid ApiKey', 'oauth.v2.InvalidApiKey')
    >>> read_fault({"fault": {"fault_string": "BAD REQUEST",
    ...                       "detail": {"error_code": "com.deepaffects.BadRequest"}}})
    ('BAD REQUEST', 'com.deepaffects.BadRequest')
    >>> read_fault("oops")
    (None, None)
    """
    if not isinstance(payload, Mapping):
        return None, None
    fault = payload.get("fault", payload)
    if not isinstance(fault, Mapping):
        return (None if fault is None else str(fault)), None
    text = fault.get("faultstring", fault.get("fault_string", fault.get("message")))
    detail = fault.get("detail") if isinstance(fault.get("detail"), Mapping) else {}
    code = detail.get("errorcode", detail.get("error_code", fault.get("errorcode")))
    return (None if text is None else str(text), None if code is None else str(code))


# -- webhooks -----------------------------------------------------------------------------------

#: Header carrying ``t=<unix seconds>,sha256=<hex>``: the HMAC-SHA256, with the server's secret,
#: of ``"<t>."`` followed by the raw body, so the time of signing is signed too.
SIGNATURE_HEADER = "X-Emotion-Signature"
#: Seconds a signature stays valid either side of its timestamp (`verify`'s default).
SIGNATURE_TOLERANCE = 300.0
#: Header repeating the job's ``request_id``.
REQUEST_ID_HEADER = "X-Emotion-Request-Id"


def webhook_payload(request_id: str, response: Any) -> dict[str, Any]:
    """What is posted to a webhook: the job's answer, or a fault object when it failed.

    >>> webhook_payload("r1", [])
    {'request_id': 'r1', 'response': []}
    """
    return {"request_id": request_id, "response": response}


def sign(body: bytes, secret: str, *, timestamp: float | None = None) -> str:
    """The signature header value for ``body``: ``"t=<unix seconds>,sha256=<hex>"``.

    The HMAC-SHA256 covers ``f"{t}."`` and then the body, so a captured post cannot be
    re-sent later with a fresh time (see `verify`).

    >>> sign(b"{}", "k", timestamp=1700000000)
    't=1700000000,sha256=...'
    """
    t = int(time.time() if timestamp is None else timestamp)
    mac = hmac.new(secret.encode("utf-8"), f"{t}.".encode("ascii") + body, hashlib.sha256)
    return f"t={t},sha256={mac.hexdigest()}"


def signed_at(header: str | None) -> int | None:
    """The timestamp of a signature header (``None`` when it has none).

    >>> signed_at("t=1700000000,sha256=ab"), signed_at("sha256=ab")
    (1700000000, None)
    """
    fields = dict(part.strip().partition("=")[::2] for part in (header or "").split(","))
    t = fields.get("t", "")
    return int(t) if t.isdigit() else None


def verify(body: bytes, secret: str, header: str | None, *,
           tolerance: float = SIGNATURE_TOLERANCE, now: float | None = None) -> bool:
    """Whether ``header`` is a right and fresh signature of ``body`` (constant-time comparison).

    A signature more than ``tolerance`` seconds from ``now`` is refused (stale), as is one
    without a timestamp. A receiver that also remembers the signatures it accepted (as
    `emotion_analytics.client.WebhookReceiver` does) refuses replays within the tolerance.

    >>> header = sign(b'{"request_id": "r1"}', "k")
    >>> verify(b'{"request_id": "r1"}', "k", header), verify(b'{"request_id": "r2"}', "k", header)
    (True, False)
    >>> verify(b"{}", "k", sign(b"{}", "k", timestamp=1_000_000_000))  # from 2001: stale
    False
    >>> verify(b"{}", "k", None)
    False
    """
    t = signed_at(header)
    if t is None:
        return False
    now = time.time() if now is None else now
    if abs(now - t) > tolerance:
        return False
    return hmac.compare_digest(sign(body, secret, timestamp=t), header.strip().replace(" ", ""))


# -- the hosted vocabulary ----------------------------------------------------------------------

#: The hosted service's documented v2 labels.
DEEPAFFECTS_LABELS: tuple[str, ...] = ("anger", "excited", "frustration", "happy", "sad",
                                       "neutral")
