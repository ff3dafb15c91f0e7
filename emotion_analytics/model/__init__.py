"""The embedded emotion model: offline, CPU, numpy only, weights inside the package.

>>> from emotion_analytics.model import load_model
>>> m = load_model()
>>> m.labels
('anger', 'boredom', 'disgust', 'fear', 'happiness', 'neutral', 'sadness')
>>> m.sample_rate
16000

Label vocabulary
----------------
The model answers with the seven EmoDB categories, :data:`LABELS`. :data:`TO_DEEPAFFECTS`
maps every one of them to the hosted DeepAffects vocabulary (``anger, excited, frustration,
happy, sad, neutral``); no label is dropped:

============  ============  =====================================================
model label   DeepAffects   why
============  ============  =====================================================
anger         anger         same category
happiness     happy         same category (EmoDB "Freude": joy, elated)
sadness       sad           same category
neutral       neutral       same category
boredom       neutral       low-arousal, non-negative state; DeepAffects has no
                            "bored", and "sad" would claim a negative valence the
                            acted EmoDB boredom does not carry
disgust       frustration   negative-valence, non-explosive displeasure: closer to
                            "frustration" than to the high-arousal "anger"
fear          frustration   negative valence with raised arousal but not aggression;
                            DeepAffects has no "fear". This is the loosest mapping:
                            keep the original label where fear matters
============  ============  =====================================================

DeepAffects' ``excited`` has no source label: no EmoDB class is mapped to it (EmoDB
happiness is mapped to ``happy``). :func:`to_deepaffects` applies the mapping.
"""

from __future__ import annotations

from functools import lru_cache

from ..protocol import DEEPAFFECTS_LABELS
from .classifier import LABELS, WEIGHTS_PATH, EmotionModel, load_params

__all__ = [
    "LABELS",
    "TO_DEEPAFFECTS",
    "DEEPAFFECTS_LABELS",
    "EmotionModel",
    "load_model",
    "to_deepaffects",
]

#: The hosted DeepAffects label vocabulary is :data:`DEEPAFFECTS_LABELS`, re-exported from
#: `emotion_analytics.protocol` (the wire contract).

#: Model label -> DeepAffects label (every model label has an entry; see the module docstring).
TO_DEEPAFFECTS: dict[str, str] = {
    "anger": "anger",
    "boredom": "neutral",
    "disgust": "frustration",
    "fear": "frustration",
    "happiness": "happy",
    "neutral": "neutral",
    "sadness": "sad",
}


def load_model(path: str | None = None) -> EmotionModel:
    """Load the embedded emotion model (cached per file and modification time; no network).

    Parameters
    ----------
    path : str, optional
        A weights file written by ``emotion-analytics train --out PATH``; default: the
        weights shipped in the package.

    Returns
    -------
    EmotionModel

    Examples
    --------
    >>> m = load_model()
    >>> load_model() is m
    True
    >>> len(m.labels)
    7
    """
    import os

    path = os.path.abspath(WEIGHTS_PATH if path is None else path)
    return _load_model(path, os.stat(path).st_mtime_ns)


@lru_cache(maxsize=4)
def _load_model(path: str, mtime_ns: int) -> EmotionModel:
    return EmotionModel(load_params(path))


load_model.cache_clear = _load_model.cache_clear  # type: ignore[attr-defined]


def to_deepaffects(label: str) -> str:
    """Map a model label to the DeepAffects vocabulary.

    Parameters
    ----------
    label : str
        One of :data:`LABELS`.

    Returns
    -------
    str
        One of :data:`DEEPAFFECTS_LABELS`.

    Raises
    ------
    KeyError
        For a label the model does not produce.

    Examples
    --------
    >>> to_deepaffects("happiness"), to_deepaffects("boredom")
    ('happy', 'neutral')
    """
    return TO_DEEPAFFECTS[label]
