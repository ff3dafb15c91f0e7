"""Write EmoDB as two CSV manifests, one per half of its speakers, for ``train --eval loco``.

Usage: python scripts/emodb_halves.py [--data ../shared/data/emodb] [--out out]

Writes ``OUT/emodb_male.csv`` (speakers 03, 10, 11, 12, 15) and ``OUT/emodb_female.csv`` (the
others), columns ``file,emotion,speaker,corpus`` with absolute paths. Leave-one-corpus-out on
them is weak evidence of transfer (one language, one studio, one set of sentences): it only
holds out the voices of one sex.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from emotion_analytics.model.corpus import default_data_dir


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--out", type=Path, default=Path("out"))
    args = ap.parse_args(argv)
    with open(args.data / "metadata.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    args.out.mkdir(parents=True, exist_ok=True)
    for sex in ("male", "female"):
        path = args.out / f"emodb_{sex}.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["file", "emotion", "speaker", "corpus"])
            for r in rows:
                if r["gender"] == sex:
                    f = (args.data / r["file"]).resolve()
                    w.writerow([f, r["emotion"], r["speaker"].zfill(2), f"emodb-{sex}"])
        print(path)


if __name__ == "__main__":
    main()
