"""Inference for the embedded emotion model: numpy only, weights shipped in the package.

The model is an ensemble of two views of a window:

* the *feature member*: a linear model (LDA or logistic regression) and a small multilayer
  perceptron over the utterance statistics of :mod:`emotion_analytics.model.features`, mixed
  and calibrated with one temperature (both chosen on held-out speakers during training);
* the *CNN member* (:mod:`emotion_analytics.model.cnn`): a small convolutional network over
  the window's log-mel spectrogram.

Their log-probabilities are averaged with the weight ``cnn_mix`` (a geometric mean of the
probabilities). All parameters live in one ``.npz`` file next to this module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import cnn as _cnn
from . import features as _features

WEIGHTS_PATH = Path(__file__).with_name("weights.npz")
LABELS = ("anger", "boredom", "disgust", "fear", "happiness", "neutral", "sadness")


#: Fewest windows for which ``predict_proba(..., adapt=True)`` normalises over the batch.
MIN_ADAPT_WINDOWS = 10


def group_normalize(feats: np.ndarray) -> np.ndarray:
    """z-score features over a group of windows of one speaker (speaker-adaptive mode).

    Parameters
    ----------
    feats : numpy.ndarray
        (n, d) features of windows of one speaker / recording.

    Returns
    -------
    numpy.ndarray
        (n, d) with zero mean and unit standard deviation per column (constant columns -> 0).

    Examples
    --------
    >>> import numpy as np
    >>> group_normalize(np.array([[1.0, 5.0], [3.0, 5.0]])).tolist()
    [[-1.0, 0.0], [1.0, 0.0]]
    """
    feats = np.asarray(feats, dtype=np.float64)
    mu = feats.mean(axis=0)
    sd = feats.std(axis=0)
    return (feats - mu) / np.where(sd > 1e-8, sd, 1.0)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


class EmotionModel:
    """Utterance emotion classifier with calibrated probabilities.

    Parameters
    ----------
    params : dict of numpy arrays
        The arrays of a weights file (see :func:`save_params`). Usually built by
        :func:`emotion_analytics.model.load_model`.

    Attributes
    ----------
    labels : tuple of str
        Class names, in the column order of :meth:`predict_proba`.
    sample_rate : int
        Rate (Hz) the input windows must be sampled at.

    Examples
    --------
    >>> import numpy as np
    >>> from emotion_analytics.model import load_model
    >>> m = load_model()
    >>> p = m.predict_proba(np.zeros((2, m.sample_rate), dtype=np.float32))
    >>> p.shape == (2, len(m.labels)), bool(np.allclose(p.sum(axis=1), 1.0))
    (True, True)
    """

    def __init__(self, params: dict[str, np.ndarray]):
        version = int(params["feature_version"])
        if version != _features.FEATURE_VERSION:
            raise ValueError(
                f"weights were trained on feature version {version}, "
                f"this code computes version {_features.FEATURE_VERSION}"
            )
        self.labels: tuple[str, ...] = tuple(str(s) for s in params["labels"])
        self.sample_rate: int = int(params["sample_rate"])
        self.mean = np.asarray(params["mean"], dtype=np.float64)
        self.scale = np.asarray(params["scale"], dtype=np.float64)
        self.clip = float(params["clip"])
        self.lr_w = np.asarray(params["lr_w"], dtype=np.float64)
        self.lr_b = np.asarray(params["lr_b"], dtype=np.float64)
        n_layers = int(params["mlp_layers"])
        self.mlp = [
            (
                np.asarray(params[f"mlp_w{i}"], np.float64),
                np.asarray(params[f"mlp_b{i}"], np.float64),
            )
            for i in range(n_layers)
        ]
        self.mix = float(params["mix"])  # weight of the logistic regression in the ensemble
        self.temperature = float(params["temperature"])
        self.params = params
        # weight of the CNN member's log-probabilities (0 when the weights have none)
        self.cnn_mix = float(params["cnn_mix"]) if "cnn_blocks" in params else 0.0
        # trained arousal / valence heads (name -> (w, b)); without one, a dimension is
        # derived from the class probabilities (see :meth:`dimensions`)
        self.dim_heads = {
            k[4:-2]: (
                np.asarray(params[k], np.float64),
                float(params[k[:-1] + "b"]),
            )
            for k in params
            if k.startswith("dim_") and k.endswith("_w")
        }
        self.spk = None
        if "spk_lr_w" in params:
            self.spk = {
                k: np.asarray(params[f"spk_{k}"], dtype=np.float64)
                for k in ("mean", "scale", "lr_w", "lr_b", "temperature")
            }
        if self.mean.shape[0] != _features.n_features():
            raise ValueError("weights do not match the feature vector length")

    # ------------------------------------------------------------------ internals
    def _standardise(self, feats: np.ndarray) -> np.ndarray:
        z = (feats - self.mean) / self.scale
        return np.clip(z, -self.clip, self.clip, out=z)

    def _log_proba_parts(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        lr = z @ self.lr_w + self.lr_b
        lr = lr - lr.max(axis=1, keepdims=True)
        lr = lr - np.log(np.exp(lr).sum(axis=1, keepdims=True))
        if not self.mlp:
            return lr, None
        h = z
        for i, (w, b) in enumerate(self.mlp):
            h = h @ w + b
            if i < len(self.mlp) - 1:
                np.maximum(h, 0.0, out=h)
        h = h - h.max(axis=1, keepdims=True)
        h = h - np.log(np.exp(h).sum(axis=1, keepdims=True))
        return lr, h

    @property
    def has_cnn(self) -> bool:
        """Whether the weights include the log-mel CNN member."""
        return self.cnn_mix > 0.0

    @property
    def has_speaker_mode(self) -> bool:
        """Whether the weights include the speaker-adaptive classifier."""
        return self.spk is not None

    def _proba_adapted(self, feats: np.ndarray) -> np.ndarray:
        sp = self.spk
        z = (group_normalize(feats) - sp["mean"]) / sp["scale"]
        z = np.clip(z, -self.clip, self.clip)
        return _softmax((z @ sp["lr_w"] + sp["lr_b"]) / float(sp["temperature"]))

    def proba_from_features(
        self, feats: np.ndarray, adapt: bool = False, mels: list | None = None
    ) -> np.ndarray:
        """Class probabilities from a feature matrix (and the windows' spectrograms).

        Parameters
        ----------
        feats : numpy.ndarray
            (n, n_features) as returned by :func:`features.extract_batch`.
        adapt : bool
            Speaker-adaptive mode, see :meth:`predict_proba`.
        mels : list of numpy.ndarray, optional
            The windows' log-mel spectrograms (``extract_batch(..., with_mels=True)``). With
            them the CNN member joins the ensemble; without them the feature member answers
            alone.

        Returns
        -------
        numpy.ndarray
            float64 (n, len(labels)), rows sum to 1.

        Examples
        --------
        >>> import numpy as np
        >>> from emotion_analytics.model import load_model, features
        >>> m = load_model()
        >>> f = features.extract_batch([np.zeros(8000, dtype=np.float32)])
        >>> m.proba_from_features(f).shape
        (1, 7)
        """
        feats = np.asarray(feats, dtype=np.float64).reshape(-1, self.mean.shape[0])
        if adapt and self.spk is not None and feats.shape[0] >= MIN_ADAPT_WINDOWS:
            p = self._proba_adapted(feats)
        else:
            z = self._standardise(feats)
            lr, mlp = self._log_proba_parts(z)
            # geometric mean of the linear model's and the MLP's probabilities, then temperature
            logit = lr if mlp is None else self.mix * lr + (1.0 - self.mix) * mlp
            p = _softmax(logit / self.temperature)
        if mels is None or not self.has_cnn or feats.shape[0] == 0:
            return p
        if len(mels) != feats.shape[0]:
            raise ValueError(f"{feats.shape[0]} feature rows but {len(mels)} spectrograms")
        logit = (1.0 - self.cnn_mix) * np.log(np.maximum(p, 1e-300))
        logit += self.cnn_mix * _cnn.log_proba(self.params, mels)
        return _softmax(logit)

    def window_parts(self, windows) -> tuple[np.ndarray, np.ndarray | None]:
        """What the model keeps of each window until a speaker's windows are all in.

        Parameters
        ----------
        windows : list of 1-D float arrays, or 2-D array (n, n_samples)
            Mono audio at :attr:`sample_rate`.

        Returns
        -------
        feats : numpy.ndarray
            (n, n_features) utterance features.
        cnn_logp : numpy.ndarray or None
            (n, len(labels)) the CNN member's log-probabilities (None without a CNN member).

        Examples
        --------
        >>> import numpy as np
        >>> from emotion_analytics.model import load_model
        >>> m = load_model()
        >>> f, c = m.window_parts([np.zeros(8000, np.float32)])
        >>> f.shape[0], c.shape
        (1, (1, 7))
        """
        if isinstance(windows, np.ndarray) and windows.ndim == 1:
            windows = windows[None, :]
        if not self.has_cnn:
            return _features.extract_batch(windows), None
        feats, mels = _features.extract_batch(windows, with_mels=True)
        return feats, _cnn.log_proba(self.params, mels)

    def predict_speaker(
        self, feats: np.ndarray, cnn_logp: np.ndarray | None = None, adapt="auto"
    ) -> tuple[np.ndarray, float]:
        """Probabilities for all the windows of **one speaker**, adapted to that speaker.

        Parameters
        ----------
        feats : numpy.ndarray
            (n, n_features) of the speaker's windows (:meth:`window_parts`).
        cnn_logp : numpy.ndarray, optional
            (n, len(labels)) CNN log-probabilities of the same windows.
        adapt : {"auto", True, False}
            ``"auto"``: weigh the speaker mode by the evidence the windows give that the
            speaker shows a range of emotions, with the speaker's emotion mix kept as its
            prior (:mod:`emotion_analytics.model.adaptation`); ``True``: the plain speaker
            mode (with at least ``adaptation.MIN_WINDOWS`` windows); ``False``: the clip mode.

        Returns
        -------
        proba : numpy.ndarray
            float64 (n, len(labels)), rows sum to 1.
        weight : float
            The speaker mode's weight in [0, 1] (0: the clip mode answered alone).

        Examples
        --------
        >>> import numpy as np
        >>> from emotion_analytics.model import load_model
        >>> m = load_model()
        >>> f, c = m.window_parts([np.zeros(8000, np.float32)] * 2)
        >>> p, w = m.predict_speaker(f, c)
        >>> p.shape, w
        ((2, 7), 0.0)
        """
        from . import adaptation

        mode = adaptation.resolve_adapt(adapt)
        feats = np.asarray(feats, dtype=np.float64).reshape(-1, self.mean.shape[0])
        n = feats.shape[0]
        clip_p = self.proba_from_features(feats)  # the feature member alone
        log_p = np.log(np.maximum(clip_p, 1e-300))
        with_cnn = cnn_logp is not None and self.has_cnn and n > 0
        if with_cnn:
            cnn_logp = np.asarray(cnn_logp, np.float64)
            whole = _softmax((1.0 - self.cnn_mix) * log_p + self.cnn_mix * cnn_logp)
        else:
            whole = clip_p
        weight = 0.0
        if self.spk is not None and n >= adaptation.MIN_WINDOWS:
            if mode == "on":
                weight = 1.0
            elif mode == "auto":
                weight = adaptation.adapt_weight(  # the module's constants, read now
                    n, adaptation.variety(whole), prior=adaptation.PRIOR_WINDOWS,
                    low=adaptation.VARIETY_LOW, high=adaptation.VARIETY_HIGH)
        if weight == 0:
            return whole, 0.0
        log_spk = np.log(np.maximum(self._proba_adapted(feats), 1e-300))
        if mode == "auto":  # keep the speaker's overall level: their emotion mix as the prior
            log_spk = log_spk + adaptation.speaker_mix(whole)
        log_p = np.log(np.maximum(adaptation.blend(log_p, log_spk, weight), 1e-300))
        if not with_cnn:
            return _softmax(log_p), weight
        return _softmax((1.0 - self.cnn_mix) * log_p + self.cnn_mix * cnn_logp), weight

    # ------------------------------------------------------------------ public
    def predict_proba(self, windows, adapt: bool = False) -> np.ndarray:
        """Class probabilities for each window.

        Parameters
        ----------
        windows : list of 1-D float arrays, or 2-D array (n, n_samples)
            Mono audio at :attr:`sample_rate`; any length (about 0.5 s to 10 s is the
            intended range; shorter or silent input still gives a valid row).
        adapt : bool, default False
            Speaker-adaptive mode: treat all ``windows`` as speech of **one speaker** in
            one recording, normalise their features over the batch (which removes that
            voice's and that microphone's baseline) and use the classifier trained that
            way. Applies only with at least :data:`MIN_ADAPT_WINDOWS` windows and a range
            of emotions in them (a recording that is all-angry will look "neutral" after
            normalisation); with fewer windows the clip mode is used.

        Returns
        -------
        numpy.ndarray
            float64 (n, len(labels)); each row sums to 1.

        Examples
        --------
        >>> import numpy as np
        >>> from emotion_analytics.model import load_model
        >>> m = load_model()
        >>> t = np.arange(3 * m.sample_rate) / m.sample_rate
        >>> x = (0.1 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
        >>> p = m.predict_proba([x, x[:8000]])
        >>> p.shape, bool(np.allclose(p.sum(axis=1), 1))
        ((2, 7), True)
        """
        if isinstance(windows, np.ndarray) and windows.ndim == 1:
            windows = windows[None, :]
        n = len(windows)
        if n == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float64)
        if not self.has_cnn:
            return self.proba_from_features(_features.extract_batch(windows), adapt=adapt)
        feats, mels = _features.extract_batch(windows, with_mels=True)
        return self.proba_from_features(feats, adapt=adapt, mels=mels)

    def dimensions(self, proba: np.ndarray, feats: np.ndarray | None = None) -> dict:
        """Arousal and valence in [0, 1] of windows, from their class probabilities or features.

        A dimension with a trained head in the weights comes from the head (a logistic
        regression on the standardised ``feats``); otherwise it is derived from ``proba``
        through the labels' places (:func:`.dimensions.derived_dimensions`), which needs every
        label of the model to have one. A dimension that neither gives is left out.

        Parameters
        ----------
        proba : numpy.ndarray
            (n, len(labels)) class probabilities.
        feats : numpy.ndarray, optional
            (n, n_features) features of the same windows (needed by trained heads).

        Returns
        -------
        dict
            ``"arousal"`` / ``"valence"`` -> float64 ``(n,)``.

        Examples
        --------
        >>> import numpy as np
        >>> from emotion_analytics.model import load_model
        >>> m = load_model()
        >>> p = np.eye(7)[[0, 6]]  # anger, sadness
        >>> {k: v.tolist() for k, v in m.dimensions(p).items()}
        {'arousal': [1.0, 0.0], 'valence': [0.0, 0.0]}
        """
        from .dimensions import derived_dimensions

        out = derived_dimensions(proba, self.labels)
        if feats is not None:
            z = self._standardise(np.asarray(feats, np.float64).reshape(-1, self.mean.shape[0]))
            for name, (w, b) in self.dim_heads.items():
                out[name] = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        return out

    def predict_windows(self, windows, adapt: bool = False) -> tuple[np.ndarray, dict]:
        """Class probabilities and dimensions (arousal, valence) of each window.

        Parameters
        ----------
        windows : list of 1-D float arrays, or 2-D array (n, n_samples)
            Mono audio at :attr:`sample_rate`.
        adapt : bool, default False
            Speaker-adaptive mode for the class probabilities (see :meth:`predict_proba`).

        Returns
        -------
        proba : numpy.ndarray
            float64 (n, len(labels)), rows sum to 1 (the same as :meth:`predict_proba`).
        dims : dict
            ``"arousal"`` / ``"valence"`` -> float64 ``(n,)`` in [0, 1] (see
            :meth:`dimensions`; ``{}`` when the labels give none).

        Examples
        --------
        >>> import numpy as np
        >>> from emotion_analytics.model import load_model
        >>> m = load_model()
        >>> p, dims = m.predict_windows(np.zeros((2, m.sample_rate), np.float32))
        >>> p.shape, sorted(dims), dims["arousal"].shape
        ((2, 7), ['arousal', 'valence'], (2,))
        """
        if isinstance(windows, np.ndarray) and windows.ndim == 1:
            windows = windows[None, :]
        if len(windows) == 0:
            proba = np.zeros((0, len(self.labels)), dtype=np.float64)
            return proba, self.dimensions(proba, np.zeros((0, self.mean.shape[0])))
        if self.has_cnn:
            feats, mels = _features.extract_batch(windows, with_mels=True)
        else:
            feats, mels = _features.extract_batch(windows), None
        proba = self.proba_from_features(feats, adapt=adapt, mels=mels)
        return proba, self.dimensions(proba, feats)

    def predict(self, windows) -> list[str]:
        """Most probable label for each window.

        Parameters
        ----------
        windows : list of 1-D float arrays, or 2-D array (n, n_samples)

        Returns
        -------
        list of str

        Examples
        --------
        >>> import numpy as np
        >>> from emotion_analytics.model import load_model
        >>> m = load_model()
        >>> m.predict(np.zeros((1, 16000), dtype=np.float32))[0] in m.labels
        True
        """
        p = self.predict_proba(windows)
        return [self.labels[i] for i in p.argmax(axis=1)]


def save_params(path, params: dict[str, np.ndarray]) -> None:
    """Write model parameters to an ``.npz`` file, byte-for-byte reproducibly.

    Parameters
    ----------
    path : str or Path
        Destination file.
    params : dict
        Name -> array (or scalar) mapping, as read by :class:`EmotionModel`.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> d = tempfile.mkdtemp()
    >>> save_params(Path(d) / "w.npz", {"a": np.arange(3)})
    >>> sorted(np.load(Path(d) / "w.npz").files)
    ['a']
    """
    import io
    import zipfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a fixed timestamp and order so that the same parameters give the same bytes
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(params):
            buf = io.BytesIO()
            np.save(buf, np.asarray(params[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())


def load_params(path) -> dict[str, np.ndarray]:
    """Read a weights file written by :func:`save_params`.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict of numpy arrays

    Examples
    --------
    >>> p = load_params(WEIGHTS_PATH)
    >>> int(p["feature_version"]), int(p["cnn_blocks"]), p["labels"].shape
    (4, 4, (7,))
    """
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
