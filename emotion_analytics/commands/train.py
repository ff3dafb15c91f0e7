"""``emotion-analytics train``: train or evaluate the embedded emotion model.

Argument parsing, printing and exit codes only; the work is done by the model package
(:mod:`emotion_analytics.model.corpus`, :mod:`~emotion_analytics.model.augment`,
:mod:`~emotion_analytics.model.fitting`, :mod:`~emotion_analytics.model.evaluation`)::

    emotion-analytics train --data ../shared/data/emodb            # refit the shipped weights
    emotion-analytics train --data ../shared/data/emodb --loso     # nested LOSO, JSON lines

Everything is deterministic for a given ``--seed`` (on one machine and thread count): the
augmentation of each clip draws from its own seeded generator, and every learner is seeded.
In ``--loso`` the test speaker is never seen by features' statistics, fitting or tuning.

This module imports only numpy and the standard library at the top, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..model.augment import corpus_features
from ..model.classifier import LABELS, WEIGHTS_PATH, save_params
from ..model.cnn_train import CnnConfig
from ..model.corpus import default_data_dir, load_emodb
from ..model.evaluation import SUBSET4, loso
from ..model.fitting import Config, fit_all

__all__ = ["add_arguments", "main", "run"]


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
        from ..model.cnn_train import require_torch

        try:
            require_torch()
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
    params = fit_all(
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
    """Stand-alone entry point (``python -m emotion_analytics.model.train`` calls it).

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code.
    """
    parser = argparse.ArgumentParser(
        prog="emotion-analytics train",
        description=__doc__.splitlines()[0],
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
