"""Speaker adaptation on EmoDB conversations: clip mode, plain speaker mode and ``adapt="auto"``.

For every EmoDB speaker, the feature member of the embedded model (clip-mode and
speaker-mode linear models; no CNN and, unless ``--full``, shrinkage LDA alone, to keep it
fast) is fitted on the other nine speakers with the project's own training code
(``model.fitting.fit_all``), then the held-out speaker's clips are put together into
*conversations*, each read as one speaker's windows:

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
    python scripts/eval_adaptation.py --grid                # auto's constants around the defaults

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
    >>> p = np.eye(7)[[0, 1]]          # anger right, sadness read as boredom (low arousal)
    >>> task_scores(y, p)
    {'ua7': 0.5, 'ua4': 0.5, 'arousal': 1.0}
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


def fit_folds(data, *, limit=None, n_aug=1, seed=0, full=False, log=None) -> list[dict]:
    """Fit one model per held-out EmoDB speaker; keep that speaker's clip features.

    Parameters
    ----------
    data : str or Path
        The EmoDB folder.
    limit : int, optional
        Keep only this many clips (spread over the corpus; quick runs and tests).
    n_aug : int
        Augmented copies per training clip.
    seed : int
    full : bool
        The shipped feature recipe (linear models LDA / logistic regression chosen by inner
        folds, plus the bagged MLP) instead of the fast one (shrinkage LDA alone for both the
        clip mode and the speaker mode).
    log : callable, optional

    Returns
    -------
    list of dict
        Per speaker: ``speaker``, ``model`` (an `EmotionModel` without CNN), ``X`` and ``y``
        (the held-out clips' features and class indices).
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
    cfg = replace(Config(), cnn=None)
    if not full:
        cfg = replace(cfg, linear=(("lda", 0.0),), use_mlp=False)
    folds = []
    for s in np.unique(corpus.speakers):
        t0 = time.perf_counter()
        tr = np.flatnonzero(spk_all != s)
        model = EmotionModel(fit_all(X[tr], None, y_all[tr], spk_all[tr], copy[tr], is_aug[tr],
                                     len(LABELS), cfg, seed, LABELS))
        te = np.flatnonzero((spk_all == s) & ~is_aug)
        folds.append(dict(speaker=str(s), model=model, X=X[te], y=y_all[te]))
        if log:
            log(f"speaker {s}: {len(te)} clips ({time.perf_counter() - t0:.0f} s)")
    return folds


def score_folds(folds: list[dict], *, min_clips: int = 2) -> list[dict]:
    """Answer each held-out speaker's conversations in every mode; pool the scores.

    Parameters
    ----------
    folds : list of dict
        From :func:`fit_folds`.
    min_clips : int
        See :func:`conversations`.

    Returns
    -------
    list of dict
        Keys ``kind, mode, conversations, n, ua7, ua4, arousal, weight`` (mean speaker-mode
        weight) and ``variety`` (10th, 50th and 90th percentile of
        :func:`adaptation.variety` over the conversations).
    """
    got = {(k, m): ([], [], [], []) for k in KINDS for m in MODES}  # y, p, weight, variety
    counts = dict.fromkeys(KINDS, 0)
    for fold in folds:
        model, X, y = fold["model"], fold["X"], fold["y"]
        for kind, convs in conversations(y, min_clips).items():
            counts[kind] += len(convs)
            for rows in convs:
                variety = adaptation.variety(model.predict_speaker(X[rows], adapt=False)[0])
                for mode, adapt in MODES.items():
                    p, w = model.predict_speaker(X[rows], adapt=adapt)
                    g = got[(kind, mode)]
                    g[0].append(y[rows])
                    g[1].append(p)
                    g[2].append(w)
                    g[3].append(variety)
    out = []
    for (kind, mode), (ys, ps, ws, sp) in got.items():
        if not ys:
            continue
        yy, pp = np.concatenate(ys), np.vstack(ps)
        out.append(dict(kind=kind, mode=mode, conversations=counts[kind], n=int(len(yy)),
                        **task_scores(yy, pp), weight=round(float(np.mean(ws)), 3),
                        variety=np.percentile(sp, [10, 50, 90]).round(2).tolist()))
    return out


def evaluate(data, *, limit=None, n_aug=1, seed=0, full=False, min_clips=2, log=None):
    """Leave-one-speaker-out conversations: :func:`fit_folds` then :func:`score_folds`."""
    folds = fit_folds(data, limit=limit, n_aug=n_aug, seed=seed, full=full, log=log)
    return score_folds(folds, min_clips=min_clips)


def grid(folds: list[dict], *, lows=(0.75, 0.8, 0.85), highs=(0.85, 0.9, 0.95),
         priors=(10, 20)) -> list[dict]:
    """``auto`` with other constants (``VARIETY_LOW``, ``VARIETY_HIGH``, ``PRIOR_WINDOWS``).

    Parameters
    ----------
    folds : list of dict
        From :func:`fit_folds`.
    lows, highs, priors : sequences of float
        The values tried.

    Returns
    -------
    list of dict
        One per setting: ``low, high, prior`` and ``<kind>_<task>`` scores of ``auto``.
    """
    saved = (adaptation.VARIETY_LOW, adaptation.VARIETY_HIGH, adaptation.PRIOR_WINDOWS)
    out = []
    try:
        for low, high, prior in itertools.product(lows, highs, priors):
            if high <= low:
                continue
            adaptation.VARIETY_LOW, adaptation.VARIETY_HIGH = low, high
            adaptation.PRIOR_WINDOWS = prior
            row = dict(low=low, high=high, prior=prior)
            for r in score_folds(folds):
                if r["mode"] == "auto":
                    row.update({f"{r['kind']}_{t}": r[t] for t in ("ua7", "ua4", "arousal")})
            out.append(row)
    finally:
        adaptation.VARIETY_LOW, adaptation.VARIETY_HIGH, adaptation.PRIOR_WINDOWS = saved
    return out


def markdown(results: list[dict]) -> str:
    """The results as the model card's table.

    Examples
    --------
    >>> r = [dict(kind="all", mode="clip", conversations=1, n=5, ua7=0.5, ua4=0.6,
    ...           arousal=0.9, weight=0.0, variety=[0.5, 0.6, 0.7])]
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
    ap.add_argument("--n-aug", type=int, default=1,
                    help="augmented copies per training clip (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--full", action="store_true",
                    help="the shipped feature recipe (LDA/LR grid and bagged MLP; slower) "
                         "instead of shrinkage LDA alone")
    ap.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    ap.add_argument("--grid", action="store_true",
                    help="also print auto's scores for other constants (JSON lines)")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)
    data = args.data if args.data is not None else default_data_dir()
    if not (Path(data) / "metadata.csv").is_file():
        print(f"error: no EmoDB metadata.csv under {data} (give --data DIR)", file=sys.stderr)
        return 2
    log = None if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    folds = fit_folds(data, limit=args.limit, n_aug=args.n_aug, seed=args.seed,
                      full=args.full, log=log)
    results = score_folds(folds)
    if args.json:
        for r in results:
            print(json.dumps(r))
    else:
        print(markdown(results))
    if args.grid:
        for row in grid(folds):
            print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
