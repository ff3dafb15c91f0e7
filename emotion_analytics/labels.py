"""Label vocabularies and explicit, documented mappings between them.

Labels are kept exactly as an engine or API answers; nothing in the package renames them
silently. These mappings are for users who ask for one vocabulary, e.g.
``to_frame(answer, labels="deepaffects")``.
"""

from __future__ import annotations

__all__ = ["DEEPAFFECTS_V2", "EMBEDDED", "named_mapping"]

#: The hosted API's documented v2 vocabulary.
DEEPAFFECTS_V2: tuple[str, ...] = ("anger", "excited", "frustration", "happy", "sad", "neutral")

#: The embedded model's vocabulary (the seven EmoDB emotions).
EMBEDDED: tuple[str, ...] = (
    "anger",
    "boredom",
    "disgust",
    "fear",
    "happiness",
    "neutral",
    "sadness",
)


def named_mapping(name: str) -> dict[str, str]:
    """A named label mapping.

    ``"deepaffects"`` maps the embedded model's labels and the other spellings seen in the
    hosted API's answers (``joy``, ``angry``, capitalised labels, ...) onto the v2 vocabulary
    ``anger, excited, frustration, happy, sad, neutral``. Labels it does not know are kept.

    >>> named_mapping("deepaffects")["happiness"]
    'happy'
    """
    if name != "deepaffects":
        raise ValueError(
            f"unknown label mapping {name!r}; known: 'deepaffects', 'lower', "
            "or pass a dict or a callable"
        )
    from .model import TO_DEEPAFFECTS

    mapping = {
        "joy": "happy",
        "angry": "anger",
        "sadness": "sad",
        "frustrated": "frustration",
        "surprise": "excited",
    }
    mapping.update(TO_DEEPAFFECTS)
    mapping.update({k.capitalize(): v for k, v in list(mapping.items())})
    mapping.update({v.capitalize(): v for v in DEEPAFFECTS_V2})
    return mapping
