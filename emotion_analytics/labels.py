"""Label vocabularies and explicit, documented mappings between them.

Labels are kept exactly as an engine or API answers; nothing in the package renames them
silently. These mappings are for users who ask for one vocabulary, e.g.
``to_frame(answer, labels="deepaffects")``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from .model.classifier import LABELS as EMBEDDED
from .protocol import DEEPAFFECTS_LABELS

__all__ = ["DEEPAFFECTS_V2", "EMBEDDED", "named_mapping", "resolve_mapping", "relabel_table"]

#: The hosted API's documented v2 vocabulary (`emotion_analytics.protocol.DEEPAFFECTS_LABELS`).
DEEPAFFECTS_V2: tuple[str, ...] = DEEPAFFECTS_LABELS

#: The embedded model's vocabulary (the seven EmoDB emotions): ``EMBEDDED``, as the model
#: defines it (`emotion_analytics.model.LABELS`).


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


def resolve_mapping(labels: Mapping[str, str] | Callable[[str], str] | str) -> Callable[[str], str]:
    """A label mapping as a function: a dict (unknown labels kept), a callable, ``"lower"`` or
    a name known to `named_mapping`.

    >>> resolve_mapping({"joy": "happy"})("joy"), resolve_mapping("lower")("Sad")
    ('happy', 'sad')
    """
    if labels == "lower":
        return str.lower
    if isinstance(labels, str):
        mapping = named_mapping(labels)
        return lambda v: mapping.get(v, v)
    if isinstance(labels, Mapping):
        return lambda v: labels.get(v, v)
    if callable(labels):
        return labels
    raise TypeError(f"labels must be a dict, a callable, 'lower' or 'deepaffects', got {labels!r}")


def relabel_table(df: pd.DataFrame, labels) -> pd.DataFrame:
    """Map an engine's labels onto another vocabulary, probabilities included.

    The ``prob_<label>`` columns of labels that map to one name are added up; each row's
    ``emotion`` becomes the mapped class with the highest probability and ``confidence`` that
    probability (so fear 0.3 + disgust 0.3 -> frustration 0.6 wins over anger 0.4). Without
    probability columns the labels are just mapped. Rows without an emotion stay without.

    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "anger", "start": 0, "end": 3, "confidence": 0.4,
    ...   "scores": {"anger": 0.4, "fear": 0.3, "disgust": 0.3}}])
    >>> out = relabel_table(df, "deepaffects")
    >>> out[["emotion", "confidence", "prob_anger", "prob_frustration"]]
           emotion  confidence  prob_anger  prob_frustration
    0  frustration         0.6         0.4               0.6
    """
    from .schema import PROB_PREFIX, prob_columns

    fn = resolve_mapping(labels)
    out = df.copy()
    probs = prob_columns(out)
    if not probs:
        values = out["emotion"].astype(object)
        out["emotion"] = values.map(lambda v: v if pd.isna(v) else fn(v)).astype("category")
        return out
    targets = [fn(c[len(PROB_PREFIX):]) for c in probs]
    merged = pd.DataFrame(index=out.index)
    for target in dict.fromkeys(targets):
        cols = [c for c, t in zip(probs, targets, strict=True) if t == target]
        merged[PROB_PREFIX + target] = out[cols].sum(axis=1, min_count=1)
    values = merged.to_numpy(np.float64)
    has = out["emotion"].notna().to_numpy() & ~np.isnan(values).all(axis=1)
    best = np.nanargmax(np.where(np.isnan(values), -np.inf, values), axis=1)
    names = np.array(list(dict.fromkeys(targets)), dtype=object)
    out["emotion"] = pd.Series(np.where(has, names[best], None), index=out.index,
                               dtype=object).astype("category")
    out["confidence"] = np.where(has, values[np.arange(len(values)), best], np.nan)
    out = out.drop(columns=probs)
    return pd.concat([out, merged], axis=1)
