"""Any audio-classification checkpoint of the ``transformers`` library as an engine.

Needs the ``transformers`` extra (torch and transformers), imported only when an engine is
built: ``pip install 'emotion_analytics[transformers]'``.

Classification checkpoints give class probabilities (a softmax over the logits). *Dimensional*
checkpoints give arousal, valence and/or dominance instead: a checkpoint is read as one when its
config says ``problem_type == "regression"`` or every one of its labels (``id2label``) is
``arousal``, ``dominance`` or ``valence`` (as in the public dimensional wav2vec2 models). Its
outputs are then used as they are (no softmax), clipped to [0, 1]. Such an engine has no classes
(``labels == ()``): its segments, one per speech window, have ``emotion`` ``None`` and the
dimension keys, and the table has ``emotion`` missing with the ``arousal``/``valence``/
``dominance`` columns (non-speech windows are still left out).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

import numpy as np

from ..errors import EmotionAnalyticsError, require
from .base import WindowEngine

__all__ = ["TransformersEngine"]

LabelMap = Union[Mapping[str, str], Callable[[str], str], str, None]  # noqa: UP007


class TransformersEngine(WindowEngine):
    """Run an audio-classification checkpoint window by window.

    Parameters
    ----------
    model : str
        A model id on the Hugging Face Hub or a local folder written by ``save_pretrained``
        (with its feature extractor). Use ``get_engine("transformers:<model>")`` for the same.
    labels : dict, callable or str, optional
        Map the checkpoint's labels (``config.id2label``) to your vocabulary: a dict (labels
        not in it are kept), a callable, or ``"deepaffects"`` / ``"lower"``. When several
        model labels map to one name their probabilities are added.
    device : str
        torch device, e.g. ``"cpu"`` (default) or ``"cuda"``.
    batch_size : int
        Windows per forward pass.

    Attributes
    ----------
    labels : tuple of str
        The (mapped) class names, in the column order of :meth:`predict_proba`; ``()`` for a
        dimensional checkpoint.
    model_labels : tuple of str
        The checkpoint's own labels, in its output order.
    dimensions : tuple of str
        The dimensions a dimensional checkpoint gives, in its output order (``()`` for a
        classifier).
    sample_rate : int
        The feature extractor's sampling rate.

    Raises
    ------
    MissingDependencyError
        torch or transformers are not installed.
    EmotionAnalyticsError
        The checkpoint cannot be loaded or is not an audio classifier, or is a regression
        checkpoint whose outputs are not named ``arousal``/``valence``/``dominance``.

    Examples
    --------
    >>> TransformersEngine("/no/such/checkpoint")  # doctest: +SKIP
    Traceback (most recent call last):
    ...
    EmotionAnalyticsError: cannot load the audio-classification checkpoint '/no/such/checkpoint' ...
    """

    def __init__(
        self, model: str, *, labels: LabelMap = None, device: str = "cpu", batch_size: int = 8
    ):
        require("torch", "transformers")
        transformers = require("transformers", "transformers")
        self.model_id = str(model)
        self.label_map = labels
        self.device = device
        self.batch_size = int(batch_size)
        self.name = f"transformers:{self.model_id}"
        try:
            self.extractor = transformers.AutoFeatureExtractor.from_pretrained(self.model_id)
            self.model = transformers.AutoModelForAudioClassification.from_pretrained(
                self.model_id
            )
        except (OSError, ValueError, KeyError) as exc:
            raise EmotionAnalyticsError(
                f"cannot load the audio-classification checkpoint {self.model_id!r} ({exc}); "
                "give a model id of the Hugging Face Hub or a folder written by "
                "save_pretrained() with its feature extractor"
            ) from None
        self.model.eval().to(device)
        config = self.model.config
        id2label = config.id2label
        self.model_labels = tuple(str(id2label[i]) for i in range(len(id2label)))
        self.sample_rate = int(getattr(self.extractor, "sampling_rate", 16000))
        self.dimensions = _dimensions(config, self.model_labels, self.model_id)
        if self.dimensions:
            self.labels = ()
            self._collapse = np.zeros((len(self.model_labels), 0))
            return
        mapped = [_mapper(labels)(label) for label in self.model_labels]
        self.labels = tuple(dict.fromkeys(mapped))
        # (model classes) x (engine labels) 0/1 matrix that adds merged classes' probabilities
        self._collapse = np.zeros((len(mapped), len(self.labels)))
        for i, label in enumerate(mapped):
            self._collapse[i, self.labels.index(label)] = 1.0

    def predict_proba(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities ``(len(windows), len(labels))``.

        Windows of equal length are batched together, so no padding changes the answer. A
        dimensional checkpoint has no classes: ``(len(windows), 0)``.
        """
        return self.predict_windows(windows)[0]

    def predict_windows(
        self, windows: Sequence[np.ndarray]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Class probabilities and dimensions: ``(proba, {})`` for a classifier,
        ``((n, 0) array, {"arousal": ..., ...})`` for a dimensional checkpoint (its outputs
        clipped to [0, 1])."""
        out = self._outputs(windows)
        if not self.dimensions:
            return out @ self._collapse, {}
        dims = {d: np.clip(out[:, i], 0.0, 1.0) for i, d in enumerate(self.dimensions)}
        return np.zeros((len(out), 0)), dims

    def _outputs(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """The model's outputs per window: softmax probabilities, or raw regression values."""
        import torch

        windows = [np.asarray(w, dtype=np.float32) for w in windows]
        out = np.zeros((len(windows), len(self.model_labels)))
        by_length: dict[int, list[int]] = {}
        for i, w in enumerate(windows):
            by_length.setdefault(w.shape[0], []).append(i)
        with torch.inference_mode():
            for idx in by_length.values():
                for k in range(0, len(idx), self.batch_size):
                    part = idx[k : k + self.batch_size]
                    inputs = self.extractor(
                        [windows[i] for i in part], sampling_rate=self.sample_rate,
                        return_tensors="pt",
                    )
                    inputs = {key: value.to(self.device) for key, value in inputs.items()}
                    logits = self.model(**inputs).logits.float()
                    if not self.dimensions:
                        logits = torch.softmax(logits, dim=-1)
                    out[part] = logits.cpu().numpy()
        return out

    def __reduce__(self) -> tuple[Any, ...]:
        # worker processes load the checkpoint themselves
        return (_rebuild, (self.model_id, self.label_map, self.device, self.batch_size))


def _rebuild(model: str, labels: LabelMap, device: str, batch_size: int) -> TransformersEngine:
    return TransformersEngine(model, labels=labels, device=device, batch_size=batch_size)


def _dimensions(config: Any, model_labels: tuple[str, ...], model_id: str) -> tuple[str, ...]:
    """The dimensions of a regression checkpoint, in output order; ``()`` for a classifier."""
    from ..schema import DIMENSIONS

    names = tuple(label.strip().lower() for label in model_labels)
    named = bool(names) and all(n in DIMENSIONS for n in names) and len(set(names)) == len(names)
    if getattr(config, "problem_type", None) != "regression" and not named:
        return ()
    if not named:
        raise EmotionAnalyticsError(
            f"the checkpoint {model_id!r} is a regression model whose outputs are named "
            f"{list(model_labels)}, not arousal/valence/dominance, so their meaning is unknown; "
            "name them in the config's id2label (e.g. {0: 'arousal', 1: 'dominance', "
            "2: 'valence'})"
        )
    return names


def _mapper(labels: LabelMap) -> Callable[[str], str]:
    """The checkpoint's labels as strings, mapped by `emotion_analytics.labels.resolve_mapping`."""
    if labels is None:
        return str
    from ..labels import resolve_mapping

    fn = resolve_mapping(labels)
    return lambda v: str(fn(v))
