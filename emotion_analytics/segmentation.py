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

Non-speech
----------
Each window is judged on its own audio, without a noise floor (so a clip that is all speech
counts like one with pauses, whatever its level), in 32 ms frames analysed at 8 kHz. A frame is
*voiced* when it is periodic at a pitch of 70-400 Hz (:data:`MIN_PERIODICITY`), not noise-like
(spectral flatness below :data:`MAX_FLATNESS`, and below :data:`MAX_TILTED_FLATNESS` once the
spectrum is tilted up, which brown noise is not) and above :data:`ABSOLUTE_FLOOR_DBFS`. A window
with fewer than :data:`MIN_VOICED_FRAMES` voiced frames is never speech; otherwise a logistic
regression weighs 16 statistics of it (:data:`FEATURE_NAMES`, `SpeechDetector.features`): how
many voiced frames have the level move by :data:`MIN_MODULATION_DB` within half a second, as
syllables do; how much the spectrum changes from frame to frame and over 96 ms and how often
the pitch holds exactly (held notes, tones, chords and hum repeat themselves; the formants and
pitch of speech move, even in slow, sad speech); periodicity; the share of loud frames that are
not voiced (consonants). Its weights are fitted by ``scripts/fit_vad.py`` on the speech of five
EmoDB speakers and generated non-speech, and checked on the other five. Silence, steady noise,
hum, clicks, tones and music-like notes give no speech; measured precision, recall and F1 are
in ``benchmarks/README.md`` (``benchmarks/bench_vad.py``). Non-speech windows
are left out, or with ``speech_only=False`` kept with ``emotion`` ``None`` (no emotion is given
to silence).

Long recordings are processed block by block (`WindowCutter`, `SpeechDetector`), so memory does
not grow with their length.

>>> plan_windows(16000 * 10, 16000)[-1]
(96000, 160000)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

__all__ = [
    "MIN_WINDOW_SECONDS",
    "ABSOLUTE_FLOOR_DBFS",
    "MIN_PERIODICITY",
    "MAX_FLATNESS",
    "MIN_MODULATION_DB",
    "MAX_TILTED_FLATNESS",
    "MIN_VOICED_FRAMES",
    "FEATURE_NAMES",
    "plan_windows",
    "WindowCutter",
    "SpeechDetector",
    "segment_blocks",
    "plan_turn_windows",
    "TurnWindowCutter",
]

#: A recording shorter than this (seconds) gives no window.
MIN_WINDOW_SECONDS = 0.25
#: Frames quieter than this (dBFS, 100-4000 Hz) are never speech.
ABSOLUTE_FLOOR_DBFS = -85.0
#: A voiced frame repeats itself this much (normalised autocorrelation at a 70-400 Hz lag).
MIN_PERIODICITY = 0.5
#: ... and is not noise-like: spectral flatness (100-4000 Hz) below this (white noise: ~0.57) ...
MAX_FLATNESS = 0.3
#: ... nor once its spectrum is tilted up by 6 dB an octave (brown and pink noise: ~0.55).
MAX_TILTED_FLATNESS = 0.45
#: Evidence of syllables: the level around a voiced frame moves by this many dB within 0.5 s.
MIN_MODULATION_DB = 10.0
#: A window with fewer voiced frames than this is never speech.
MIN_VOICED_FRAMES = 3

_FRAME_SECONDS = 0.032
_ANALYSIS_RATE = 8000
_BAND_HZ = (100.0, 4000.0)
_PITCH_BAND_HZ = (70.0, 5000.0)
_F0_HZ = (70.0, 400.0)
_COMPRESSION = 0.67  # autocorrelation of the power spectrum to this power (robust to tilt)
_MODULATION_SECONDS = 0.5
_WEAK_MODULATION_DB = 6.0
_LOUD_RANGE_DB = 25.0
_FRAME_RANGE_DB = 35.0
_FAR_FRAMES = 3  # frames apart (96 ms) for the slow spectral change
#: The window statistics `SpeechDetector.features` returns, in order (see its docstring).
FEATURE_NAMES = (
    "log_evidence", "log_weak_evidence", "log_voiced", "slow_change", "power_change",
    "change", "slow_held_share", "held_share", "power_held_share", "steady_pitch_share",
    "periodicity", "tilted_periodicity", "unvoiced_loud_share", "pitch_spread",
    "quiet_share", "level_range",
)
# Logistic regression on FEATURE_NAMES (scaling folded in), fitted by scripts/fit_vad.py on the
# speech of five EmoDB speakers and generated non-speech; a window is speech when
# features @ _WEIGHTS + _BIAS > 0 (the script's threshold is folded into _BIAS).
# fitted by scripts/fit_vad.py --threshold 0.5 --C 10.0
_WEIGHTS = np.array([
    3.57648,  # log_evidence
    1.70826,  # log_weak_evidence
    -4.75031,  # log_voiced
    -5.51723,  # slow_change
    -0.329786,  # power_change
    -10.0225,  # change
    -1.59936,  # slow_held_share
    -6.9136,  # held_share
    -5.22525,  # power_held_share
    -5.89199,  # steady_pitch_share
    19.2875,  # periodicity
    -5.19532,  # tilted_periodicity
    -3.33,  # unvoiced_loud_share
    5.28674,  # pitch_spread
    1.81373,  # quiet_share
    0.0591673,  # level_range
])
_BIAS = 7.66497

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


def _frames(x: np.ndarray, frame: int) -> np.ndarray:
    n = x.shape[-1] // frame
    return x[: n * frame].reshape(n, frame)


def _moving_range(x: np.ndarray, half: int) -> np.ndarray:
    """``max - min`` of ``x`` over ``[i - half, i + half]`` (edges: the values there)."""
    if x.size == 0:
        return x
    view = np.lib.stride_tricks.sliding_window_view(np.pad(x, half, mode="edge"), 2 * half + 1,
                                                    axis=0)
    return view.max(axis=1) - view.min(axis=1)


def _cosines(unit: np.ndarray, apart: int) -> np.ndarray:
    """Cosine of each row of ``unit`` (unit rows) with the row ``apart`` before it (0 first)."""
    out = np.zeros(unit.shape[0], np.float32)
    if unit.shape[0] > apart:
        out[apart:] = np.einsum("ij,ij->i", unit[apart:], unit[:-apart])
    return out


def _median(x: np.ndarray) -> float:
    return float(np.median(x)) if x.size else 1.0


class SpeechDetector:
    """Voicing, syllable-rate modulation and spectral change: speech without a noise floor.

    :meth:`is_speech` judges each window on its own (see the module docstring), so a clip that
    is all speech counts as much as one with pauses. :meth:`observe` is kept for streaming
    callers and needs no state. :meth:`speech_frames` gives the frame-level answer and
    :meth:`features` the window statistics the decision weighs.

    Examples
    --------
    >>> import numpy as np
    >>> sr = 16000
    >>> t = np.arange(3 * sr) / sr
    >>> f0 = 120 + 30 * np.sin(2 * np.pi * 1.5 * t)              # a pitch that moves
    >>> phase = 2 * np.pi * np.cumsum(f0) / sr
    >>> voice = sum(np.sin(k * phase) / k for k in range(1, 15))  # harmonics of it
    >>> syllables = np.maximum(np.sin(2 * np.pi * 4 * t), 0)      # 4 syllables a second
    >>> vad = SpeechDetector(sr)
    >>> vad.is_speech((0.1 * voice * syllables).astype(np.float32))
    True
    >>> hum = np.sin(2 * np.pi * 50 * t) + 0.5 * np.sin(2 * np.pi * 150 * t)
    >>> vad.is_speech((0.1 * hum).astype(np.float32))              # steady: not speech
    False
    >>> beeps = np.sin(2 * np.pi * 440 * t) * syllables           # a pitch that never moves
    >>> vad.is_speech((0.1 * beeps).astype(np.float32))
    False
    """

    def __init__(self, sample_rate: int):
        self.sample_rate = int(sample_rate)
        self._q = max(1, self.sample_rate // _ANALYSIS_RATE)  # analysed at ~8 kHz: cheaper
        sr = self.sample_rate / self._q
        self._frame = max(8, int(round(_FRAME_SECONDS * sr)))
        self._nfft = 1 << int(np.ceil(np.log2(2 * self._frame)))
        self._win = np.hanning(self._frame).astype(np.float32)
        f = np.fft.rfftfreq(self._nfft, 1 / sr)
        self._band = slice(int(np.searchsorted(f, _BAND_HZ[0])),
                           int(np.searchsorted(f, _BAND_HZ[1], side="right")))
        self._pitch_band = ((f >= _PITCH_BAND_HZ[0]) & (f <= _PITCH_BAND_HZ[1])).astype(np.float32)
        tilt = (np.maximum(f, 50.0) / 1000.0) ** 2  # +6 dB an octave (of amplitude)
        nb = self._band.stop - self._band.start
        self._ones = np.ones(nb, np.float32)
        self._mean_weights = np.full(nb, 1 / nb, np.float32)
        self._tilt_weights = (tilt[self._band] / nb).astype(np.float32)
        self._log_tilt_mean = np.float32(np.log(tilt[self._band]).mean())
        self._pitch_tilt = (self._pitch_band * tilt ** _COMPRESSION).astype(np.float32)
        self._lags = (int(sr / _F0_HZ[1]), min(int(sr / _F0_HZ[0]), self._frame - 2))
        wac = np.fft.irfft(np.abs(np.fft.rfft(self._win, self._nfft)) ** 2, self._nfft)
        lo, hi = self._lags
        self._win_ac = (wac[lo:hi + 1] / wac[0]).astype(np.float32)
        self._power_scale = 2.0 / (self._nfft * float(np.sum(self._win.astype(np.float64) ** 2)))
        self._half = max(1, int(round(_MODULATION_SECONDS / 2 / self.frame_seconds)))

    @property
    def frame_seconds(self) -> float:
        """Length of the detector's frames (they do not overlap)."""
        return self._frame * self._q / self.sample_rate

    def observe(self, block: np.ndarray) -> None:
        """Accept a block of the recording (kept for streaming callers; the rule needs none)."""

    def _frame_features(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        """Per 32-ms frame: level, voicing, pitch lag, periodicities and spectral cosines."""
        x = np.asarray(audio, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError(f"speech detection takes mono audio, got an array of {x.shape}")
        if self._q > 1:  # averaging neighbours: a low-pass, then every q-th sample
            x = x[: x.size // self._q * self._q]
            x = sum(x[i::self._q] for i in range(self._q)) * np.float32(1 / self._q)
        frames = _frames(x, self._frame)
        spec = np.fft.rfft(frames * self._win, self._nfft, axis=1)
        power = spec.real ** 2 + spec.imag ** 2
        band = power[:, self._band] + np.float32(1e-20)
        total = band @ self._ones  # sums and means as products: one pass, no reduction
        level = 10 * np.log10(total * self._power_scale + 1e-13)
        log_mean = np.log(band) @ self._mean_weights
        flatness = np.exp(log_mean) / (total * self._mean_weights[0])
        tilted_flatness = np.exp(log_mean + self._log_tilt_mean) / (band @ self._tilt_weights)
        # periodicity: the autocorrelation of the compressed spectrum, at lags of 70-400 Hz,
        # as it is and tilted up (noise whose power falls with frequency is not periodic)
        compressed = power ** np.float32(_COMPRESSION)
        ac = np.fft.irfft(np.concatenate([compressed * self._pitch_band,
                                          compressed * self._pitch_tilt]), self._nfft, axis=1)
        n = frames.shape[0]
        lo, hi = self._lags
        r = ac[:, lo:hi + 1] / (ac[:, :1] + 1e-20) / self._win_ac
        r, r_tilted = r[:n], r[n:]
        k = r.argmax(axis=1)
        rows = np.arange(n)
        periodicity = r[rows, k]
        kk = np.clip(k, 1, max(r.shape[1] - 2, 1))
        a, b, c = r[rows, kk - 1], r[rows, kk], r[rows, np.minimum(kk + 1, r.shape[1] - 1)]
        den = a - 2 * b + c
        step = np.where(np.abs(den) > 1e-9, 0.5 * (a - c) / np.where(den == 0, 1, den), 0.0)
        lag = lo + kk + np.clip(step, -1, 1)
        voiced = ((periodicity > MIN_PERIODICITY) & (flatness < MAX_FLATNESS)
                  & (tilted_flatness < MAX_TILTED_FLATNESS) & (level > ABSOLUTE_FLOOR_DBFS)
                  & (k > 0))  # a peak, not the edge of a falling autocorrelation
        mag = np.sqrt(band) / np.sqrt(total)[:, None]  # unit rows: |mag|^2 sums to total
        band /= np.sqrt(np.einsum("ij,ij->i", band, band))[:, None]
        return {
            "level": level, "voiced": voiced, "lag": lag, "periodicity": periodicity,
            "tilted_periodicity": r_tilted[rows, r_tilted.argmax(axis=1)],
            "range": _moving_range(level, self._half),
            "change": _cosines(mag, 1), "slow_change": _cosines(mag, _FAR_FRAMES),
            "power_change": _cosines(band, 1), "slow_power_change": _cosines(band, _FAR_FRAMES),
        }

    def features(self, audio: np.ndarray) -> np.ndarray:
        """The statistics of a (mono) window that the decision weighs, in :data:`FEATURE_NAMES`.

        Over the window's voiced frames (see the module docstring): how many there are, and how
        many of them have the level move by :data:`MIN_MODULATION_DB` (and 6 dB) within half a
        second (logs of 1 + the counts); how much the spectrum changes from one frame to the
        next and over 96 ms (median cosines, and the shares of frames that repeat the previous
        spectrum); the share whose pitch holds to 0.4 %; the mean periodicity, as it is and
        with the spectrum tilted up; the share of loud frames that are not voiced; the spread
        of the pitch; the share of frames 25 dB under the loudest; and the level range (dB).
        """
        f = self._frame_features(audio)
        return self._window_features(f)

    def _window_features(self, f: dict[str, np.ndarray]) -> np.ndarray:
        v, level = f["voiced"], f["level"]
        nv = int(np.count_nonzero(v))
        if nv == 0:
            return np.zeros(len(FEATURE_NAMES))
        pair = v[1:] & v[:-1]
        npair = max(int(np.count_nonzero(pair)), 1)
        far = v[_FAR_FRAMES:] & v[:-_FAR_FRAMES]
        change = f["change"][1:][pair]
        power_change = f["power_change"][1:][pair]
        slow_power = f["slow_power_change"][_FAR_FRAMES:][far]
        log_lag = np.log(f["lag"])
        pitch_step = np.abs(np.diff(log_lag))[pair]
        top = level.max()
        loud = level > top - _LOUD_RANGE_DB
        heard = level[level > -90.0]
        return np.array([
            np.log1p(np.count_nonzero(v & (f["range"] > MIN_MODULATION_DB))),
            np.log1p(np.count_nonzero(v & (f["range"] > _WEAK_MODULATION_DB))),
            np.log1p(nv),
            _median(f["slow_change"][_FAR_FRAMES:][far]),
            _median(power_change),
            _median(change),
            float(np.mean(slow_power > 0.98)) if slow_power.size else 1.0,
            np.count_nonzero(change > 0.995) / npair,
            np.count_nonzero(power_change > 0.99) / npair,
            np.count_nonzero(pitch_step < 0.004) / npair,
            float(f["periodicity"][v].mean()),
            float(f["tilted_periodicity"][v].mean()),
            np.count_nonzero(loud & ~v) / max(int(np.count_nonzero(loud)), 1),
            float(log_lag[v].std()),
            float(np.mean(level < top - _LOUD_RANGE_DB)),
            float(np.ptp(heard)) if heard.size else 0.0,
        ], dtype=np.float64)

    def _decide(self, f: dict[str, np.ndarray]) -> bool:
        if np.count_nonzero(f["voiced"]) < MIN_VOICED_FRAMES:
            return False
        return bool(self._window_features(f) @ _WEIGHTS + _BIAS > 0)

    def is_speech(self, audio: np.ndarray) -> bool:
        """Whether a (mono) window holds speech."""
        return self._decide(self._frame_features(audio))

    def speech_frames(self, audio: np.ndarray) -> np.ndarray:
        """Frame by frame (:attr:`frame_seconds` each): which frames of a window are speech.

        Frames near voiced frames whose level moves by 6 dB (within 0.25 s), not too far below
        them in level, of a window that `is_speech`; all ``False`` otherwise.
        """
        f = self._frame_features(audio)
        level = f["level"]
        out = np.zeros(level.size, bool)
        if not self._decide(f):
            return out
        evidence = f["voiced"] & (f["range"] > _WEAK_MODULATION_DB)
        if not evidence.any():
            evidence = f["voiced"]
        near = np.lib.stride_tricks.sliding_window_view(np.pad(evidence, self._half),
                                                        2 * self._half + 1).any(axis=1)
        loudest = np.max(np.where(evidence, level, -np.inf))
        return near & (level > max(loudest - _FRAME_RANGE_DB, ABSOLUTE_FLOOR_DBFS))


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
    n_ch = len(speakers)
    cutters = [WindowCutter(sample_rate, window=window, hop=hop) for _ in range(n_ch)]
    vads = [SpeechDetector(sample_rate) for _ in range(n_ch)]
    out: list[list[Segment]] = [[] for _ in range(n_ch)]
    labels = tuple(labels)
    predict = _window_predictor(predict_proba, predict_windows)

    def classify(pending: list[tuple[int, int, int, np.ndarray]]) -> None:
        speech = []
        for ch, s, e, x in pending:
            if vads[ch].is_speech(x):
                speech.append((ch, s, e, x))
            elif not speech_only:
                out[ch].append(_segment(s, e, sample_rate, None, labels, speakers[ch]))
        if speech:
            probs, dims = predict([x for _, _, _, x in speech])
            probs = np.asarray(probs, dtype=np.float64)
            if probs.shape != (len(speech), len(labels)):
                raise ValueError(
                    f"the engine returned probabilities of shape {probs.shape} for "
                    f"{len(speech)} windows and {len(labels)} labels"
                )
            dims = _check_dims(dims, len(speech))
            for j, ((ch, s, e, _), p) in enumerate(zip(speech, probs, strict=True)):
                out[ch].append(_segment(s, e, sample_rate, p, labels, speakers[ch],
                                        {k: v[j] for k, v in dims.items()}))

    for block in _blocks_2d(blocks, n_ch):
        pending = []
        for ch in range(n_ch):
            vads[ch].observe(block[ch])
            pending += [(ch, s, e, x) for s, e, x in cutters[ch].feed(block[ch])]
        classify(pending)
        if on_block is not None:
            on_block(cutters[0].samples_seen / sample_rate)
    classify([(ch, s, e, x) for ch in range(n_ch) for s, e, x in cutters[ch].finish()])
    for segs in out:
        segs.sort(key=lambda seg: (seg["start"], seg["end"]))
    return out


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
