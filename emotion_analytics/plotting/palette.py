"""Colours: the same emotion gets the same colour in every plot and every session.

Labels of the known vocabularies (the embedded model's, the hosted API's, v1's and the
text-emotion ones) have fixed colours (`PALETTE`), compared without case, and synonyms share
one; any other label gets a colour derived from a hash of its lower-cased text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from matplotlib import colors as mcolors

from .parts import _missing

__all__ = ["NO_EMOTION_COLOR", "PALETTE", "emotion_colors"]

#: Colour of segments without an emotion.
NO_EMOTION_COLOR = "#c8c8c8"

_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("#d62728", ("anger", "angry")),
    ("#ff7f0e", ("frustration", "frustrated")),
    ("#8c564b", ("disgust",)),
    ("#9467bd", ("fear",)),
    ("#f2b701", ("happy", "happiness", "joy")),
    ("#e377c2", ("excited",)),
    ("#17becf", ("surprise",)),
    ("#2e7d32", ("trust",)),
    ("#1f77b4", ("sad", "sadness")),
    ("#bcbd22", ("boredom",)),
    ("#a6d8a0", ("neutral",)),
    ("#7b9fd4", ("calm",)),
)
#: The fixed colour of every known label (lower case).
PALETTE: dict[str, str] = {label: color for color, labels in _FAMILIES for label in labels}


def emotion_colors(
    labels: Iterable[Any], *, colors: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The colour of each emotion label, the same in every plot and every session.

    Parameters
    ----------
    labels
        Emotion labels (e.g. ``df["emotion"].unique()``); missing values are left out.
    colors
        Optional overrides, label -> any matplotlib colour.

    Returns
    -------
    dict
        Label -> ``"#rrggbb"``, in the order the labels were given.

    Examples
    --------
    >>> emotion_colors(["anger", "Neutral", "angry"])
    {'anger': '#d62728', 'Neutral': '#a6d8a0', 'angry': '#d62728'}
    >>> emotion_colors(["elation"])["elation"] == emotion_colors(["ELATION"])["ELATION"]  # hash
    True
    >>> emotion_colors(["sad"], colors={"sad": "black"})
    {'sad': '#000000'}
    """
    out: dict[str, str] = {}
    overrides = dict(colors or {})
    for label in labels:
        if _missing(label):
            continue
        label = str(label)
        if label in overrides:
            out[label] = mcolors.to_hex(overrides[label])
        else:
            out[label] = PALETTE.get(label.lower()) or _hash_color(label.lower())
    return out


def _hash_color(key: str) -> str:
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    hue = int.from_bytes(digest[:4], "big") / 2**32
    sat = 0.50 + 0.30 * digest[4] / 255
    val = 0.60 + 0.30 * digest[5] / 255
    return mcolors.to_hex(mcolors.hsv_to_rgb((hue, sat, val)))
