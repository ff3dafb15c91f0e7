"""Arousal and valence of emotion labels, and of a model's class probabilities.

Two dimensions in [0, 1] (0.5 = the middle): **arousal** (calm 0 ... aroused 1) and
**valence** (negative 0 ... positive 1). :data:`LABEL_DIMENSIONS` places the usual category
names on them (case-insensitive; ``angry`` and ``anger`` are one entry):

=============================  =======  =======
label                          arousal  valence
=============================  =======  =======
anger, angry                   1        0
fear, fearful, afraid          1        0
happiness, happy, joy          1        1
excited, excitement            1        1
surprise, surprised            1        0.5
frustration, frustrated        0.5      0
disgust, disgusted             0.5      0
neutral                        0        0.5
calm                           0        0.5
boredom, bored                 0        0
sadness, sad                   0        0
=============================  =======  =======

A model's dimensions are the probability-weighted means of its labels' places
(:func:`derived_dimensions`); a dimension is given only when every label of the model has a
place on it (an unknown label gives NaN, and the dimension is left out).

The binary evaluation tasks (:func:`binary_targets`) keep the labels at the ends (0 or 1)
and leave the middle (0.5) out: arousal is anger, fear, happiness high against boredom,
neutral, sadness low (disgust left out); valence is happiness positive against anger,
boredom, disgust, fear, sadness negative (neutral left out).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "DIMENSIONS",
    "LABEL_DIMENSIONS",
    "binary_targets",
    "derived_dimensions",
    "label_dimensions",
]

#: The dimensions the embedded model can give.
DIMENSIONS = ("arousal", "valence")

_TABLE = {
    ("anger", "angry"): (1.0, 0.0),
    ("fear", "fearful", "afraid"): (1.0, 0.0),
    ("happiness", "happy", "joy"): (1.0, 1.0),
    ("excited", "excitement"): (1.0, 1.0),
    ("surprise", "surprised"): (1.0, 0.5),
    ("frustration", "frustrated"): (0.5, 0.0),
    ("disgust", "disgusted"): (0.5, 0.0),
    ("neutral",): (0.0, 0.5),
    ("calm",): (0.0, 0.5),
    ("boredom", "bored"): (0.0, 0.0),
    ("sadness", "sad"): (0.0, 0.0),
}

#: Lower-case label -> {"arousal": a, "valence": v}, each in [0, 1].
LABEL_DIMENSIONS: dict[str, dict[str, float]] = {
    name: dict(zip(DIMENSIONS, place, strict=True))
    for names, place in _TABLE.items()
    for name in names
}


def label_dimensions(labels: Sequence[str]) -> dict[str, np.ndarray]:
    """The place of each label on each dimension (NaN for a label the table does not know).

    Parameters
    ----------
    labels : sequence of str

    Returns
    -------
    dict
        Dimension -> float64 array ``(len(labels),)``.

    Examples
    --------
    >>> label_dimensions(["Angry", "calm", "xyz"])["arousal"].tolist()
    [1.0, 0.0, nan]
    """
    return {
        d: np.array(
            [LABEL_DIMENSIONS.get(str(lab).strip().lower(), {}).get(d, np.nan) for lab in labels],
            dtype=np.float64,
        )
        for d in DIMENSIONS
    }


def derived_dimensions(proba: np.ndarray, labels: Sequence[str]) -> dict[str, np.ndarray]:
    """Arousal and valence of each row of class probabilities: the weighted mean of the places.

    Parameters
    ----------
    proba : numpy.ndarray
        (n, len(labels)) class probabilities, rows summing to 1.
    labels : sequence of str
        The class names of the columns.

    Returns
    -------
    dict
        Dimension -> float64 ``(n,)`` in [0, 1], for each dimension on which every label has a
        place (``{}`` when none has).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[0.8, 0.2, 0.0], [0.0, 0.5, 0.5]])
    >>> d = derived_dimensions(p, ["anger", "neutral", "happiness"])
    >>> d["arousal"].tolist(), d["valence"].tolist()
    ([0.8, 0.5], [0.1, 0.75])
    >>> derived_dimensions(p, ["anger", "neutral", "xyz"])
    {}
    """
    proba = np.asarray(proba, dtype=np.float64)
    out = {}
    for d, place in label_dimensions(labels).items():
        if np.isfinite(place).all():
            out[d] = np.clip(proba @ place, 0.0, 1.0)
    return out


def binary_targets(labels: Sequence[str], dimension: str) -> np.ndarray:
    """The binary task of a dimension per label: 1 (high), 0 (low), -1 (left out).

    Parameters
    ----------
    labels : sequence of str
    dimension : {"arousal", "valence"}

    Returns
    -------
    numpy.ndarray
        int ``(len(labels),)``.

    Examples
    --------
    >>> labs = ("anger", "boredom", "disgust", "fear", "happiness", "neutral", "sadness")
    >>> binary_targets(labs, "arousal").tolist()
    [1, 0, -1, 1, 1, 0, 0]
    >>> binary_targets(labs, "valence").tolist()
    [0, 0, 0, 0, 1, -1, 0]
    """
    place = label_dimensions(labels)[dimension]
    out = np.full(len(place), -1, dtype=int)
    out[place == 1.0] = 1
    out[place == 0.0] = 0
    return out
