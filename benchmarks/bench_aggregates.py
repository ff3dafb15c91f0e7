"""Time the df.emotion aggregates on 1,000,000 segments over 1,000 files.

Each aggregate is compared with the straightforward pandas way, measured in the same run:
``groupby(...).sum()`` where pandas has it, otherwise ``groupby(...).apply`` with a plain Python
sweep per group, or a per-row loop. Those slow baselines run on a subsample of files and are
extrapolated linearly to the full table (they are linear in the number of files); the output
marks them with ``~``.

Run on one core::

    taskset -c 0 .venv/bin/python benchmarks/bench_aggregates.py
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

import emotion_analytics  # noqa: F401  (registers df.emotion)

EMOTIONS = ["neutral", "happy", "sad", "angry", "fear", "disgust", "surprise"]


def make_table(n_files: int, per_file: int, seed: int = 0) -> pd.DataFrame:
    """Two speakers per file taking turns, ~1-5 s segments, about one in five overlapping."""
    rng = np.random.default_rng(seed)
    n = n_files * per_file
    dur = rng.uniform(1.0, 5.0, n)
    step = dur * np.where(rng.random(n) < 0.2, 0.6, 1.05)  # 20% start before the last ends
    file = np.repeat(np.arange(n_files), per_file)
    first = np.arange(0, n, per_file)
    cum = np.cumsum(step)
    start = cum - step - np.repeat(cum[first] - step[first], per_file)
    return pd.DataFrame(
        {
            "file": pd.Categorical.from_codes(file, [f"call{i:04d}.wav" for i in range(n_files)]),
            "speaker": pd.Categorical.from_codes(rng.integers(0, 2, n), ["1", "2"]),
            "start": start,
            "end": start + dur,
            "duration": dur,
            "emotion": pd.Categorical.from_codes(rng.integers(0, len(EMOTIONS), n), EMOTIONS),
            "confidence": rng.uniform(0.3, 1.0, n),
        }
    )


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


# ---- the straightforward ways -------------------------------------------------------------


def _split_sweep(part: pd.DataFrame) -> pd.Series:
    recs = list(zip(part["start"], part["end"], part["emotion"], strict=True))
    points = sorted({p for s, e, _ in recs for p in (s, e)})
    out: dict[str, float] = {}
    recs.sort()
    for a, b in zip(points[:-1], points[1:], strict=True):
        active = [emo for s, e, emo in recs if s <= a and e >= b]
        for emo in active:
            out[emo] = out.get(emo, 0.0) + (b - a) / len(active)
    return pd.Series(out, dtype=float)


def _union(part: pd.DataFrame) -> float:
    total, cur_s, cur_e = 0.0, None, None
    for s, e in sorted(zip(part["start"], part["end"], strict=True)):
        if cur_e is None or s > cur_e:
            total += 0.0 if cur_e is None else cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    return total + (0.0 if cur_e is None else cur_e - cur_s)


def _transitions(part: pd.DataFrame) -> pd.DataFrame:
    part = part.sort_values("start")
    return pd.crosstab(part["emotion"].iloc[:-1].to_numpy(), part["emotion"].iloc[1:].to_numpy())


def _grid(part: pd.DataFrame, step: float) -> list:
    cells: dict[int, dict] = {}
    for s, e, emo in zip(part["start"], part["end"], part["emotion"], strict=True):
        k = int(s // step)
        while k * step < e:
            a, b = max(s, k * step), min(e, (k + 1) * step)
            cells.setdefault(k, {})[emo] = cells.setdefault(k, {}).get(emo, 0.0) + b - a
            k += 1
    return [max(c, key=c.get) for _, c in sorted(cells.items())]


def _merge(part: pd.DataFrame) -> list:
    out: list = []
    for row in part.sort_values("start").itertuples():
        if out and out[-1][2] == row.emotion and row.start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], row.end)
        else:
            out.append([row.start, row.end, row.emotion])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--per-file", type=int, default=1000)
    parser.add_argument(
        "--baseline-files",
        type=int,
        default=10,
        help="files the slow baselines run on before extrapolating",
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    df = make_table(args.files, args.per_file)
    shuffled = df.sample(frac=1.0, random_state=1).reset_index(drop=True)
    sub = df[df["file"].cat.codes < args.baseline_files]
    scale = args.files / args.baseline_files
    print(
        f"{len(df):,} segments over {args.files:,} files; slow baselines on "
        f"{args.baseline_files} files x {scale:g} (~)"
    )

    def by_file(part_fn):
        return lambda: sub.groupby("file", observed=True).apply(part_fn)

    cases = [
        (
            "durations(overlap='count')",
            lambda: df.emotion.durations(overlap="count"),
            lambda: df.groupby(["file", "emotion"], observed=False)["duration"].sum().unstack(),
            1,
        ),
        (
            "durations(overlap='split')",
            lambda: df.emotion.durations(),
            by_file(_split_sweep),
            scale,
        ),
        (
            "durations, rows shuffled",
            lambda: shuffled.emotion.durations(),
            by_file(_split_sweep),
            scale,
        ),
        ("shares", lambda: df.emotion.shares(), by_file(_split_sweep), scale),
        (
            "dominant",
            lambda: df.emotion.dominant(),
            lambda: sub.groupby("file", observed=True).apply(_split_sweep).unstack().idxmax(axis=1),
            scale,
        ),
        (
            "durations by file+speaker",
            lambda: df.emotion.durations(by=["file", "speaker"]),
            lambda: sub.groupby(["file", "speaker"], observed=True).apply(_split_sweep),
            scale,
        ),
        (
            "transitions",
            lambda: df.emotion.transitions(),
            lambda: sub.groupby(["file", "speaker"], observed=True).apply(_transitions),
            scale,
        ),
        (
            "talk_time",
            lambda: df.emotion.talk_time(),
            lambda: sub.groupby(["file", "speaker"], observed=True).apply(_union),
            scale,
        ),
        ("coverage", lambda: df.emotion.coverage(), by_file(_union), scale),
        ("gaps", lambda: df.emotion.gaps(), by_file(_union), scale),
        (
            "summary",
            lambda: df.emotion.summary(),
            lambda: sub.groupby(["file", "speaker"], observed=True).apply(_split_sweep),
            scale,
        ),
        (
            "to_grid(step=10)",
            lambda: df.emotion.to_grid(step=10.0),
            by_file(lambda p: _grid(p, 10.0)),
            scale,
        ),
        (
            "rolling(window=60, step=10)",
            lambda: df.emotion.rolling(window=60.0, step=10.0),
            by_file(lambda p: _grid(p, 10.0)),
            scale,
        ),
        (
            "merge_adjacent",
            lambda: df.emotion.merge_adjacent(),
            lambda: sub.groupby(["file", "speaker"], observed=True).apply(_merge),
            scale,
        ),
        (
            "filter_confidence",
            lambda: df.emotion.filter_confidence(min_confidence=0.5),
            lambda: df[(df["confidence"] >= 0.5) | df["confidence"].isna()],
            1,
        ),
    ]
    print(f"{'aggregate':32s} {'ours (s)':>9s} {'baseline (s)':>13s} {'ratio':>8s}")
    for name, ours, baseline, factor in cases:
        t_ours = best_of(ours, args.repeat)
        t_base = best_of(baseline, 1) * factor
        mark = "~" if factor != 1 else " "
        print(f"{name:32s} {t_ours:9.3f} {mark}{t_base:12.2f} {t_base / t_ours:7.1f}x")


if __name__ == "__main__":
    main()
