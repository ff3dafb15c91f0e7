"""Training corpora: EmoDB, CSV manifests of your own clips, label maps.

:class:`Corpus` holds clips at the model's sample rate with a class index, a speaker, a corpus
and a file name each. :func:`load_emodb` reads the EmoDB folder (``metadata.csv`` + ``wav/``);
:func:`load_manifest` reads a CSV manifest with the columns ``file,emotion,speaker`` and
optionally ``corpus`` (``file`` relative to the CSV); :func:`load_data` reads either and joins
several into one corpus. Labels are the data's own (a manifest's ``angry`` stays ``angry``);
:func:`read_label_map` reads a file that maps several corpora onto one vocabulary.

A manifest that cannot train a model (a missing column, a file that is not there, an empty
label, one speaker only, one class only) raises :class:`~emotion_analytics.errors.UsageError`
naming the manifest, the line and what to do.

This module imports only numpy and the standard library at the top; soundfile and soxr are
imported inside the functions that read audio.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UsageError
from . import features as F
from .classifier import LABELS

__all__ = [
    "MANIFEST_COLUMNS",
    "Corpus",
    "default_data_dir",
    "join_corpora",
    "load_data",
    "load_emodb",
    "load_manifest",
    "read_label_map",
]

#: The columns a manifest must have (``corpus`` is optional).
MANIFEST_COLUMNS = ("file", "emotion", "speaker")


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
    """Clips at the model's sample rate, each with a class index, a speaker and a file name.

    Attributes
    ----------
    audio : list of numpy.ndarray
        Mono float32 clips at the model's sample rate.
    labels : numpy.ndarray
        Class index of each clip, into :attr:`classes`.
    speakers : numpy.ndarray
        Speaker id of each clip (str).
    files : list of str
    classes : tuple of str
        Class names (default: the seven EmoDB labels).
    corpora : numpy.ndarray, optional
        Corpus name of each clip (default: all ``"emodb"``).
    """

    audio: list[np.ndarray]
    labels: np.ndarray  # int indices into classes
    speakers: np.ndarray  # str speaker ids
    files: list[str]
    classes: tuple[str, ...] = LABELS
    corpora: np.ndarray = field(default=None)  # str corpus names

    def __post_init__(self):
        if self.corpora is None:
            self.corpora = np.full(len(self.audio), "emodb")


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


def _read_audio(path: Path) -> np.ndarray:
    import soundfile as sf
    import soxr

    x, sr = sf.read(path, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != F.SAMPLE_RATE:
        x = soxr.resample(x, sr, F.SAMPLE_RATE).astype(np.float32)
    return x


def read_label_map(path) -> dict[str | None, dict[str, str]]:
    """Read a label map: source label -> target label, for all corpora or per corpus.

    A CSV file has the columns ``source,target`` and optionally ``corpus`` (empty: every
    corpus). A JSON file is either ``{"source": "target", ...}`` or
    ``{"corpus": {"source": "target", ...}, ...}``. Labels are compared case-insensitively.
    An empty target drops the clips of that label. Labels the map does not name stay as
    they are.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict
        Corpus name (``None``: every corpus) -> {lower-case source label: target label}.

    Raises
    ------
    UsageError
        The file is missing or not in one of these shapes.

    Examples
    --------
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "map.json"
    >>> _ = p.write_text(json.dumps({"ravdess": {"Angry": "anger"}, "calm": "neutral"}))
    >>> read_label_map(p)
    {'ravdess': {'angry': 'anger'}, None: {'calm': 'neutral'}}
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"label map {path}: no such file")
    out: dict[str | None, dict[str, str]] = {}
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise UsageError(f"label map {path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise UsageError(f"label map {path}: expected a JSON object of source -> target")
        for k, v in data.items():
            if isinstance(v, dict):
                out.setdefault(str(k), {}).update(
                    {str(a).strip().lower(): str(b).strip() for a, b in v.items()}
                )
            elif isinstance(v, str):
                out.setdefault(None, {})[str(k).strip().lower()] = v.strip()
            else:
                raise UsageError(
                    f"label map {path}: the value of {k!r} must be a label or an object "
                    "of source -> target labels for one corpus"
                )
        return out
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = [c.strip() for c in reader.fieldnames or []]
        if not {"source", "target"} <= set(cols):
            raise UsageError(
                f"label map {path}: needs the columns source,target (and optionally corpus); "
                f"found {','.join(cols) or 'none'}"
            )
        for row in reader:
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            corpus = row.get("corpus") or None
            out.setdefault(corpus, {})[row["source"].lower()] = row["target"]
    return out


def _map_label(label: str, corpus: str, label_map) -> str:
    if not label_map:
        return label
    key = label.lower()
    for scope in (corpus, None):
        if key in label_map.get(scope, {}):
            return label_map[scope][key]
    return label


def load_manifest(path, label_map=None, limit: int | None = None) -> Corpus:
    """Read a CSV manifest of labelled clips and their audio, resampled to the model rate.

    Parameters
    ----------
    path : str or Path
        CSV with the columns ``file,emotion,speaker`` and optionally ``corpus``; ``file`` is a
        path relative to the CSV's folder (or absolute). Without a ``corpus`` column the
        corpus is named after the CSV file (its stem).
    label_map : dict, optional
        From :func:`read_label_map`.
    limit : int, optional
        Keep only ``limit`` evenly spaced rows (quick trials).

    Returns
    -------
    Corpus
        ``classes`` are the sorted distinct labels (after the label map).

    Raises
    ------
    UsageError
        A missing column, a missing file, an empty label or speaker, or audio that cannot be
        read: the message names the manifest and the line.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "m.csv").write_text(chr(10).join(["file,emotion", "a.wav,angry"]))
    >>> load_manifest(d / "m.csv")
    Traceback (most recent call last):
    ...
    emotion_analytics.errors.UsageError: manifest ...m.csv: missing column speaker ...
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"manifest {path}: no such file (give a CSV or the EmoDB folder)")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = [(c or "").strip() for c in reader.fieldnames or []]
        missing = [c for c in MANIFEST_COLUMNS if c not in cols]
        if missing:
            raise UsageError(
                f"manifest {path}: missing column {', '.join(missing)} (a manifest needs "
                f"the header {','.join(MANIFEST_COLUMNS)}[,corpus]; found "
                f"{','.join(cols) or 'no header'})"
            )
        rows = [
            (i + 2, {(k or "").strip(): (v or "").strip() for k, v in r.items()})
            for i, r in enumerate(reader)
        ]
    if not rows:
        raise UsageError(f"manifest {path}: no rows under the header")
    if limit is not None and limit < len(rows):
        pick = np.linspace(0, len(rows) - 1, limit).round().astype(int)
        rows = [rows[i] for i in pick]
    kept = []
    for line, r in rows:
        where = f"manifest {path}, line {line}"
        for col in MANIFEST_COLUMNS:
            if not r.get(col):
                raise UsageError(f"{where}: empty {col} (every row needs a {col})")
        f = Path(r["file"])
        f = f if f.is_absolute() else path.parent / f
        if not f.is_file():
            raise UsageError(
                f"{where}: file {r['file']!r} not found (looked for {f}; paths are "
                "relative to the manifest's folder)"
            )
        corpus = r.get("corpus") or path.stem
        label = _map_label(r["emotion"], corpus, label_map)
        if label:  # an empty target in the label map drops the clip
            kept.append((line, f, label, r["speaker"], corpus, r["file"]))
    audio = []
    for line, f, *_ in kept:
        try:
            audio.append(_read_audio(f))
        except Exception as exc:  # soundfile raises several types for unreadable audio
            raise UsageError(
                f"manifest {path}, line {line}: cannot read audio {f} ({exc})"
            ) from None
    classes = tuple(sorted({k[2] for k in kept}))
    return Corpus(
        audio,
        np.array([classes.index(k[2]) for k in kept], dtype=int),
        np.array([k[3] for k in kept]),
        [k[5] for k in kept],
        classes,
        np.array([k[4] for k in kept]),
    )


def join_corpora(parts: list[Corpus]) -> Corpus:
    """One corpus from several; classes are the sorted union of their labels.

    When the parts hold more than one corpus name, speaker ids become ``corpus/speaker`` so
    that speaker ``01`` of one corpus is not speaker ``01`` of another.

    Parameters
    ----------
    parts : list of Corpus

    Returns
    -------
    Corpus

    Examples
    --------
    >>> import numpy as np
    >>> a = Corpus([np.zeros(4)], np.array([0]), np.array(["1"]), ["a"], ("calm",),
    ...            np.array(["A"]))
    >>> b = Corpus([np.zeros(4)], np.array([0]), np.array(["1"]), ["b"], ("angry",),
    ...            np.array(["B"]))
    >>> c = join_corpora([a, b])
    >>> c.classes, c.labels.tolist(), c.speakers.tolist()
    (('angry', 'calm'), [1, 0], ['A/1', 'B/1'])
    """
    if len(parts) == 1:
        return parts[0]
    classes = tuple(sorted({c for p in parts for c in p.classes}))
    corpora = np.concatenate([p.corpora for p in parts])
    speakers = np.concatenate([p.speakers for p in parts])
    if len(np.unique(corpora)) > 1:
        speakers = np.char.add(np.char.add(corpora.astype(str), "/"), speakers.astype(str))
    return Corpus(
        [x for p in parts for x in p.audio],
        np.concatenate([[classes.index(p.classes[i]) for i in p.labels] for p in parts]).astype(
            int
        ),
        speakers,
        [f for p in parts for f in p.files],
        classes,
        corpora,
    )


def load_data(sources, label_map=None, limit: int | None = None) -> Corpus:
    """Read one or more training sources (EmoDB folders or CSV manifests) into one corpus.

    Parameters
    ----------
    sources : list of str or Path
        Each an EmoDB folder (with ``metadata.csv``) or a CSV manifest.
    label_map : dict, optional
        From :func:`read_label_map`; applied to every source.
    limit : int, optional
        Keep only ``limit`` evenly spaced clips of each source.

    Returns
    -------
    Corpus

    Raises
    ------
    UsageError
        A source that is neither; a manifest that cannot be read; or data that cannot train
        a model (fewer than two speakers or two classes).
    """
    parts, names = [], []
    for src in sources:
        src = Path(src)
        if src.is_dir():
            if not (src / "metadata.csv").is_file():
                raise UsageError(
                    f"{src}: a folder must be EmoDB (metadata.csv + wav/); for your own clips "
                    "give a CSV manifest with the columns file,emotion,speaker[,corpus]"
                )
            part = load_emodb(src, limit=limit)
            if label_map:
                part = _relabel(part, label_map)
        else:
            part = load_manifest(src, label_map=label_map, limit=limit)
        parts.append(part)
        names.append(str(src))
    corpus = join_corpora(parts)
    what = ", ".join(names)
    if len(corpus.audio) == 0:
        raise UsageError(f"{what}: no clips (is every label mapped to an empty target?)")
    present = np.unique(corpus.labels)
    if len(present) < 2:
        raise UsageError(
            f"{what}: one class only ({corpus.classes[present[0]]!r}); a model needs clips of "
            "at least two emotions"
        )
    if len(np.unique(corpus.speakers)) < 2:
        raise UsageError(
            f"{what}: one speaker only ({str(corpus.speakers[0])!r}); training tunes on held-out "
            "speakers and needs clips of at least two"
        )
    return corpus


def _relabel(corpus: Corpus, label_map) -> Corpus:
    names = [
        _map_label(corpus.classes[i], str(c), label_map)
        for i, c in zip(corpus.labels, corpus.corpora, strict=True)
    ]
    keep = [i for i, n in enumerate(names) if n]
    classes = tuple(sorted({names[i] for i in keep}))
    return Corpus(
        [corpus.audio[i] for i in keep],
        np.array([classes.index(names[i]) for i in keep], dtype=int),
        corpus.speakers[keep],
        [corpus.files[i] for i in keep],
        classes,
        corpus.corpora[keep],
    )
