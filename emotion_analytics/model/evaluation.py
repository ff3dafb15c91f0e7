"""Nested evaluation of the embedded model on held-out speakers or held-out corpora.

:func:`evaluate` fits the whole model (:func:`.fitting.fit_all`) once per held-out group
(a speaker: :func:`loso`; a corpus: :func:`loco`) on the other groups only and scores the
held-out group's clips in each setting (clip mode, degraded copies, speaker-adaptive mode,
each member alone), for the emotion classes and for the binary arousal and valence tasks
(:func:`.dimensions.binary_targets`). The held-out group is never seen by features'
statistics, fitting or tuning.
"""

from __future__ import annotations

import time

import numpy as np

from ..errors import UsageError
from . import cnn as _cnn
from .classifier import EmotionModel
from .corpus import Corpus
from .dimensions import DIMENSIONS, binary_targets, derived_dimensions
from .fitting import Config, fit_all, fit_dimension_heads
from .scores import scores, unweighted_accuracy

__all__ = ["SUBSET4", "evaluate", "loco", "loso"]

#: The 4-class subset evaluated next to the 7 classes.
SUBSET4 = ("anger", "happiness", "neutral", "sadness")


def _dimension_lines(y, derived, head, classes, first, extra) -> list[dict]:
    """Binary arousal / valence lines from the per-clip dimensions of the clip mode.

    ``first`` ("derived" or "head") is the way the model answers: its UA is the line's ``ua``;
    both ways' UAs are given as ``ua_derived`` / ``ua_head``.
    """
    out = []
    for d in DIMENSIONS:
        target = binary_targets(classes, d)[y]
        keep = target >= 0
        if len(np.unique(target[keep])) < 2:
            continue
        lines = {}
        for how, source in (("derived", derived[d]), ("head", head[d])):
            if np.isnan(source).any():
                continue
            a = np.clip(source[keep], 0.0, 1.0)
            pp = np.stack([1.0 - a, a], axis=1)
            lines[how] = scores(target[keep], (a > 0.5).astype(int), pp, 2, ("low", "high"), "clip")
        if not lines:
            continue
        line = lines.get(first) or next(iter(lines.values()))
        uas = {f"ua_{how}": r["ua"] for how, r in lines.items()}
        out.append({"task": d, **line, **uas, **extra})
    return out


def evaluate(
    corpus: Corpus,
    X,
    src,
    is_aug,
    mels,
    cfg: Config,
    seed: int,
    classes,
    by: str = "speaker",
    log=None,
) -> list[dict]:
    """Nested evaluation on held-out groups; returns one result dict per setting.

    For every held-out group (a speaker with ``by="speaker"``, a corpus with ``by="corpus"``),
    the clip-mode ensemble, the speaker-adaptive model and the CNN member are fitted (and
    tuned, with inner speaker-grouped folds) on the other groups only. Settings:

    * ``mode="clip"``: each test clip classified alone. Extra keys ``ua_degraded`` /
      ``wa_degraded``: the same models on augmented copies of the test clips
      (noise, reverberation, telephone band, colouring, speed; other random draws).
    * ``mode="speaker"``: each test speaker's features are z-normalised over all of that
      speaker's clips (transductive: needs a recording with many windows of one voice).

    Extra keys ``ua_features`` / ``ua_cnn``: the feature member and the CNN member alone.

    Every line has ``task``: ``"emotion"`` for the classes; ``"arousal"`` and ``"valence"``
    for the binary dimension tasks (clip mode, labels ``low, high``; clips of labels in the
    middle left out), scored from the dimension the model gives (derived from the class
    probabilities, or its trained head), with the other way's UA as ``ua_derived`` /
    ``ua_head`` (the heads are fitted in every fold to measure them). The pooled lines come
    first; then the lines of each held-out group, with ``held_out``.

    Parameters
    ----------
    corpus : Corpus
    X, src, is_aug, mels : from :func:`.augment.corpus_features`
    cfg : Config
    seed : int
    classes : tuple of str
        Labels to train and test on (a subset of ``corpus.classes``).
    by : {"speaker", "corpus"}
        The held-out group.
    log : callable, optional

    Returns
    -------
    list of dict
        Keys ``task, classes, mode, ua, wa, confusion, labels, n, nll, ece`` (+ extras).

    Raises
    ------
    UsageError
        Fewer than two groups, or a group whose held-out training set has fewer than two
        speakers or two classes.
    """
    n_clips = len(corpus.audio)
    copy = np.arange(len(src)) // n_clips
    y_all = corpus.labels[src]
    keep_lab = np.isin(y_all, [corpus.classes.index(c) for c in classes])
    remap = np.full(len(corpus.classes), -1)
    for i, c in enumerate(classes):
        remap[corpus.classes.index(c)] = i
    spk_all = corpus.speakers[src]
    group_of = {"speaker": corpus.speakers, "corpus": corpus.corpora}[by]
    grp_all = np.asarray(group_of)[src]
    groups = np.unique(group_of[np.isin(corpus.labels, np.flatnonzero(remap >= 0))])
    if len(groups) < 2:
        raise UsageError(
            f"leave-one-{by}-out needs clips of at least two {by}s; the data has "
            f"{len(groups)} ({', '.join(map(str, groups))})"
        )
    k = len(classes)
    modes = ("clip", "degraded", "speaker", "features", "cnn")
    res = {m: ([], [], [], []) for m in modes}
    dim_res = ([], {d: [] for d in DIMENSIONS}, {d: [] for d in DIMENSIONS}, [])

    def add(mode, rows, p):
        res[mode][0].append(remap[y_all[rows]])
        res[mode][1].append(p.argmax(axis=1))
        res[mode][2].append(p)
        res[mode][3].append(grp_all[rows])

    for g in groups:
        t0 = time.perf_counter()
        tr = np.flatnonzero(keep_lab & (grp_all != g))
        if len(np.unique(spk_all[tr])) < 2 or len(np.unique(y_all[tr])) < 2:
            raise UsageError(
                f"leave-one-{by}-out: without {by} {g!r} the training data has fewer than "
                "two speakers or two classes; give more data, or --eval loso/loco the other"
            )
        model = EmotionModel(
            fit_all(
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
        te = np.flatnonzero(keep_lab & (grp_all == g) & ~is_aug)
        ted = np.flatnonzero(keep_lab & (grp_all == g) & is_aug)
        for mode, rows in (("clip", te), ("degraded", ted)):
            add(mode, rows, model.proba_from_features(X[rows], mels=[mels[i] for i in rows]))
        p_clip = res["clip"][2][-1]
        spk_p = np.zeros_like(p_clip)
        for s in np.unique(spk_all[te]):  # speaker mode: one speaker's clips together
            m = spk_all[te] == s
            rows = te[m]
            spk_p[m] = model.proba_from_features(X[rows], adapt=True, mels=[mels[i] for i in rows])
        add("speaker", te, spk_p)
        add("features", te, model.proba_from_features(X[te]))
        if model.has_cnn:
            add("cnn", te, np.exp(_cnn.log_proba(model.params, [mels[i] for i in te])))
        # dimensions both ways: derived from the probabilities, and from trained heads
        heads = fit_dimension_heads(
            X[tr], remap[y_all[tr]], classes, model.mean, model.scale, cfg.dim_c
        )
        probe = EmotionModel({**model.params, **heads})
        head_dims = probe.dimensions(p_clip, X[te])
        derived_dims = derived_dimensions(p_clip, classes)
        nan = np.full(len(te), np.nan)
        dim_res[0].append(remap[y_all[te]])
        for d in DIMENSIONS:
            dim_res[1][d].append(derived_dims.get(d, nan))
            dim_res[2][d].append(head_dims[d] if d in probe.dim_heads else nan)
        dim_res[3].append(grp_all[te])
        if log:
            ua = unweighted_accuracy(res["clip"][0][-1], res["clip"][1][-1], k)
            uas = unweighted_accuracy(res["speaker"][0][-1], res["speaker"][1][-1], k)
            log(
                f"  {by} {g}: n={len(te)} clip ua={ua:.3f} speaker-mode ua={uas:.3f}"
                f" ({time.perf_counter() - t0:.0f} s)"
            )
    cat = {
        m: tuple(np.concatenate(v) if i != 2 else np.vstack(v) for i, v in enumerate(r))
        for m, r in res.items()
        if r[0]
    }
    dcat_y = np.concatenate(dim_res[0])
    dcat = {d: np.concatenate(v) for d, v in dim_res[1].items()}
    hcat = {d: np.concatenate(v) for d, v in dim_res[2].items()}
    dgrp = np.concatenate(dim_res[3])

    def lines(sel_of, extra) -> list[dict]:
        """The setting lines over the rows that ``sel_of(mode)`` selects."""
        out = []
        emo = {"task": "emotion"}
        sel = sel_of("degraded")
        deg_rows = [v[sel] for v in cat["degraded"][:3]] if "degraded" in cat else []
        deg = {}
        if deg_rows and len(deg_rows[0]):  # none with --n-aug 0
            d = scores(*deg_rows, k, classes, "clip")
            deg = dict(ua_degraded=d["ua"], wa_degraded=d["wa"], n_degraded=d["n"])
        members = {
            f"ua_{m}": scores(*(v[sel_of(m)] for v in cat[m][:3]), k, classes, m)["ua"]
            for m in ("features", "cnn")
            if m in cat
        }
        sel = sel_of("clip")
        clip = scores(
            *(v[sel] for v in cat["clip"][:3]),
            k,
            classes,
            "clip",
            dict(**deg, **members),
        )
        sel = sel_of("speaker")
        spk = scores(
            *(v[sel] for v in cat["speaker"][:3]),
            k,
            classes,
            "speaker",
            dict(applies="all clips of each test speaker normalised together"),
        )
        out += [{**emo, **clip, **extra}, {**emo, **spk, **extra}]
        sel = sel_of("dims")
        out += _dimension_lines(
            dcat_y[sel],
            {d: v[sel] for d, v in dcat.items()},
            {d: v[sel] for d, v in hcat.items()},
            classes,
            "head" if cfg.dim_heads else "derived",
            extra,
        )
        return out

    everything = lines(lambda m: slice(None), {})
    for g in groups:
        everything += lines(
            lambda m, g=g: (dgrp if m == "dims" else cat[m][3]) == g, {"held_out": str(g)}
        )
    return everything


def loso(corpus: Corpus, X, src, is_aug, mels, cfg: Config, seed: int, classes, log=None):
    """Nested leave-one-speaker-out evaluation: :func:`evaluate` with ``by="speaker"``.

    Parameters
    ----------
    corpus : Corpus
    X, src, is_aug, mels : from :func:`.augment.corpus_features`
    cfg : Config
    seed : int
    classes : tuple of str
        Labels to train and test on (all, or :data:`SUBSET4`).
    log : callable, optional

    Returns
    -------
    list of dict
        See :func:`evaluate`.
    """
    return evaluate(corpus, X, src, is_aug, mels, cfg, seed, classes, by="speaker", log=log)


def loco(corpus: Corpus, X, src, is_aug, mels, cfg: Config, seed: int, classes, log=None):
    """Nested leave-one-corpus-out evaluation: :func:`evaluate` with ``by="corpus"``.

    Parameters
    ----------
    corpus : Corpus
    X, src, is_aug, mels : from :func:`.augment.corpus_features`
    cfg : Config
    seed : int
    classes : tuple of str
    log : callable, optional

    Returns
    -------
    list of dict
        See :func:`evaluate`.
    """
    return evaluate(corpus, X, src, is_aug, mels, cfg, seed, classes, by="corpus", log=log)
