"""Adaptation to one speaker: when to trust a speaker's own statistics, and how much.

The embedded model has two ways to read a window:

* **clip mode**: the window alone, its features standardised with the training population's
  statistics. A loud or high-pitched voice looks aroused whatever it feels.
* **speaker mode**: the speaker's windows z-normalised over that speaker (which removes the
  voice's and the microphone's baseline), read by a classifier trained that way. It is much
  better when the speaker shows a range of emotions (every EmoDB actor acts all seven), and
  much worse when the speaker holds one emotion throughout: normalisation then erases exactly
  that emotion (an angry customer's anger *is* the baseline it removes).

``adapt="auto"`` blends the two by the evidence a speaker gives that their windows span
several emotions. The evidence has two parts:

* **how many windows** there are: a speaker's statistics from ``n`` windows are trusted in
  proportion to ``n / (n + PRIOR_WINDOWS)`` (the empirical-Bayes weight of a group mean);
* **how far they spread** along the directions that separate emotions: :func:`spread` is the
  speaker's standard deviation of the clip-mode linear model's logits, relative to that of
  the training population. A speaker who holds one emotion spreads little (about
  :data:`SPREAD_LOW` on EmoDB); one who acts all emotions spreads widely (about
  :data:`SPREAD_HIGH`). Between the two the weight grows linearly; below :data:`SPREAD_LOW`
  the speaker mode is not used at all.

The final log-probabilities are ``(1 - a) * log p_clip + a * log p_speaker`` (a weighted
geometric mean), with ``a`` from :func:`adapt_weight`. ``adapt=True`` forces ``a = 1``
(the plain speaker mode), ``adapt=False`` ``a = 0``.

Everything here is plain numpy on arrays; :class:`~emotion_analytics.model.EmotionModel`
calls it (``EmotionModel.predict_speaker``), and ``scripts/eval_adaptation.py`` measures it
on EmoDB conversations (see the model card).

Examples
--------
>>> import numpy as np
>>> adapt_weight(40, 1.0), adapt_weight(40, 0.2), adapt_weight(3, 1.0) < 0.5
(0.8, 0.0, True)
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "PRIOR_WINDOWS",
    "SPREAD_LOW",
    "SPREAD_HIGH",
    "MIN_WINDOWS",
    "spread",
    "adapt_weight",
    "blend",
    "resolve_adapt",
]

#: Pseudo-count of the speaker-statistics weight ``n / (n + PRIOR_WINDOWS)``.
PRIOR_WINDOWS = 10.0
#: Relative logit spread at or below which a speaker counts as holding one emotion.
SPREAD_LOW = 0.45
#: Relative logit spread at or above which a speaker counts as showing a range of emotions.
SPREAD_HIGH = 0.75
#: Fewer windows than this never use the speaker mode (statistics of 1-2 windows are noise).
MIN_WINDOWS = 3


def resolve_adapt(adapt) -> str:
    """Check an ``adapt`` argument and name its mode: ``"auto"``, ``"on"`` or ``"off"``.

    Parameters
    ----------
    adapt : {"auto", True, False}

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For any other value; the message lists the choices.

    Examples
    --------
    >>> resolve_adapt("auto"), resolve_adapt(True), resolve_adapt(False)
    ('auto', 'on', 'off')
    """
    if adapt is True:
        return "on"
    if adapt is False or adapt is None:
        return "off"
    if isinstance(adapt, str) and adapt.lower() == "auto":
        return "auto"
    raise ValueError(f"adapt must be 'auto', True or False, got {adapt!r}")


def spread(logits: np.ndarray, population_sd: np.ndarray) -> float:
    """How widely one speaker's windows spread along the directions that separate emotions.

    Parameters
    ----------
    logits : numpy.ndarray
        ``(n, k)`` clip-mode logits (standardised features times the linear model's weights)
        of one speaker's windows.
    population_sd : numpy.ndarray
        ``(k,)`` standard deviation of each logit over the training population (what
        :func:`logit_sd` gives for the model).

    Returns
    -------
    float
        The speaker's standard deviation of each logit divided by the population's, averaged
        over the logits (root mean square); 0 for fewer than two windows. About 1 means the
        speaker spreads as much as the whole training population.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> wide = rng.standard_normal((200, 3))
    >>> round(spread(wide, np.ones(3)), 1), round(spread(0.3 * wide, np.ones(3)), 1)
    (1.0, 0.3)
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[0] < 2:
        return 0.0
    sd = logits.std(axis=0, ddof=1)
    ref = np.maximum(np.asarray(population_sd, dtype=np.float64), 1e-12)
    return float(np.sqrt(np.mean((sd / ref) ** 2)))


def logit_sd(lr_w: np.ndarray) -> np.ndarray:
    """Population standard deviation of the linear logits, from the weights alone.

    The clip-mode features are standardised (unit variance per feature over the training
    rows); ignoring their correlations, the variance of logit ``j`` is the sum of its squared
    weights. The correlations are the same for every speaker, so the *ratio* in :func:`spread`
    is what matters, not this value's exactness.

    Parameters
    ----------
    lr_w : numpy.ndarray
        ``(d, k)`` weights of the clip-mode linear model.

    Returns
    -------
    numpy.ndarray
        ``(k,)``.

    Examples
    --------
    >>> import numpy as np
    >>> logit_sd(np.array([[3.0, 0.0], [4.0, 1.0]])).tolist()
    [5.0, 1.0]
    """
    w = np.asarray(lr_w, dtype=np.float64)
    return np.sqrt((w**2).sum(axis=0))


def adapt_weight(
    n: int,
    spread_value: float,
    *,
    prior: float = PRIOR_WINDOWS,
    low: float = SPREAD_LOW,
    high: float = SPREAD_HIGH,
) -> float:
    """Weight of the speaker mode for a speaker with ``n`` windows and this spread.

    Parameters
    ----------
    n : int
        The speaker's windows (speech windows in the recording).
    spread_value : float
        From :func:`spread`.
    prior, low, high : float
        :data:`PRIOR_WINDOWS`, :data:`SPREAD_LOW`, :data:`SPREAD_HIGH`.

    Returns
    -------
    float
        ``n / (n + prior) * clip((spread - low) / (high - low), 0, 1)``, rounded to 6 digits;
        0 below :data:`MIN_WINDOWS` windows.

    Examples
    --------
    >>> adapt_weight(10, 0.75), adapt_weight(10, 0.6), adapt_weight(2, 2.0)
    (0.5, 0.25, 0.0)
    """
    if n < MIN_WINDOWS:
        return 0.0
    evidence = float(np.clip((spread_value - low) / max(high - low, 1e-12), 0.0, 1.0))
    return round(n / (n + prior) * evidence, 6)


def blend(log_p_clip: np.ndarray, log_p_speaker: np.ndarray, weight: float) -> np.ndarray:
    """Weighted geometric mean of the two modes' probabilities, renormalised.

    Parameters
    ----------
    log_p_clip, log_p_speaker : numpy.ndarray
        ``(n, k)`` log-probabilities of the clip mode and the speaker mode.
    weight : float
        Weight of the speaker mode in [0, 1].

    Returns
    -------
    numpy.ndarray
        ``(n, k)`` probabilities; rows sum to 1. ``weight=0`` returns the clip mode's.

    Examples
    --------
    >>> import numpy as np
    >>> a, b = np.log([[0.8, 0.2]]), np.log([[0.2, 0.8]])
    >>> blend(a, b, 0.0).round(2).tolist(), blend(a, b, 0.5).round(2).tolist()
    ([[0.8, 0.2]], [[0.5, 0.5]])
    """
    z = (1.0 - weight) * np.asarray(log_p_clip, np.float64)
    if weight > 0:
        z = z + weight * np.asarray(log_p_speaker, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)
