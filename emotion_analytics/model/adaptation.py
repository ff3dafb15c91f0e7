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
several emotions, and keeps the speaker's overall level as information. The evidence has two
parts:

* **how many windows** there are: a speaker's statistics from ``n`` windows are trusted in
  proportion to ``n / (n + PRIOR_WINDOWS)`` (the empirical-Bayes weight of a group mean);
* **how many emotions they show**: :func:`variety` is the effective number of classes in the
  speaker's mix as the clip mode reads it (from its calibrated probabilities), as a share of
  the classes. Below :data:`VARIETY_LOW` the speaker mode is not used at all; the weight grows
  linearly up to :data:`VARIETY_HIGH`.

The speaker's level: the speaker mode reads each window against the speaker's own mean, as if
the speaker's emotions were mixed like the training population's; what the mean itself says
is lost. :func:`speaker_mix` keeps it: the clip mode's mean probabilities over the speaker's
windows (the speaker's emotion mix as the windows read alone see it) replace that population
prior in the speaker mode's answer (a prior correction, ``p_speaker * mix``, renormalised).

The final log-probabilities are ``(1 - a) * log p_clip + a * (log p_speaker + log mix)`` (a
weighted geometric mean), with ``a`` from :func:`adapt_weight`. ``adapt=True`` is the plain
speaker mode (``a = 1``, no mix), ``adapt=False`` the clip mode (``a = 0``).

The constants were set on EmoDB leave-one-speaker-out conversations
(``scripts/eval_adaptation.py``; see the model card), where results move little over
``VARIETY_LOW`` 0.75-0.85, ``VARIETY_HIGH`` 0.85-0.95 and ``PRIOR_WINDOWS`` 10-20. There the
variety of a held-out speaker is 0.31-0.68 (10th-90th percentile) over clips of one emotion,
0.45-0.82 over two and 0.83-0.95 over all seven.

Everything here is plain numpy on arrays; :class:`~emotion_analytics.model.EmotionModel`
calls it (``EmotionModel.predict_speaker``), and ``scripts/eval_adaptation.py`` measures it
on EmoDB conversations (see the model card).

Examples
--------
>>> import numpy as np
>>> adapt_weight(40, 0.95), adapt_weight(40, 0.6), adapt_weight(3, 0.95) < 0.5
(0.8, 0.0, True)
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "PRIOR_WINDOWS",
    "VARIETY_LOW",
    "VARIETY_HIGH",
    "MIN_WINDOWS",
    "variety",
    "adapt_weight",
    "speaker_mix",
    "blend",
    "resolve_adapt",
]

#: Pseudo-count of the speaker-statistics weight ``n / (n + PRIOR_WINDOWS)``.
PRIOR_WINDOWS = 10.0
#: Variety (share of the classes a speaker shows) at or below which the speaker mode is unused.
VARIETY_LOW = 0.8
#: Variety at or above which a speaker counts as showing the full range of emotions.
VARIETY_HIGH = 0.9
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


def variety(p_clip: np.ndarray) -> float:
    """How many emotions a speaker's windows show, as a share of the classes.

    The effective number of classes in the speaker's mix (``exp`` of the entropy of the clip
    mode's mean probabilities over the speaker's windows) divided by the number of classes.
    The model's probabilities are calibrated, so the figure means the same for any weights:
    near 1 when the windows spread over every class, near ``1/k`` when they all read as one.

    Parameters
    ----------
    p_clip : numpy.ndarray
        ``(n, k)`` clip-mode probabilities of one speaker's windows.

    Returns
    -------
    float
        In ``[1/k, 1]``; 0 for no windows.

    Examples
    --------
    >>> import numpy as np
    >>> round(variety(np.eye(4)), 2), round(variety(np.eye(4)[[0, 0, 0, 1]]), 2)
    (1.0, 0.44)
    """
    p = np.asarray(p_clip, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0:
        return 0.0
    mix = p.mean(axis=0)
    entropy = -float(np.sum(mix * np.log(np.maximum(mix, 1e-300))))
    return float(np.exp(entropy) / p.shape[1])


def adapt_weight(
    n: int,
    variety_value: float,
    *,
    prior: float = PRIOR_WINDOWS,
    low: float = VARIETY_LOW,
    high: float = VARIETY_HIGH,
) -> float:
    """Weight of the speaker mode for a speaker with ``n`` windows and this variety.

    Parameters
    ----------
    n : int
        The speaker's windows (speech windows in the recording).
    variety_value : float
        From :func:`variety`.
    prior, low, high : float
        :data:`PRIOR_WINDOWS`, :data:`VARIETY_LOW`, :data:`VARIETY_HIGH`.

    Returns
    -------
    float
        ``n / (n + prior) * clip((variety - low) / (high - low), 0, 1)``, rounded to 6
        digits; 0 below :data:`MIN_WINDOWS` windows.

    Examples
    --------
    >>> adapt_weight(10, 0.9), adapt_weight(10, 0.85), adapt_weight(2, 1.0)
    (0.5, 0.25, 0.0)
    """
    if n < MIN_WINDOWS:
        return 0.0
    evidence = float(np.clip((variety_value - low) / max(high - low, 1e-12), 0.0, 1.0))
    return round(n / (n + prior) * evidence, 6)


def speaker_mix(p_clip: np.ndarray) -> np.ndarray:
    """The speaker's emotion mix as the clip mode sees it, as log-probabilities.

    Parameters
    ----------
    p_clip : numpy.ndarray
        ``(n, k)`` clip-mode probabilities of one speaker's windows.

    Returns
    -------
    numpy.ndarray
        ``(k,)`` log of the mean probability of each class over the windows (floored at
        1e-6 so that no class is ruled out).

    Examples
    --------
    >>> import numpy as np
    >>> np.exp(speaker_mix(np.array([[0.9, 0.1], [0.7, 0.3]]))).round(2).tolist()
    [0.8, 0.2]
    """
    mix = np.asarray(p_clip, dtype=np.float64).mean(axis=0)
    return np.log(np.maximum(mix, 1e-6))


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
