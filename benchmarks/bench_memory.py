"""Peak memory of recognise() on a 1-hour recording (generated here, never committed).

    .venv/bin/python benchmarks/bench_memory.py [--minutes 60] [--rate 16000] [--channels 1]

Writes a recording of ``--minutes`` (the sample conversation repeated, 16-bit WAV at
``--rate`` with ``--channels``) to a temporary folder, then runs, each in a fresh subprocess,
and prints the peak resident memory (``resource.getrusage(...).ru_maxrss``) of:

* ``import``: importing the package and loading the model (the floor);
* ``recognise``: ``emotion_analytics.recognise(path)`` on the whole recording (streams it);
* ``read whole``: ``soundfile.read`` of the whole recording as float32 (what loading it in one
  piece would cost before any analysis), for comparison.

Target: the ``recognise`` peak under 500 MB on a 1-hour file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]

_PROBE = """
import json, resource, sys
path, what = sys.argv[1], sys.argv[2]
import emotion_analytics as ea
from emotion_analytics.engines import get_engine
get_engine("local")
rows = None
if what == "recognise":
    rows = len(ea.recognise(path))
elif what == "read whole":
    import soundfile as sf
    rows = sf.read(path, dtype="float32")[0].shape[0]
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": rows}))
"""


def build(path: Path, minutes: float, rate: int, channels: int) -> None:
    from emotion_analytics import audio

    speech, _ = audio.decode(REPO / "data" / "conversation.wav", sample_rate=rate)
    piece = np.concatenate([speech, np.zeros(rate, np.float32)])
    piece = np.repeat(piece[:, None], channels, axis=1)
    total = int(minutes * 60 * rate)
    with sf.SoundFile(path, "w", rate, channels, subtype="PCM_16") as f:
        written = 0
        while written < total:
            part = piece[: total - written]
            f.write(part)
            written += len(part)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--rate", type=int, default=16000)
    ap.add_argument("--channels", type=int, default=1)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        build(path, args.minutes, args.rate, args.channels)
        size = path.stat().st_size / 2**20
        print(f"recording: {args.minutes:.0f} min, {args.rate} Hz, {args.channels} channel(s), "
              f"{size:.0f} MiB on disk")
        for what in ("import", "recognise", "read whole"):
            out = subprocess.run([sys.executable, "-c", _PROBE, str(path), what],
                                 capture_output=True, text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{what:>10}: peak {result['peak_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
