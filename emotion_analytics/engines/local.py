"""The embedded engine: the package's own emotion model, offline, numpy only."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .base import WindowEngine

__all__ = ["LocalEngine"]


class LocalEngine(WindowEngine):
    """The embedded emotion model (`emotion_analytics.model`) as an engine.

    Parameters
    ----------
    weights : str, optional
        A weights file written by ``emotion-analytics train --out PATH`` (its labels are the
        training data's); default: the weights shipped in the package. ``engine="local:PATH"``
        builds this engine with ``weights=PATH``.

    Examples
    --------
    >>> eng = LocalEngine()
    >>> eng.name, eng.sample_rate, len(eng.labels) > 1
    ('local', 16000, True)
    """

    name = "local"

    def __init__(self, weights: str | None = None):
        from ..model import load_model

        if weights is not None:
            from pathlib import Path

            from ..errors import UnknownEngineError

            if not Path(weights).is_file():
                raise UnknownEngineError(
                    f"local:{weights}: no such weights file (write one with "
                    "`emotion-analytics train --data ... --out PATH`)"
                )
            weights = str(Path(weights).resolve())
        self.weights = weights
        self.model = load_model(weights)
        self.labels = tuple(self.model.labels)
        self.sample_rate = int(self.model.sample_rate)

    def predict_proba(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities of the embedded model, ``(len(windows), len(labels))``."""
        return self.model.predict_proba(list(windows))

    def predict_windows(self, windows: Sequence[np.ndarray]) -> tuple[np.ndarray, dict]:
        """Class probabilities and arousal / valence of each window.

        Returns
        -------
        proba : numpy.ndarray
            ``(len(windows), len(labels))``.
        dims : dict
            ``"arousal"`` / ``"valence"`` -> ``(len(windows),)`` in [0, 1]
            (`emotion_analytics.model.classifier.EmotionModel.predict_windows`).

        Examples
        --------
        >>> import numpy as np
        >>> proba, dims = LocalEngine().predict_windows([np.zeros(16000, np.float32)])
        >>> proba.shape, sorted(dims)
        ((1, 7), ['arousal', 'valence'])
        """
        return self.model.predict_windows(list(windows))

    def __reduce__(self):
        # ship the weights' path, not the arrays, to worker processes
        return (LocalEngine, (self.weights,))
