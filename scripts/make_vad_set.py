"""Make the labelled speech / non-speech set that speech detection is measured on.

    .venv/bin/python scripts/make_vad_set.py [--emodb ../shared/data/emodb] [--seed 0]
        [--cache out/vad_set]

Everything is generated from a seed, at 16 kHz, as 16-bit-like float audio:

* **speech**: every EmoDB clip (read through its ``metadata.csv``) and short cuts of it
  (0.5-3 s, inside the clip's speech, so each cut is continuous speech), each at a gain drawn
  from -45 to 0 dBFS RMS (hard-clipped to full scale, as a file would be); about half of them
  mixed with a generated noise (white, pink, brown, mains hum, a murmur of low-passed noise) at
  an SNR drawn from 5 to 20 dB (SNR against the item's own RMS). EmoDB is not shipped with the
  project: without it the set has no speech items and the script says so.
* **non-speech**, made here: digital silence, low-level noise (dither), white / pink / brown
  noise, mains hum (50 or 60 Hz with harmonics), clicks, pure tones and beeps, note sequences and
  chords with harmonics (music-like), some with slow fades, at levels from -80 to -6 dBFS.

Truth: every item has a clip label (``speech``) and a frame label every 10 ms
(:data:`TRUTH_HOP`): a frame of a speech item is speech when the clean clip's level in it is
within :data:`TRUTH_RANGE_DB` of the clip's loudest frame (pauses inside a sentence stay
non-speech); every frame of a non-speech item is non-speech.

The set is cached under ``out/vad_set/`` (git-ignored; audio derived from EmoDB is never
committed). ``benchmarks/bench_vad.py`` and the tests import :func:`load_set` and the
generators from this file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
EMODB = REPO.parent / "shared" / "data" / "emodb"
CACHE = REPO / "out" / "vad_set"

RATE = 16000
#: Frame step of the frame-level truth (seconds).
TRUTH_HOP = 0.01
#: A frame of a clean clip is speech when its level is within this many dB of the loudest.
TRUTH_RANGE_DB = 35.0
#: Gains (dBFS RMS) and SNRs (dB) the speech items are drawn from.
GAIN_RANGE = (-45.0, 0.0)
SNR_RANGE = (5.0, 20.0)
CUT_RANGE = (0.5, 3.0)
_VERSION = 1


@dataclass
class Item:
    """One clip of the set: audio at :data:`RATE`, the clip label and the 10-ms frame labels."""

    name: str
    kind: str
    audio: np.ndarray
    speech: bool
    frames: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.audio.size / RATE


# ---------------------------------------------------------------- generated sounds


def _db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def _at_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    return x * 10 ** ((dbfs - _db(x)) / 20)


def _coloured(rng: np.random.Generator, n: int, colour: str) -> np.ndarray:
    """White, pink (1/f) or brown (1/f^2) noise, zero mean, unit RMS."""
    white = rng.standard_normal(n)
    if colour == "white":
        x = white
    else:
        spec = np.fft.rfft(white)
        f = np.fft.rfftfreq(n, 1 / RATE)
        f[0] = f[1] if n > 1 else 1.0
        spec *= f ** (-0.5 if colour == "pink" else -1.0)
        x = np.fft.irfft(spec, n)
    x = x - x.mean()
    return x / (np.sqrt(np.mean(x * x)) + 1e-20)


def _murmur(rng: np.random.Generator, n: int) -> np.ndarray:
    """A room murmur: noise shaped like a long-term speech spectrum (low-passed pink)."""
    x = _coloured(rng, n, "pink")
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(n, 1 / RATE)
    spec *= 1 / (1 + (f / 800.0) ** 2) * (f > 80)
    x = np.fft.irfft(spec, n)
    return x / (np.sqrt(np.mean(x * x)) + 1e-20)


def hum(rng: np.random.Generator, n: int, mains: float | None = None) -> np.ndarray:
    """Mains hum: 50 or 60 Hz and its harmonics (random, decaying weights), unit RMS."""
    mains = mains or float(rng.choice([50.0, 60.0]))
    t = np.arange(n) / RATE
    x = np.zeros(n)
    for k in range(1, int(rng.integers(2, 12)) + 1):
        x += rng.uniform(0.2, 1.0) / k ** rng.uniform(0.3, 1.5) * np.sin(
            2 * np.pi * mains * k * t + rng.uniform(0, 2 * np.pi))
    return x / np.sqrt(np.mean(x * x))


def clicks(rng: np.random.Generator, n: int) -> np.ndarray:
    """Clicks and pops: short decaying bursts at random times over silence."""
    x = np.zeros(n)
    rate = rng.uniform(0.5, 12.0)
    for _ in range(max(1, rng.poisson(rate * n / RATE))):
        at = int(rng.integers(0, n))
        length = int(rng.uniform(0.0005, 0.006) * RATE) + 1
        burst = rng.standard_normal(length) * np.exp(-np.arange(length) / (length / 4))
        if rng.random() < 0.5:  # a ringing pop
            burst = burst[:1].repeat(length) * np.sin(
                2 * np.pi * rng.uniform(300, 3000) * np.arange(length) / RATE) * np.exp(
                -np.arange(length) / (length / 3))
        end = min(n, at + length)
        x[at:end] += rng.uniform(0.2, 1.0) * burst[: end - at]
    return x / (np.abs(x).max() + 1e-20)


def _note(f0: float, n: int, rng: np.random.Generator, partials: int) -> np.ndarray:
    t = np.arange(n) / RATE
    x = np.zeros(n)
    tilt = rng.uniform(0.7, 2.0)
    for k in range(1, partials + 1):
        if f0 * k < RATE / 2 - 200:
            x += np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) / k ** tilt
    attack = min(n, max(1, int(rng.uniform(0.005, 0.06) * RATE)))
    env = np.ones(n)
    env[:attack] = np.linspace(0, 1, attack)
    if rng.random() < 0.6:  # plucked / struck: decays
        env *= np.exp(-t / rng.uniform(0.15, 1.5))
    release = min(n, max(1, int(0.02 * RATE)))
    env[n - release:] *= np.linspace(1, 0, release)
    return x * env


def music(rng: np.random.Generator, n: int, style: str | None = None) -> np.ndarray:
    """Music-like sounds: a steady tone, beeps, a melody of notes, or a sequence of chords."""
    style = style or str(rng.choice(["tone", "beeps", "melody", "chords"]))
    scale = 220.0 * 2 ** (np.array([0, 2, 3, 5, 7, 8, 10, 12, 14, 15, 17, 19]) / 12)
    x = np.zeros(n)
    t = np.arange(n) / RATE
    if style == "tone":
        x = np.sin(2 * np.pi * rng.uniform(100, 3000) * t)
    elif style == "beeps":
        f = rng.uniform(300, 2500)
        period, duty = rng.uniform(0.15, 1.0), rng.uniform(0.2, 0.7)
        x = np.sin(2 * np.pi * f * t) * ((t % period) < duty * period)
    else:
        at = 0
        while at < n:
            length = int(rng.uniform(0.12, 0.5 if style == "melody" else 1.5) * RATE)
            length = min(length, n - at)
            if style == "melody":
                fs = [float(rng.choice(scale)) * float(rng.choice([0.5, 1.0]))]
            else:
                root = int(rng.integers(0, 5))
                fs = [float(scale[root + i]) * 0.5 for i in (0, 2, 4)]
                if rng.random() < 0.5:
                    fs.append(fs[0] * 2)
            for f0 in fs:
                x[at:at + length] += _note(f0, length, rng, int(rng.integers(1, 12)))
            at += length
    return x / (np.sqrt(np.mean(x * x)) + 1e-20)


def non_speech(rng: np.random.Generator, kind: str, seconds: float) -> np.ndarray:
    """One generated non-speech sound of ``kind``, unit RMS (silence: zeros)."""
    n = int(seconds * RATE)
    if kind == "silence":
        return np.zeros(n)
    if kind in ("white", "pink", "brown"):
        return _coloured(rng, n, kind)
    if kind == "murmur":
        return _murmur(rng, n)
    if kind == "hum":
        return hum(rng, n)
    if kind == "clicks":
        return clicks(rng, n)
    if kind in ("tone", "beeps", "melody", "chords"):
        return music(rng, n, kind)
    raise ValueError(f"unknown non-speech kind {kind!r}")


NON_SPEECH_KINDS = ("silence", "dither", "white", "pink", "brown", "murmur", "hum", "clicks",
                    "tone", "beeps", "melody", "chords")
NOISE_KINDS = ("white", "pink", "brown", "hum", "murmur")


def _quantise(x: np.ndarray) -> np.ndarray:
    """Clip to full scale and round to 16 bits, as a WAV file would hold it."""
    return (np.round(np.clip(x, -1.0, 32767 / 32768) * 32768) / 32768).astype(np.float32)


def make_non_speech(rng: np.random.Generator, kind: str, seconds: float) -> np.ndarray:
    """A non-speech item: ``kind`` at a random level, maybe faded, over a little dither."""
    if kind == "silence":
        return np.zeros(int(seconds * RATE), np.float32)
    n = int(seconds * RATE)
    if kind == "dither":  # low-level noise: a quiet room, a 16-bit floor
        return _quantise(_at_level(_coloured(rng, n, "white"), rng.uniform(-95, -60)))
    x = _at_level(non_speech(rng, kind, seconds), rng.uniform(-70, -6))
    if rng.random() < 0.3:  # a slow fade in or out
        ramp = np.linspace(rng.uniform(0, 1), rng.uniform(0, 1), n)
        x = x * ramp
    if rng.random() < 0.5:
        x = x + _at_level(rng.standard_normal(n), rng.uniform(-95, -70))
    return _quantise(x)


# ---------------------------------------------------------------- speech


def frame_levels(x: np.ndarray, hop: float = TRUTH_HOP) -> np.ndarray:
    """Level (dB) of consecutive ``hop``-second frames."""
    h = int(round(hop * RATE))
    n = x.size // h
    f = x[: n * h].reshape(n, h).astype(np.float64)
    return 10 * np.log10(np.mean(f * f, axis=1) + 1e-20)


def speech_truth(clean: np.ndarray) -> np.ndarray:
    """10-ms frames of a clean clip within :data:`TRUTH_RANGE_DB` of its loudest frame."""
    db = frame_levels(clean)
    return db > db.max() - TRUTH_RANGE_DB


def read_emodb(emodb: Path) -> list[tuple[str, np.ndarray]]:
    """``(file, audio at RATE)`` for every clip listed in the corpus' metadata.csv."""
    import pandas as pd
    import soundfile as sf
    import soxr

    meta = pd.read_csv(emodb / "metadata.csv")
    out = []
    for name in meta["file"]:
        x, sr = sf.read(emodb / name, dtype="float64", always_2d=True)
        x = x.mean(axis=1)
        if sr != RATE:
            x = soxr.resample(x, sr, RATE)
        out.append((str(name), x))
    return out


def cut_speech(rng: np.random.Generator, clean: np.ndarray, seconds: float):
    """A ``seconds``-long cut inside the clip's speech (from its first to last speech frame)."""
    truth = speech_truth(clean)
    h = int(TRUTH_HOP * RATE)
    idx = np.flatnonzero(truth)
    first, last = idx[0] * h, (idx[-1] + 1) * h
    n = min(int(seconds * RATE), last - first)
    start = int(rng.integers(first, last - n + 1))
    return start, start + n


#: A cut is *continuous speech* when this share of its 10-ms frames is speech by the truth
#: (`speech_truth` of the whole clip) ...
CONTINUOUS_SHARE = 0.8
#: ... its RMS is at most this many dB under the whole clip's (the truth keeps frames up to
#: 35 dB under the clip's loudest: breath and trailing murmur count as speech there) ...
CONTINUOUS_RMS_DB = -10.0
#: ... and its longest pause (frames more than :data:`PAUSE_DB` under the clip's loudest) is
#: shorter than this share of it.
CONTINUOUS_MAX_PAUSE = 0.5
#: A 10-ms frame more than this many dB under the clip's loudest frame is a pause (or breath).
PAUSE_DB = 20.0


def describe_cut(clean: np.ndarray, s: int, e: int) -> dict:
    """Listen-free descriptors of the cut ``clean[s:e]`` of a clip, and whether it is continuous.

    ``share``: of its 10-ms frames that the truth marks as speech; ``rms``: its RMS against the
    whole clip's (dB); ``pause``: its longest pause (seconds) and ``where`` it lies (start,
    middle, end); ``continuous``: see :data:`CONTINUOUS_SHARE`.
    """
    h = int(TRUTH_HOP * RATE)
    truth = speech_truth(clean)[s // h: e // h]
    levels = frame_levels(clean)
    pause = levels[s // h: e // h] < levels.max() - PAUSE_DB
    run = best = best_end = 0
    for i, p in enumerate(pause):
        run = run + 1 if p else 0
        if run > best:
            best, best_end = run, i + 1
    n = pause.size
    mid = (best_end - best / 2) / max(n, 1)
    where = "-" if best == 0 else "start" if mid < 1 / 3 else "end" if mid > 2 / 3 else "middle"
    rms = _db(clean[s:e]) - _db(clean)
    share = float(truth.mean()) if truth.size else 0.0
    return {
        "share": share, "rms": rms, "pause": best * TRUTH_HOP, "where": where,
        "continuous": (share >= CONTINUOUS_SHARE and rms >= CONTINUOUS_RMS_DB
                       and best < CONTINUOUS_MAX_PAUSE * max(n, 1)),
    }


def speech_item(rng: np.random.Generator, name: str, clean: np.ndarray, *,
                gain: float, noise: str | None = None, snr: float | None = None) -> Item:
    """A speech item: ``clean`` at ``gain`` dBFS RMS, maybe with ``noise`` at ``snr`` dB."""
    x = _at_level(clean, gain)
    info = {"gain_dbfs": round(gain, 1)}
    if noise is not None:
        nz = non_speech(rng, noise, x.size / RATE + 1e-9)[: x.size]
        x = x + _at_level(nz, gain - snr)
        info.update(noise=noise, snr_db=round(snr, 1))
    return Item(name, "speech", _quantise(x), True, speech_truth(clean), info)


def short_speech_item(rng: np.random.Generator, name: str, clean: np.ndarray,
                      seconds: tuple[float, float] = (0.5, 0.8)) -> tuple[Item, int, int]:
    """A short cut inside the clip's speech (length drawn from ``seconds``) at a gain from
    :data:`GAIN_RANGE`, half of them in noise at :data:`SNR_RANGE`; and where it was cut."""
    s, e = cut_speech(rng, clean, rng.uniform(*seconds))
    noise = snr = None
    if rng.random() < 0.5:
        noise, snr = str(rng.choice(NOISE_KINDS)), rng.uniform(*SNR_RANGE)
    item = speech_item(rng, name, clean[s:e], gain=rng.uniform(*GAIN_RANGE), noise=noise, snr=snr)
    return item, s, e


# ---------------------------------------------------------------- the set


def build_set(emodb: Path | None = EMODB, *, seed: int = 0, cuts_per_clip: int = 2,
              noisy_share: float = 0.5, n_non_speech: int = 400) -> list[Item]:
    """The whole set: speech items from EmoDB (if present) and generated non-speech items."""
    rng = np.random.default_rng(seed)
    items: list[Item] = []
    clips = read_emodb(emodb) if emodb is not None and (emodb / "metadata.csv").exists() else []
    for name, clean in clips:
        stem = Path(name).stem
        pieces = [("full", 0, clean.size)]
        for k in range(cuts_per_clip):
            s, e = cut_speech(rng, clean, rng.uniform(*CUT_RANGE))
            pieces.append((f"cut{k}", s, e))
        for tag, s, e in pieces:
            gain = rng.uniform(*GAIN_RANGE)
            noise = snr = None
            if rng.random() < noisy_share:
                noise = str(rng.choice(NOISE_KINDS))
                snr = rng.uniform(*SNR_RANGE)
            item = speech_item(rng, f"{stem}-{tag}", clean[s:e], gain=gain, noise=noise,
                               snr=snr)
            item.info["source"] = name
            items.append(item)
    for i in range(n_non_speech):
        kind = NON_SPEECH_KINDS[i % len(NON_SPEECH_KINDS)]
        seconds = float(rng.choice([rng.uniform(*CUT_RANGE), rng.uniform(3.0, 10.0)]))
        x = make_non_speech(rng, kind, seconds)
        n_frames = x.size // int(TRUTH_HOP * RATE)
        items.append(Item(f"{kind}-{i:03d}", kind, x, False, np.zeros(n_frames, bool)))
    return items


def _key(emodb: Path | None, **options) -> str:
    have = emodb is not None and (Path(emodb) / "metadata.csv").exists()
    blob = json.dumps({"v": _VERSION, "emodb": have, **options}, sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def load_set(emodb: Path | None = EMODB, *, seed: int = 0, cache: Path | None = CACHE,
             **options) -> list[Item]:
    """:func:`build_set`, cached in ``cache`` (one ``.npz`` per seed and options)."""
    path = None
    if cache is not None:
        path = Path(cache) / f"vad_set-{_key(emodb, seed=seed, **options)}.npz"
        if path.exists():
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                return [Item(m["name"], m["kind"], z[f"a{i}"], m["speech"], z[f"f{i}"],
                             m["info"]) for i, m in enumerate(meta)]
    items = build_set(emodb, seed=seed, **options)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for i, it in enumerate(items):
            arrays[f"a{i}"] = it.audio
            arrays[f"f{i}"] = it.frames
        meta = [dict(name=it.name, kind=it.kind, speech=it.speech, info=it.info) for it in items]
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, meta=json.dumps(meta), **arrays)
        tmp.replace(path)
    return items


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--emodb", type=Path, default=EMODB)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=CACHE)
    args = ap.parse_args(argv)
    if not (args.emodb / "metadata.csv").exists():
        print(f"EmoDB not found at {args.emodb} (no metadata.csv): the set has no speech items; "
              "pass --emodb PATH", file=sys.stderr)
    items = load_set(args.emodb, seed=args.seed, cache=args.cache)
    kinds: dict[str, list[float]] = {}
    for it in items:
        kinds.setdefault(it.kind, []).append(it.seconds)
    for kind, secs in kinds.items():
        print(f"{kind:>8}: {len(secs):4d} items, {sum(secs) / 60:6.1f} min")
    print(f"cached in {args.cache}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
