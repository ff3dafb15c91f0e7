"""Write EmoDB as a CSV manifest for ``emotion-analytics train --data``, optionally repeated.

Usage: python scripts/emodb_manifest.py [--data ../shared/data/emodb] [--copies N] [--out PATH]

Each copy repeats every clip under new speaker ids (``c1-03``, ``c2-03``...), so that
``--copies 2`` gives a manifest of 1,070 clips and 20 "speakers": the size of a small corpus of
one's own, for timing ``train --no-cnn`` (MODEL_CARD.md, "Train your own model"). Paths are
absolute; columns ``file,emotion,speaker,corpus``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from emotion_analytics.model.corpus import default_data_dir


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("out/emodb_manifest.csv"))
    args = ap.parse_args(argv)
    with open(args.data / "metadata.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "emotion", "speaker", "corpus"])
        for c in range(1, args.copies + 1):
            for r in rows:
                spk = r["speaker"].zfill(2)
                w.writerow(
                    [(args.data / r["file"]).resolve(), r["emotion"], f"c{c}-{spk}", "emodb"]
                )
    print(f"{args.out}: {len(rows) * args.copies} clips")


if __name__ == "__main__":
    main()
