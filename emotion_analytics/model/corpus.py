"""Training corpora: the EmoDB loader and the clips, labels and speakers it yields.

:class:`Corpus` holds clips at the model's sample rate with a class index, a speaker and a file
name each. :func:`load_emodb` reads the EmoDB folder (``metadata.csv`` + ``wav/``).

This module imports only numpy and the standard library at the top; soundfile and soxr are
imported inside the functions that read audio.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import features as F
from .classifier import LABELS

__all__ = ["Corpus", "default_data_dir", "load_emodb"]


def default_data_dir() -> Path:
    """Where EmoDB is looked for when ``--data`` is not given.

    ``../shared/data/emodb`` relative to the current directory, else the ``shared`` folder
    next to the repository this package sits in.

    Returns
    -------
    pathlib.Path
        May not exist; callers check.

    Examples
    --------
    >>> default_data_dir().name
    'emodb'
    """
    cwd = Path.cwd().parent / "shared" / "data" / "emodb"
    if cwd.is_dir():
        return cwd
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "emodb"


@dataclass
class Corpus:
    """Clips at the model's sample rate, each with a class index, a speaker and a file name."""

    audio: list[np.ndarray]
    labels: np.ndarray  # int indices into LABELS
    speakers: np.ndarray  # str speaker ids
    files: list[str]


def load_emodb(data_dir, limit: int | None = None) -> Corpus:
    """Read EmoDB's ``metadata.csv`` and audio, resampled to the model rate.

    Parameters
    ----------
    data_dir : str or Path
        Folder with ``metadata.csv`` and ``wav/``.
    limit : int, optional
        Keep only every ``len/limit``-th clip (quick tests).

    Returns
    -------
    Corpus

    Examples
    --------
    >>> d = default_data_dir()
    >>> c = load_emodb(d, limit=5) if d.is_dir() else None
    >>> c is None or len(c.audio) == 5
    True
    """
    import soundfile as sf
    import soxr

    data_dir = Path(data_dir)
    with open(data_dir / "metadata.csv", newline="", encoding="utf-8") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: r["file"])
    if limit is not None and limit < len(rows):
        pick = np.linspace(0, len(rows) - 1, limit).round().astype(int)
        rows = [rows[i] for i in pick]
    audio, labels, speakers, files = [], [], [], []
    for r in rows:
        x, sr = sf.read(data_dir / r["file"], dtype="float32", always_2d=True)
        x = x.mean(axis=1)
        pad = float(r.get("zero_padded_s") or 0.0)
        if pad > 0:
            x = x[: max(int(round(len(x) - pad * sr)), 1)]
        if sr != F.SAMPLE_RATE:
            x = soxr.resample(x, sr, F.SAMPLE_RATE).astype(np.float32)
        audio.append(x)
        labels.append(LABELS.index(r["emotion"]))
        speakers.append(r["speaker"].zfill(2))
        files.append(r["file"])
    return Corpus(audio, np.array(labels), np.array(speakers), files)
