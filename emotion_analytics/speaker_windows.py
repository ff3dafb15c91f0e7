"""Recognition when speakers are known: windows inside speaker turns, or one channel a speaker.

`emotion_analytics.recognition.recognise` comes here with ``turns=`` or
``channels="speakers"``. Windows are planned inside each speaker's turns
(`emotion_analytics.segmentation.plan_turn_windows`) or cut per channel; speech windows are
classified at once, or, when the engine adapts to each speaker
(`emotion_analytics.model.adaptation`), their features are kept and classified per speaker at
the end of the file (`SpeakerAnswers`). Engines without windows answer on the whole audio and
their segments are cut at the turns (`segments_in_turns`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from .analysis import assign_speakers
from .analysis.speakers import _match_recordings, _speaker_str
from .audio import AudioStream
from .errors import EmotionAnalyticsError
from .responses import to_frame, to_response
from .segmentation import (
    SpeechDetector,
    TurnWindowCutter,
    _judged_windows,
    _predict_checked,
    _segment,
    _window_predictor,
    plan_turn_windows,
)

__all__ = ["SpeakerAnswers", "adapts", "channel_windows", "segments_in_turns", "turn_windows",
           "turns_for"]


def turns_for(turns: Any, name: str) -> pd.DataFrame:
    """The speaker turns of recording ``name``: a table with ``speaker, start, end``.

    ``turns`` is a table or an RTTM path. A table naming one recording (or none) applies as
    it is; one naming several gives the rows of ``name`` (matched exactly, or by recording
    name without folders and extension, as in `analysis.assign_speakers`).
    """
    if isinstance(turns, (str, os.PathLike)):
        from .io import read_rttm

        turns = read_rttm(turns)
    if not isinstance(turns, pd.DataFrame):
        raise EmotionAnalyticsError(
            f"turns must be a table with speaker, start, end or an RTTM path, got "
            f"{type(turns).__name__}; read a diarization answer with emotion_analytics.to_frame()"
        )
    missing = [c for c in ("speaker", "start", "end") if c not in turns.columns]
    if missing:
        raise EmotionAnalyticsError(
            f"speaker turns need column(s) {missing}; they have {list(turns.columns)}"
        )
    start = pd.to_numeric(turns["start"], errors="coerce").to_numpy(np.float64)
    end = pd.to_numeric(turns["end"], errors="coerce").to_numpy(np.float64)
    bad = np.flatnonzero(~(np.isfinite(start) & np.isfinite(end) & (end > start) & (start >= 0))
                         | turns["speaker"].isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise EmotionAnalyticsError(
            f"speaker turn {i}: needs a speaker and finite 0 <= start < end, got "
            f"speaker={turns['speaker'].iloc[i]!r}, start={start[i]!r}, end={end[i]!r}"
        )
    if "file" in turns.columns and turns["file"].notna().any():
        files = turns["file"].astype(object).where(turns["file"].notna(), None)
        names = pd.unique(files.dropna().astype(str))
        if len(names) > 1:
            hit = _match_recordings(pd.Index([name]), files.astype(str).to_numpy(dtype=object))
            if not (hit >= 0).any():
                raise EmotionAnalyticsError(
                    f"the speaker turns name {len(names)} recordings "
                    f"({', '.join(map(str, names[:5]))}{', ...' if len(names) > 5 else ''}) "
                    f"and none is {name!r}: pass the turns of this recording"
                )
            turns = turns[hit >= 0]
    return turns


def adapts(eng, adapt) -> bool:
    """Whether this engine can adapt to a speaker and ``adapt`` asks it to."""
    from .model.adaptation import resolve_adapt

    model = getattr(eng, "model", None)
    return resolve_adapt(adapt) != "off" and callable(getattr(model, "predict_speaker", None))


class SpeakerAnswers:
    """Speech windows in, segments out; per speaker at the end of the file when adapting.

    Without adaptation each batch of windows is classified at once (streaming). With it, the
    model's per-window features (`EmotionModel.window_parts`) are kept per speaker and
    classified together in :meth:`finish` (`EmotionModel.predict_speaker`).
    """

    def __init__(self, eng, rate: int, *, adapt, n_channels: int):
        self.eng = eng
        self.rate = rate
        self.labels = tuple(eng.labels)
        self.adapt = adapt
        self.adaptive = adapts(eng, adapt)
        self.out: list[list[dict]] = [[] for _ in range(n_channels)]
        self.kept: dict[tuple[int, str], list] = {}
        self.speakers: list[str] = []

    def _seen(self, speaker: str) -> None:
        if speaker not in self.speakers:
            self.speakers.append(speaker)

    def non_speech(self, ch: int, start: int, end: int, speaker: str) -> None:
        self._seen(speaker)
        self.out[ch].append(self._segment(start, end, None, None, speaker, False))

    def speech(self, items: list[tuple[int, int, int, str, np.ndarray]]) -> None:
        """Classify (or keep) speech windows ``(channel, start, end, speaker, audio)``."""
        if not items:
            return
        xs = [x for *_, x in items]
        for *_, speaker, _ in items:
            self._seen(speaker)
        if self.adaptive:
            feats, cnn = self.eng.model.window_parts(xs)
            for j, (ch, s, e, speaker, _) in enumerate(items):
                self.kept.setdefault((ch, speaker), []).append(
                    (s, e, feats[j], None if cnn is None else cnn[j]))
            return
        probs, dims = _predict(self.eng, xs, len(self.labels))
        for j, (ch, s, e, speaker, _) in enumerate(items):
            self.out[ch].append(self._segment(
                s, e, probs[j], {k: v[j] for k, v in dims.items()}, speaker, False))

    def finish(self) -> tuple[list[list[dict]], dict[str, float]]:
        weights = {speaker: 0.0 for speaker in self.speakers}
        for (ch, speaker), rows in self.kept.items():
            feats = np.stack([r[2] for r in rows])
            cnn = None if rows[0][3] is None else np.stack([r[3] for r in rows])
            probs, w = self.eng.model.predict_speaker(feats, cnn, adapt=self.adapt)
            dims = _dimensions(self.eng.model, probs, feats)
            weights[speaker] = float(w)
            for j, (s, e, _, _) in enumerate(rows):
                self.out[ch].append(self._segment(
                    s, e, probs[j], {k: v[j] for k, v in dims.items()}, speaker, w > 0))
        self.kept = {}
        for segs in self.out:
            segs.sort(key=lambda seg: (seg["start"], seg["end"]))
        return self.out, weights

    def _segment(self, start, end, probs, dims, speaker, adapted) -> dict:
        seg = _segment(start, end, self.rate, probs, self.labels, speaker, dims)
        if probs is not None:
            seg["adapted"] = bool(adapted)
        return seg


def _predict(eng, windows: list, n_labels: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Class probabilities and dimensions of windows (`predict_windows` where the engine has it)."""
    predict = _window_predictor(eng.predict_proba, getattr(eng, "predict_windows", None))
    return _predict_checked(predict, windows, n_labels)


def _dimensions(model, probs: np.ndarray, feats: np.ndarray) -> dict[str, np.ndarray]:
    """Dimensions of a speaker's adapted windows, where the model gives them."""
    fn = getattr(model, "dimensions", None)
    if not callable(fn):
        return {}
    return {k: np.asarray(v, dtype=np.float64) for k, v in (fn(probs, feats) or {}).items()}


def turn_windows(st: AudioStream, rate: int, answer: SpeakerAnswers, turns: pd.DataFrame, *,
                  window, hop, speech_only, on_block) -> None:
    """Stream the (mono) audio through the windows planned inside the speaker turns."""
    spans = zip(turns["speaker"].map(_speaker_str), turns["start"], turns["end"], strict=True)
    cutter = TurnWindowCutter(rate, plan_turn_windows(spans, rate, window=window, hop=hop))
    vad = SpeechDetector(rate)

    def classify(done) -> None:
        speech = []
        for s, e, speaker, x in done:
            if vad.is_speech(x):
                speech.append((0, s, e, speaker, x))
            elif not speech_only:
                answer.non_speech(0, s, e, speaker)
        answer.speech(speech)

    for block in st:
        block = np.asarray(block, dtype=np.float32)
        block = block if block.ndim == 1 else block.mean(axis=0)
        vad.observe(block)
        classify(cutter.feed(block))
        if on_block is not None:
            on_block(cutter.samples_seen / rate)
    classify(cutter.finish())


def channel_windows(st: AudioStream, rate: int, answer: SpeakerAnswers, speakers, *,
                    window, hop, speech_only, on_block) -> None:
    """Stream each channel through its own windows, as the speaker of that channel."""
    for batch in _judged_windows(st, rate, len(speakers), window=window, hop=hop,
                                 on_block=on_block):
        speech = []
        for ch, s, e, x, is_speech in batch:
            if is_speech:
                speech.append((ch, s, e, speakers[ch], x))
            elif not speech_only:
                answer.non_speech(ch, s, e, speakers[ch])
        answer.speech(speech)


def segments_in_turns(segments: list[dict], turns: pd.DataFrame) -> list[dict]:
    """Engines without windows: cut their segments at the turns; keep only time inside them."""
    if not segments:
        return []
    df = assign_speakers(to_frame(segments, file="audio"), turns.drop(columns="file",
                                                                      errors="ignore"))
    df = df[df["speaker"].notna()]
    if df.empty:
        return []
    answer = to_response(df, extras=True)
    return answer if isinstance(answer, list) else [s for v in answer.values() for s in v]
