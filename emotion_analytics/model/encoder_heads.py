"""Heads on pooled Whisper-encoder features: fitting, storage, prediction and evaluation.

The ``encoder`` engine reads a window as the pooled frames of a Whisper encoder
(`emotion_analytics.model.encoder_features`) and answers with small linear heads fitted by the
project's own ``train --features encoder``:

* **emotion**: features standardised over the training clips, then a multinomial logistic
  regression (L2, ``C = 0.1``) over the corpus's classes;
* **arousal** and **valence**: binary logistic regressions on the same standardised features,
  with the binary targets of `emotion_analytics.model.dimensions`, which knows the usual
  spellings (arousal: anger, fear, happiness high; boredom, neutral, sadness low; disgust left
  out. Valence: happiness positive; anger, boredom, disgust, fear, sadness negative; neutral
  left out). A corpus without such classes gets no dimension heads.

The heads are a few tens of kilobytes of numpy arrays (:data:`DEFAULT_HEADS`, shipped in the
package); only the encoder itself comes from the ``encoder`` extra. Prediction is numpy only.

Evaluation (:func:`evaluate`) fits the heads on some speakers (or corpora) and scores the others,
writing the same JSON lines as the embedded model's ``train --eval``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import EmotionAnalyticsError
from .dimensions import DIMENSIONS, binary_targets, derived_dimensions

__all__ = [
    "DIMENSIONS",
    "DEFAULT_HEADS",
    "DEFAULT_C",
    "EncoderHeads",
    "dimension_targets",
    "fit_heads",
    "evaluate",
]

#: The heads shipped in the package (fitted on EmoDB by ``train --features encoder``).
DEFAULT_HEADS = Path(__file__).with_name("encoder_heads.npz")
#: Inverse L2 strength of the logistic regressions (chosen by LOSO, see the model card).
DEFAULT_C = 0.1
def dimension_targets(labels: Sequence[str], y: np.ndarray) -> dict[str, np.ndarray]:
    """Binary targets per dimension (``-1`` where a clip's class has none).

    The places of the labels are those of `emotion_analytics.model.dimensions` (so a
    manifest's ``angry`` or ``sad`` counts as EmoDB's ``anger`` or ``sadness``).

    Examples
    --------
    >>> import numpy as np
    >>> t = dimension_targets(("anger", "disgust", "sadness"), np.array([0, 1, 2]))
    >>> t["arousal"].tolist(), t["valence"].tolist()
    ([1, -1, 0], [0, 0, 0])
    >>> dimension_targets(("angry", "calm"), np.array([0, 1]))["arousal"].tolist()
    [1, 0]
    """
    return {d: binary_targets(labels, d)[np.asarray(y)] for d in DIMENSIONS}


def _standardiser(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    return mean, np.where(scale > 1e-8, scale, 1.0)


def _fit_lr(Z: np.ndarray, y: np.ndarray, C: float, balanced: bool) -> tuple[np.ndarray, ...]:
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(
        C=C, max_iter=3000, class_weight="balanced" if balanced else None
    ).fit(Z, y)
    W, b = lr.coef_.T, lr.intercept_
    if W.shape[1] == 1:  # binary: two columns, [0, logit]
        W = np.concatenate([np.zeros_like(W), W], axis=1)
        b = np.concatenate([[0.0], b])
    return W.astype(np.float32), b.astype(np.float32)


def fit_heads(
    X: np.ndarray,
    y: np.ndarray,
    labels: Sequence[str],
    *,
    C: float = DEFAULT_C,
    balanced: bool = False,
    dims: bool = True,
    meta: dict | None = None,
) -> EncoderHeads:
    """Fit the emotion head (and the dimension heads the labels allow).

    Parameters
    ----------
    X : numpy.ndarray
        ``(n, d)`` pooled encoder features.
    y : numpy.ndarray of int
        Class index per row, into ``labels``.
    labels : sequence of str
        Class names.
    C : float
        Inverse L2 strength.
    balanced : bool
        Weigh classes inversely to their frequency in the emotion head (the dimension heads
        are always balanced).
    dims : bool
        Fit the arousal/valence heads when at least two clips of each side exist.
    meta : dict, optional
        Stored with the heads (encoder settings, model name, corpus).

    Returns
    -------
    EncoderHeads

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 4)); y = (X[:, 0] > 0).astype(int)
    >>> h = fit_heads(X, y, ("neutral", "anger"))
    >>> p, d = h.predict(X)
    >>> p.shape, sorted(d), float((p.argmax(1) == y).mean()) > 0.9
    ((60, 2), ['arousal'], True)
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    mean, scale = _standardiser(X)
    Z = (X - mean) / scale
    arrays = {"mean": mean.astype(np.float32), "scale": scale.astype(np.float32)}
    arrays["emotion_W"], arrays["emotion_b"] = _fit_lr(Z, y, C, balanced)
    if dims:
        for dim, t in dimension_targets(labels, y).items():
            keep = t >= 0
            if min((t[keep] == 0).sum(), (t[keep] == 1).sum()) >= 2:
                arrays[f"{dim}_W"], arrays[f"{dim}_b"] = _fit_lr(Z[keep], t[keep], C, True)
    arrays["labels"] = np.array(list(labels))
    arrays["meta"] = np.array(json.dumps(dict(meta or {}, C=C, balanced=balanced)))
    return EncoderHeads(arrays)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class EncoderHeads:
    """Linear heads on pooled encoder features (see the module docstring).

    Parameters
    ----------
    arrays : dict
        ``mean``, ``scale``, ``emotion_W``, ``emotion_b``, ``labels``, ``meta`` and optionally
        ``arousal_W/_b``, ``valence_W/_b``.

    Examples
    --------
    >>> h = EncoderHeads.load()  # the shipped heads
    >>> h.labels[:2], h.dims
    (('anger', 'boredom'), ('arousal', 'valence'))
    """

    def __init__(self, arrays: dict):
        self.arrays = {k: np.asarray(v) for k, v in arrays.items()}
        self.labels = tuple(str(c) for c in self.arrays["labels"])
        self.meta = json.loads(str(self.arrays.get("meta", "{}")))
        self.dims = tuple(d for d in DIMENSIONS if f"{d}_W" in self.arrays)

    @classmethod
    def load(cls, path: str | Path | None = None) -> EncoderHeads:
        """Read heads written by :meth:`save` (default: the shipped :data:`DEFAULT_HEADS`)."""
        path = Path(path) if path is not None else DEFAULT_HEADS
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise EmotionAnalyticsError(
                f"cannot read encoder heads from {str(path)!r}: {exc}; write them with "
                "'emotion-analytics train --features encoder --out PATH'"
            ) from exc
        if "emotion_W" not in arrays:
            raise EmotionAnalyticsError(
                f"{str(path)!r} holds no encoder heads (no 'emotion_W'); it may be weights of "
                "the embedded model: use engine='local:PATH' for those"
            )
        return cls(arrays)

    def save(self, path: str | Path) -> None:
        """Write the heads as an ``.npz`` file."""
        np.savez_compressed(path, **self.arrays)

    def standardise(self, X: np.ndarray) -> np.ndarray:
        """Features standardised with the training clips' statistics."""
        a = self.arrays
        return (np.asarray(X, np.float64) - a["mean"]) / a["scale"]

    def predict(
        self, X: np.ndarray, *, standardised: bool = False
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Class probabilities ``(n, len(labels))`` and ``{dim: (n,)}`` in [0, 1].

        Parameters
        ----------
        X : numpy.ndarray
            ``(n, d)`` pooled features (already standardised when ``standardised``).
        """
        a = self.arrays
        Z = np.asarray(X, np.float64) if standardised else self.standardise(X)
        proba = _softmax(Z @ a["emotion_W"] + a["emotion_b"])
        dims = {d: _softmax(Z @ a[f"{d}_W"] + a[f"{d}_b"])[:, 1] for d in self.dims}
        return proba, dims


def _binary_ua(t: np.ndarray, p: np.ndarray) -> float:
    keep = t >= 0
    t, yp = t[keep], (p[keep] >= 0.5).astype(int)
    return float(np.mean([np.mean(yp[t == k] == k) for k in (0, 1) if np.any(t == k)]))


def evaluate(
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    labels: Sequence[str],
    *,
    classes: Sequence[str] | None = None,
    C: float = DEFAULT_C,
    balanced: bool = False,
    normalize: str = "train",
    eval_name: str = "loso",
    X_test: np.ndarray | None = None,
    X_extra: Sequence[np.ndarray] = (),
    extra: dict | None = None,
    log: Callable[[str], None] | None = None,
) -> list[dict]:
    """Fit on all groups but one, score the held-out group, for every group.

    Parameters
    ----------
    X, y : numpy.ndarray
        Pooled features and class indices into ``labels``.
    groups : numpy.ndarray
        Speaker (LOSO) or corpus (LOCO) per row.
    labels : sequence of str
        Class names of ``y``.
    classes : sequence of str, optional
        Train and test on these classes only (e.g. the 4-class subset); default all.
    C, balanced : see :func:`fit_heads`.
    normalize : {"train", "collection"}
        ``"train"``: test features standardised with the training clips' statistics (what the
        engine does). ``"collection"``: every group standardised over its own clips (the
        training groups together, the held-out group alone), i.e. normalisation over the
        collection of recordings being analysed.
    eval_name : str
        Written as ``"eval"`` in the lines.
    X_test : numpy.ndarray, optional
        The held-out rows are read from here instead of ``X`` (features of the same clips
        laid out otherwise, e.g. packed instead of alone).
    X_extra : sequence of numpy.ndarray
        More training rows for the same clips (other layouts), stacked under ``X``'s.
    extra : dict, optional
        More keys for every line.
    log : callable, optional

    Returns
    -------
    list of dict
        One JSON-able line per task: ``{"task": "emotion", ...}`` with the keys of
        `emotion_analytics.model.scores.scores`, then ``arousal`` and ``valence`` lines
        (``{"task", "mode", "ua", "ua_derived", "n"}``: trained head, and the same from the
        class probabilities).
    """
    from .scores import scores

    labels = tuple(labels)
    classes = tuple(classes or labels)
    remap = np.full(len(labels), -1)
    for i, c in enumerate(classes):
        remap[labels.index(c)] = i
    keep = remap[y] >= 0
    Xs = [np.asarray(a, np.float64)[keep] for a in (X, *X_extra)]
    Xt = np.asarray(X if X_test is None else X_test, np.float64)[keep]
    yy, groups = remap[y[keep]], np.asarray(groups)[keep]
    n, k = len(yy), len(classes)
    proba = np.zeros((n, k))
    dims = {d: np.full(n, np.nan) for d in DIMENSIONS}
    for g in np.unique(groups):
        te = groups == g
        tr = ~te
        y_tr = np.tile(yy[tr], len(Xs))
        if normalize == "collection":
            Z_tr = np.vstack([(a[tr] - a[tr].mean(0)) / _standardiser(a[tr])[1] for a in Xs])
            heads = fit_heads(Z_tr, y_tr, classes, C=C, balanced=balanced)
            m_te, s_te = _standardiser(Xt[te])
            p, d = heads.predict((Xt[te] - m_te) / s_te)
        elif normalize == "train":
            heads = fit_heads(np.vstack([a[tr] for a in Xs]), y_tr, classes, C=C,
                              balanced=balanced)
            p, d = heads.predict(Xt[te])
        else:
            raise ValueError(f"normalize must be 'train' or 'collection', got {normalize!r}")
        proba[te] = p
        for dim, v in d.items():
            dims[dim][te] = v
        if log is not None:
            ua = float(np.mean(p.argmax(1) == yy[te]))
            log(f"{eval_name} held out {g}: accuracy {ua:.3f} ({te.sum()} clips)")
    common = {"eval": eval_name, "features": "encoder", "normalise": normalize, "C": C,
              **(extra or {})}
    lines = [dict(task="emotion", **scores(yy, proba.argmax(1), proba, k, classes, "clip",
                                           extra=common))]
    derived = derived_dimensions(proba, classes)
    for dim, t in dimension_targets(classes, yy).items():
        if min((t == 0).sum(), (t == 1).sum()) == 0:
            continue
        line = dict(task=dim, classes=k, mode="clip", n=int((t >= 0).sum()))
        if not np.isnan(dims[dim]).all():
            line["ua"] = round(_binary_ua(t, dims[dim]), 4)
        if dim in derived:  # every class has a place on the dimension
            line["ua_derived"] = round(_binary_ua(t, derived[dim]), 4)
        lines.append(dict(line, **common))
    return lines
