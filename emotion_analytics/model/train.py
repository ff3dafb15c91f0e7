"""Former home of training; kept so that ``python -m emotion_analytics.model.train`` and old
imports keep working.

Training is split by job: :mod:`.corpus` (loading), :mod:`.augment` (augmentation and corpus
features), :mod:`.fitting` (fitting the model), :mod:`.evaluation` (held-out evaluation),
:mod:`.scores`; the command line is :mod:`emotion_analytics.commands.train`.
"""

from __future__ import annotations

import sys

from ..commands.train import add_arguments, main, run
from .augment import augment, corpus_features
from .corpus import Corpus, default_data_dir, load_emodb
from .evaluation import SUBSET4, loso
from .fitting import (
    CLIP_Z,
    Config,
    finish_params,
    fit_all,
    fit_model,
    speaker_normalise,
    speaker_normalize,
)
from .scores import scores, unweighted_accuracy

# the former private names
_fit_all = fit_all
_finish_params = finish_params
_scores = scores

__all__ = [
    "CLIP_Z",
    "SUBSET4",
    "Config",
    "Corpus",
    "add_arguments",
    "augment",
    "corpus_features",
    "default_data_dir",
    "finish_params",
    "fit_all",
    "fit_model",
    "load_emodb",
    "loso",
    "main",
    "run",
    "scores",
    "speaker_normalise",
    "speaker_normalize",
    "unweighted_accuracy",
]

if __name__ == "__main__":
    sys.exit(main())
