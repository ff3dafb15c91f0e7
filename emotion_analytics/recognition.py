"""Recordings in, emotion table out: `recognise`, and the answers the HTTP server sends.

The flow for one recording: `emotion_analytics.audio` decodes and resamples it in blocks;
window engines (the embedded model, transformers checkpoints) classify every speech window of
each block in one call (`emotion_analytics.segmentation`), so a three-hour file needs no more
memory than a three-minute one; other engines (an `EmotionClient`, your own) get the audio in
pieces of :data:`ENGINE_CHUNK_SECONDS`. The segments become one tidy table through
`emotion_analytics.to_frame`.

This module handles one recording; `emotion_analytics.recognise` (`emotion_analytics.batch`)
takes one or many, and sends a list through `emotion_analytics.batch.analyze_files`. The
dependency goes one way: batch imports recognition. Known speakers (``turns=``,
``channels="speakers"``) are handled in `emotion_analytics.speaker_windows`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .audio import AudioSource, AudioStream, stream
from .engines.base import Engine
from .errors import BadAudioError, EmotionAnalyticsError, UsageError
from .responses import to_frame, to_response
from .schema import PROB_PREFIX, empty_frame, normalize
from .segmentation import WindowCutter, segment_blocks
from .speaker_windows import (
    SpeakerAnswers,
    adapts,
    channel_windows,
    segments_in_turns,
    turn_windows,
    turns_for,
)

__all__ = ["recognise", "answer_v2", "answer_v1", "ENGINE_CHUNK_SECONDS"]

#: Engines without window-level probabilities get the audio in pieces this long (seconds).
ENGINE_CHUNK_SECONDS = 300.0
#: Window engines read the audio in blocks this long (seconds of native audio), unless the
#: engine has a ``block_seconds`` of its own.
_BLOCK_SECONDS = 60.0
_DEFAULT_RATE = 16000

Progress = bool | Callable[[float, float], None] | None


def recognise(
    source: AudioSource | np.ndarray | Sequence[AudioSource],
    *,
    engine: str | Engine = "local",
    sample_rate: int | None = None,
    channels: str = "mono",
    window: float = 3.0,
    hop: float | None = None,
    merge: bool = False,
    speech_only: bool = True,
    truncated: str = "warn",
    labels: Any = None,
    progress: Progress = None,
    file: str | None = None,
    scheduler: Any = None,
    turns: Any = None,
    adapt: Any = "auto",
    **options: Any,
) -> pd.DataFrame:
    """Find the emotions in recordings: audio in, one tidy segment table out.

    Parameters
    ----------
    source : path, URL, bytes, binary file object, numpy array, or a list of paths
        The recording(s). A numpy array needs ``sample_rate``; a list gives one table over
        all files (see also `emotion_analytics.batch.analyze_files`, which keeps going when
        some files fail).
    engine : str or engine object
        ``"local"`` (the embedded model, default), ``"transformers:<model id or path>"``, an
        `EmotionClient`, or any object with ``analyze(audio, sample_rate)``; see
        `emotion_analytics.engines.get_engine`.
    sample_rate : int, optional
        The rate of a numpy-array source in Hz (files carry their own rate).
    channels : {"mono", "speakers"}
        ``"mono"`` mixes channels down; ``"speakers"`` analyses each channel of a call
        recording alone, as speakers ``"ch0"``, ``"ch1"``, ... (and a ``channel`` column).
    window, hop : float
        Window length and step in seconds (3 s windows, no overlap, by default); see
        `emotion_analytics.segmentation.plan_windows` for the last partial window.
    merge : bool
        Merge adjacent windows of the same speaker and emotion
        (`emotion_analytics.analysis.merge_adjacent`).
    speech_only : bool
        Leave non-speech windows out (default), or keep them with a missing emotion.
    truncated : {"warn", "error"}
        A file shorter than its header announces: analyse the decoded part with a
        `~emotion_analytics.audio.TruncatedAudioWarning` (default), or raise `BadAudioError`.
    labels : dict, callable or str, optional
        Map the engine's labels onto another vocabulary, probabilities included (see
        `emotion_analytics.labels.relabel_table`); ``"deepaffects"`` gives the hosted API's
        ``anger, excited, frustration, happy, sad, neutral``. Default: the engine's own labels.
    progress : bool or callable, optional
        ``True`` shows a progress bar (tqdm); a callable gets ``(seconds_done, total_seconds)``.
    file : str, optional
        The ``file`` value for one source (default: the path or URL as given, a file object's
        name, else ``"audio"``).
    scheduler : dask.distributed.Client or str, optional
        For a list of files: run them as tasks on this Dask cluster (or scheduler address).
    turns : pandas.DataFrame or path, optional
        Who speaks when: a table with ``speaker, start, end`` (e.g.
        `emotion_analytics.io.read_rttm`, or a diarization answer through
        `emotion_analytics.to_frame`) or the path of an RTTM file. Windows are then cut inside
        each speaker's turns (`emotion_analytics.segmentation.plan_turn_windows`): no window
        crosses a change of speaker, time outside every turn gets no row, each row has its
        speaker, and overlapping turns of two speakers are each analysed on their own. With a
        ``file`` column naming several recordings, the rows of this recording are used (matched
        like `~emotion_analytics.analysis.assign_speakers` does). Mono audio only (not with
        ``channels="speakers"``, where the channels are the speakers). Engines without
        windows answer on the whole audio; their segments are then cut at the turns
        (`~emotion_analytics.analysis.assign_speakers`: where turns overlap, the later turn
        has the time) and time outside every turn is left out.
    adapt : {"auto", True, False}
        Adapt to each speaker when speakers are known (``turns``, or
        ``channels="speakers"``) and the engine can (the embedded model). ``"auto"``
        (default) weighs the speaker-adaptive mode by the evidence each speaker's windows give
        that the speaker shows a range of emotions, so a speaker who holds one emotion keeps
        it (`emotion_analytics.model.adaptation`); ``True`` forces the plain speaker mode,
        ``False`` the clip mode. Adapting needs all of a speaker's windows, so their features
        are kept (a few kB per window) and classified at the end of the file.
    **options
        Passed on to an engine's ``analyze`` (engines other than window engines).

    Returns
    -------
    pandas.DataFrame
        ``file, speaker, start, end, duration, emotion, confidence`` plus ``channel`` (with
        ``channels="speakers"``) and one ``prob_<label>`` column per class. When speakers are
        known (``turns`` or ``channels="speakers"``) a bool column ``adapted`` says which mode
        answered each row (True: the speaker's own statistics were used, with a weight
        ``attrs["adapt_weights"]`` gives per speaker; False: the window alone) and
        ``attrs["adapt"]`` holds the mode asked for. A recording without speech gives an
        empty table with the same columns.

    Raises
    ------
    BadAudioError
        Missing, empty, truncated or non-audio input; the message names the source.
    UnknownEngineError
        ``engine`` is not one of the choices.

    Examples
    --------
    >>> import numpy as np
    >>> import emotion_analytics as ea
    >>> rng = np.random.default_rng(0)
    >>> sr = 16000
    >>> t = np.arange(6 * sr) / sr
    >>> voice = 0.3 * np.sin(2 * np.pi * 140 * t * (1 + 0.1 * np.sin(2 * np.pi * 2 * t)))
    >>> voice *= np.sin(2 * np.pi * 1.5 * t) > 0   # syllable-like bursts with pauses
    >>> x = (voice + 0.001 * rng.standard_normal(t.size)).astype(np.float32)
    >>> df = ea.recognise(x, sample_rate=sr)
    >>> df[["file", "start", "end"]]
        file  start  end
    0  audio    0.0  3.0
    1  audio    3.0  6.0
    >>> bool(np.allclose(df.filter(like="prob_").sum(axis=1), 1.0))
    True
    >>> ea.recognise(np.zeros(5 * sr, np.float32), sample_rate=sr).shape[0]  # silence
    0
    """
    settings = dict(channels=channels, window=window, hop=hop, merge=merge,
                    speech_only=speech_only, truncated=truncated, labels=labels, adapt=adapt)
    from .model.adaptation import resolve_adapt

    resolve_adapt(adapt)  # a clear error before any decoding
    if isinstance(source, list) or (isinstance(source, tuple) and not _is_array_pair(source)):
        raise UsageError("recognition.recognise takes one recording: give a list of recordings "
                         "to emotion_analytics.recognise (or analyze_files)")
    del scheduler  # many recordings only: emotion_analytics.batch
    if isinstance(source, np.ndarray):
        if sample_rate is None:
            raise BadAudioError("a numpy array needs its rate: recognise(array, sample_rate=...)")
        source = (source, sample_rate)
    from .engines import get_engine

    eng = get_engine(engine)
    name = file if file is not None else _file_name(source)
    if turns is not None:
        turns = turns_for(turns, name)
        if channels != "mono":
            raise EmotionAnalyticsError(
                "turns= and channels='speakers' both say who speaks: give one of them (the "
                "turns are cut from the mono mix; with channels='speakers' each channel is a "
                "speaker)"
            )
    segments, speakers, weights = _segments(source, eng, name=name, progress=progress,
                                            options=options, turns=turns, **settings)
    df = _table(segments, speakers, name=name, labels=getattr(eng, "labels", None),
                channels=channels, merge=merge, relabel=labels,
                known_speakers=turns is not None or channels == "speakers")
    if weights is not None:
        df.attrs["adapt"] = resolve_adapt(adapt)
        df.attrs["adapt_weights"] = weights
    return df


def answer_v2(source: Any, *, engine: Any = "local", **options: Any) -> list[dict]:
    """The v2 sync answer for one recording, with the extras ``confidence`` and ``scores``.

    Parameters
    ----------
    source : bytes or path
        The recording (decoded once; the format is sniffed from the bytes).
    engine : str or engine object
        As in `recognise`.
    **options
        `recognise` options (``window``, ``hop``, ``merge``, ``speech_only``, ``channels``).

    Returns
    -------
    list of dict
        ``[{"emotion", "start", "end", "confidence", "scores"}, ...]`` (plus ``speaker_id``
        with ``channels="speakers"``); ``[]`` for a recording without speech.

    Raises
    ------
    BadAudioError
        The audio cannot be decoded or is empty.

    Examples
    --------
    >>> import io, numpy as np, soundfile as sf
    >>> buf = io.BytesIO()
    >>> sf.write(buf, np.zeros(16000 * 4, np.float32), 16000, format="WAV")
    >>> answer_v2(buf.getvalue())   # silence: no segment
    []
    """
    df = recognise(source, engine=engine, **options)
    if df.empty:
        return []
    answer = to_response(df, extras=True)
    return answer if isinstance(answer, list) else [s for v in answer.values() for s in v]


def answer_v1(source: Any, *, engine: Any = "local", **options: Any) -> list[dict]:
    """The v1 sync answer: one score per class for the whole recording.

    Each score is the duration-weighted mean of the windows' probabilities over the speech in
    the recording (for engines without probabilities, the share of speech time given each
    emotion). Classes are in the engine's label order.

    Parameters
    ----------
    source : bytes or path
        The recording.
    engine : str or engine object
        As in `recognise`.
    **options
        `recognise` options (``window``, ``hop``, ``channels``).

    Returns
    -------
    list of dict
        ``[{"emotion": label, "score": float}, ...]``, scores summing to 1; ``[]`` for a
        recording without speech.

    Examples
    --------
    >>> import io, numpy as np, soundfile as sf
    >>> buf = io.BytesIO()
    >>> sf.write(buf, np.zeros(16000 * 4, np.float32), 16000, format="WAV")
    >>> answer_v1(buf.getvalue())
    []
    """
    options["merge"] = False
    options["speech_only"] = True
    df = recognise(source, engine=engine, **options)
    if df.empty:
        return []
    weights = df["duration"].to_numpy(np.float64)
    probs = [c for c in df.columns if c.startswith(PROB_PREFIX)]
    if probs and not df[probs].isna().any().any():
        scores = (df[probs].to_numpy(np.float64) * weights[:, None]).sum(axis=0) / weights.sum()
        labels = [c[len(PROB_PREFIX):] for c in probs]
    else:
        shares = pd.Series(weights, index=df["emotion"].astype(str)).groupby(level=0).sum()
        labels = list(shares.index)
        scores = shares.to_numpy() / weights.sum()
    return [{"emotion": label, "score": float(s)} for label, s in zip(labels, scores, strict=True)]


# --------------------------------------------------------------------------------------------
# internals


def _is_array_pair(source: Sequence) -> bool:
    return (isinstance(source, tuple) and len(source) == 2
            and isinstance(source[0], np.ndarray) and not isinstance(source[1], np.ndarray))


def _file_name(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    name = getattr(source, "name", None)
    if isinstance(name, str) and not isinstance(source, tuple):
        return name
    return "audio"


def _progress_callback(progress: Progress, total: float, name: str):
    """A callback ``(seconds_done) -> None`` and a closer, for ``progress``."""
    if not progress:
        return None, lambda: None
    if callable(progress):
        return (lambda done: progress(done, total)), lambda: None
    from tqdm.auto import tqdm

    bar = tqdm(total=round(total, 1) if np.isfinite(total) else None, unit="s",
               desc=os.path.basename(name) or name, file=sys.stderr, leave=False)

    def update(done: float) -> None:
        bar.update(round(done - bar.n, 1))

    return update, bar.close


def _segments(source, eng, *, name, progress, options, channels, window, hop, merge,
              speech_only, truncated, labels, adapt, turns=None):
    """Per-channel v2 segments of one source, streaming it through the engine.

    Returns ``(segments, speakers, weights)``: a segment list per channel, the channels'
    speakers, and the speaker-mode weight per speaker (None when speakers are not known).
    """
    del merge, labels  # applied to the table
    rate = int(getattr(eng, "sample_rate", 0) or _DEFAULT_RATE)
    window_engine = callable(getattr(eng, "predict_proba", None)) and bool(
        getattr(eng, "labels", None))
    # an engine may ask for longer blocks (the encoder packs one block's windows per call)
    block = (float(getattr(eng, "block_seconds", None) or _BLOCK_SECONDS) if window_engine
             else ENGINE_CHUNK_SECONDS)
    with stream(source, sample_rate=rate, channels=channels, block_seconds=block,
                truncated=truncated) as st:
        speakers = [None] if channels == "mono" else [f"ch{i}" for i in range(st.n_channels)]
        on_block, close = _progress_callback(progress, st.info.duration, name)
        weights = None
        try:
            if window_engine and options:
                raise EmotionAnalyticsError(
                    f"unknown option(s) {sorted(options)} for the {eng.name!r} engine; "
                    "it takes window, hop, speech_only, merge, channels, turns and adapt"
                )
            if not window_engine:
                segments = _chunked(st, eng, speakers, on_block, options)
                if turns is not None:
                    segments = [segments_in_turns(segments[0], turns)]
            elif turns is not None or (channels == "speakers" and adapts(eng, adapt)):
                answer = SpeakerAnswers(eng, rate, adapt=adapt, n_channels=len(speakers))
                if turns is not None:
                    turn_windows(st, rate, answer, turns, window=window, hop=hop,
                                 speech_only=speech_only, on_block=on_block)
                else:
                    channel_windows(st, rate, answer, speakers, window=window, hop=hop,
                                    speech_only=speech_only, on_block=on_block)
                segments, weights = answer.finish()
            else:
                segments = segment_blocks(
                    st, rate, predict_proba=eng.predict_proba, labels=eng.labels,
                    window=window, hop=hop, speech_only=speech_only, speakers=speakers,
                    on_block=on_block,
                )
                if channels == "speakers":
                    weights = {s: 0.0 for s in speakers}
        finally:
            close()
    return segments, speakers, weights


def _chunked(st: AudioStream, eng, speakers, on_block, options) -> list[list[dict]]:
    """Engines without windows: ``analyze`` on pieces of ENGINE_CHUNK_SECONDS."""
    rate = st.sample_rate
    cutter = WindowCutter(rate, window=ENGINE_CHUNK_SECONDS)
    out: list[list[dict]] = [[] for _ in speakers]

    def run(pieces) -> None:
        for start, _, x in pieces:
            x2 = x[None, :] if x.ndim == 1 else x
            for ch, speaker in enumerate(speakers):
                for seg in eng.analyze(np.ascontiguousarray(x2[ch]), rate, **options) or []:
                    seg = dict(seg)
                    seg["start"] = round(float(seg["start"]) + start / rate, 6)
                    seg["end"] = round(float(seg["end"]) + start / rate, 6)
                    if speaker is not None:
                        seg.setdefault("speaker_id", speaker)
                    out[ch].append(seg)

    for block in st:
        run(cutter.feed(block))
        if on_block is not None:
            on_block(cutter.samples_seen / rate)
    run(cutter.finish())
    return out


def _table(segments: list[list[dict]], speakers: list[str | None], *, name: str,
           labels: Sequence[str] | None, channels: str, merge: bool,
           relabel: Any = None, known_speakers: bool = False) -> pd.DataFrame:
    prob_cols = [PROB_PREFIX + str(label) for label in (labels or ())]
    frames = []
    for ch, segs in enumerate(segments):
        if not segs:
            continue
        df = to_frame(segs, file=name)  # a stable sort: rows stay in the segments' order
        if channels == "speakers":
            df["channel"] = str(ch)
        if known_speakers:
            df["adapted"] = np.array([bool(seg.get("adapted", False)) for seg in segs])
        frames.append(df)
    if not frames:
        df = empty_frame(extra=prob_cols)
        df["file"] = df["file"].astype(str).astype("category")
        if channels == "speakers":
            df.insert(len(df.columns) - len(prob_cols), "channel", pd.Series(dtype=object))
        if known_speakers:
            df.insert(len(df.columns) - len(prob_cols), "adapted", pd.Series(dtype=bool))
        if relabel is not None:
            from .labels import relabel_table

            df = relabel_table(df, relabel)
        return df
    df = normalize(pd.concat(frames, ignore_index=True)) if len(frames) > 1 else frames[0]
    for col in prob_cols:  # every class has a column, in the engine's label order
        if col not in df.columns:
            df[col] = np.where(df["emotion"].notna(), 0.0, np.nan)
    other = [c for c in df.columns if c not in prob_cols]
    df = df[other + prob_cols]
    if relabel is not None:
        from .labels import relabel_table

        df = relabel_table(df, relabel)
    if merge:
        from .analysis import merge_adjacent

        df = merge_adjacent(df)
    return df.sort_values(["file", "start", "end", "speaker"], kind="stable",
                          na_position="first").reset_index(drop=True)
