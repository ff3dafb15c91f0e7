"""Speaker adaptation on EmoDB conversations: clip mode, plain speaker mode and ``adapt="auto"``.

For every EmoDB speaker, the feature member of the embedded model (clip-mode ensemble and
speaker-mode linear model; no CNN, to keep it fast) is fitted on the other nine speakers with
the project's own training code (``model.fitting.fit_all``), then the held-out speaker's clips
are put together into *conversations*, each read as one speaker's windows:

* ``all``: all of the speaker's clips (every emotion, as EmoDB actors act them all);
* ``one``: the clips of one emotion only (a speaker who holds one emotion throughout);
* ``two``: the clips of two emotions (every pair the speaker has).

Each conversation is answered in three modes through ``EmotionModel.predict_speaker``:
``clip`` (``adapt=False``), ``speaker`` (``adapt=True``, plain per-speaker z-normalisation)
and ``auto``. Printed: 7-class UA, 4-class UA (anger, happiness, neutral, sadness; the argmax
over those four probabilities, on their clips) and arousal UA (high: anger, fear, happiness;
low: boredom, neutral, sadness; disgust left out), pooled over the conversations of a kind,
plus the mean speaker-mode weight ``auto`` gave. Run::

    python scripts/eval_adaptation.py                       # the model card's table
    python scripts/eval_adaptation.py --json                # JSON lines instead

It needs EmoDB (``--data``, default ``../shared/data/emodb``) and scikit-learn.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

from emotion_analytics.model import adaptation
from emotion_analytics.model.classifier import LABELS, EmotionModel

KINDS = ("all", "one", "two")
MODES = {"clip": False, "speaker": True, "auto": "auto"}
SUBSET4 = ("anger", "happiness", "neutral", "sadness")
HIGH = ("anger", "fear", "happiness")
LOW = ("boredom", "neutral", "sadness")


def conversations(labels: np.ndarray, min_clips: int = 2) -> dict[str, list[np.ndarray]]:
    """Index sets of one held-out speaker's conversations of each kind.

    Parameters
    ----------
    labels : numpy.ndarray
        Class index of each of the speaker's clips.
    min_clips : int
        An emotion with fewer clips than this gives no ``one`` or ``two`` conversation.

    Returns
    -------
    dict
        ``{"all": [...], "one": [...], "two": [...]}``, lists of index arrays.

    Examples
    --------
    >>> c = conversations(np.array([0, 0, 1, 1, 2]))
    >>> [len(c[k]) for k in KINDS], c["two"][0].tolist()
    ([1, 2, 1], [0, 1, 2, 3])
    """
    labels = np.asarray(labels)
    present = [k for k in np.unique(labels) if np.sum(labels == k) >= min_clips]
    one = [np.flatnonzero(labels == k) for k in present]
    two = [np.flatnonzero(np.isin(labels, pair)) for pair in itertools.combinations(present, 2)]
    return {"all": [np.arange(len(labels))], "one": one, "two": two}


def task_scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """7-class, 4-class and arousal unweighted accuracy of pooled predictions.

    Parameters
    ----------
    y : numpy.ndarray
        True class indices into ``LABELS``.
    p : numpy.ndarray
        (n, 7) probabilities.

    Returns
    -------
    dict
        ``ua7``, ``ua4``, ``arousal`` (NaN where the rows hold none of a task's classes).

    Examples
    --------
    >>> y = np.array([0, 6])
    >>> p = np.eye(7)[[0, 1]]          # anger right, sadness read as boredom
    >>> task_scores(y, p)
    {'ua7': 0.5, 'ua4': 0.75, 'arousal': 1.0}
    """
    def ua(t, q):
        rec = [np.mean(q[t == k] == k) for k in np.unique(t)]
        return round(float(np.mean(rec)), 4) if rec else float("nan")

    idx4 = [LABELS.index(c) for c in SUBSET4]
    m4 = np.isin(y, idx4)
    pred4 = np.asarray(idx4)[p[m4][:, idx4].argmax(axis=1)]
    hi = [LABELS.index(c) for c in HIGH]
    lo = [LABELS.index(c) for c in LOW]
    ma = np.isin(y, hi + lo)
    true_a = np.isin(y[ma], hi).astype(int)
    pred_a = (p[ma][:, hi].sum(axis=1) > p[ma][:, lo].sum(axis=1)).astype(int)
    return {"ua7": ua(y, p.argmax(axis=1)), "ua4": ua(y[m4], pred4), "arousal": ua(true_a, pred_a)}


def evaluate(data, *, limit=None, n_aug=2, seed=0, use_mlp=True, min_clips=2, log=None):
    """Leave-one-speaker-out conversations; one result dict per (kind, mode).

    Parameters
    ----------
    data : str or Path
        The EmoDB folder.
    limit : int, optional
        Keep only this many clips (spread over the corpus; quick runs and tests).
    n_aug : int
        Augmented copies per training clip (as in ``train``).
    seed : int
    use_mlp : bool
        Include the MLP in the clip-mode ensemble (as the shipped model does).
    min_clips : int
        See :func:`conversations`.
    log : callable, optional

    Returns
    -------
    list of dict
        Keys ``kind, mode, conversations, n, ua7, ua4, arousal, weight`` (mean speaker-mode
        weight) and ``spread`` (mean :func:`adaptation.spread` of the conversations).
    """
    from dataclasses import replace

    from emotion_analytics.model.augment import corpus_features
    from emotion_analytics.model.corpus import load_emodb
    from emotion_analytics.model.fitting import Config, fit_all

    corpus = load_emodb(data, limit=limit)
    X, src, is_aug, _ = corpus_features(corpus, n_aug, seed, log=log)
    copy = np.arange(len(src)) // len(corpus.audio)
    y_all = corpus.labels[src]
    spk_all = corpus.speakers[src]
    cfg = replace(Config(), cnn=None, use_mlp=use_mlp)
    got = {(k, m): ([], [], [], []) for k in KINDS for m in MODES}  # y, p, weight, spread
    counts = dict.fromkeys(KINDS, 0)
    for s in np.unique(corpus.speakers):
        t0 = time.perf_counter()
        tr = np.flatnonzero(spk_all != s)
        model = EmotionModel(fit_all(X[tr], None, y_all[tr], spk_all[tr], copy[tr], is_aug[tr],
                                     len(LABELS), cfg, seed, LABELS))
        te = np.flatnonzero((spk_all == s) & ~is_aug)
        sd = adaptation.logit_sd(model.lr_w)
        for kind, convs in conversations(y_all[te], min_clips).items():
            counts[kind] += len(convs)
            for rows in convs:
                feats = X[te[rows]]
                spread = adaptation.spread(model._standardise(feats) @ model.lr_w, sd)
                for mode, adapt in MODES.items():
                    p, w = model.predict_speaker(feats, adapt=adapt)
                    g = got[(kind, mode)]
                    g[0].append(y_all[te[rows]])
                    g[1].append(p)
                    g[2].append(w)
                    g[3].append(spread)
        if log:
            log(f"speaker {s}: {len(te)} clips ({time.perf_counter() - t0:.0f} s)")
    out = []
    for (kind, mode), (ys, ps, ws, sp) in got.items():
        if not ys:
            continue
        y, p = np.concatenate(ys), np.vstack(ps)
        out.append(dict(kind=kind, mode=mode, conversations=counts[kind], n=int(len(y)),
                        **task_scores(y, p), weight=round(float(np.mean(ws)), 3),
                        spread=round(float(np.mean(sp)), 3)))
    return out


def markdown(results: list[dict]) -> str:
    """The results as the model card's table.

    Examples
    --------
    >>> r = [dict(kind="all", mode="clip", conversations=1, n=5, ua7=0.5, ua4=0.6,
    ...           arousal=0.9, weight=0.0, spread=0.8)]
    >>> print(markdown(r).splitlines()[2])
    | all emotions | clip | 1 | 5 | 0.500 | 0.600 | 0.900 | 0.00 |
    """
    names = {"all": "all emotions", "one": "one emotion", "two": "two emotions"}
    lines = ["| conversation | mode | conversations | clips | 7-class UA | 4-class UA | "
             "arousal UA | speaker-mode weight |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {names[r['kind']]} | {r['mode']} | {r['conversations']} | {r['n']} | "
                     f"{r['ua7']:.3f} | {r['ua4']:.3f} | {r['arousal']:.3f} | "
                     f"{r['weight']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    """Command line; see the module docstring."""
    from emotion_analytics.model.corpus import default_data_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="EmoDB folder")
    ap.add_argument("--limit", type=int, default=None, help="use only this many clips")
    ap.add_argument("--n-aug", type=int, default=2, help="augmented copies per training clip")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-mlp", action="store_true", help="linear member only (faster)")
    ap.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)
    data = args.data if args.data is not None else default_data_dir()
    if not (Path(data) / "metadata.csv").is_file():
        print(f"error: no EmoDB metadata.csv under {data} (give --data DIR)", file=sys.stderr)
        return 2
    log = None if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    results = evaluate(data, limit=args.limit, n_aug=args.n_aug, seed=args.seed,
                       use_mlp=not args.no_mlp, log=log)
    if args.json:
        for r in results:
            print(json.dumps(r))
    else:
        print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
