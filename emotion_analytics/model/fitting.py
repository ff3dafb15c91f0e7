"""Training and leave-one-speaker-out (LOSO) evaluation of the embedded emotion model.

Command line (through ``emotion-analytics train`` or ``python -m emotion_analytics.model.train``)::

    emotion-analytics train --data ../shared/data/emodb            # refit the shipped weights
    emotion-analytics train --data ../shared/data/emodb --loso     # nested LOSO, JSON lines

Everything is deterministic for a given ``--seed`` (on one machine and thread count): the
augmentation of each clip draws from its own seeded generator, and every learner is seeded.

Nested selection: whatever is tuned (the logistic-regression strength, the MLP weight decay,
the feature member's mix, its temperature) is chosen on out-of-fold predictions of *inner*
speaker-grouped folds of the training speakers only; in ``--loso`` the test speaker is never
seen by features' statistics, fitting or tuning. The CNN member's recipe and its weight in
the final geometric mean (:attr:`Config.cnn_mix`) are fixed, not tuned.

This module imports only numpy and the standard library at the top; scikit-learn, soxr and
PyTorch (for the CNN member, :mod:`.cnn_train`) are imported inside the functions that need
them.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import cnn as _cnn
from . import features as F
from .classifier import LABELS, WEIGHTS_PATH, save_params
from .cnn_train import CnnConfig

SUBSET4 = ("anger", "happiness", "neutral", "sadness")
CLIP_Z = 6.0  # standardised features are clipped to +-CLIP_Z (robustness to new conditions)


# --------------------------------------------------------------------------- data
def default_data_dir() -> Path:
    """Where EmoDB is looked for when ``--data`` is not given.

    ``../shared/data/emodb`` relative to the current directory, else the ``shared`` folder
    next to the repository this package sits in.

    Returns
    -------
    pathlib.Path
        May not exist; callers check.

    Examples
    --------
    >>> default_data_dir().name
    'emodb'
    """
    cwd = Path.cwd().parent / "shared" / "data" / "emodb"
    if cwd.is_dir():
        return cwd
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "emodb"


@dataclass
class Corpus:
    """EmoDB clips at the model's sample rate, trimmed of their zero padding."""

    audio: list[np.ndarray]
    labels: np.ndarray  # int indices into LABELS
    speakers: np.ndarray  # str speaker ids
    files: list[str]


def load_emodb(data_dir, limit: int | None = None) -> Corpus:
    """Read EmoDB's ``metadata.csv`` and audio, resampled to the model rate.

    Parameters
    ----------
    data_dir : str or Path
        Folder with ``metadata.csv`` and ``wav/``.
    limit : int, optional
        Keep only every ``len/limit``-th clip (quick tests).

    Returns
    -------
    Corpus

    Examples
    --------
    >>> d = default_data_dir()
    >>> c = load_emodb(d, limit=5) if d.is_dir() else None
    >>> c is None or len(c.audio) == 5
    True
    """
    import soundfile as sf
    import soxr

    data_dir = Path(data_dir)
    with open(data_dir / "metadata.csv", newline="", encoding="utf-8") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: r["file"])
    if limit is not None and limit < len(rows):
        pick = np.linspace(0, len(rows) - 1, limit).round().astype(int)
        rows = [rows[i] for i in pick]
    audio, labels, speakers, files = [], [], [], []
    for r in rows:
        x, sr = sf.read(data_dir / r["file"], dtype="float32", always_2d=True)
        x = x.mean(axis=1)
        pad = float(r.get("zero_padded_s") or 0.0)
        if pad > 0:
            x = x[: max(int(round(len(x) - pad * sr)), 1)]
        if sr != F.SAMPLE_RATE:
            x = soxr.resample(x, sr, F.SAMPLE_RATE).astype(np.float32)
        audio.append(x)
        labels.append(LABELS.index(r["emotion"]))
        speakers.append(r["speaker"].zfill(2))
        files.append(r["file"])
    return Corpus(audio, np.array(labels), np.array(speakers), files)


# --------------------------------------------------------------------------- augmentation
def augment(x: np.ndarray, rng: np.random.Generator, sr: int = F.SAMPLE_RATE) -> np.ndarray:
    """One random degraded/altered copy of a clip.

    A random chain of: speed/pitch change (0.9-1.12), random crop, microphone-like spectral
    colouring, reverberation (synthetic exponential room response), telephone band
    (300-3400 Hz), additive white/pink/brown noise (5-30 dB SNR) and gain.

    Parameters
    ----------
    x : numpy.ndarray
        Mono float audio at ``sr``.
    rng : numpy.random.Generator
        Source of randomness (seed it for reproducibility).
    sr : int
        Sample rate.

    Returns
    -------
    numpy.ndarray
        float32 audio at ``sr`` (length may differ from ``x``).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    >>> y1 = augment(x, np.random.default_rng(1))
    >>> y2 = augment(x, np.random.default_rng(1))
    >>> bool(np.array_equal(y1, y2)), y1.dtype
    (True, dtype('float32'))
    """
    import soxr

    y = np.asarray(x, dtype=np.float64)
    if rng.random() < 0.5:  # speed + pitch together (a different voice and tempo)
        f = rng.uniform(0.9, 1.12)
        y = soxr.resample(y, sr, int(round(sr * f)))
    if rng.random() < 0.3 and len(y) > sr:  # crop: shorter windows than the training clips
        n = int(len(y) * rng.uniform(0.5, 0.9))
        s = int(rng.integers(0, len(y) - n + 1))
        y = y[s : s + n]
    n = len(y)
    nfft = 1 << int(np.ceil(np.log2(n + sr)))
    spec = None
    if rng.random() < 0.4:  # microphone colouring: smooth random EQ, +-6 dB
        spec = np.fft.rfft(y, nfft)
        fr = np.linspace(0, 1, len(spec))
        knots = rng.uniform(-6, 6, 6)
        gain_db = np.interp(fr, np.linspace(0, 1, 6), knots)
        spec *= 10 ** (gain_db / 20)
    if rng.random() < 0.3:  # reverberation
        rt60 = rng.uniform(0.15, 0.7)
        m = int(rt60 * sr)
        tt = np.arange(m) / sr
        ir = rng.standard_normal(m) * np.exp(-6.9 * tt / rt60)
        ir *= rng.uniform(0.2, 0.8) / np.sqrt((ir**2).sum())
        ir[0] = 1.0
        if spec is None:
            spec = np.fft.rfft(y, nfft)
        spec *= np.fft.rfft(ir, nfft)
    if rng.random() < 0.25:  # telephone band
        if spec is None:
            spec = np.fft.rfft(y, nfft)
        fr = np.fft.rfftfreq(nfft, 1 / sr)
        spec[(fr < 300) | (fr > 3400)] = 0
    if spec is not None:
        y = np.fft.irfft(spec, nfft)[:n]
    p_sig = np.mean(y**2) + 1e-12
    if rng.random() < 0.5:  # additive noise
        kind = rng.integers(0, 3)
        w = rng.standard_normal(n)
        if kind > 0:  # pink (1/f) or brown (1/f^2)
            ws = np.fft.rfft(w)
            fr = np.arange(len(ws)) + 1.0
            ws /= fr ** (0.5 * kind)
            w = np.fft.irfft(ws, n)
        snr = rng.uniform(5, 30)
        w *= np.sqrt(p_sig / (np.mean(w**2) + 1e-12) / 10 ** (snr / 10))
        y = y + w
    y = y * 10 ** (rng.uniform(-20, 6) / 20)
    peak = np.abs(y).max() if len(y) else 0.0
    if peak > 1.0:
        y = y / peak
    return y.astype(np.float32)


def corpus_features(corpus: Corpus, n_aug: int, seed: int, log=None):
    """Features of every clip and of ``n_aug`` augmented copies of it.

    Parameters
    ----------
    corpus : Corpus
    n_aug : int
        Augmented copies per clip.
    seed : int
    log : callable, optional
        Progress printer.

    Returns
    -------
    X : numpy.ndarray
        (n_clips * (1 + n_aug), n_features); rows ``[k * n_clips:(k+1) * n_clips]`` are copy
        ``k`` (copy 0 = the original clip).
    src : numpy.ndarray
        Index of the source clip of each row.
    is_aug : numpy.ndarray of bool
    mels : list of numpy.ndarray
        The gain-free log-mel spectrogram of each row's audio (for the CNN member).

    Examples
    --------
    >>> import numpy as np
    >>> c = Corpus([np.zeros(8000, np.float32)], np.array([0]), np.array(["01"]), ["a"])
    >>> X, src, is_aug, mels = corpus_features(c, 1, 0)
    >>> X.shape[0], src.tolist(), is_aug.tolist(), mels[0].shape
    (2, [0, 0], [False, True], (24, 40))
    """
    n = len(corpus.audio)
    audio, src, is_aug = [], [], []
    for k in range(n_aug + 1):
        for i, x in enumerate(corpus.audio):
            if k:
                x = augment(x, np.random.default_rng([seed, i, k]))
            audio.append(x)
            src.append(i)
            is_aug.append(k > 0)
    t0 = time.perf_counter()
    X, mels = F.extract_batch(audio, with_mels=True)
    if log:
        log(f"features: {len(audio)} clips ({n} originals) in {time.perf_counter() - t0:.0f} s")
    return X, np.array(src), np.array(is_aug), mels


# --------------------------------------------------------------------------- learning
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


def _standardiser(X: np.ndarray):
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
    order = np.random.default_rng(seed).permutation(len(spk))
    fold_of = {s: i % cfg.inner_folds for i, s in enumerate(spk[order])}
    fold = np.array([fold_of[g] for g in groups])
    n = len(y)
    oof_lr = {c: np.zeros((n, n_classes)) for c in cfg.linear}
    oof_mlp = {a: np.zeros((n, n_classes)) for a in cfg.mlp_alpha} if cfg.use_mlp else {}
    for k in range(cfg.inner_folds):
        tr, te = fold != k, (fold == k) & ~is_aug
        mean, scale = _standardiser(X[tr])
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
    mean, scale = _standardiser(X)
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


def speaker_normalise(X: np.ndarray, groups: np.ndarray) -> np.ndarray:
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
    >>> Xn = speaker_normalise(np.array([[1.0], [3.0], [10.0], [20.0]]), np.array([0, 0, 1, 1]))
    >>> Xn.ravel().tolist()
    [-1.0, 1.0, -1.0, 1.0]
    """
    from .classifier import group_normalise

    out = np.empty_like(X, dtype=np.float64)
    for g in np.unique(groups):
        m = groups == g
        out[m] = group_normalise(X[m])
    return out


def _finish_params(
    params: dict,
    labels,
    spk_params: dict | None = None,
    cnn_params: dict | None = None,
    cnn_mix: float = 0.5,
) -> dict:
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


# --------------------------------------------------------------------------- LOSO
def _scores(yt, yp, pp, k, classes, mode, extra=None) -> dict:
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


def _fit_all(X, mels, y, spk, copy, is_aug, k, cfg, seed, labels, log=None) -> dict:
    """Weights of a whole model (clip-mode feature ensemble, speaker-adaptive linear model,
    CNN member) fitted on the same rows."""
    from dataclasses import replace

    params = fit_model(X, y, spk, is_aug, k, cfg, seed, log=log)
    keys = np.char.add(np.char.add(spk.astype(str), ":"), copy.astype(str))
    Xn = speaker_normalise(X, keys)
    spk_params = fit_model(Xn, y, spk, is_aug, k, replace(cfg, use_mlp=False), seed, log=log)
    cnn_params = None
    if cfg.cnn is not None:
        from .cnn_train import fit_cnn

        cnn_params = fit_cnn(mels, y, k, seed, cfg.cnn, log=log)
    return _finish_params(params, labels, spk_params, cnn_params, cfg.cnn_mix)


def loso(corpus: Corpus, X, src, is_aug, mels, cfg: Config, seed: int, classes, log=None):
    """Nested leave-one-speaker-out evaluation; returns one result dict per setting.

    For every test speaker, the clip-mode ensemble and the speaker-adaptive model are fitted
    (and tuned, with inner speaker-grouped folds) on the other speakers only. Settings:

    * ``mode="clip"``: each test clip classified alone. Extra keys ``ua_degraded`` /
      ``wa_degraded``: the same models on augmented copies of the test speaker's clips
      (noise, reverberation, telephone band, colouring, speed; other random draws).
    * ``mode="speaker"``: the test speaker's features are z-normalised over all of that
      speaker's clips (transductive: needs a recording with many windows of one voice).

    Extra keys ``ua_features`` / ``ua_cnn``: the feature member and the CNN member alone.

    Parameters
    ----------
    corpus : Corpus
    X, src, is_aug, mels : from :func:`corpus_features`
    cfg : Config
    seed : int
    classes : tuple of str
        Labels to train and test on (all 7, or :data:`SUBSET4`).
    log : callable, optional

    Returns
    -------
    list of dict
        Keys ``classes, mode, ua, wa, confusion, labels, n, nll, ece`` (+ extras).
    """
    from .classifier import EmotionModel

    n_clips = len(corpus.audio)
    copy = np.arange(len(src)) // n_clips
    y_all = corpus.labels[src]
    keep_lab = np.isin(y_all, [LABELS.index(c) for c in classes])
    remap = np.full(len(LABELS), -1)
    for i, c in enumerate(classes):
        remap[LABELS.index(c)] = i
    spk_all = corpus.speakers[src]
    k = len(classes)
    modes = ("clip", "degraded", "speaker", "features", "cnn")
    res = {m: ([], [], []) for m in modes}

    def add(mode, rows, p):
        res[mode][0].append(remap[y_all[rows]])
        res[mode][1].append(p.argmax(axis=1))
        res[mode][2].append(p)

    for s in np.unique(corpus.speakers):
        t0 = time.perf_counter()
        tr = np.flatnonzero(keep_lab & (spk_all != s))
        model = EmotionModel(
            _fit_all(
                X[tr],
                [mels[i] for i in tr],
                remap[y_all[tr]],
                spk_all[tr],
                copy[tr],
                is_aug[tr],
                k,
                cfg,
                seed,
                classes,
                log=log,
            )
        )
        te = np.flatnonzero(keep_lab & (spk_all == s) & ~is_aug)
        ted = np.flatnonzero(keep_lab & (spk_all == s) & is_aug)
        for mode, rows in (("clip", te), ("degraded", ted)):
            add(mode, rows, model.proba_from_features(X[rows], mels=[mels[i] for i in rows]))
        add("speaker", te, model.proba_from_features(X[te], adapt=True, mels=[mels[i] for i in te]))
        add("features", te, model.proba_from_features(X[te]))
        if model.has_cnn:
            add("cnn", te, np.exp(_cnn.log_proba(model.params, [mels[i] for i in te])))
        if log:
            ua = unweighted_accuracy(res["clip"][0][-1], res["clip"][1][-1], k)
            uas = unweighted_accuracy(res["speaker"][0][-1], res["speaker"][1][-1], k)
            log(
                f"  speaker {s}: n={len(te)} clip ua={ua:.3f} speaker-mode ua={uas:.3f}"
                f" ({time.perf_counter() - t0:.0f} s)"
            )
    cat = {
        m: tuple(np.concatenate(v) if i < 2 else np.vstack(v) for i, v in enumerate(r))
        for m, r in res.items()
        if r[0]
    }
    deg = _scores(*cat["degraded"], k, classes, "clip")
    members = {
        f"ua_{m}": _scores(*cat[m], k, classes, m)["ua"] for m in ("features", "cnn") if res[m][0]
    }
    clip = _scores(
        *cat["clip"],
        k,
        classes,
        "clip",
        dict(ua_degraded=deg["ua"], wa_degraded=deg["wa"], n_degraded=deg["n"], **members),
    )
    spk = _scores(
        *cat["speaker"],
        k,
        classes,
        "speaker",
        dict(applies="all clips of the test speaker normalised together"),
    )
    return [clip, spk]


# --------------------------------------------------------------------------- CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``train`` options to an argument parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser

    Examples
    --------
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_arguments(p)
    >>> a = p.parse_args(["--loso", "--seed", "3"])
    >>> a.loso, a.seed
    (True, 3)
    """
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="EmoDB folder (metadata.csv + wav/); default ../shared/data/emodb",
    )
    parser.add_argument(
        "--loso",
        action="store_true",
        help="run nested leave-one-speaker-out evaluation and print one JSON line per setting",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"weights file to write (default {WEIGHTS_PATH})",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--n-aug",
        type=int,
        default=2,
        help="augmented copies per training clip (default 2)",
    )
    parser.add_argument(
        "--classes",
        choices=("7", "4", "both"),
        default="both",
        help="with --loso: the 7-class task, the 4-class subset, or both (default)",
    )
    parser.add_argument(
        "--no-mlp",
        action="store_true",
        help="linear member only (no MLP in the clip-mode ensemble)",
    )
    parser.add_argument(
        "--no-cnn",
        action="store_true",
        help="feature member only (no log-mel CNN member; no PyTorch needed)",
    )
    parser.add_argument(
        "--cnn-epochs",
        type=int,
        default=CnnConfig.epochs,
        help=f"training epochs of the CNN member (default {CnnConfig.epochs})",
    )
    parser.add_argument(
        "--cnn-bag",
        type=int,
        default=CnnConfig.bag,
        help=f"CNNs with different seeds averaged in the member (default {CnnConfig.bag})",
    )
    parser.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def run(args: argparse.Namespace) -> int:
    """Execute ``train`` with parsed arguments; returns the exit code.

    Parameters
    ----------
    args : argparse.Namespace
        From a parser set up by :func:`add_arguments`.

    Returns
    -------
    int
        0 on success, 2 when the data folder is missing.

    Examples
    --------
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_arguments(p)
    >>> run(p.parse_args(["--data", "/nonexistent", "--quiet"]))
    2
    """
    data = Path(args.data) if args.data is not None else default_data_dir()
    if not (data / "metadata.csv").is_file():
        print(
            f"error: no EmoDB metadata.csv under {data} (give --data DIR)",
            file=sys.stderr,
        )
        return 2

    def log(msg):
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    cnn_cfg = None
    if not args.no_cnn:
        from .cnn_train import _torch

        try:
            _torch()
        except ImportError as exc:
            print(f"error: {exc} (or give --no-cnn)", file=sys.stderr)
            return 2
        cnn_cfg = CnnConfig(epochs=args.cnn_epochs, bag=args.cnn_bag)
    cfg = Config(use_mlp=not args.no_mlp, cnn=cnn_cfg)
    corpus = load_emodb(data, limit=args.limit)
    log(f"loaded {len(corpus.audio)} clips from {data}")
    X, src, is_aug, mels = corpus_features(corpus, args.n_aug, args.seed, log=log)
    if args.loso:
        sets = {"7": [LABELS], "4": [SUBSET4], "both": [LABELS, SUBSET4]}[args.classes]
        for classes in sets:
            log(f"LOSO, {len(classes)} classes")
            for res in loso(corpus, X, src, is_aug, mels, cfg, args.seed, classes, log=log):
                print(json.dumps(res), flush=True)
        return 0
    y = corpus.labels[src]
    copy = np.arange(len(src)) // len(corpus.audio)
    params = _fit_all(
        X,
        mels,
        y,
        corpus.speakers[src],
        copy,
        is_aug,
        len(LABELS),
        cfg,
        args.seed,
        LABELS,
        log=log,
    )
    out = Path(args.out) if args.out is not None else WEIGHTS_PATH
    save_params(out, params)
    log(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB)")
    return 0


def main(argv=None) -> int:
    """Stand-alone entry point: ``python -m emotion_analytics.model.train``."""
    parser = argparse.ArgumentParser(
        prog="python -m emotion_analytics.model.train",
        description=__doc__.splitlines()[0],
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
