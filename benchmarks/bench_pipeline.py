"""The whole pipeline (decode -> table) on one core, against a wav2vec2-base-shaped model.

    taskset -c 0 .venv/bin/python benchmarks/bench_pipeline.py [--minutes 10] [--rate 16000]
        [--baseline-windows 4]

Builds a recording of ``--minutes`` of speech from ``data/conversation.wav`` (repeated, with
1 s pauses), written as a 16-bit WAV at ``--rate`` (44100 adds resampling to the cost), and
times ``emotion_analytics.recognise(path)`` on it: decoding, resampling, windowing, speech
detection, the embedded model and the table.

The baseline is ``transformers.Wav2Vec2Model(Wav2Vec2Config())`` (the wav2vec2-base shape, random
weights; only its encoder forward pass, no decoding and no classifier head) with
``torch.set_num_threads(1)``, on the same 3-second windows in the same process. It is slow, so
only ``--baseline-windows`` windows are timed and the figure is extrapolated to every window
of the recording. Needs the ``transformers`` extra; without it only our figures are printed.

The process pins itself to one CPU (the first it may use) and limits BLAS to one thread. Two
figures are printed for the pipeline: wall-clock time, and the CPU time of this process
(``time.process_time``), which other work on a shared, loaded machine does not inflate; on an
idle core the two agree. The speech detector's own share is printed too (its CPU time on the
same 3-s windows, in the same run).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def build_recording(path: Path, minutes: float, rate: int) -> float:
    from emotion_analytics import audio

    speech, _ = audio.decode(REPO / "data" / "conversation.wav", sample_rate=rate)
    piece = np.concatenate([speech, np.zeros(rate, np.float32)])
    total = int(minutes * 60 * rate)
    with sf.SoundFile(path, "w", rate, 1, subtype="PCM_16") as f:
        written = 0
        while written < total:
            part = piece[: total - written]
            f.write(part)
            written += len(part)
    return total / rate


def time_detector(path: Path) -> float:
    """CPU seconds `SpeechDetector.is_speech` takes on the recording's 3-s windows."""
    from emotion_analytics import audio
    from emotion_analytics.segmentation import SpeechDetector, plan_windows

    x, rate = audio.decode(path)
    vad = SpeechDetector(rate)
    windows = [x[s:e] for s, e in plan_windows(x.size, rate)]
    start = time.process_time()
    for w in windows:
        vad.is_speech(w)
    return time.process_time() - start


def time_baseline(n_windows: int, seconds: float = 3.0) -> float | None:
    """Seconds per 3-s window of wav2vec2-base (random weights), one thread."""
    try:
        import torch
        import transformers
    except ImportError:
        return None
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = transformers.Wav2Vec2Model(transformers.Wav2Vec2Config()).eval()
    x = torch.randn(1, int(seconds * 16000)) * 0.1
    with torch.inference_mode():
        model(x)  # warm-up
        start = time.perf_counter()
        for _ in range(n_windows):
            model(x)
    return (time.perf_counter() - start) / n_windows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=int, default=16000)
    ap.add_argument("--baseline-windows", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import emotion_analytics as ea
    from emotion_analytics.engines import get_engine

    get_engine("local")  # loading the model is not part of the per-hour cost
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recording.wav"
        seconds = build_recording(path, args.minutes, args.rate)
        times, cpu_times = [], []
        for _ in range(args.repeats):
            start, cpu = time.perf_counter(), time.process_time()
            df = ea.recognise(path)
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu)
        detector = time_detector(path)
    ours, ours_cpu = min(times), min(cpu_times)
    n_windows = int(seconds // 3)
    print(f"audio: {seconds / 60:.1f} min at {args.rate} Hz, {len(df)} speech windows "
          f"(CPU {sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'})")
    print(f"pipeline (decode -> table): {ours:.2f} s wall (best of {args.repeats}), "
          f"{ours / seconds * 3600:.1f} s per hour of audio, {seconds / ours:.0f}x real time")
    print(f"pipeline CPU time: {ours_cpu:.2f} s (best of {args.repeats}), "
          f"{ours_cpu / seconds * 3600:.1f} s per hour of audio, "
          f"{seconds / ours_cpu:.0f}x real time")
    print(f"of which speech detection (CPU, same windows): {detector / seconds * 3600:.1f} s per "
          f"hour of audio, {seconds / detector:.0f}x real time")
    per_window = time_baseline(args.baseline_windows)
    if per_window is None:
        print("baseline: transformers/torch not installed, skipped")
        return 0
    base = per_window * n_windows
    print(f"wav2vec2-base (random weights, 1 thread): {per_window * 1000:.0f} ms per 3-s window "
          f"(timed on {args.baseline_windows}), {base:.0f} s for the {n_windows} windows "
          f"(extrapolated), {base / seconds * 3600:.0f} s per hour, "
          f"{seconds / base:.1f}x real time")
    print(f"ratio: the pipeline is {base / ours:.0f}x faster than the wav2vec2-base forward pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
