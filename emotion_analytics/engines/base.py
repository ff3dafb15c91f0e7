"""The engine interface: mono audio at a known rate in, v2-shaped emotion segments out.

An *engine* is any object with

* ``name`` (str): what to call it in messages;
* ``labels`` (tuple of str, or ``None`` when not known in advance, e.g. a remote API);
* ``analyze(audio, sample_rate, **options) -> list[dict]``: ``audio`` is float32 mono
  ``(n,)`` at ``sample_rate``; the answer is a list of v2 segments
  ``{"emotion", "start", "end"}`` (seconds from the start of ``audio``), with the extras
  ``"confidence"`` (score of the emotion) and ``"scores"`` (``{label: probability}``) when the
  engine has them.

Engines that classify fixed windows (the embedded model, transformers checkpoints) derive from
`WindowEngine`: they only implement ``predict_proba(windows)`` and get windowing, speech
detection and merging from `emotion_analytics.segmentation`. `emotion_analytics.recognise`
streams long recordings block by block through ``predict_proba`` so that memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..segmentation import segment_blocks

__all__ = ["Engine", "WindowEngine"]


@runtime_checkable
class Engine(Protocol):
    """What `emotion_analytics.recognise` needs from an engine (see the module docstring)."""

    name: str
    labels: tuple[str, ...] | None

    def analyze(self, audio: np.ndarray, sample_rate: int, **options: Any) -> list[dict]:
        """v2 segments for mono float32 ``audio`` at ``sample_rate``."""
        ...  # pragma: no cover


class WindowEngine:
    """Base of engines that give class probabilities for fixed windows of audio.

    Subclasses set :attr:`name`, :attr:`labels`, :attr:`sample_rate` and implement
    :meth:`predict_proba`.

    Examples
    --------
    >>> import numpy as np
    >>> class Loudness(WindowEngine):
    ...     name, labels, sample_rate = "loudness", ("quiet", "loud"), 8000
    ...     def predict_proba(self, windows):
    ...         loud = np.array([float(np.abs(w).max() > 0.3) for w in windows])
    ...         return np.stack([1 - loud, loud], axis=1)
    >>> t = np.arange(6 * 8000) / 8000
    >>> x = (np.sin(2 * np.pi * 200 * t) * np.where(t < 3, 0.1, 0.6)).astype(np.float32)
    >>> x[:8000] = 0  # a second of silence: the noise floor the quiet part stands out from
    >>> [(s["emotion"], s["start"], s["end"]) for s in Loudness().analyze(x, 8000)]
    [('quiet', 0.0, 3.0), ('loud', 3.0, 6.0)]
    """

    name: str = "window-engine"
    labels: tuple[str, ...] = ()
    sample_rate: int = 16000

    def predict_proba(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities ``(len(windows), len(labels))`` for mono windows."""
        raise NotImplementedError

    def analyze(
        self,
        audio: np.ndarray,
        sample_rate: int,
        *,
        window: float = 3.0,
        hop: float | None = None,
        speech_only: bool = True,
    ) -> list[dict]:
        """v2 segments for mono audio, window by window.

        Parameters
        ----------
        audio : numpy.ndarray
            Mono float audio ``(n,)``; resampled to :attr:`sample_rate` if needed.
        sample_rate : int
            Rate of ``audio`` in Hz.
        window, hop : float
            Window length and step in seconds (`emotion_analytics.segmentation.plan_windows`).
        speech_only : bool
            Leave non-speech windows out (default) or keep them with ``emotion`` ``None``.

        Returns
        -------
        list of dict
            ``{"emotion", "start", "end", "confidence", "scores"}`` per speech window.
        """
        from ..audio import resample

        x = np.asarray(audio, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError(f"an engine takes mono audio (n,), got shape {x.shape}")
        x = resample(x, int(sample_rate), self.sample_rate)
        [segments] = segment_blocks(
            [x], self.sample_rate, predict_proba=self.predict_proba, labels=self.labels,
            window=window, hop=hop, speech_only=speech_only,
        )
        return segments

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {len(self.labels)} labels>"
