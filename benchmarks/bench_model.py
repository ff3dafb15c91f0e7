"""Per-window cost of the embedded emotion model (feature extraction + classifier), one core.

    python benchmarks/bench_model.py [--windows 200] [--seconds 3] [--repeats 5]

Prints the load time, the cost per window (best of the repeats, all windows of a "file"
passed in one ``predict_proba`` call, as the engine does) and the x-real-time figure.
Pin it to one core for the single-core number, e.g. ``taskset -c 0 python ...``; BLAS
threads are limited to one below.
"""

from __future__ import annotations

import argparse
import json
import os
import time

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402


def _speechlike(n_windows: int, seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """Harmonic, amplitude-modulated test signal with noise: exercises every code path."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    out = np.empty((n_windows, n), dtype=np.float32)
    for i in range(n_windows):
        f0 = rng.uniform(90, 260) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.3, 2) * t))
        ph = 2 * np.pi * np.cumsum(f0) / sr
        x = sum(np.sin(k * ph) / k for k in range(1, 12))
        env = np.clip(np.sin(2 * np.pi * rng.uniform(2, 6) * t), 0, None)
        out[i] = 0.05 * x * env + 0.003 * rng.standard_normal(n)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=200, help="windows per call (default 200)")
    ap.add_argument("--seconds", type=float, default=3.0, help="window length (default 3 s)")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats (default 5)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    from emotion_analytics.model import load_model

    m = load_model()
    load_s = time.perf_counter() - t0
    x = _speechlike(args.windows, args.seconds, m.sample_rate)
    m.predict_proba(x[:8])  # warm up
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        m.predict_proba(x)
        times.append(time.perf_counter() - t)
    per_window = min(times) / args.windows
    t = time.perf_counter()
    for w in x[:20]:
        m.predict_proba([w])
    single = (time.perf_counter() - t) / 20
    res = {
        "load_model_s": round(load_s, 3),
        "window_s": args.seconds,
        "windows_per_call": args.windows,
        "ms_per_window_batched": round(per_window * 1e3, 3),
        "ms_per_window_one_per_call": round(single * 1e3, 3),
        "x_real_time_batched": round(args.seconds / per_window),
        "x_real_time_one_per_call": round(args.seconds / single),
        "median_ms_per_window_batched": round(float(np.median(times)) / args.windows * 1e3, 3),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
