"""Scores of an evaluation: unweighted accuracy, and the keys of one JSON line per setting."""

from __future__ import annotations

import numpy as np

__all__ = ["scores", "unweighted_accuracy"]


def unweighted_accuracy(y_true, y_pred, n_classes) -> float:
    """Mean per-class recall over the classes present in ``y_true``.

    Parameters
    ----------
    y_true, y_pred : array-like of int
    n_classes : int

    Returns
    -------
    float

    Examples
    --------
    >>> unweighted_accuracy([0, 0, 1, 1], [0, 0, 1, 0], 2)
    0.75
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rec = [np.mean(y_pred[y_true == k] == k) for k in range(n_classes) if np.any(y_true == k)]
    return float(np.mean(rec))


def scores(yt, yp, pp, k, classes, mode, extra=None) -> dict:
    """The JSON-line scores of one evaluation setting.

    Parameters
    ----------
    yt, yp : numpy.ndarray of int
        True and predicted class index per clip.
    pp : numpy.ndarray
        (n, k) predicted probabilities.
    k : int
        Number of classes.
    classes : sequence of str
        Class names, in index order.
    mode : str
        The setting's name (``"clip"``, ``"speaker"``...).
    extra : dict, optional
        More keys for the result.

    Returns
    -------
    dict
        ``classes, mode, ua, wa, confusion, labels, n, nll, ece`` (+ ``extra``).

    Examples
    --------
    >>> import numpy as np
    >>> pp = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    >>> s = scores(np.array([0, 1, 1]), pp.argmax(1), pp, 2, ("a", "b"), "clip")
    >>> s["ua"], s["wa"], s["confusion"], s["n"]
    (0.75, 0.6667, [[1, 0], [1, 1]], 3)
    """
    conf = np.zeros((k, k), dtype=int)
    np.add.at(conf, (yt, yp), 1)
    nll = -float(np.mean(np.log(pp[np.arange(len(yt)), yt] + 1e-12)))
    top = pp.max(axis=1)
    bins = np.minimum((top * 10).astype(int), 9)
    ece = sum(
        abs(np.mean(yp[bins == b] == yt[bins == b]) - top[bins == b].mean()) * np.mean(bins == b)
        for b in range(10)
        if np.any(bins == b)
    )
    out = dict(
        classes=k,
        mode=mode,
        ua=round(unweighted_accuracy(yt, yp, k), 4),
        wa=round(float(np.mean(yt == yp)), 4),
        confusion=conf.tolist(),
        labels=list(classes),
        n=int(len(yt)),
        nll=round(nll, 4),
        ece=round(float(ece), 4),
    )
    out.update(extra or {})
    return out
