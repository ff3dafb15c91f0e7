"""EmoDB LOSO of the encoder heads under feature variants (the figures of the model card's
encoder section that the train command does not print itself).

Usage: python scripts/explore_encoder_loso.py [--data ../shared/data/emodb] [--threads 2]
    [--pooling mean|mean+std] [--only NAME ...]

Prints one JSON line per (variant, task). Features are cached under out/encoder_cache.
Variants: how clips are laid into encoder passes (each clip alone padded to 30 s, each clip at
its own length, clips packed end to end in 30-s passes), the compute type, C, class balancing,
normalisation over the collection, the hand-made features added, and leave-one-corpus-out on
EmoDB cut in two by the speakers' sex (weak evidence: one language, one studio).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from emotion_analytics.model.classifier import LABELS
from emotion_analytics.model.corpus import default_data_dir, load_emodb
from emotion_analytics.model.encoder_features import (
    POOLINGS,
    EncoderSettings,
    WhisperEncoder,
    corpus_features,
)
from emotion_analytics.model.encoder_heads import evaluate

SUBSET4 = ("anger", "happiness", "neutral", "sadness")
#: EmoDB's male speakers; the others are female.
MALE = {"03", "10", "11", "12", "15"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=str(default_data_dir()))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", nargs="*", default=None, help="names of variants to run")
    ap.add_argument("--pooling", choices=POOLINGS, default="mean",
                    help="statistics of a window's encoder frames (default: the engine's)")
    args = ap.parse_args(argv)
    corpus = load_emodb(args.data)
    y, spk = corpus.labels, corpus.speakers
    halves = np.where(np.isin(spk, list(MALE)), "male", "female")
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    cache = {}

    def settings(**kw):
        # the variants are named by their pass: 30 s unless a variant says otherwise
        return EncoderSettings(**{"pass_seconds": 30.0, "pooling": args.pooling, **kw})

    def feats(layout, **kw):
        key = (layout, tuple(sorted(kw.items())))
        if key not in cache:
            enc = WhisperEncoder(settings=settings(**kw),
                                 threads=args.threads)
            cache[key] = corpus_features(corpus.audio, corpus.files, enc, layout=layout, log=log)
        return cache[key]

    def shuffled(layout, within_speaker=False, **kw):
        # clips packed in a seeded random order: neighbours from any speaker and sentence, or
        # (within_speaker) from the same speaker, in random order (a recording of one voice)
        order = np.random.default_rng(0).permutation(len(corpus.audio))
        if within_speaker:
            order = order[np.argsort(spk[order], kind="stable")]
        key = ("shuffled", within_speaker, layout, tuple(sorted(kw.items())))
        if key not in cache:
            enc = WhisperEncoder(settings=settings(**kw),
                                 threads=args.threads)
            X = corpus_features([corpus.audio[i] for i in order],
                                [corpus.files[i] for i in order], enc, layout=layout, log=log)
            cache[key] = X[np.argsort(order)]
        return cache[key]

    def cross(X_train, X_test, classes):
        # heads fitted on one layout's features, tested on another's (the held-out speaker)
        from emotion_analytics.model.encoder_heads import fit_heads
        from emotion_analytics.model.scores import scores

        idx = [LABELS.index(c) for c in classes]
        keep = np.isin(y, idx)
        remap = {c: i for i, c in enumerate(idx)}
        yy = np.array([remap[v] for v in y[keep]])
        trains = X_train if isinstance(X_train, list) else [X_train]
        Xas, Xb, g = [X[keep] for X in trains], X_test[keep], spk[keep]
        proba = np.zeros((len(yy), len(classes)))
        for s in np.unique(g):
            # several training layouts: their rows stacked (each clip once per layout)
            Xtr = np.vstack([Xa[g != s] for Xa in Xas])
            h = fit_heads(Xtr, np.tile(yy[g != s], len(Xas)), classes, dims=False)
            proba[g == s] = h.predict(Xb[g == s])[0]
        return [dict(task="emotion", **scores(yy, proba.argmax(1), proba, len(classes),
                                               classes, "clip", extra={"eval": "loso"}))]

    def hand():
        from emotion_analytics.model.features import extract_batch

        return extract_batch(corpus.audio)

    def show(name, lines):
        for line in lines:
            line.pop("confusion", None)
            print(json.dumps(dict(variant=name, **line)), flush=True)

    variants = {
        "clip-pad30-int8": lambda: (feats("clip"), {}),
        "clip-pad30-float32": lambda: (feats("clip", compute_type="float32"), {}),
        "clip-pad20-int8": lambda: (feats("clip", pass_seconds=20.0), {}),
        "packed30-pad-int8": lambda: (feats("packed"), {}),
        "clip-nopad-int8": lambda: (feats("clip", pad=False), {}),
        "packed10-nopad-int8": lambda: (feats("packed", pad=False, pass_seconds=10.0), {}),
        "clip-pad30-int8-C0.03": lambda: (feats("clip"), {"C": 0.03}),
        "clip-pad30-int8-C0.3": lambda: (feats("clip"), {"C": 0.3}),
        "clip-pad30-int8-C1": lambda: (feats("clip"), {"C": 1.0}),
        "clip-pad30-int8-balanced": lambda: (feats("clip"), {"balanced": True}),
        "clip-pad30-int8-collection": lambda: (feats("clip"), {"normalize": "collection"}),
        "clip-pad30-int8+hand": lambda: (np.hstack([feats("clip"), hand()]), {}),
        "hand-only": lambda: (hand(), {}),
    }
    crosses = {
        "clip-on-packed30": lambda: (feats("clip"), feats("packed")),
        "clip-on-packed30-shuffled": lambda: (feats("clip"), shuffled("packed")),
        "clip-on-packed30-speaker": lambda: (feats("clip"), shuffled("packed", True)),
        "packed30-shuffled": lambda: (shuffled("packed"), shuffled("packed")),
        "packed30-speaker": lambda: (shuffled("packed", True), shuffled("packed", True)),
        "packed30-speaker-on-clip": lambda: (shuffled("packed", True), feats("clip")),
        "mix-on-packed30-speaker": lambda: (
            [feats("clip"), shuffled("packed", True)], shuffled("packed", True)),
        "mix-on-clip": lambda: ([feats("clip"), shuffled("packed", True)], feats("clip")),
        "mix-on-packed30-shuffled": lambda: (
            [feats("clip"), shuffled("packed", True)], shuffled("packed")),
    }
    for name in args.only or list(variants) + list(crosses):
        if name in crosses:
            Xa, Xb = crosses[name]()
            for classes in (LABELS, SUBSET4):
                show(name, cross(Xa, Xb, classes))
            continue
        X, kw = variants[name]()
        for classes in (LABELS, SUBSET4):
            show(name, evaluate(X, y, spk, LABELS, classes=classes, eval_name="loso", **kw))
        if name.startswith("clip-pad30-int8") or name == "hand-only":
            for norm in ("train", "collection"):
                kw2 = dict(kw, normalize=norm)
                show(name, evaluate(X, y, halves, LABELS, classes=SUBSET4, eval_name="loco-sex",
                                    **kw2))


if __name__ == "__main__":
    main()
