"""``emotion-analytics train``: train or evaluate the embedded emotion model, or your own.

Argument parsing, printing and exit codes only; the work is done by the model package
(:mod:`emotion_analytics.model.corpus`, :mod:`~emotion_analytics.model.augment`,
:mod:`~emotion_analytics.model.fitting`, :mod:`~emotion_analytics.model.evaluation`)::

    emotion-analytics train --data ../shared/data/emodb               # refit the shipped weights
    emotion-analytics train --data ../shared/data/emodb --eval loso   # nested LOSO, JSON lines
    emotion-analytics train --data a.csv --data b.csv --eval loco     # your corpora, held out
    emotion-analytics train --data a.csv --data b.csv --out mine.npz  # your model

``--data`` is the EmoDB folder or a CSV manifest (``file,emotion,speaker[,corpus]``, paths
relative to the CSV); give it several times to train one model on several corpora. Labels are
the data's own; ``--label-map FILE`` maps them onto one vocabulary. ``--out PATH`` writes the
weights (with their labels), used by ``engine="local:PATH"``.

Everything is deterministic for a given ``--seed`` (on one machine and thread count): the
augmentation of each clip draws from its own seeded generator, and every learner is seeded.
In ``--eval`` the held-out speaker or corpus is never seen by features' statistics, fitting or
tuning. Exit codes: 0 done, 2 data or options that cannot work (the message says where).

This module imports only numpy and the standard library at the top, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..errors import EmotionAnalyticsError
from ..model.classifier import WEIGHTS_PATH
from ..model.cnn_train import CnnConfig

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
    >>> a = p.parse_args(["--loso", "--seed", "3", "--data", "a.csv", "--data", "b.csv"])
    >>> a.eval, a.seed, [str(d) for d in a.data]
    ('loso', 3, ['a.csv', 'b.csv'])
    """
    parser.add_argument(
        "--data",
        type=Path,
        action="append",
        default=None,
        metavar="PATH",
        help="the EmoDB folder (metadata.csv + wav/) or a CSV manifest with the columns "
        "file,emotion,speaker[,corpus] (paths relative to the CSV); give it several times to "
        "train on several corpora; default ../shared/data/emodb",
    )
    parser.add_argument(
        "--label-map",
        type=Path,
        default=None,
        metavar="FILE",
        help="CSV (source,target[,corpus]) or JSON ({source: target} or {corpus: {source: "
        "target}}) mapping the data's labels onto one vocabulary; an empty target drops a label",
    )
    parser.add_argument(
        "--eval",
        choices=("loso", "loco"),
        default=None,
        help="instead of training: nested leave-one-speaker-out (loso) or leave-one-corpus-out "
        "(loco) evaluation, one JSON line per setting and per held-out group",
    )
    parser.add_argument(
        "--loso",
        dest="eval",
        action="store_const",
        const="loso",
        help="the same as --eval loso",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"weights file to write (default with EmoDB alone: {WEIGHTS_PATH}; needed with a "
        "manifest); with --eval, the model fitted on all the data is written as well",
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
        choices=("all", "7", "4", "both"),
        default="both",
        help="with --eval: every class of the data ('all'; '7' is the same), the 4-class "
        "subset anger/happiness/neutral/sadness where the data has it, or both (default)",
    )
    parser.add_argument(
        "--dimensions",
        choices=("auto", "derived", "heads"),
        default="auto",
        help="how the weights give arousal and valence: derived from the class probabilities "
        "through the labels' places, or trained heads; auto (default): derived when every "
        "label has a place, else heads",
    )
    parser.add_argument(
        "--features",
        choices=("hand", "encoder"),
        default="hand",
        help="hand: the embedded model (default); encoder: the heads of engine='encoder' on a "
        "Whisper encoder's pooled frames (needs the encoder and train extras)",
    )
    parser.add_argument(
        "--encoder-model",
        default=None,
        help="with --features encoder: a CTranslate2 Whisper model folder or name "
        "(default: the packaged tiny.en)",
    )
    parser.add_argument(
        "--encoder-pass-seconds",
        type=float,
        default=20.0,
        metavar="S",
        help="with --features encoder: seconds of audio per encoder pass, each pass padded to "
        "it (default 20; at most 30, Whisper's own length: 30 describes a window slightly "
        "better at about half the speed); stored with the heads",
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
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="use only N evenly spaced clips of each --data (quick trials)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _fail(msg: str) -> int:
    print(f"emotion-analytics train: error: {msg}", file=sys.stderr)
    return 2


def _use_heads(choice: str, classes) -> bool:
    from ..model.dimensions import label_dimensions

    if choice != "auto":
        return choice == "heads"
    return not all(np.isfinite(v).all() for v in label_dimensions(classes).values())


def run(args: argparse.Namespace) -> int:
    """Execute ``train`` with parsed arguments; returns the exit code.

    Parameters
    ----------
    args : argparse.Namespace
        From a parser set up by :func:`add_arguments`.

    Returns
    -------
    int
        0 on success, 2 when the data or the options cannot work (the message on stderr
        says which file and row, and what to do).

    Examples
    --------
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_arguments(p)
    >>> run(p.parse_args(["--data", "/nonexistent", "--quiet"]))
    2
    """
    try:
        return _run(args)
    except EmotionAnalyticsError as exc:
        return _fail(str(exc))


def _run(args: argparse.Namespace) -> int:
    from ..model.augment import corpus_features
    from ..model.classifier import save_params
    from ..model.corpus import default_data_dir, load_data, read_label_map
    from ..model.evaluation import SUBSET4, evaluate
    from ..model.fitting import Config, fit_all

    sources = [Path(d) for d in args.data] if args.data else [default_data_dir()]
    for src in sources:
        if not src.exists():
            hint = " (give --data DIR)" if not args.data else ""
            return _fail(f"{src}: no such EmoDB folder or CSV manifest{hint}")
    only_emodb = all(src.is_dir() for src in sources) and args.label_map is None
    if args.eval is None and args.out is None and not only_emodb:
        return _fail(
            "give --out PATH for the weights of a model trained on your own data "
            "(without --out only EmoDB alone refits the shipped weights)"
        )

    def log(msg):
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    if args.features == "encoder":
        if not 0 < args.encoder_pass_seconds <= 30:
            return _fail(f"--encoder-pass-seconds must be above 0 and at most 30 (Whisper's "
                         f"own input length), got {args.encoder_pass_seconds:g}")
        return _run_encoder(args, sources, log)
    cnn_cfg = None
    if not args.no_cnn:
        from ..model.cnn_train import require_torch

        try:
            require_torch()
        except ImportError as exc:
            return _fail(f"{exc} (or give --no-cnn)")
        cnn_cfg = CnnConfig(epochs=args.cnn_epochs, bag=args.cnn_bag)
    label_map = read_label_map(args.label_map) if args.label_map is not None else None
    corpus = load_data(sources, label_map=label_map, limit=args.limit)
    cfg = Config(
        use_mlp=not args.no_mlp,
        cnn=cnn_cfg,
        dim_heads=_use_heads(args.dimensions, corpus.classes),
    )
    log(
        f"loaded {len(corpus.audio)} clips, {len(np.unique(corpus.speakers))} speakers, "
        f"{len(np.unique(corpus.corpora))} corpora, classes {', '.join(corpus.classes)} "
        f"from {', '.join(map(str, sources))}"
    )
    X, src, is_aug, mels = corpus_features(corpus, args.n_aug, args.seed, log=log)
    if args.eval:
        sets = []
        if args.classes in ("all", "7", "both"):
            sets.append(corpus.classes)
        if args.classes in ("4", "both"):
            if set(SUBSET4) <= set(corpus.classes) and set(SUBSET4) != set(corpus.classes):
                sets.append(SUBSET4)
            elif args.classes == "4":
                return _fail(
                    f"--classes 4 needs the labels {', '.join(SUBSET4)}; the data has "
                    f"{', '.join(corpus.classes)}"
                )
        by = {"loso": "speaker", "loco": "corpus"}[args.eval]
        for classes in sets:
            log(f"{args.eval.upper()}, {len(classes)} classes")
            for res in evaluate(
                corpus, X, src, is_aug, mels, cfg, args.seed, classes, by=by, log=log
            ):
                print(json.dumps(res), flush=True)
        if args.out is None:
            return 0
        log("fitting the model on all the data for --out")
    y = corpus.labels[src]
    copy = np.arange(len(src)) // len(corpus.audio)
    params = fit_all(
        X,
        mels,
        y,
        corpus.speakers[src],
        copy,
        is_aug,
        len(corpus.classes),
        cfg,
        args.seed,
        corpus.classes,
        log=log,
    )
    out = Path(args.out) if args.out is not None else WEIGHTS_PATH
    save_params(out, params)
    log(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB; labels {', '.join(corpus.classes)})")
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


def _run_encoder(args: argparse.Namespace, sources: list[Path], log) -> int:
    """``train --features encoder``: load the corpus as for the embedded model, then fit or
    evaluate the encoder engine's heads (`emotion_analytics.model.encoder_train`)."""
    from ..model.corpus import load_data, read_label_map
    from ..model.encoder_train import train_encoder
    from ..model.evaluation import SUBSET4

    label_map = read_label_map(args.label_map) if args.label_map is not None else None
    corpus = load_data(sources, label_map=label_map, limit=args.limit)
    classes = tuple(corpus.classes)
    log(f"loaded {len(corpus.audio)} clips, {len(np.unique(corpus.speakers))} speakers, "
        f"classes {', '.join(classes)}")
    sets = []
    if args.classes in ("all", "7", "both"):
        sets.append(classes)
    if args.classes in ("4", "both") and set(SUBSET4) < set(classes):
        sets.append(SUBSET4)
    return train_encoder(
        corpus, labels=classes, evaluation=args.eval, class_sets=sets,
        groups=np.asarray(corpus.corpora), out=args.out, model=args.encoder_model, log=log,
        pass_seconds=args.encoder_pass_seconds,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
