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
        A weights file written by ``emotion-analytics train --out PATH``; default: the
        weights shipped in the package.

    Examples
    --------
    >>> eng = LocalEngine()
    >>> eng.name, eng.sample_rate, len(eng.labels) > 1
    ('local', 16000, True)
    """

    name = "local"

    def __init__(self, weights: str | None = None):
        from ..model import load_model

        self.weights = weights
        self.model = load_model(weights)
        self.labels = tuple(self.model.labels)
        self.sample_rate = int(self.model.sample_rate)

    def predict_proba(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities of the embedded model, ``(len(windows), len(labels))``."""
        return self.model.predict_proba(list(windows))

    def __reduce__(self):
        # ship the weights' path, not the arrays, to worker processes
        return (LocalEngine, (self.weights,))
