"""Exploratory LOSO of CNN-member training variants (development tool, not the shipped recipe).

The shipped recipe lives in ``emotion_analytics/model/cnn_train.py`` and is evaluated by
``emotion-analytics train --loso``. This script answers "would a different CNN recipe, or an
ensemble of several, lift the 7-class clip-mode UA?" on EmoDB, fold by fold: for every test
speaker it trains one variant on the other nine speakers' clips (originals plus the same two
augmented copies the CLI uses) and stores the out-of-fold log-probabilities of the held-out
speaker's original clips. ``combine`` then scores single variants and weighted geometric means
of them. Nothing is tuned on the held-out speaker inside a run, but *choosing* among the
variants by these numbers would be a choice made on the test speakers: read them as
exploration, not as a nested estimate.

Variants (all on top of the shipped recipe): ``--mixup A`` (mixup of spectrograms and labels,
Beta(A, A)), ``--adv L`` (speaker-adversarial head behind a gradient-reversal layer, weight L
ramped up over the first half of training), ``--warp W`` (random mel-axis stretch by 1 +- W,
vocal-tract-length-like), ``--seed S``. ``features`` stores the feature member's out-of-fold
log-probabilities (nested tuning as in the CLI, no CNN).

Usage (about 13 minutes per CNN variant on 2 cores, 7 minutes for ``features``)::

    python scripts/explore_cnn_loso.py features --name feat
    python scripts/explore_cnn_loso.py cnn --name base0
    python scripts/explore_cnn_loso.py cnn --name adv03 --adv 0.3
    python scripts/explore_cnn_loso.py combine feat,base0,adv03 feat:0.5+base0:0.5

Needs the ``train`` extra (PyTorch, scikit-learn) and the EmoDB folder.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from emotion_analytics.model import cnn as C
from emotion_analytics.model import cnn_train as CT
from emotion_analytics.model.augment import corpus_features
from emotion_analytics.model.classifier import LABELS, EmotionModel
from emotion_analytics.model.corpus import default_data_dir, load_emodb
from emotion_analytics.model.fitting import Config, finish_params, fit_model
from emotion_analytics.model.scores import unweighted_accuracy

N_AUG = 2  # as the CLI's default
SEED = 0


def corpus_data(data_dir: Path, cache: Path) -> dict:
    """Labels, speakers, features and spectrograms of EmoDB (+ augmented copies), cached."""
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    corpus = load_emodb(data_dir)
    X, src, is_aug, mels = corpus_features(corpus, N_AUG, SEED, log=print)
    d = dict(labels=corpus.labels, speakers=corpus.speakers, X=X, src=src, is_aug=is_aug, mels=mels)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(d))
    return d


def mel_warp(xb: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Stretch each spectrogram's mel axis by a random factor in [1 - amount, 1 + amount]."""
    bands = xb.shape[2]
    k = np.arange(bands, dtype=np.float64)
    for b in range(len(xb)):
        src = np.clip(k * rng.uniform(1 - amount, 1 + amount), 0, bands - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, bands - 1)
        f = (src - lo).astype(np.float32)
        xb[b] = xb[b][:, lo] * (1 - f) + xb[b][:, hi] * f
    return xb


def fit_variant(mels, y, spk, n_classes, seed, cfg, mixup=0.0, adv=0.0, warp=0.0):
    """The shipped training loop (cnn_train.fit_one) with the optional variants."""
    torch = CT.require_torch()
    F_ = torch.nn.functional
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = CT.build_network(n_classes, cfg)
    spk_ids, spk_y = np.unique(spk, return_inverse=True)
    params = list(net.parameters())
    if adv:
        adv_head = torch.nn.Sequential(
            torch.nn.Linear(2 * cfg.channels[-1], 64),
            torch.nn.ReLU(),
            torch.nn.Linear(64, len(spk_ids)),
        )
        params += list(adv_head.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    n_batches = int(np.ceil(len(mels) / cfg.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, cfg.lr, total_steps=max(cfg.epochs * n_batches, 1)
    )
    yt = torch.as_tensor(np.asarray(y), dtype=torch.long)
    st = torch.as_tensor(spk_y, dtype=torch.long)

    class Reverse(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, weight):
            ctx.weight = weight
            return x.view_as(x)

        @staticmethod
        def backward(ctx, g):
            return -ctx.weight * g, None

    for epoch in range(cfg.epochs):
        net.train()
        perm = rng.permutation(len(mels))
        for b in range(n_batches):
            ids = perm[b * cfg.batch : (b + 1) * cfg.batch]
            xb = np.stack([CT.random_crop(mels[i], cfg.crop_frames, rng) for i in ids])
            if warp:
                xb = mel_warp(xb, rng, warp)
            xb = torch.from_numpy(CT.mask_spectrograms(xb, rng, cfg))
            yb = F_.one_hot(yt[ids], n_classes).float()
            yb = yb * (1 - cfg.label_smoothing) + cfg.label_smoothing / n_classes
            if mixup:
                lam = float(rng.beta(mixup, mixup))
                j = torch.from_numpy(rng.permutation(len(ids)))
                xb = lam * xb + (1 - lam) * xb[j]
                yb = lam * yb + (1 - lam) * yb[j]
            h = net.embed(xb)
            loss = -(yb * F_.log_softmax(net.out(net.drop(h)), 1)).sum(1).mean()
            if adv:
                ramp = min(1.0, epoch / (0.5 * cfg.epochs))
                loss = loss + F_.cross_entropy(adv_head(Reverse.apply(h, adv * ramp)), st[ids])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    net.eval()
    return net


def _numpy_params(net, cfg) -> dict:
    one = {"cnn_blocks": np.int64(len(cfg.channels)), "cnn_members": np.int64(1)}
    return {**one, **CT.member_params(net, 0)}


def run_loso(a, d) -> None:
    y_all, spk_all = d["labels"][d["src"]], d["speakers"][d["src"]]
    is_aug, X, mels = d["is_aug"], d["X"], d["mels"]
    oof = np.zeros((len(d["labels"]), len(LABELS)))
    torch = CT.require_torch()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    cfg = replace(CT.CnnConfig(), epochs=a.epochs)
    speakers = np.unique(d["speakers"])
    if a.speakers:
        speakers = [s for s in speakers if s in a.speakers.split(",")]
    for s in speakers:
        t0 = time.perf_counter()
        tr = np.flatnonzero(spk_all != s)
        te = np.flatnonzero((spk_all == s) & ~is_aug)
        if a.what == "features":
            cfg_f = Config(cnn=None)
            p = fit_model(X[tr], y_all[tr], spk_all[tr], is_aug[tr], len(LABELS), cfg_f, SEED)
            model = EmotionModel(finish_params(p, LABELS))
            lp = np.log(model.proba_from_features(X[te]) + 1e-12)
        else:
            net = fit_variant(
                [mels[i] for i in tr],
                y_all[tr],
                spk_all[tr],
                len(LABELS),
                a.seed,
                cfg,
                mixup=a.mixup,
                adv=a.adv,
                warp=a.warp,
            )
            lp = C.log_proba(_numpy_params(net, cfg), [mels[i] for i in te])
        oof[d["src"][te]] = lp
        ua = unweighted_accuracy(y_all[te], lp.argmax(1), len(LABELS))
        print(f"{a.name} speaker {s}: ua={ua:.3f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    a.out.mkdir(parents=True, exist_ok=True)
    np.save(a.out / f"oof_{a.name}.npy", oof)
    ua = unweighted_accuracy(d["labels"], oof.argmax(1), len(LABELS))
    print(json.dumps(dict(name=a.name, ua=round(ua, 4))), flush=True)


def _log_softmax(z):
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def _score(name: str, y: np.ndarray, lp: np.ndarray) -> str:
    pred = lp.argmax(1)
    recall = {c: round(float(np.mean(pred[y == i] == i)), 3) for i, c in enumerate(LABELS)}
    ua = unweighted_accuracy(y, pred, len(LABELS))
    return json.dumps(dict(name=name, ua=round(ua, 4), recall=recall))


def combine(a, d) -> None:
    names = a.names.split(",")
    missing = [n for n in names if not (a.out / f"oof_{n}.npy").is_file()]
    if missing:
        raise SystemExit(
            f"error: no run named {', '.join(missing)} under {a.out}; "
            "run `cnn --name NAME` or `features --name NAME` first"
        )
    oof = {n: _log_softmax(np.load(a.out / f"oof_{n}.npy")) for n in names}
    y = d["labels"]
    for name, lp in oof.items():
        print(_score(name, y, lp))
    for spec in a.mixes:
        z = sum(float(w) * oof[n] for n, w in (p.split(":") for p in spec.split("+")))
        print(_score(spec, y, z))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("cnn", "features", "combine"))
    ap.add_argument("names", nargs="?", default="", help="combine: comma-separated run names")
    ap.add_argument("mixes", nargs="*", help="combine: weighted mixes like feat:0.5+base0:0.5")
    ap.add_argument("--name", default="base0", help="name of this run's output")
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--out", type=Path, default=Path("out/explore_cnn"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=CT.CnnConfig.epochs)
    ap.add_argument("--mixup", type=float, default=0.0)
    ap.add_argument("--adv", type=float, default=0.0)
    ap.add_argument("--warp", type=float, default=0.0)
    ap.add_argument("--speakers", default="", help="only these held-out speakers (e.g. 03,08)")
    a = ap.parse_args(argv)
    if not (a.data / "metadata.csv").is_file():
        print(f"error: no EmoDB metadata.csv under {a.data} (give --data DIR)", file=sys.stderr)
        return 2
    d = corpus_data(a.data, a.out / "corpus.pkl")
    if a.what == "combine":
        combine(a, d)
    else:
        run_loso(a, d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
