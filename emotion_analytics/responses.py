"""API answers <-> the tidy segment table.

Every answer shape of the DeepAffects emotion API family is read by `to_frame`:

* v2 sync answer: a bare list ``[{"emotion", "start", "end"}, ...]``;
* the older wrapper ``{"segments": [...]}``;
* webhook payloads ``{"request_id", "response": <any answer>}``;
* v1 clip-level score lists ``[{"emotion", "score"}, ...]`` (one row spanning the clip, the
  per-class scores kept as ``prob_<label>`` columns);
* interaction-analytics and realtime segments (``speaker_id``, ``emotion_score``, ``text`` ...);
* diarization answers ``{"num_speakers", "segments": [{"speaker_id", "start", "end"}]}``
  (speaker turns: ``emotion`` is missing);
* segments with the dimension keys ``arousal``, ``valence``, ``dominance`` (numbers in [0, 1])
  from this project's engines and server (with ``emotion`` ``null`` from engines that predict
  dimensions only);
* JSON text or bytes, a path to a ``.json`` file, and lists or dicts of many answers keyed by
  file.

`to_response` goes back from a table to the v2 JSON shape. Folders of saved answers are read
and written by `emotion_analytics.io.answers` (`read_responses`, `write_responses`); the
fault body is read with `emotion_analytics.protocol.read_fault`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import APIError, BadResponseError, NotAResultError
from .protocol import read_fault
from .schema import (
    DIMENSIONS,
    PROB_PREFIX,
    dimension_columns,
    empty_frame,
    normalize,
    prob_columns,
)

__all__ = ["to_frame", "to_response", "LabelMapping"]

LabelMapping = Mapping[str, str] | Callable[[str], str] | str | None

_CONFIDENCE_KEYS = ("emotion_score", "confidence", "score")  # first present wins
_SPEAKER_KEYS = ("speaker", "speaker_id")
_SEGMENT_EXTRAS = ("text", "intent")
_ANSWER_KEYS = {"segments", "response", "request_id", "fault", "num_speakers", "api"}


def to_frame(
    answer: Any,
    *,
    file: str | None = None,
    speaker: str | None = None,
    labels: LabelMapping = None,
    clip_duration: float | None = None,
) -> pd.DataFrame:
    """Turn any emotion API answer into a tidy segment table.

    Parameters
    ----------
    answer
        A parsed answer (list or dict), JSON text or bytes, or a path to a ``.json`` file.
        A dict or list of several answers gives one table with one ``file`` per answer.
    file
        Value of the ``file`` column. Defaults to the mapping key, the JSON file's stem, the
        webhook's ``request_id``; ``"0"``, ``"1"``, ... for a list of answers; else ``"answer"``.
    speaker
        A speaker for every row (e.g. the channel of a stereo call), unless the answer has its
        own ``speaker_id``.
    labels
        Optional explicit label mapping: a dict (labels not in it are kept as received), a
        callable, or ``"lower"`` to lower-case. Without it labels are kept exactly as received.
    clip_duration
        Length of the clip in seconds, to place a v1 clip-level answer on the time line. Without
        it such a row has ``end`` and ``duration`` NaN.

    Returns
    -------
    pandas.DataFrame
        Columns ``file, speaker, start, end, duration, emotion, confidence`` (see
        `emotion_analytics.schema`), plus ``request_id``, ``text``, ``intent``,
        ``prob_<label>`` and the dimension columns ``arousal``, ``valence``, ``dominance``
        (float64, NaN for segments without the key) when the answer carries them. Rows are
        sorted by ``file, start, end``.

    Raises
    ------
    NotAResultError
        The answer is an async acknowledgement ``{"request_id", "api"}``.
    BadResponseError
        The answer is malformed; the message names the file, the record index and the fault.
    APIError
        The answer is an API error body (``{"fault": ...}``).

    Examples
    --------
    >>> df = to_frame([{"emotion": "joy", "start": 0.0, "end": 3.0},
    ...                {"emotion": "neutral", "start": 3.0, "end": 6.0}], file="call.wav")
    >>> df[["file", "start", "end", "emotion"]]
           file  start  end  emotion
    0  call.wav    0.0  3.0      joy
    1  call.wav    3.0  6.0  neutral
    >>> to_frame('[{"emotion": "happy", "score": 0.7}, {"emotion": "sad", "score": 0.3}]',
    ...          clip_duration=4.0)[["start", "end", "emotion", "confidence", "prob_sad"]]
       start  end emotion  confidence  prob_sad
    0    0.0  4.0   happy         0.7       0.3
    >>> to_frame([{"emotion": "calm", "start": 0, "end": 3, "arousal": 0.2, "valence": 0.6},
    ...           {"emotion": "angry", "start": 3, "end": 6, "arousal": 0.9}],
    ...          file="a")[["emotion", "arousal", "valence"]]
      emotion  arousal  valence
    0    calm      0.2      0.6
    1   angry      0.9      NaN
    """
    frames = list(_frames(answer, file=file, speaker=speaker, clip_duration=clip_duration))
    if not frames:
        return empty_frame()
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if df["file"].isna().any():
        df["file"] = df["file"].astype(object).where(df["file"].notna(), "answer")
    if labels is not None:
        df["emotion"] = _map_labels(df["emotion"], labels)
    df = normalize(df)
    probs = prob_columns(df)
    if probs:  # a class absent from one answer has probability 0 there, not "unknown"
        present = df[probs].notna().any(axis=1)
        df.loc[present, probs] = df.loc[present, probs].fillna(0.0)
    return df.sort_values(["file", "start", "end"], kind="stable").reset_index(drop=True)


def to_response(df: pd.DataFrame, *, extras: bool = True) -> list[dict] | dict[str, list[dict]]:
    """Turn a segment table back into the v2 JSON answer shape.

    Parameters
    ----------
    df
        A segment table.
    extras
        Also write ``speaker_id``, ``confidence``, ``scores`` (per-class probabilities),
        ``request_id`` and the dimensions ``arousal``, ``valence``, ``dominance`` when known.
        Clients of the hosted API ignore these keys; with ``extras=False`` the answer is exactly
        ``{"emotion", "start", "end"}`` per segment.

    Returns
    -------
    list or dict
        For a table with one file, the v2 list; for several files, a dict of lists keyed by
        file (which `to_frame` reads back).

    Examples
    --------
    >>> df = to_frame([{"emotion": "joy", "start": 0.0, "end": 3.0}], file="a")
    >>> to_response(df)
    [{'emotion': 'joy', 'start': 0.0, 'end': 3.0}]
    >>> df["arousal"] = 0.75
    >>> to_response(df)
    [{'emotion': 'joy', 'start': 0.0, 'end': 3.0, 'arousal': 0.75}]
    """
    if "file" not in df.columns:
        df = normalize(df)
    files = df["file"].astype(object)
    keys = list(dict.fromkeys(files[files.notna()]))
    probs = prob_columns(df) if extras else []
    dims = dimension_columns(df) if extras else []
    columns = ["start", "end", "emotion", "speaker", "confidence", *probs, *dims]
    if extras and "request_id" in df.columns:
        columns.append("request_id")
    out: dict[str, list[dict]] = {k: [] for k in keys}
    for key, rec in zip(files, df[columns].astype(object).to_numpy().tolist(), strict=False):
        row = dict(zip(columns, rec, strict=False))
        seg: dict[str, Any] = {
            "emotion": None if _missing(row["emotion"]) else row["emotion"],
            "start": float(row["start"]),
            "end": float(row["end"]),
        }
        if extras:
            if not _missing(row["speaker"]):
                seg["speaker_id"] = row["speaker"]
            if not _missing(row["confidence"]):
                seg["confidence"] = float(row["confidence"])
            scores = {c[len(PROB_PREFIX) :]: float(row[c]) for c in probs if not _missing(row[c])}
            if scores:
                seg["scores"] = scores
            for d in dims:
                if not _missing(row[d]):
                    seg[d] = float(row[d])
            if "request_id" in row and not _missing(row["request_id"]):
                seg["request_id"] = row["request_id"]
        out[key].append(seg)
    if len(keys) == 1:
        return out[keys[0]]
    return out


# --------------------------------------------------------------------------------------------
# reading


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _load_json(answer: Any) -> tuple[Any, str | None, str | None]:
    """Parse text, bytes or paths; return ``(obj, source_for_errors, default_file)``."""
    if isinstance(answer, os.PathLike):
        return _read_json_file(Path(answer))
    if isinstance(answer, (bytes, bytearray, memoryview)):
        answer = bytes(answer).decode("utf-8", errors="replace")
        return _parse_json_text(answer, "the answer bytes"), None, None
    if isinstance(answer, str):
        stripped = answer.lstrip()
        if stripped[:1] in ("[", "{"):
            return _parse_json_text(answer, "the answer text"), None, None
        if os.path.exists(answer) or answer.lower().endswith(".json"):
            return _read_json_file(Path(answer))
        raise BadResponseError(
            f"not JSON and not an existing file: {answer[:60]!r}; pass an answer object, JSON "
            "text, or the path of a saved .json answer"
        )
    return answer, None, None


def _read_json_file(path: Path) -> tuple[Any, str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadResponseError("file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadResponseError(f"cannot read the file ({exc})", source=str(path)) from None
    return _parse_json_text(text, str(path)), str(path), path.stem


def _parse_json_text(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadResponseError(
            f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})", source=source
        ) from None


def _frames(answer: Any, *, file, speaker, clip_duration) -> Iterable[pd.DataFrame]:
    obj, source, default_file = _load_json(answer)
    yield from _walk(
        obj,
        source=source,
        file=file if file is not None else default_file,
        speaker=speaker,
        clip_duration=clip_duration,
        request_id=None,
    )


def _is_segment(item: Any) -> bool:
    return isinstance(item, Mapping) and ("start" in item or "emotion" in item or "end" in item)


def _walk(obj, *, source, file, speaker, clip_duration, request_id) -> Iterable[pd.DataFrame]:
    kw = dict(speaker=speaker, clip_duration=clip_duration)
    if isinstance(obj, Mapping):
        keys = set(obj)
        if "fault" in obj:
            raise _fault_error(obj, source)
        if "response" in obj:  # a webhook payload
            rid = obj.get("request_id")
            rid = None if rid is None else str(rid)
            name = file if file is not None else rid
            yield from _walk(obj["response"], source=source, file=name, request_id=rid, **kw)
            return
        if "request_id" in obj and "segments" not in obj:
            raise NotAResultError(
                f"this is an async acknowledgement (request_id={obj.get('request_id')!r}, "
                f"api={obj.get('api')!r}), not a result. The result is POSTed to your webhook "
                "as {'request_id', 'response'}: pass that payload to to_frame(). With this "
                "project's server you can also fetch it with EmotionClient.wait(request_id).",
                source=source,
            )
        if "segments" in obj:
            yield _segments_frame(
                obj["segments"],
                source=source,
                file=file,
                request_id=request_id or _opt_str(obj.get("request_id")),
                **kw,
            )
            return
        if keys & _ANSWER_KEYS or _is_segment(obj):
            raise BadResponseError(
                f"unrecognised answer object with keys {sorted(keys)}; expected a list of "
                "segments, {'segments': [...]}, or a webhook payload {'request_id', 'response'}",
                source=source,
            )
        if not obj:
            return
        for key, value in obj.items():  # many answers keyed by file
            sub_source = f"{source} [{key!r}]" if source else f"answer {key!r}"
            yield from _walk(value, source=sub_source, file=str(key), request_id=request_id, **kw)
        return
    if isinstance(obj, list):
        if not obj:
            return
        if all(_is_segment(item) for item in obj):
            yield _segments_frame(obj, source=source, file=file, request_id=request_id, **kw)
            return
        if all(isinstance(item, (list, Mapping)) for item in obj):  # many answers
            for i, item in enumerate(obj):
                name = file if file is not None else None
                sub_source = f"{source} [answer {i}]" if source else f"answer {i}"
                frames = list(
                    _walk(item, source=sub_source, file=name, request_id=request_id, **kw)
                )
                for frame in frames:
                    if name is None and frame["file"].isna().all():
                        frame["file"] = str(i)
                    yield frame
            return
        bad = next(i for i, item in enumerate(obj) if not isinstance(item, (list, Mapping)))
        raise BadResponseError(
            f"expected a segment object, got {type(obj[bad]).__name__} {obj[bad]!r:.60}",
            source=source,
            record=bad,
        )
    raise BadResponseError(
        f"expected a list or object (a JSON answer), got {type(obj).__name__}", source=source
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _fault_error(obj: Mapping, source: str | None) -> APIError:
    text, code = read_fault(obj)
    where = f"{source}: " if source else ""
    return APIError(
        f"{where}the answer is an API error, not a result: {text} ({code})",
        fault_string=text,
        error_code=code,
    )


def _number(record: Mapping, key: str, *, source, index) -> float:
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise BadResponseError(
            f"{key!r} must be a number of seconds, got {type(value).__name__} {value!r:.40}",
            source=source,
            record=index,
        )
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise BadResponseError(
            f"{key!r} must be a finite number >= 0, got {value}", source=source, record=index
        )
    return value


def _segments_frame(records, *, source, file, speaker, clip_duration, request_id) -> pd.DataFrame:
    if not isinstance(records, list):
        raise BadResponseError(
            f"'segments' must be a list, got {type(records).__name__}", source=source
        )
    if records and all(
        isinstance(r, Mapping) and "score" in r and "start" not in r and "end" not in r
        for r in records
    ):
        return _clip_frame(
            records,
            source=source,
            file=file,
            speaker=speaker,
            clip_duration=clip_duration,
            request_id=request_id,
        )
    rows: list[dict[str, Any]] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise BadResponseError(
                f"expected a segment object, got {type(rec).__name__} {rec!r:.60}",
                source=source,
                record=i,
            )
        rows.append(_segment_row(rec, i, source=source, speaker=speaker))
    columns = ["start", "end", "emotion", "speaker", "confidence"]
    df = pd.DataFrame(rows) if rows else pd.DataFrame(columns=columns)
    df["file"] = file
    if request_id is not None:
        df["request_id"] = request_id
    return df


def _segment_row(rec: Mapping, i: int, *, source, speaker) -> dict[str, Any]:
    for key in ("start", "end"):
        if key not in rec:
            raise BadResponseError(
                f"missing key {key!r} (keys present: {sorted(rec)})", source=source, record=i
            )
    start = _number(rec, "start", source=source, index=i)
    end = _number(rec, "end", source=source, index=i)
    if not start < end:
        raise BadResponseError(
            f"'start' ({start}) must be before 'end' ({end})", source=source, record=i
        )
    emotion = rec.get("emotion")
    if emotion is not None and not isinstance(emotion, str):
        raise BadResponseError(
            f"'emotion' must be a string label, got {type(emotion).__name__} {emotion!r:.40}",
            source=source,
            record=i,
        )
    spk = next((rec[k] for k in _SPEAKER_KEYS if rec.get(k) is not None), speaker)
    if isinstance(spk, bool) or (spk is not None and not isinstance(spk, (str, int, np.integer))):
        raise BadResponseError(
            f"'speaker_id' must be a string or an integer, got {type(spk).__name__}",
            source=source,
            record=i,
        )
    # interaction analytics: 'emotion_score' is the emotion's, 'confidence' is the ASR's
    conf_key = next((k for k in _CONFIDENCE_KEYS if rec.get(k) is not None), None)
    conf = rec[conf_key] if conf_key else None
    if conf is not None and (isinstance(conf, bool) or not isinstance(conf, (int, float))):
        raise BadResponseError(
            f"{conf_key!r} must be a number, got {type(conf).__name__} {conf!r:.40}",
            source=source,
            record=i,
        )
    row: dict[str, Any] = {
        "start": start,
        "end": end,
        "emotion": emotion,
        "speaker": None if spk is None else str(spk),
        "confidence": np.nan if conf is None else float(conf),
    }
    for key in _SEGMENT_EXTRAS:
        if key in rec:
            row[key] = rec[key]
    if "emotion_score" in rec and rec.get("confidence") is not None:
        row["text_confidence"] = rec["confidence"]
    for key in DIMENSIONS:
        value = rec.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadResponseError(
                f"{key!r} must be a number in [0, 1], got {type(value).__name__} {value!r:.40}",
                source=source,
                record=i,
            )
        if not 0.0 <= value <= 1.0 and not math.isnan(value):
            raise BadResponseError(
                f"{key!r} ({value}) must be in [0, 1] (0.5 is the middle)",
                source=source,
                record=i,
            )
        row[key] = float(value)
    scores = rec.get("scores")
    if scores is not None:
        if not isinstance(scores, Mapping):
            raise BadResponseError(
                "'scores' must be an object of label -> probability", source=source, record=i
            )
        for label, p in scores.items():
            if isinstance(p, bool) or not isinstance(p, (int, float)):
                raise BadResponseError(
                    f"score of {label!r} must be a number, got {p!r:.40}", source=source, record=i
                )
            row[PROB_PREFIX + str(label)] = float(p)
    return row


def _clip_frame(records, *, source, file, speaker, clip_duration, request_id) -> pd.DataFrame:
    """A v1 answer: one probability per class for the whole clip -> one row."""
    scores: dict[str, float] = {}
    for i, rec in enumerate(records):
        label = rec.get("emotion")
        if not isinstance(label, str):
            raise BadResponseError(
                f"'emotion' must be a string label, got {label!r:.40}", source=source, record=i
            )
        score = rec["score"]
        if (
            isinstance(score, bool)
            or not isinstance(score, (int, float))
            or not math.isfinite(score)
        ):
            raise BadResponseError(
                f"'score' must be a finite number, got {score!r:.40}", source=source, record=i
            )
        scores[label] = float(score)
    best = max(scores, key=scores.__getitem__)
    end = np.nan if clip_duration is None else float(clip_duration)
    if clip_duration is not None and not end > 0:
        raise BadResponseError(f"clip_duration must be > 0, got {clip_duration}")
    row = {
        "file": file,
        "speaker": speaker,
        "start": 0.0,
        "end": end,
        "emotion": best,
        "confidence": scores[best],
    }
    row.update({PROB_PREFIX + label: p for label, p in scores.items()})
    df = pd.DataFrame([row])
    if request_id is not None:
        df["request_id"] = request_id
    return df


def _map_labels(emotion: pd.Series, labels: LabelMapping) -> pd.Series:
    from .labels import resolve_mapping

    fn = resolve_mapping(labels)
    return emotion.astype(object).map(lambda v: v if _missing(v) else fn(v))
