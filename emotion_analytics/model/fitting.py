"""Fitting the embedded model: the feature ensemble, the speaker-mode model and the CNN member.

:func:`fit_all` fits the weights of a whole model on a set of rows (clips and their augmented
copies): the clip-mode feature ensemble (:func:`fit_model`), the speaker-adaptive linear model
(on features z-normalised per speaker, :func:`speaker_normalize`) and the log-mel CNN member
(:func:`.cnn_train.fit_cnn`); :func:`finish_params` turns them into the arrays of a weights
file.

Nested selection: whatever is tuned (the logistic-regression strength, the MLP weight decay,
the feature member's mix, its temperature) is chosen on out-of-fold predictions of *inner*
speaker-grouped folds of the training speakers only. The CNN member's recipe and its weight in
the final geometric mean (:attr:`Config.cnn_mix`) are fixed, not tuned.

This module imports only numpy and the standard library at the top; scikit-learn and PyTorch
(for the CNN member, :mod:`.cnn_train`) are imported inside the functions that need them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from . import features as F
from .cnn_train import CnnConfig
from .scores import unweighted_accuracy

__all__ = [
    "CLIP_Z",
    "Config",
    "finish_params",
    "fit_dimension_heads",
    "fit_all",
    "fit_model",
    "speaker_normalize",
    "speaker_normalise",
    "standardiser",
]

CLIP_Z = 6.0  # standardised features are clipped to +-CLIP_Z (robustness to new conditions)


@dataclass
class Config:
    """Hyper-parameter grids and fixed settings of the learner."""

    linear: tuple[tuple[str, float], ...] = (("lda", 0.0), ("lr", 0.03), ("lr", 0.1))
    mlp_alpha: tuple[float, ...] = (1.0,)
    mlp_hidden: int = 64
    mlp_iter: int = 300
    mlp_bag: int = 3  # MLPs with different seeds, averaged (stored as one wider network)
    mixes: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    inner_folds: int = 3
    use_mlp: bool = True
    #: the log-mel CNN member's recipe (None: feature member only)
    cnn: CnnConfig | None = field(default_factory=CnnConfig)
    #: weight of the CNN member's log-probabilities in the final geometric mean (fixed, not
    #: tuned: equal weight for the two views of a window)
    cnn_mix: float = 0.5
    #: trained arousal / valence heads in the weights (False: the dimensions are derived from
    #: the class probabilities, :mod:`.dimensions`)
    dim_heads: bool = False
    #: inverse regularisation strength of the dimension heads (fixed, not tuned)
    dim_c: float = 0.1


def standardiser(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and scale of the training rows (constant features get scale 1).

    Parameters
    ----------
    X : numpy.ndarray
        (n, d) features.

    Returns
    -------
    mean, scale : numpy.ndarray
        (d,) each.

    Examples
    --------
    >>> import numpy as np
    >>> mean, scale = standardiser(np.array([[1.0, 2.0], [3.0, 2.0]]))
    >>> mean.tolist(), scale.tolist()
    ([2.0, 2.0], [1.0, 1.0])
    """
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale = np.where(scale > 1e-8, scale, 1.0)
    return mean, scale


def _z(X, mean, scale):
    return np.clip((X - mean) / scale, -CLIP_Z, CLIP_Z)


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _fit_lr(Z, y, spec, n_classes):
    """A linear member: ("lda", _) shrinkage LDA, or ("lr", C) logistic regression."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression

    kind, c = spec
    if kind == "lda":
        m = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
    else:
        m = LogisticRegression(C=c, max_iter=1000, tol=1e-4)
    m.fit(Z, y)
    w = np.zeros((Z.shape[1], n_classes))
    b = np.full(n_classes, -30.0)
    w[:, m.classes_] = m.coef_.T
    b[m.classes_] = m.intercept_
    return w, b


def _fit_one_mlp(Z, y, alpha, cfg: Config, seed, n_classes):
    import warnings

    from sklearn.neural_network import MLPClassifier

    m = MLPClassifier(
        hidden_layer_sizes=(cfg.mlp_hidden,),
        alpha=alpha,
        max_iter=cfg.mlp_iter,
        random_state=seed,
        learning_rate_init=1e-3,
        batch_size=128,
        tol=1e-5,
        n_iter_no_change=20,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(Z, y)
    (w1, b1), (w, b) = zip(m.coefs_, m.intercepts_, strict=True)
    w2 = np.zeros((w.shape[0], n_classes))
    b2 = np.full(n_classes, -30.0)
    w2[:, m.classes_] = w
    b2[m.classes_] = b
    return (w1, b1), (w2, b2)


def _fit_mlp(Z, y, alpha, cfg: Config, seed, n_classes):
    """``cfg.mlp_bag`` one-hidden-layer MLPs (seeds ``seed``, ``seed + 1000``, ...) as one net.

    Averaging the members' output logits equals the normalised geometric mean of their
    probabilities, so the bag is stored as a single MLP whose hidden layer is the members'
    hidden layers side by side and whose output layer is their output layers divided by the
    bag size.
    """
    nets = [
        _fit_one_mlp(Z, y, alpha, cfg, seed + 1000 * j, n_classes)
        for j in range(max(1, cfg.mlp_bag))
    ]
    k = len(nets)
    w1 = np.hstack([n[0][0] for n in nets])
    b1 = np.concatenate([n[0][1] for n in nets])
    w2 = np.vstack([n[1][0] for n in nets]) / k
    b2 = np.mean([n[1][1] for n in nets], axis=0)
    return [(w1, b1), (w2, b2)]


def _lr_logp(Z, w, b):
    return _log_softmax(Z @ w + b)


def _mlp_logp(Z, layers):
    h = Z
    for i, (w, b) in enumerate(layers):
        h = h @ w + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0)
    return _log_softmax(h)


def _nll(logp, y, T):
    return -float(np.mean(_log_softmax(logp / T)[np.arange(len(y)), y]))


def fit_model(X, y, groups, is_aug, n_classes, cfg: Config, seed: int, log=None) -> dict:
    """Fit the ensemble with nested, speaker-grouped tuning.

    Hyper-parameters, ensemble mix and temperature are chosen on out-of-fold predictions
    of ``cfg.inner_folds`` speaker-grouped folds (scored on original clips only), then the
    members are refitted on all rows.

    Parameters
    ----------
    X : numpy.ndarray
        Features (n, d), originals and augmented copies.
    y : numpy.ndarray
        Class index per row.
    groups : numpy.ndarray
        Speaker of each row.
    is_aug : numpy.ndarray of bool
        Augmented rows are used for fitting, never for scoring.
    n_classes : int
    cfg : Config
    seed : int
    log : callable, optional

    Returns
    -------
    dict
        Parameters for :class:`~emotion_analytics.model.classifier.EmotionModel`
        (without labels / sample rate) plus ``"tuning"``, a dict of the choices.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1, 2], 20)
    >>> X = rng.standard_normal((60, 5)) + y[:, None]
    >>> groups = np.tile(np.arange(6), 10)
    >>> cfg = Config(linear=(("lr", 0.1),), use_mlp=False)
    >>> p = fit_model(X, y, groups, np.zeros(60, bool), 3, cfg, seed=0)
    >>> p["lr_w"].shape, p["tuning"]["inner_ua"] > 0.6
    ((5, 3), True)
    """
    spk = np.unique(groups)
    n_folds = min(cfg.inner_folds, len(spk))  # fewer speakers than folds: one fold each
    order = np.random.default_rng(seed).permutation(len(spk))
    fold_of = {s: i % n_folds for i, s in enumerate(spk[order])}
    fold = np.array([fold_of[g] for g in groups])
    n = len(y)
    oof_lr = {c: np.zeros((n, n_classes)) for c in cfg.linear}
    oof_mlp = {a: np.zeros((n, n_classes)) for a in cfg.mlp_alpha} if cfg.use_mlp else {}
    for k in range(n_folds):
        tr, te = fold != k, (fold == k) & ~is_aug
        mean, scale = standardiser(X[tr])
        Ztr, Zte = _z(X[tr], mean, scale), _z(X[te], mean, scale)
        for c in cfg.linear:
            w, b = _fit_lr(Ztr, y[tr], c, n_classes)
            oof_lr[c][te] = _lr_logp(Zte, w, b)
        for a in oof_mlp:
            layers = _fit_mlp(Ztr, y[tr], a, cfg, seed, n_classes)
            oof_mlp[a][te] = _mlp_logp(Zte, layers)
    ev = ~is_aug
    ye = y[ev]

    def ua(lp):
        return unweighted_accuracy(ye, lp[ev].argmax(axis=1), n_classes)

    best_c = max(cfg.linear, key=lambda c: (ua(oof_lr[c]), -cfg.linear.index(c)))
    if oof_mlp:
        best_a = max(cfg.mlp_alpha, key=lambda a: (ua(oof_mlp[a]), a))
        mixes = cfg.mixes
    else:
        best_a, mixes = None, (1.0,)

    def mixed(m):
        if best_a is None:
            return oof_lr[best_c]
        return m * oof_lr[best_c] + (1 - m) * oof_mlp[best_a]

    best_mix = max(mixes, key=lambda m: (ua(mixed(m)), -abs(m - 0.5)))
    lp = mixed(best_mix)[ev]
    temps = np.exp(np.linspace(np.log(0.25), np.log(4.0), 49))
    best_t = float(min(temps, key=lambda t: _nll(lp, ye, t)))
    tuning = dict(
        linear=list(best_c),
        mlp_alpha=best_a,
        mix=best_mix,
        temperature=best_t,
        inner_ua=ua(mixed(best_mix)),
        inner_nll=_nll(lp, ye, best_t),
    )
    if log:
        log(f"  tuned: {json.dumps(tuning)}")
    mean, scale = standardiser(X)
    Z = _z(X, mean, scale)
    w, b = _fit_lr(Z, y, best_c, n_classes)
    params = dict(mean=mean, scale=scale, clip=np.float64(CLIP_Z), lr_w=w, lr_b=b)
    layers = _fit_mlp(Z, y, best_a, cfg, seed, n_classes) if best_a is not None else []
    params["mlp_layers"] = np.int64(len(layers))
    for i, (lw, lb) in enumerate(layers):
        params[f"mlp_w{i}"] = lw
        params[f"mlp_b{i}"] = lb
    params["mix"] = np.float64(best_mix if layers else 1.0)
    params["temperature"] = np.float64(best_t)
    params["tuning"] = tuning
    return params


def fit_dimension_heads(X, y, classes, mean, scale, c: float = 0.1) -> dict:
    """Binary logistic-regression heads for arousal and valence on the standardised features.

    A head is fitted for each dimension on which the labels hold both ends
    (:func:`.dimensions.binary_targets`): clips of labels at the middle or unknown to
    :data:`.dimensions.LABEL_DIMENSIONS` are left out of that head.

    Parameters
    ----------
    X : numpy.ndarray
        (n, d) features.
    y : numpy.ndarray
        Class index per row, into ``classes``.
    classes : sequence of str
    mean, scale : numpy.ndarray
        The model's standardisation (:func:`standardiser`).
    c : float
        Inverse regularisation strength.

    Returns
    -------
    dict
        ``dim_<name>_w`` (d,) and ``dim_<name>_b`` () per fitted head.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1, 2], 10)
    >>> X = rng.standard_normal((30, 4)) + (y == 0)[:, None]
    >>> h = fit_dimension_heads(X, y, ("anger", "sadness", "xyz"), *standardiser(X))
    >>> sorted(h), h["dim_arousal_w"].shape  # no positive label: no valence head
    (['dim_arousal_b', 'dim_arousal_w'], (4,))
    """
    from sklearn.linear_model import LogisticRegression

    from .dimensions import DIMENSIONS, binary_targets

    y = np.asarray(y)
    out = {}
    for d in DIMENSIONS:
        t = binary_targets(classes, d)[y]
        keep = t >= 0
        if len(np.unique(t[keep])) < 2:
            continue
        m = LogisticRegression(C=c, max_iter=1000, tol=1e-4)
        m.fit(_z(X[keep], mean, scale), t[keep])
        out[f"dim_{d}_w"] = m.coef_[0].astype(np.float64)
        out[f"dim_{d}_b"] = np.float64(m.intercept_[0])
    return out


def speaker_normalize(X: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """z-score the features within each group (speaker, or recording condition).

    Parameters
    ----------
    X : numpy.ndarray
        (n, d) features.
    groups : numpy.ndarray
        (n,) group key of each row.

    Returns
    -------
    numpy.ndarray
        (n, d), each group with zero mean and unit standard deviation per feature.

    Examples
    --------
    >>> import numpy as np
    >>> Xn = speaker_normalize(np.array([[1.0], [3.0], [10.0], [20.0]]), np.array([0, 0, 1, 1]))
    >>> Xn.ravel().tolist()
    [-1.0, 1.0, -1.0, 1.0]
    """
    from .classifier import group_normalize

    out = np.empty_like(X, dtype=np.float64)
    for g in np.unique(groups):
        m = groups == g
        out[m] = group_normalize(X[m])
    return out


#: Alias of `speaker_normalize` (the former name), kept for code that imports it.
speaker_normalise = speaker_normalize


def finish_params(
    params: dict,
    labels,
    spk_params: dict | None = None,
    cnn_params: dict | None = None,
    cnn_mix: float = 0.5,
) -> dict:
    """The arrays of a weights file from fitted members.

    Parameters
    ----------
    params : dict
        The clip-mode feature ensemble, from :func:`fit_model`.
    labels : sequence of str
        Class names, in index order (stored in the file).
    spk_params : dict, optional
        The speaker-mode linear model, from :func:`fit_model` on normalised features.
    cnn_params : dict, optional
        The CNN member, from :func:`.cnn_train.fit_cnn`.
    cnn_mix : float
        Weight of the CNN member's log-probabilities.

    Returns
    -------
    dict
        Name -> array, as read by :class:`~emotion_analytics.model.classifier.EmotionModel`
        (float arrays stored as float32).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = rng.standard_normal((40, F.n_features())) + y[:, None]
    >>> cfg = Config(linear=(("lr", 0.1),), use_mlp=False, cnn=None)
    >>> p = fit_model(X, y, np.tile(np.arange(4), 10), np.zeros(40, bool), 2, cfg, seed=0)
    >>> out = finish_params(p, ("calm", "angry"))
    >>> out["labels"].tolist(), out["lr_w"].dtype
    (['calm', 'angry'], dtype('float32'))
    """
    out = {k: v for k, v in params.items() if k != "tuning"}
    if spk_params is not None:
        for k in ("mean", "scale", "lr_w", "lr_b", "temperature"):
            out[f"spk_{k}"] = spk_params[k]
    if cnn_params is not None:
        out.update(cnn_params)
        out["cnn_mix"] = np.float64(cnn_mix)
    out["labels"] = np.array(labels)
    out["sample_rate"] = np.int64(F.SAMPLE_RATE)
    out["feature_version"] = np.int64(F.FEATURE_VERSION)
    # float32 storage halves the file; inference computes in float64
    for k, v in list(out.items()):
        if isinstance(v, np.ndarray) and v.dtype == np.float64 and v.ndim > 0:
            out[k] = v.astype(np.float32)
    return out


def fit_all(X, mels, y, spk, copy, is_aug, k, cfg, seed, labels, log=None) -> dict:
    """Weights of a whole model fitted on the same rows.

    The clip-mode feature ensemble, the speaker-adaptive linear model (features z-normalised
    per speaker and augmentation copy) and, when ``cfg.cnn`` is set, the CNN member.

    Parameters
    ----------
    X : numpy.ndarray
        (n, d) features of the rows (originals and augmented copies).
    mels : list of numpy.ndarray
        Log-mel spectrogram of each row (used only with ``cfg.cnn``).
    y : numpy.ndarray
        Class index per row.
    spk : numpy.ndarray
        Speaker of each row.
    copy : numpy.ndarray
        Augmentation copy of each row (0 = the original clip).
    is_aug : numpy.ndarray of bool
    k : int
        Number of classes.
    cfg : Config
    seed : int
    labels : sequence of str
        Class names, in index order.
    log : callable, optional

    Returns
    -------
    dict
        The arrays of a weights file (:func:`finish_params`).

    Examples
    --------
    >>> import numpy as np
    >>> from emotion_analytics.model.classifier import EmotionModel
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = rng.standard_normal((40, F.n_features())) + y[:, None]
    >>> spk, zero = np.tile(np.arange(4), 10), np.zeros(40, int)
    >>> cfg = Config(linear=(("lr", 0.1),), use_mlp=False, cnn=None)
    >>> p = fit_all(X, None, y, spk, zero, zero > 0, 2, cfg, 0, ("calm", "angry"))
    >>> m = EmotionModel(p)
    >>> m.labels, m.has_speaker_mode, m.has_cnn
    (('calm', 'angry'), True, False)
    """
    from dataclasses import replace

    params = fit_model(X, y, spk, is_aug, k, cfg, seed, log=log)
    keys = np.char.add(np.char.add(spk.astype(str), ":"), copy.astype(str))
    Xn = speaker_normalize(X, keys)
    spk_params = fit_model(Xn, y, spk, is_aug, k, replace(cfg, use_mlp=False), seed, log=log)
    if cfg.dim_heads:
        params = {
            **params,
            **fit_dimension_heads(X, y, labels, params["mean"], params["scale"], cfg.dim_c),
        }
    cnn_params = None
    if cfg.cnn is not None:
        from .cnn_train import fit_cnn

        cnn_params = fit_cnn(mels, y, k, seed, cfg.cnn, log=log)
    return finish_params(params, labels, spk_params, cnn_params, cfg.cnn_mix)
