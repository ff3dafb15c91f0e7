"""Nested evaluation of the embedded model on held-out speakers.

:func:`loso` fits the whole model (:func:`.fitting.fit_all`) once per held-out speaker on the
other speakers only and scores the held-out speaker's clips in each setting (clip mode,
degraded copies, speaker-adaptive mode, each member alone). The test speaker is never seen by
features' statistics, fitting or tuning.
"""

from __future__ import annotations

import time

import numpy as np

from . import cnn as _cnn
from .classifier import LABELS, EmotionModel
from .corpus import Corpus
from .fitting import Config, fit_all
from .scores import scores, unweighted_accuracy

__all__ = ["SUBSET4", "loso"]

#: The 4-class subset evaluated next to the 7 classes.
SUBSET4 = ("anger", "happiness", "neutral", "sadness")


def loso(corpus: Corpus, X, src, is_aug, mels, cfg: Config, seed: int, classes, log=None):
    """Nested leave-one-speaker-out evaluation; returns one result dict per setting.

    For every test speaker, the clip-mode ensemble and the speaker-adaptive model are fitted
    (and tuned, with inner speaker-grouped folds) on the other speakers only. Settings:

    * ``mode="clip"``: each test clip classified alone. Extra keys ``ua_degraded`` /
      ``wa_degraded``: the same models on augmented copies of the test speaker's clips
      (noise, reverberation, telephone band, colouring, speed; other random draws).
    * ``mode="speaker"``: the test speaker's features are z-normalised over all of that
      speaker's clips (transductive: needs a recording with many windows of one voice).

    Extra keys ``ua_features`` / ``ua_cnn``: the feature member and the CNN member alone.

    Parameters
    ----------
    corpus : Corpus
    X, src, is_aug, mels : from :func:`corpus_features`
    cfg : Config
    seed : int
    classes : tuple of str
        Labels to train and test on (all 7, or :data:`SUBSET4`).
    log : callable, optional

    Returns
    -------
    list of dict
        Keys ``classes, mode, ua, wa, confusion, labels, n, nll, ece`` (+ extras).
    """
    n_clips = len(corpus.audio)
    copy = np.arange(len(src)) // n_clips
    y_all = corpus.labels[src]
    keep_lab = np.isin(y_all, [LABELS.index(c) for c in classes])
    remap = np.full(len(LABELS), -1)
    for i, c in enumerate(classes):
        remap[LABELS.index(c)] = i
    spk_all = corpus.speakers[src]
    k = len(classes)
    modes = ("clip", "degraded", "speaker", "features", "cnn")
    res = {m: ([], [], []) for m in modes}

    def add(mode, rows, p):
        res[mode][0].append(remap[y_all[rows]])
        res[mode][1].append(p.argmax(axis=1))
        res[mode][2].append(p)

    for s in np.unique(corpus.speakers):
        t0 = time.perf_counter()
        tr = np.flatnonzero(keep_lab & (spk_all != s))
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
        te = np.flatnonzero(keep_lab & (spk_all == s) & ~is_aug)
        ted = np.flatnonzero(keep_lab & (spk_all == s) & is_aug)
        for mode, rows in (("clip", te), ("degraded", ted)):
            add(mode, rows, model.proba_from_features(X[rows], mels=[mels[i] for i in rows]))
        add("speaker", te, model.proba_from_features(X[te], adapt=True, mels=[mels[i] for i in te]))
        add("features", te, model.proba_from_features(X[te]))
        if model.has_cnn:
            add("cnn", te, np.exp(_cnn.log_proba(model.params, [mels[i] for i in te])))
        if log:
            ua = unweighted_accuracy(res["clip"][0][-1], res["clip"][1][-1], k)
            uas = unweighted_accuracy(res["speaker"][0][-1], res["speaker"][1][-1], k)
            log(
                f"  speaker {s}: n={len(te)} clip ua={ua:.3f} speaker-mode ua={uas:.3f}"
                f" ({time.perf_counter() - t0:.0f} s)"
            )
    cat = {
        m: tuple(np.concatenate(v) if i < 2 else np.vstack(v) for i, v in enumerate(r))
        for m, r in res.items()
        if r[0]
    }
    deg = scores(*cat["degraded"], k, classes, "clip")
    members = {
        f"ua_{m}": scores(*cat[m], k, classes, m)["ua"] for m in ("features", "cnn") if res[m][0]
    }
    clip = scores(
        *cat["clip"],
        k,
        classes,
        "clip",
        dict(ua_degraded=deg["ua"], wa_degraded=deg["wa"], n_degraded=deg["n"], **members),
    )
    spk = scores(
        *cat["speaker"],
        k,
        classes,
        "speaker",
        dict(applies="all clips of the test speaker normalised together"),
    )
    return [clip, spk]
