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

Engines that also predict *dimensions* (``arousal``, ``valence``, ``dominance``: floats in
[0, 1], 0.5 the middle) override ``predict_windows(windows) -> (proba, dims)``; the segments
then carry those keys, and the table the columns of the same names. An engine with dimensions
only (no classes: ``labels == ()``) answers speech windows with ``emotion`` ``None`` and the
dimensions.
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
    :meth:`predict_proba`; those that predict dimensions also override :meth:`predict_windows`.

    Examples
    --------
    A voice-like test signal (a moving pitch, four syllables a second), quiet then loud, after
    a second of silence; the engine calls loud windows "loud" and gives their peak as arousal:

    >>> import numpy as np
    >>> sr = 16000
    >>> t = np.arange(6 * sr) / sr
    >>> phase = 2 * np.pi * np.cumsum(120 + 30 * np.sin(2 * np.pi * 1.5 * t)) / sr
    >>> voice = sum(np.sin(k * phase) / k for k in range(1, 15))
    >>> voice *= np.maximum(np.sin(2 * np.pi * 4 * t), 0)
    >>> x = (voice * np.where(t < 3, 0.05, 0.3)).astype(np.float32)
    >>> x[:sr] = 0
    >>> class Loudness(WindowEngine):
    ...     name, labels, sample_rate = "loudness", ("quiet", "loud"), 16000
    ...     def predict_proba(self, windows):
    ...         loud = np.array([float(np.abs(w).max() > 0.3) for w in windows])
    ...         return np.stack([1 - loud, loud], axis=1)
    ...     def predict_windows(self, windows):
    ...         peak = np.array([float(np.abs(w).max()) for w in windows])
    ...         return self.predict_proba(windows), {"arousal": np.clip(peak, 0, 1)}
    >>> [(s["emotion"], s["start"], s["end"], round(s["arousal"], 2))
    ...  for s in Loudness().analyze(x, sr)]
    [('quiet', 0.0, 3.0, 0.09), ('loud', 3.0, 6.0, 0.52)]
    """

    name: str = "window-engine"
    labels: tuple[str, ...] = ()
    sample_rate: int = 16000

    def predict_proba(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities ``(len(windows), len(labels))`` for mono windows."""
        raise NotImplementedError

    def predict_windows(
        self, windows: Sequence[np.ndarray]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Class probabilities and dimensions of mono windows.

        Returns
        -------
        proba : numpy.ndarray
            ``(len(windows), len(labels))``, as :meth:`predict_proba`.
        dims : dict of str to numpy.ndarray
            Per-window values ``(len(windows),)`` in [0, 1] of the dimensions the engine
            predicts (keys among ``"arousal"``, ``"valence"``, ``"dominance"``); ``{}`` here,
            for engines that predict classes only.

        Examples
        --------
        >>> import numpy as np
        >>> class Even(WindowEngine):
        ...     labels = ("a", "b")
        ...     def predict_proba(self, windows):
        ...         return np.full((len(windows), 2), 0.5)
        >>> proba, dims = Even().predict_windows([np.zeros(16000, np.float32)])
        >>> proba.shape, dims
        ((1, 2), {})
        """
        return self.predict_proba(windows), {}

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
            ``{"emotion", "start", "end", "confidence", "scores"}`` per speech window, and
            the dimension keys when :meth:`predict_windows` gives them.
        """
        from ..audio import resample

        x = np.asarray(audio, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError(f"an engine takes mono audio (n,), got shape {x.shape}")
        x = resample(x, int(sample_rate), self.sample_rate)
        [segments] = segment_blocks(
            [x], self.sample_rate, predict_windows=self.predict_windows, labels=self.labels,
            window=window, hop=hop, speech_only=speech_only,
        )
        return segments

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {len(self.labels)} labels>"
