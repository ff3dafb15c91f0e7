"""Time assign_speakers: 1,000,000 emotion segments against 100,000 speaker turns (1,000 files).

The straightforward way, measured in the same run: for each segment, the turns of its file that
overlap it (``pandas.IntervalIndex.overlaps``), the segment cut at their boundaries and each piece
labelled with the most recently started turn, in a Python loop. It runs on a random subsample of
segments and is extrapolated linearly to all of them (marked ``~``).

Run on one core::

    taskset -c 0 .venv/bin/python benchmarks/bench_assign_speakers.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from emotion_analytics import analysis

EMOTIONS = ["neutral", "happy", "sad", "angry"]


def make_tables(n_files: int, per_file: int, turns_per_file: int, seed: int = 0):
    """Emotion segments tiling each file, and speaker turns with gaps and some overlaps."""
    rng = np.random.default_rng(seed)
    files = [f"call{i:04d}.wav" for i in range(n_files)]

    def tiles(count, low, high, gap):
        n = n_files * count
        dur = rng.uniform(low, high, n)
        step = dur * gap(n)
        first = np.arange(0, n, count)
        cum = np.cumsum(step)
        start = cum - step - np.repeat(cum[first] - step[first], count)
        return np.repeat(np.arange(n_files), count), start, start + dur

    f, s, e = tiles(per_file, 1.0, 4.0, lambda n: np.ones(n))
    segments = pd.DataFrame(
        {
            "file": pd.Categorical.from_codes(f, files),
            "speaker": pd.Categorical.from_codes(np.full(len(f), -1), []),
            "start": s,
            "end": e,
            "duration": e - s,
            "emotion": pd.Categorical.from_codes(rng.integers(0, 4, len(f)), EMOTIONS),
            "confidence": rng.uniform(0, 1, len(f)),
        }
    )
    span = per_file * 2.5 / turns_per_file  # turns cover about the same stretch
    tf, ts, te = tiles(
        turns_per_file,
        0.6 * span,
        1.2 * span,
        lambda n: np.where(rng.random(n) < 0.15, 0.8, 1.1),  # gaps, and 15% overlapping
    )
    turns = pd.DataFrame(
        {
            "file": pd.Categorical.from_codes(tf, files),
            "speaker": pd.Categorical.from_codes(rng.integers(0, 3, len(tf)), ["A", "B", "C"]),
            "start": ts,
            "end": te,
        }
    )
    return segments, turns


def straightforward(segments: pd.DataFrame, turns: pd.DataFrame) -> list:
    index = {
        f: (pd.IntervalIndex.from_arrays(t["start"], t["end"], closed="left"), t)
        for f, t in turns.groupby("file", observed=True)
    }
    pieces = []
    for row in segments.itertuples():
        iv, t = index[row.file]
        hit = t[iv.overlaps(pd.Interval(row.start, row.end, closed="left"))]
        cuts = sorted(
            {
                row.start,
                row.end,
                *[x for x in (*hit["start"], *hit["end"]) if row.start < x < row.end],
            }
        )
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            live = hit[(hit["start"] <= a) & (hit["end"] > a)]
            speaker = live["speaker"].iloc[-1] if len(live) else None
            pieces.append((row.file, a, b, speaker))
    return pieces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--per-file", type=int, default=1000)
    parser.add_argument("--turns-per-file", type=int, default=100)
    parser.add_argument("--baseline-segments", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    segments, turns = make_tables(args.files, args.per_file, args.turns_per_file)
    turns = turns.sort_values(["file", "start"], kind="stable").reset_index(drop=True)
    times, out = [], None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = analysis.assign_speakers(segments, turns)
        times.append(time.perf_counter() - t0)
    ours = min(times)
    sample = segments.sample(n=args.baseline_segments, random_state=1)
    t0 = time.perf_counter()
    straightforward(sample, turns)
    base = (time.perf_counter() - t0) * len(segments) / len(sample)
    print(
        f"{len(segments):,} segments, {len(turns):,} turns over {args.files:,} files "
        f"-> {len(out):,} pieces"
    )
    print(f"assign_speakers            {ours:8.3f} s")
    print(
        f"IntervalIndex + loop      ~{base:8.1f} s  (on {len(sample):,} segments, "
        f"x{len(segments) / len(sample):g})"
    )
    print(f"ratio                      {base / ours:8.0f}x")


if __name__ == "__main__":
    main()
