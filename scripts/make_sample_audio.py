"""Make the sample recordings in ``data/`` from EmoDB clips: real voices, speakers, emotions.

Run once by a maintainer (the output is committed, so neither CI nor users need the corpus)::

    .venv/bin/python scripts/make_sample_audio.py --emodb ../shared/data/emodb

writes, into ``data/``:

* ``conversation.wav``: a support call with two speakers on one mono channel (16 kHz, 16-bit),
  ``conversation.rttm``: its speaker turns, ``conversation.truth.csv``: the true speaker and
  emotion of every clip in it;
* ``call_stereo.ogg``: another call, one speaker per channel (Ogg/Opus, 16 kHz), with
  ``call_stereo.rttm`` and ``call_stereo.truth.csv``.

Each recording follows a script of turns (speaker, emotion, number of clips). Consecutive clips of
one speaker and emotion form one turn, separated by short breaths (0.05-0.2 s); turns are separated
by pauses of 0.2-0.8 s, or overlap where the script says so (an interruption). Clips come from two
EmoDB speakers of different gender per recording; for each turn the script takes unused clips of
that speaker and emotion, preferring whole utterances (the shared copy cuts most clips at 2.0 s)
and those the EmoDB listening test recognised best. The processed copy's zero padding is trimmed,
the leading and trailing silence shortened, clips cut at 2.0 s fade out over 40 ms, and a quiet
room noise (-60 dBFS) is added under everything. Every random draw is seeded, so the output is the
same on every run; the script prints the EmoDB files it used (also in the truth files' ``source``
column).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import soxr

RATE = 16000
NOISE_DBFS = -60.0  # a quiet room, so the gaps are not digital silence (and Opus codes
# the silent channel of the call as steady noise, not as bursts)
SEED = 20240601
REPO = Path(__file__).resolve().parents[1]

# A turn: (speaker, emotion, clips, gap before it in seconds or None for a drawn 0.2-0.8 s pause).
# A negative gap starts the turn that much before the previous one ends (an interruption).
CONVERSATION = dict(
    file="conversation.wav",
    stereo=False,
    speakers={"agent": "15", "customer": "08"},  # EmoDB speaker ids: a man, a woman
    turns=[
        ("agent", "neutral", 2, None),       # greets, asks how to help
        ("customer", "neutral", 2, None),    # explains the problem
        ("agent", "neutral", 1, None),
        ("customer", "anger", 2, None),      # it has happened before
        ("agent", "neutral", 2, None),
        ("customer", "anger", 2, -0.45),     # interrupts
        ("agent", "neutral", 1, None),
        ("agent", "happiness", 1, 0.15),     # good news
        ("customer", "neutral", 2, None),    # calms down
        ("agent", "happiness", 2, None),
        ("customer", "neutral", 2, None),    # thanks, says goodbye
    ],
)
CALL = dict(
    file="call_stereo.ogg",
    stereo=True,
    speakers={"agent": "11", "customer": "13"},  # agent on channel 0, customer on channel 1
    turns=[
        ("agent", "neutral", 2, None),
        ("customer", "neutral", 2, None),
        ("agent", "neutral", 1, None),
        ("customer", "sadness", 2, None),    # bad news about the bill
        ("agent", "boredom", 2, None),       # the agent has heard it all before
        ("customer", "anger", 2, -0.35),     # interrupts
        ("agent", "boredom", 1, None),
        ("customer", "anger", 2, None),
        ("agent", "neutral", 1, None),
    ],
)


def load_clip(emodb: Path, row: pd.Series) -> np.ndarray:
    """One EmoDB clip: padding trimmed, silence at the ends shortened, float32 at RATE."""
    x, sr = sf.read(emodb / row["file"], dtype="float32", always_2d=False)
    keep = len(x) - int(round(float(row["zero_padded_s"]) * sr))
    x = x[:keep]
    cut = float(row["zero_padded_s"]) == 0.0  # cut at 2.0 s, mid-utterance
    x = soxr.resample(x, sr, RATE).astype(np.float32)
    # shorten silence at both ends to 30 ms (frames 40 dB below the loudest)
    frame = RATE // 100
    n = len(x) // frame
    level = 10 * np.log10((x[: n * frame].reshape(n, frame) ** 2).mean(axis=1) + 1e-12)
    loud = np.flatnonzero(level > level.max() - 40)
    margin = 3 * frame
    lo = max(0, loud[0] * frame - margin)
    hi = len(x) if cut else min(len(x), (loud[-1] + 1) * frame + margin)
    x = x[lo:hi].copy()
    fade = int(0.04 * RATE) if cut else int(0.01 * RATE)
    x[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    x[: int(0.005 * RATE)] *= np.linspace(0.0, 1.0, int(0.005 * RATE), dtype=np.float32)
    return x


def pick_clips(meta: pd.DataFrame, speaker: str, emotion: str, n: int, used: set[str],
               rng: np.random.Generator) -> list[pd.Series]:
    """``n`` unused clips of one speaker and emotion: whole utterances first, then the best
    recognised, ties broken by a seeded draw; sentences not yet heard from this speaker first."""
    rows = meta[(meta["speaker"] == speaker) & (meta["emotion"] == emotion)
                & ~meta["file"].isin(used)]
    if len(rows) < n:
        raise SystemExit(f"EmoDB speaker {speaker} has only {len(rows)} unused {emotion} clips, "
                         f"the script needs {n}")
    rows = rows.assign(draw=rng.random(len(rows)), whole=rows["zero_padded_s"] > 0)
    heard = {f for f in used if meta.loc[meta["file"] == f, "speaker"].item() == speaker}
    heard_texts = set(meta.loc[meta["file"].isin(heard), "text_id"])
    rows = rows.assign(fresh=~rows["text_id"].isin(heard_texts))
    rows = rows.sort_values(["fresh", "whole", "recognition_rate", "draw"],
                            ascending=False, kind="stable")
    picked = []
    for _, row in rows.iterrows():  # one clip per sentence within a turn
        if row["text_id"] not in {p["text_id"] for p in picked}:
            picked.append(row)
        if len(picked) == n:
            break
    used.update(p["file"] for p in picked)
    return picked


def assemble(spec: dict, meta: pd.DataFrame, emodb: Path, rng: np.random.Generator, used: set):
    """Place the script's clips; return (audio per speaker, truth rows, turns)."""
    speakers = list(spec["speakers"])
    placed = []  # (speaker, start sample, audio, row)
    truth, turns = [], []
    t = int(0.5 * RATE)  # the recording opens with half a second of room
    for speaker, emotion, n, gap in spec["turns"]:
        if placed:  # the first turn opens the recording
            gap = rng.uniform(0.2, 0.8) if gap is None else gap
            t += int(round(gap * RATE))
        turn_start = t
        for k, row in enumerate(pick_clips(meta, spec["speakers"][speaker], emotion, n, used, rng)):
            if k:
                t += int(round(rng.uniform(0.05, 0.2) * RATE))
            x = load_clip(emodb, row)
            placed.append((speaker, t, x))
            truth.append(dict(file=spec["file"], speaker=speaker, start=t / RATE,
                              end=(t + len(x)) / RATE, emotion=emotion, corpus="emodb",
                              source=Path(row["file"]).name))
            if spec["stereo"]:
                truth[-1]["channel"] = speakers.index(speaker)
            t += len(x)
        if turns and turns[-1][0] == speaker and turn_start <= round(turns[-1][2] * RATE) + int(
                0.3 * RATE):  # the same speaker goes on after a short breath: one RTTM turn
            turns[-1] = (speaker, turns[-1][1], t / RATE)
        else:
            turns.append((speaker, turn_start / RATE, t / RATE))
    total = max(start + len(x) for _, start, x in placed) + int(0.6 * RATE)
    audio = np.zeros((len(speakers), total), np.float32)
    for speaker, start, x in placed:
        audio[speakers.index(speaker), start:start + len(x)] += x
    return audio, truth, turns


def write_rttm(path: Path, recording: str, turns) -> None:
    lines = [f"SPEAKER {recording} 1 {start:.3f} {end - start:.3f} <NA> <NA> {speaker} <NA> <NA>"
             for speaker, start, end in turns]
    path.write_text("\n".join(lines) + "\n")


def write_truth(path: Path, truth: list[dict]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(truth[0]), lineterminator="\n")
        writer.writeheader()
        for row in truth:
            writer.writerow({**row, "start": f"{row['start']:.3f}", "end": f"{row['end']:.3f}"})


def finish(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Room noise under everything; the peak kept below 0.9."""
    audio = audio + (10 ** (NOISE_DBFS / 20) * rng.standard_normal(audio.shape)).astype(np.float32)
    return audio * min(1.0, 0.9 / float(np.abs(audio).max()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emodb", type=Path, default=REPO.parent / "shared" / "data" / "emodb",
                        help="the EmoDB folder with metadata.csv and wav/ "
                             "(default: ../shared/data/emodb)")
    parser.add_argument("--out", default=REPO / "data", type=Path)
    args = parser.parse_args()
    if not (args.emodb / "metadata.csv").is_file():
        raise SystemExit(f"no EmoDB metadata.csv in {args.emodb}: pass --emodb FOLDER")
    meta = pd.read_csv(args.emodb / "metadata.csv", dtype={"speaker": str, "text_id": str})
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    used: set[str] = set()

    for spec in (CONVERSATION, CALL):
        audio, truth, turns = assemble(spec, meta, args.emodb, rng, used)
        stem = Path(spec["file"]).stem
        if not spec["stereo"]:  # one microphone: both speakers on one channel
            mono = finish(audio.sum(axis=0, keepdims=True), rng)[0]
            sf.write(args.out / spec["file"], mono, RATE, subtype="PCM_16")
        else:  # Opus, the codec of VoIP calls, keeps the stereo call small
            stereo = finish(audio, rng)
            sf.write(args.out / spec["file"], stereo.T, RATE, format="OGG", subtype="OPUS",
                     compression_level=0.95)
        write_rttm(args.out / f"{stem}.rttm", stem, turns)
        write_truth(args.out / f"{stem}.truth.csv", truth)
        seconds = audio.shape[1] / RATE
        print(f"{spec['file']}: {seconds:.1f} s, speakers "
              + ", ".join(f"{k} = EmoDB {v}" for k, v in spec["speakers"].items())
              + f"; {len(truth)} clips: " + " ".join(r["source"] for r in truth))
    for f in sorted(args.out.glob("*")):
        if f.suffix in (".wav", ".ogg", ".rttm", ".csv"):
            print(f"{f.name}: {f.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
