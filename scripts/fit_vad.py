"""Fit the speech detector's window decision (a logistic regression) and print its constants.

    .venv/bin/python scripts/fit_vad.py [--emodb ../shared/data/emodb] [--threshold 0.5]
        [--C 10] [--short-train N] [--min-voiced K] [--write | --current]

`emotion_analytics.vad.SpeechDetector` judges a window by ``features @ _WEIGHTS +
_BIAS > 0`` over the statistics of :meth:`SpeechDetector.features` (``FEATURE_NAMES``). This
script fits them (scikit-learn, the ``train`` extra) on every window of:

* **training half**: the speech items of `scripts/make_vad_set.py`'s set (seed 0) from EmoDB
  speakers 03, 08, 09, 10 and 11; every other non-speech item of that set; 240 more generated
  non-speech items (seed 101);
* **held-out half**, scored and printed: the speech items of speakers 12-16, the other
  non-speech items of the set, and 240 generated non-speech items of another seed (102);
* **held-out clipped**, scored and printed, never fitted: speakers 12-16's clips and a cut of
  each, and 240 generated noises, hum, clicks, tones and music (seed 104), all at -3 to +15 dB
  RMS over full scale, hard-clipped (:data:`HOT_RANGE`);
* **held-out short**, scored and printed, never fitted: a 0.5-0.8 s cut of each of speakers
  12-16's clips at -45 to 0 dBFS (half in noise) and 200 generated 0.5-1 s sounds of each
  non-speech kind (seed 106): the shortest inputs, where held vowels meet held notes and hum.

``--short-train N`` adds such short items to the fit (a cut of each training speaker's clip and
``N`` sounds of each kind, seed 105); ``--min-voiced K`` fits and scores with a minimum of ``K``
voiced frames instead of ``MIN_VOICED_FRAMES`` (only printed: ``--write`` refuses it). Both are
for trying the trade between short speech and short non-speech; neither is what the shipped
weights were fitted with.

Missed held-out speech items are listed by clip, length, gain and noise. ``--current`` scores
the constants already in ``emotion_analytics/vad.py`` instead of fitting.

A speech item counts as found when one of its windows is speech (as ``recognise`` decides);
windows with fewer than ``MIN_VOICED_FRAMES`` voiced frames are never speech. The scaling is
folded into the weights and ``--threshold`` (on the decision function) into the bias; the
printed ``_WEIGHTS`` and ``_BIAS`` lines go into ``emotion_analytics/vad.py``
(``--write`` puts them there). Needs
EmoDB (the speech) and scikit-learn.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import make_vad_set as vs  # noqa: E402

from emotion_analytics import segmentation as seg  # noqa: E402
from emotion_analytics import vad  # noqa: E402

TRAIN_SPEAKERS = {"03", "08", "09", "10", "11"}
#: Gains (dBFS RMS) of the clipped items: up to 15 dB over full scale.
HOT_RANGE = (-3.0, 15.0)


def _speaker(item) -> str:
    return Path(item.info.get("source", "")).name[:2]


def windows(det: vad.SpeechDetector, items, group: str):
    """``(features, speech, group, item index, item)`` for every window of every item."""
    rows = []
    for i, it in enumerate(items):
        for s, e in seg.plan_windows(it.audio.size, vs.RATE):
            rows.append((det.features(it.audio[s:e]), it.speech, group, i, it))
    return rows


def generated(seed: int, n: int = 240) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        kind = vs.NON_SPEECH_KINDS[i % len(vs.NON_SPEECH_KINDS)]
        x = vs.make_non_speech(rng, kind, float(rng.uniform(0.5, 10.0)))
        out.append(vs.Item(f"{kind}-{i}", kind, x, False, np.zeros(0, bool)))
    return out


def clipped(seed: int, clips, n: int = 240) -> list:
    """Hot items, hard-clipped at full scale: generated non-speech, and ``clips``' speech.

    Non-speech: ``n`` sounds of every kind but silence and dither at HOT_RANGE dBFS RMS. Speech:
    each of ``clips`` (``(file, audio)``) and a 0.5-3 s cut of it at a gain from the same range.
    So clipping alone is not speech, and clipped speech is.
    """
    rng = np.random.default_rng(seed)
    kinds = [k for k in vs.NON_SPEECH_KINDS if k not in ("silence", "dither")]
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        x = vs.non_speech(rng, kind, float(rng.uniform(0.5, 10.0)))
        x = vs._quantise(vs._at_level(x, rng.uniform(*HOT_RANGE)))
        out.append(vs.Item(f"clipped {kind}-{i}", f"clipped {kind}", x, False,
                           np.zeros(0, bool)))
    for name, clean in clips:
        s, e = vs.cut_speech(rng, clean, rng.uniform(*vs.CUT_RANGE))
        for piece in (clean, clean[s:e]):
            item = vs.speech_item(rng, name, piece, gain=rng.uniform(*HOT_RANGE))
            item.info["source"] = name
            out.append(item)
    return out


def clipping_check(clips, gains=(-6.0, -3.0, 0.0, 3.0, 6.0, 10.0)) -> None:
    """Print, by share of a frame's samples at the peak, the dB that clipping took from the
    frames of ``clips`` (measured against the same audio unclipped) and the detector's estimate.
    """
    det = vad.SpeechDetector(vs.RATE)
    n = det._frame * det._q
    share, lost, guess = [], [], []
    for _, clean in clips:
        for gain in gains:
            loud = vs._at_level(clean, gain).astype(np.float32)
            x = vs._quantise(loud)
            frames = vad._frames(np.abs(x) >= np.abs(x).max() * (1 - vad._CLIP_TOLERANCE), n)
            share.append(frames.mean(axis=1))
            lost.append(det._frame_features(loud)["level"] - det._frame_features(x)["level"])
            guess.append(np.broadcast_to(det._clipping_loss(x, frames.shape[0]), share[-1].shape))
    share, lost, guess = map(np.concatenate, (share, lost, guess))
    print(f"clipping: {len(clips)} clips at {', '.join(f'{g:+g}' for g in gains)} dB RMS, "
          "dB lost per 32-ms frame")
    print(f"{'share at peak':>14} {'frames':>7} {'lost':>6} {'sd':>5} {'estimate':>9}")
    edges = [0, .01, .1, .2, .3, .4, .5, .6, .7, .8, .9, 1.01]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (share >= lo) & (share < hi)
        if m.any():
            print(f"{lo:6.2f}-{min(hi, 1):4.2f} {m.sum():9d} {lost[m].mean():6.2f} "
                  f"{lost[m].std():5.2f} {guess[m].mean():9.2f}")


def short(seed: int, clips, n: int) -> list:
    """Short items: a 0.5-0.8 s cut of each of ``clips`` at a gain from GAIN_RANGE (half of
    them in noise at SNR_RANGE), and ``n`` generated 0.5-1 s sounds of each non-speech kind."""
    rng = np.random.default_rng(seed)
    out = []
    for name, clean in clips:
        item, _, _ = vs.short_speech_item(rng, name, clean)
        item.info["source"] = name
        out.append(item)
    for kind in vs.NON_SPEECH_KINDS:
        for i in range(n):
            x = vs.make_non_speech(rng, kind, float(rng.uniform(0.5, 1.0)))
            out.append(vs.Item(f"short {kind}-{i}", kind, x, False, np.zeros(0, bool)))
    return out


def constants(weights: np.ndarray, bias: float, args) -> str:
    """The ``_WEIGHTS`` and ``_BIAS`` lines for ``vad.py``."""
    extra = "" if args.short_train is None else f" --short-train {args.short_train}"
    lines = [f"# fitted by scripts/fit_vad.py --threshold {args.threshold} --C {args.C}{extra}",
             "_WEIGHTS = np.array(["]
    lines += [f"    {w:.6g},  # {name}" for name, w in zip(vad.FEATURE_NAMES, weights,
                                                            strict=True)]
    lines += ["])", f"_BIAS = {bias:.6g}"]
    return "\n".join(lines) + "\n"


def _write(text: str) -> None:
    path = Path(vad.__file__)
    source = path.read_text()
    new, n = re.subn(r"(?m)^(# fitted by scripts/fit_vad\.py.*\n)?_WEIGHTS = np\.[^\n]*\n"
                     r"(?:    [^\n]*\n)*(?:\]\)\n)?_BIAS = [^\n]*\n", lambda m: text, source)
    if n != 1:
        raise SystemExit(f"{path}: found {n} _WEIGHTS/_BIAS blocks, expected 1; paste by hand")
    path.write_text(new)
    print(f"written to {path}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--emodb", type=Path, default=vs.EMODB)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--C", type=float, default=10.0)
    ap.add_argument("--write", action="store_true",
                    help="write the constants into emotion_analytics/vad.py")
    ap.add_argument("--current", action="store_true",
                    help="score the constants in emotion_analytics/vad.py instead of fitting")
    ap.add_argument("--clipping", action="store_true",
                    help="only print the level lost to clipping against the detector's estimate "
                         "(every 5th held-out clip)")
    ap.add_argument("--short-train", type=int, default=None, metavar="N",
                    help="also fit on a 0.5-0.8 s cut of each training clip and N generated "
                         "0.5-1 s sounds of each non-speech kind")
    ap.add_argument("--min-voiced", type=int, default=vad.MIN_VOICED_FRAMES, metavar="K",
                    help="fit and score with this minimum of voiced frames a window "
                         f"(default: MIN_VOICED_FRAMES, {vad.MIN_VOICED_FRAMES})")
    args = ap.parse_args(argv)
    if not (args.emodb / "metadata.csv").exists():
        print(f"EmoDB not found at {args.emodb} (no metadata.csv): the detector is fitted on "
              "its speech; pass --emodb PATH", file=sys.stderr)
        return 2
    if args.clipping:
        held = [c for c in vs.read_emodb(args.emodb) if Path(c[0]).name[:2] not in TRAIN_SPEAKERS]
        clipping_check(held[::5])
        return 0
    if args.write and args.min_voiced != vad.MIN_VOICED_FRAMES:
        raise SystemExit(f"--write with --min-voiced {args.min_voiced}: set MIN_VOICED_FRAMES "
                         f"in {vad.__file__} to {args.min_voiced} first")
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    det = vad.SpeechDetector(vs.RATE)
    items = vs.load_set(args.emodb, seed=0)
    train_items, held_items = [], []
    non_speech = 0
    for it in items:
        if it.speech:
            (train_items if _speaker(it) in TRAIN_SPEAKERS else held_items).append(it)
        else:
            (train_items if non_speech % 2 == 0 else held_items).append(it)
            non_speech += 1
    all_clips = vs.read_emodb(args.emodb)
    held_clips = [c for c in all_clips if Path(c[0]).name[:2] not in TRAIN_SPEAKERS]
    train_clips = [c for c in all_clips if Path(c[0]).name[:2] in TRAIN_SPEAKERS]
    rows = (windows(det, train_items, "train set") + windows(det, generated(101), "train generated")
            + windows(det, held_items, "held-out set")
            + windows(det, generated(102), "held-out generated")
            + windows(det, clipped(104, held_clips), "held-out clipped")
            + windows(det, short(106, held_clips, 200), "held-out short"))
    if args.short_train is not None:
        rows += windows(det, short(105, train_clips, args.short_train), "train short")
    X = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    group = np.array([r[2] for r in rows])
    gate = np.expm1(X[:, vad.FEATURE_NAMES.index("log_voiced")]) >= args.min_voiced - 0.5
    train = gate & np.char.startswith(group.astype(str), "train")
    scaler = StandardScaler().fit(X[train])
    model = LogisticRegression(C=args.C, max_iter=10000, class_weight="balanced")
    model.fit(scaler.transform(X[train]), y[train])
    weights = model.coef_[0] / scaler.scale_
    bias = float(model.intercept_[0] - weights @ scaler.mean_ - args.threshold)
    if args.current:
        weights, bias = vad._WEIGHTS, vad._BIAS
    score = np.where(gate, X @ weights + bias, -np.inf)

    for name in ("train set", "train generated", "held-out set", "held-out generated",
                 "held-out clipped", "train short", "held-out short"):
        best: dict[int, tuple[float, bool, vs.Item]] = {}
        for j in np.flatnonzero(group == name):
            i = rows[j][3]
            if i not in best or score[j] > best[i][0]:
                best[i] = (score[j], bool(y[j]), rows[j][4])
        if not best:
            continue
        speech = [b for b in best.values() if b[1]]
        other = [b for b in best.values() if not b[1]]
        missed = [b[2] for b in speech if b[0] <= 0]
        alarms = collections.Counter(b[2].kind for b in other if b[0] > 0)
        print(f"{name:>18}: speech items missed {len(missed)}/{len(speech)}, non-speech items "
              f"said to be speech {sum(alarms.values())}/{len(other)} {dict(alarms) or ''}")
        for it in missed[:10]:
            info = it.info
            noise = f", {info['noise']} at {info['snr_db']} dB SNR" if "noise" in info else ""
            print(f"{'':20}missed {Path(it.name).stem} ({it.seconds:.2f} s, "
                  f"{info.get('gain_dbfs')} dBFS{noise})")
    if args.current:
        return 0
    text = constants(weights, bias, args)
    print("\n" + text, end="")
    if args.write:
        _write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
