"""Cut audio into analysis windows and leave out non-speech.

Windows
-------
Like the hosted API's segments: ``window`` seconds long (3 s by default) every ``hop``
seconds (default: ``hop = window``, no overlap). The end of a recording rarely falls on a
window boundary; the audio after the last full window (the *tail*) is handled so that no
speech is lost and no tiny window is classified:

* a tail of at least half a window becomes its own, shorter, last window;
* a shorter tail is added to the last full window (which then lasts up to 1.5 windows);
* a recording shorter than one window is one window, if it lasts at least
  :data:`MIN_WINDOW_SECONDS`; shorter ones give no window.

With speaker turns, windows are planned inside each turn (`plan_turn_windows`,
`TurnWindowCutter`).

Non-speech
----------
Each window is judged on its own audio by `SpeechDetector` (`emotion_analytics.vad`, where the
rule and its constants live; they are re-exported here). Non-speech windows are left out, or
with ``speech_only=False`` kept with ``emotion`` ``None`` (no emotion is given to silence).

Long recordings are processed block by block (`WindowCutter`, `SpeechDetector`), so memory does
not grow with their length.

>>> plan_windows(16000 * 10, 16000)[-1]
(96000, 160000)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from .vad import (  # noqa: F401  (the detector's names, re-exported from their former home)
    ABSOLUTE_FLOOR_DBFS,
    FEATURE_NAMES,
    MAX_FLATNESS,
    MAX_TILTED_FLATNESS,
    MIN_MODULATION_DB,
    MIN_PERIODICITY,
    MIN_VOICED_FRAMES,
    SpeechDetector,
)

__all__ = [
    "MIN_WINDOW_SECONDS",
    "plan_windows",
    "WindowCutter",
    "segment_blocks",
    "plan_turn_windows",
    "TurnWindowCutter",
]

#: A recording shorter than this (seconds) gives no window.
MIN_WINDOW_SECONDS = 0.25

Segment = dict
PredictProba = Callable[[list[np.ndarray]], np.ndarray]
#: ``predict_windows(windows) -> (proba, dims)``: see `emotion_analytics.engines.WindowEngine`.
PredictWindows = Callable[[list[np.ndarray]], "tuple[np.ndarray, dict[str, np.ndarray]]"]
#: The dimension keys a segment may carry (floats in [0, 1]).
_DIMENSION_KEYS = ("arousal", "valence", "dominance")


def _window_sizes(sample_rate: int, window: float, hop: float | None) -> tuple[int, int]:
    if not (isinstance(window, (int, float)) and np.isfinite(window) and window > 0):
        raise ValueError(f"window must be a positive number of seconds, got {window!r}")
    hop = window if hop is None else hop
    if not (isinstance(hop, (int, float)) and np.isfinite(hop) and 0 < hop <= window):
        raise ValueError(f"hop must be a number of seconds in (0, window], got {hop!r}")
    w = max(1, int(round(window * sample_rate)))
    h = max(1, int(round(hop * sample_rate)))
    return w, h


def plan_windows(
    n_samples: int, sample_rate: int, *, window: float = 3.0, hop: float | None = None
) -> list[tuple[int, int]]:
    """The analysis windows of a recording, as ``(start, end)`` sample indices.

    Parameters
    ----------
    n_samples : int
        Length of the recording in samples.
    sample_rate : int
        Its rate in Hz.
    window : float
        Window length in seconds.
    hop : float, optional
        Step between window starts in seconds (``0 < hop <= window``); default ``window``.

    Returns
    -------
    list of (int, int)
        See the module docstring for how the tail is handled.

    Examples
    --------
    >>> plan_windows(7 * 100, 100)            # 7 s: the 1 s tail joins the last window
    [(0, 300), (300, 700)]
    >>> plan_windows(8 * 100, 100)            # 8 s: the 2 s tail is its own window
    [(0, 300), (300, 600), (600, 800)]
    >>> plan_windows(5 * 100, 100, window=3.0, hop=1.0)
    [(0, 300), (100, 400), (200, 500)]
    >>> plan_windows(20, 100)                 # 0.2 s: too short for a window
    []
    """
    w, h = _window_sizes(sample_rate, window, hop)
    n = int(n_samples)
    if n < w:
        return [(0, n)] if n >= MIN_WINDOW_SECONDS * sample_rate else []
    k = (n - w) // h + 1  # number of full windows
    out = [(i * h, i * h + w) for i in range(k)]
    last_end = out[-1][1]
    tail = n - last_end
    if tail >= w / 2:
        out.append(((k) * h, n))
    elif tail > 0:
        out[-1] = (out[-1][0], n)
    return out


class WindowCutter:
    """Cut a stream of audio blocks into the windows of `plan_windows`, as they arrive.

    Feed blocks (``(n,)`` or ``(channels, n)``) with :meth:`feed`, then call :meth:`finish`;
    both return the windows that are complete, as ``(start, end, audio)`` with sample indices
    from the start of the stream. The windows are exactly those `plan_windows` gives for the
    total length; memory holds at most about one window, one hop and one block.

    Examples
    --------
    >>> import numpy as np
    >>> cut = WindowCutter(100, window=3.0)
    >>> got = []
    >>> for block in np.array_split(np.zeros(700, dtype=np.float32), 4):
    ...     got += [(s, e) for s, e, _ in cut.feed(block)]
    >>> got + [(s, e) for s, e, _ in cut.finish()] == plan_windows(700, 100)
    True
    """

    def __init__(self, sample_rate: int, *, window: float = 3.0, hop: float | None = None):
        self.sample_rate = int(sample_rate)
        self.window = window
        self.hop = hop
        self._w, self._h = _window_sizes(self.sample_rate, window, hop)
        self._buf: np.ndarray | None = None
        self._buf_start = 0  # sample index of _buf[..., 0]
        self._next = 0  # start of the next window to emit
        self._seen = 0

    @property
    def samples_seen(self) -> int:
        """Samples fed so far."""
        return self._seen

    def feed(self, block: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
        """Add a block; return the windows that are now certain."""
        block = np.asarray(block, dtype=np.float32)
        self._buf = block if self._buf is None else np.concatenate([self._buf, block], axis=-1)
        self._seen += block.shape[-1]
        out = []
        # a window is certainly a plain full window when a further full window fits after it
        while self._next + self._h + self._w <= self._seen:
            out.append(self._take(self._next, self._next + self._w))
            self._next += self._h
        self._trim()
        return out

    def finish(self) -> list[tuple[int, int, np.ndarray]]:
        """The remaining windows, once the stream has ended."""
        rest = [
            (s, e)
            for s, e in plan_windows(self._seen, self.sample_rate, window=self.window, hop=self.hop)
            if s >= self._next
        ]
        out = [self._take(s, e) for s, e in rest]
        self._buf = None
        return out

    def _take(self, start: int, end: int) -> tuple[int, int, np.ndarray]:
        a, b = start - self._buf_start, end - self._buf_start
        return start, end, self._buf[..., a:b]

    def _trim(self) -> None:
        drop = self._next - self._buf_start
        if drop > 0 and self._buf is not None:
            self._buf = self._buf[..., drop:].copy()
            self._buf_start = self._next


def _segment(start: int, end: int, sample_rate: int, probs: np.ndarray | None,
             labels: Sequence[str], speaker: str | None,
             dims: dict[str, float] | None = None) -> Segment:
    """A v2 segment; ``probs`` None (non-speech) or of length 0 (dimensions only): no emotion."""
    seg: Segment = {
        "emotion": None,
        "start": round(start / sample_rate, 6),
        "end": round(end / sample_rate, 6),
    }
    if probs is not None and len(probs):
        best = int(np.argmax(probs))
        seg["emotion"] = labels[best]
        seg["confidence"] = float(probs[best])
        seg["scores"] = {label: float(p) for label, p in zip(labels, probs, strict=True)}
    for key, value in (dims or {}).items():
        if np.isfinite(value):
            seg[key] = float(value)
    if speaker is not None:
        seg["speaker_id"] = speaker
    return seg


def _window_predictor(predict_proba: PredictProba | None,
                      predict_windows: PredictWindows | None) -> PredictWindows:
    """``predict_windows`` as given, or the engine's when ``predict_proba`` is its bound method."""
    if predict_windows is None:
        owner = getattr(predict_proba, "__self__", None)
        predict_windows = getattr(owner, "predict_windows", None)
    if callable(predict_windows):
        return predict_windows
    if predict_proba is None:
        raise TypeError("segment_blocks needs predict_proba= or predict_windows=")
    return lambda windows: (predict_proba(windows), {})


def _check_dims(dims: object, n: int) -> dict[str, np.ndarray]:
    if not isinstance(dims, dict):
        raise ValueError(f"predict_windows must return (proba, dict of dimensions), got "
                         f"{type(dims).__name__} for the dimensions")
    out = {}
    for key, values in dims.items():
        if key not in _DIMENSION_KEYS:
            raise ValueError(f"unknown dimension {key!r} from the engine; the dimensions are "
                             f"{list(_DIMENSION_KEYS)}")
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (n,):
            raise ValueError(f"the engine returned {key} of shape {values.shape} for {n} windows")
        out[key] = np.clip(values, 0.0, 1.0)
    return out


def segment_blocks(
    blocks: Iterable[np.ndarray],
    sample_rate: int,
    *,
    predict_proba: PredictProba | None = None,
    labels: Sequence[str],
    window: float = 3.0,
    hop: float | None = None,
    speech_only: bool = True,
    speakers: Sequence[str | None] = (None,),
    on_block: Callable[[float], None] | None = None,
    predict_windows: PredictWindows | None = None,
) -> list[list[Segment]]:
    """Classify a stream of audio blocks window by window; one segment list per channel.

    Parameters
    ----------
    blocks : iterable of numpy arrays
        ``(n,)`` blocks for one channel, or ``(channels, n)`` blocks, at ``sample_rate``.
    sample_rate : int
        Rate of the blocks, which must be the rate ``predict_proba`` expects.
    predict_proba : callable
        ``predict_proba(list_of_windows) -> (n_windows, n_labels)`` probabilities; called
        once per block with every speech window of every channel completed by that block.
        When it is a bound method of an engine that has ``predict_windows`` (every
        `~emotion_analytics.engines.WindowEngine`), that is called instead.
    labels : sequence of str
        Class names, in the columns' order.
    window, hop : float
        Window length and step in seconds (see `plan_windows`).
    speech_only : bool
        Leave non-speech windows out (default), or keep them with ``emotion`` ``None``.
    speakers : sequence of str or None
        A ``speaker_id`` per channel (``None``: no speaker key).
    on_block : callable, optional
        Called with the seconds of audio processed so far after each block (progress bars).
    predict_windows : callable, optional
        ``predict_windows(list_of_windows) -> (proba, dims)``: the probabilities as above and
        a dict of per-window dimension arrays (keys among ``arousal``, ``valence``,
        ``dominance``; values clipped to [0, 1]), put on the segments. Used instead of
        ``predict_proba``. With no labels (``proba`` of shape ``(n, 0)``), speech windows
        become segments with ``emotion`` ``None`` and the dimensions.

    Returns
    -------
    list of list of dict
        Per channel, v2 segments ``{"emotion", "start", "end"}`` with ``confidence`` and
        ``scores`` (``{label: probability}``) for speech windows, and the dimension keys
        when the engine gives them.

    Examples
    --------
    >>> import numpy as np
    >>> def two_class(windows):
    ...     loud = np.array([float(np.abs(w).max() > 0.1) for w in windows])
    ...     return np.stack([1 - 0.8 * loud - 0.1, 0.8 * loud + 0.1], axis=1)
    >>> sr = 8000
    >>> t = np.arange(9 * sr) / sr  # 3 s of silence, 3 s quiet, 3 s loud voice-like sound
    >>> phase = 2 * np.pi * np.cumsum(120 + 30 * np.sin(2 * np.pi * 1.5 * t)) / sr
    >>> voice = sum(np.sin(k * phase) / k for k in range(1, 15))
    >>> voice *= np.maximum(np.sin(2 * np.pi * 4 * t), 0)  # 4 syllables a second
    >>> x = (0.2 * voice * np.select([t < 3, t < 6], [0.0, 0.05], 0.5)).astype(np.float32)
    >>> [seg] = segment_blocks([x[:20000], x[20000:]], sr, predict_proba=two_class,
    ...                        labels=("calm", "loud"))
    >>> [(s["emotion"], s["start"], s["end"], round(s["confidence"], 2)) for s in seg]
    [('calm', 3.0, 6.0, 0.9), ('loud', 6.0, 9.0, 0.9)]
    """
    speakers = list(speakers)
    out: list[list[Segment]] = [[] for _ in speakers]
    labels = tuple(labels)
    predict = _window_predictor(predict_proba, predict_windows)
    for batch in _judged_windows(blocks, sample_rate, len(speakers), window=window, hop=hop,
                                 on_block=on_block):
        speech = [(ch, s, e, x) for ch, s, e, x, is_speech in batch if is_speech]
        if not speech_only:
            for ch, s, e, _, is_speech in batch:
                if not is_speech:
                    out[ch].append(_segment(s, e, sample_rate, None, labels, speakers[ch]))
        if speech:
            probs, dims = _predict_checked(predict, [x for *_, x in speech], len(labels))
            for j, ((ch, s, e, _), p) in enumerate(zip(speech, probs, strict=True)):
                out[ch].append(_segment(s, e, sample_rate, p, labels, speakers[ch],
                                        {k: v[j] for k, v in dims.items()}))
    for segs in out:
        segs.sort(key=lambda seg: (seg["start"], seg["end"]))
    return out


def _judged_windows(
    blocks: Iterable[np.ndarray], sample_rate: int, n_channels: int, *, window: float,
    hop: float | None, on_block: Callable[[float], None] | None = None,
) -> Iterator[list[tuple[int, int, int, np.ndarray, bool]]]:
    """Each channel of a block stream cut into windows, each window judged speech or not.

    Yields, after each block and once at the end, the windows completed then:
    ``(channel, start, end, audio, is_speech)``, sample indices. ``on_block`` gets the seconds
    read so far after each block.
    """
    cutters = [WindowCutter(sample_rate, window=window, hop=hop) for _ in range(n_channels)]
    vads = [SpeechDetector(sample_rate) for _ in range(n_channels)]

    def judged(done):
        return [(ch, s, e, x, vads[ch].is_speech(x)) for ch, s, e, x in done]

    for block in _blocks_2d(blocks, n_channels):
        done = []
        for ch in range(n_channels):
            vads[ch].observe(block[ch])
            done += [(ch, s, e, x) for s, e, x in cutters[ch].feed(block[ch])]
        yield judged(done)
        if on_block is not None:
            on_block(cutters[0].samples_seen / sample_rate)
    yield judged([(ch, s, e, x) for ch in range(n_channels) for s, e, x in cutters[ch].finish()])


def _predict_checked(predict: PredictWindows, windows: list[np.ndarray],
                     n_labels: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``predict(windows)``, checked: ``(n, n_labels)`` probabilities, known dimensions."""
    probs, dims = predict(windows)
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape != (len(windows), n_labels):
        raise ValueError(f"the engine returned probabilities of shape {probs.shape} for "
                         f"{len(windows)} windows and {n_labels} labels")
    return probs, _check_dims(dims, len(windows))


def _blocks_2d(blocks: Iterable[np.ndarray], n_ch: int) -> Iterator[np.ndarray]:
    for block in blocks:
        b = np.asarray(block, dtype=np.float32)
        if b.ndim == 1:
            b = b[None, :]
        if b.shape[0] != n_ch:
            raise ValueError(f"expected blocks with {n_ch} channel(s), got shape {b.shape}")
        yield b


# --------------------------------------------------------------------------------------------
# windows inside speaker turns


def plan_turn_windows(
    turns: Iterable[tuple[str, float, float]],
    sample_rate: int,
    *,
    window: float = 3.0,
    hop: float | None = None,
) -> list[tuple[int, int, str]]:
    """The analysis windows inside speaker turns, as ``(start, end, speaker)``.

    Each speaker's own turns are first joined where they overlap or touch; each joined turn is
    then cut like a recording of its own by `plan_windows` (so no window crosses a change of
    speaker, a turn shorter than a window is one shorter window if it lasts at least
    :data:`MIN_WINDOW_SECONDS`, and a short tail joins the turn's last window). Turns of
    different speakers that overlap (two people at once) are each cut on their own. Time
    outside every turn gets no window.

    Parameters
    ----------
    turns : iterable of (speaker, start, end)
        Speaker label and times in seconds.
    sample_rate : int
        Rate in Hz of the sample indices returned.
    window, hop : float
        As in `plan_windows`.

    Returns
    -------
    list of (int, int, str)
        Sample indices and speaker, sorted by start, end and speaker.

    Examples
    --------
    >>> plan_turn_windows([("a", 0.0, 4.0), ("b", 4.0, 10.0), ("a", 10.5, 10.6)], 100)
    [(0, 400, 'a'), (400, 700, 'b'), (700, 1000, 'b')]
    >>> plan_turn_windows([("a", 0, 2), ("a", 2, 4), ("b", 1, 2)], 100)  # a's turns join
    [(0, 400, 'a'), (100, 200, 'b')]
    """
    by_speaker: dict[str, list[list[int]]] = {}
    for speaker, start, end in turns:
        a = max(0, int(round(float(start) * sample_rate)))
        b = int(round(float(end) * sample_rate))
        if b > a:
            by_speaker.setdefault(str(speaker), []).append([a, b])
    out: list[tuple[int, int, str]] = []
    for speaker, spans in by_speaker.items():
        spans.sort()
        joined = [spans[0]]
        for a, b in spans[1:]:
            if a <= joined[-1][1]:
                joined[-1][1] = max(joined[-1][1], b)
            else:
                joined.append([a, b])
        for a, b in joined:
            out += [(a + s, a + e, speaker)
                    for s, e in plan_windows(b - a, sample_rate, window=window, hop=hop)]
    out.sort()
    return out


class TurnWindowCutter:
    """Cut a stream of mono audio blocks into planned windows (`plan_turn_windows`).

    Feed blocks with :meth:`feed`, then call :meth:`finish`; both return the windows that are
    complete, as ``(start, end, speaker, audio)``. Memory holds the audio from the start of
    the earliest window not yet returned (at most about 1.5 windows and one block); time
    between turns is dropped as it arrives. Windows that run past the end of the stream are
    cut at the end (and dropped when less than :data:`MIN_WINDOW_SECONDS` remains).

    Examples
    --------
    >>> import numpy as np
    >>> plan = plan_turn_windows([("a", 0.0, 3.0), ("b", 5.0, 9.2)], 100)
    >>> cut = TurnWindowCutter(100, plan)
    >>> got = []
    >>> for block in np.array_split(np.arange(900, dtype=np.float32), 4):
    ...     got += [(s, e, spk, float(x[0])) for s, e, spk, x in cut.feed(block)]
    >>> got + [(s, e, spk, float(x[0])) for s, e, spk, x in cut.finish()]
    [(0, 300, 'a', 0.0), (500, 900, 'b', 500.0)]
    """

    def __init__(self, sample_rate: int, windows: Sequence[tuple[int, int, str]]):
        self.sample_rate = int(sample_rate)
        self._windows = sorted(windows)
        self._i = 0  # next window to return
        self._buf = np.zeros(0, dtype=np.float32)
        self._buf_start = 0  # sample index of _buf[0]
        self._seen = 0

    @property
    def samples_seen(self) -> int:
        """Samples fed so far."""
        return self._seen

    def feed(self, block: np.ndarray) -> list[tuple[int, int, str, np.ndarray]]:
        """Add a mono block; return the windows that are now complete."""
        block = np.asarray(block, dtype=np.float32)
        if block.ndim != 1:
            raise ValueError(f"speaker turns are cut from mono audio, got a block of {block.shape}")
        self._buf = np.concatenate([self._buf, block])
        self._seen += block.size
        out = []
        while self._i < len(self._windows) and self._windows[self._i][1] <= self._seen:
            out.append(self._take(*self._windows[self._i]))
            self._i += 1
        keep_from = self._windows[self._i][0] if self._i < len(self._windows) else self._seen
        drop = min(keep_from, self._seen) - self._buf_start
        if drop > 0:
            self._buf = self._buf[drop:].copy()
            self._buf_start += drop
        return out

    def finish(self) -> list[tuple[int, int, str, np.ndarray]]:
        """The windows left when the stream has ended, cut at its end."""
        out = []
        for start, end, speaker in self._windows[self._i:]:
            end = min(end, self._seen)
            if end - start >= MIN_WINDOW_SECONDS * self.sample_rate:
                out.append(self._take(start, end, speaker))
        self._i = len(self._windows)
        self._buf = np.zeros(0, dtype=np.float32)
        return out

    def _take(self, start: int, end: int, speaker: str) -> tuple[int, int, str, np.ndarray]:
        a, b = start - self._buf_start, end - self._buf_start
        return start, end, speaker, self._buf[a:b]
