"""Many recordings in, one table out: `analyze_files` and the public `recognise`.

`analyze_files` runs an engine over many recordings, here, in worker processes or as tasks on a
Dask cluster, and keeps going when some fail. `recognise` is the package's entry point for one
recording or many: a list goes through `analyze_files`, one recording through
`emotion_analytics.recognition.recognise`. This module imports `recognition`, never the other
way round. The ``analyze`` command that prints and draws is `emotion_analytics.commands.analyze`.
"""

from __future__ import annotations

import functools
import glob
import os
import sys
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .audio import AudioSource
from .engines.base import Engine
from .errors import BadAudioError
from .recognition import _is_array_pair
from .recognition import recognise as _recognise_one

__all__ = ["BatchResult", "analyze_files", "recognise", "expand_files", "AUDIO_SUFFIXES"]

#: File name endings taken from a folder given on the command line.
AUDIO_SUFFIXES = (
    ".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".mp4", ".aac", ".webm", ".mkv",
    ".aiff", ".aif", ".caf", ".au", ".amr",
)


@dataclass
class BatchResult:
    """The outcome of `analyze_files`.

    Attributes
    ----------
    table : pandas.DataFrame
        One segment table over every file that worked.
    failures : dict of str to str
        File -> what went wrong, for every file that failed.
    """

    table: Any
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failures


def _analyze_one(source: Any, engine: Any, settings: dict, options: dict, turns: Any = None):
    """Worker: ``(name, table or None, error message or None)``; never raises."""
    from .audio import source_name
    from .errors import EmotionAnalyticsError

    name = source_name(source)
    try:
        return name, _recognise_one(source, engine=engine, turns=turns, **settings, **options), None
    except EmotionAnalyticsError as exc:
        return name, None, str(exc)
    except Exception as exc:  # a bug or an engine's own failure: report it, keep the others
        return name, None, f"unexpected {type(exc).__name__}: {exc}"


@functools.wraps(_recognise_one)
def recognise(source: Any, **settings: Any) -> pd.DataFrame:
    if isinstance(source, list) or (isinstance(source, tuple) and not _is_array_pair(source)):
        return _recognise_many(list(source), **settings)
    return _recognise_one(source, **settings)


def _recognise_many(sources: list, *, progress: Any = None, **settings: Any) -> pd.DataFrame:
    """One table over many recordings; raises when any failed (`analyze_files` does not)."""
    if not sources:
        raise BadAudioError("no recordings given: the list is empty")
    result = analyze_files(sources, progress=bool(progress), **settings)
    if result.failures:
        listed = "; ".join(f"{k}: {v}" for k, v in list(result.failures.items())[:3])
        more = "" if len(result.failures) <= 3 else f" (and {len(result.failures) - 3} more)"
        raise BadAudioError(
            f"{len(result.failures)} of {len(sources)} recordings failed: {listed}{more}. "
            "Use emotion_analytics.analyze_files() to keep the other files' results."
        )
    return result.table


def analyze_files(
    sources: Iterable[AudioSource | np.ndarray],
    *,
    engine: str | Engine = "local",
    channels: str = "mono",
    window: float = 3.0,
    hop: float | None = None,
    merge: bool = False,
    speech_only: bool = True,
    jobs: int = 1,
    scheduler: Any = None,
    progress: bool = False,
    turns: Any = None,
    adapt: Any = "auto",
    **options: Any,
) -> BatchResult:
    """Run an engine over many recordings; keep going when some fail.

    Parameters
    ----------
    sources : iterable of paths (or other `recognise` sources)
        The recordings. With ``jobs > 1`` or a ``scheduler`` they must be paths the workers
        can read (a shared file system for a remote cluster), or bytes.
    engine : str or engine object
        As in `emotion_analytics.recognise`. An engine object is sent to the workers
        (the built-in engines send how to rebuild themselves, not their weights).
    channels, window, hop, merge, speech_only, adapt
        As in `emotion_analytics.recognise`.
    turns : pandas.DataFrame, path or list of paths, optional
        Speaker turns (a table with ``speaker, start, end`` and ``file``, or RTTM files):
        each recording gets the turns whose ``file`` names it (exactly, or by recording name
        without folders and extension) and is analysed inside them
        (``recognise(..., turns=...)``). Turns without a ``file`` apply to every recording; a
        recording no turn names is analysed without speakers (a warning says which).
    jobs : int
        Worker processes on this machine (1: run here, in this process).
    scheduler : dask.distributed.Client or str, optional
        Run each file as a task on this Dask cluster (a client, or a scheduler address such
        as ``"tcp://10.0.0.5:8786"``); needs the ``dask`` extra. Overrides ``jobs``.
    progress : bool
        Show a progress bar over files.
    **options
        Passed on to the engine.

    Returns
    -------
    BatchResult
        ``table`` (all files, in the order given) and ``failures`` (file -> message).

    Examples
    --------
    >>> import io, numpy as np, soundfile as sf
    >>> buf = io.BytesIO()
    >>> sf.write(buf, np.zeros(16000, np.float32), 16000, format="WAV")
    >>> result = analyze_files([buf.getvalue(), b"not audio"])
    >>> len(result.table), list(result.failures)
    (0, ['<9 bytes>'])
    """
    sources = list(sources)
    settings = dict(channels=channels, window=window, hop=hop, merge=merge,
                    speech_only=speech_only, adapt=adapt)
    per_source = _split_turns(sources, turns)
    if scheduler is not None:
        results = _run_dask(sources, engine, settings, options, scheduler, progress, per_source)
    elif jobs > 1 and len(sources) > 1:
        results = _run_processes(sources, engine, settings, options, jobs, progress, per_source)
    else:
        results = _run_here(sources, engine, settings, options, progress, per_source)
    return _collect(results, engine)


def _split_turns(sources: list, turns: Any) -> list:
    """Each source's own speaker turns (None: no turns for it)."""
    import pandas as pd

    if turns is None:
        return [None] * len(sources)
    if isinstance(turns, (str, os.PathLike)) or (
            isinstance(turns, (list, tuple)) and all(isinstance(t, (str, os.PathLike))
                                                     for t in turns)):
        from .io import read_rttm

        paths = [turns] if isinstance(turns, (str, os.PathLike)) else list(turns)
        turns = pd.concat([read_rttm(p) for p in expand_files([os.fspath(p) for p in paths])],
                          ignore_index=True)
    if not isinstance(turns, pd.DataFrame):
        from .errors import EmotionAnalyticsError

        raise EmotionAnalyticsError(
            f"turns must be a table with speaker, start, end (and file) or RTTM paths, got "
            f"{type(turns).__name__}"
        )
    if "file" not in turns.columns or not turns["file"].notna().any():
        return [turns] * len(sources)
    from .analysis import _match_recordings
    from .audio import source_name

    names = pd.Index([source_name(s) for s in sources])
    hit = _match_recordings(names, turns["file"].astype(str).to_numpy(dtype=object))
    out = []
    for i, name in enumerate(names):
        mine = turns[hit == i]
        if mine.empty:
            warnings.warn(f"no speaker turns name {name!r}: it is analysed without speakers",
                          stacklevel=3)
            out.append(None)
        else:
            out.append(mine.reset_index(drop=True))
    return out


def _bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="file", disable=not enabled, file=sys.stderr)


def _run_here(sources, engine, settings, options, progress, turns):
    from .engines import get_engine

    engine = get_engine(engine)  # build once, fail early on a bad engine
    out = []
    with _bar(len(sources), progress) as bar:
        for source, mine in zip(sources, turns, strict=True):
            out.append(_analyze_one(source, engine, settings, options, mine))
            bar.update(1)
    return out


def _run_processes(sources, engine, settings, options, jobs, progress, turns):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from .engines import get_engine

    get_engine(engine)  # fail early on a bad engine name, before starting workers
    context = multiprocessing.get_context("spawn")  # safe with threads, notebooks and torch
    results: list[Any] = [None] * len(sources)
    with ProcessPoolExecutor(max_workers=min(jobs, len(sources)), mp_context=context) as pool, \
            _bar(len(sources), progress) as bar:
        futures = {pool.submit(_analyze_one, s, engine, settings, options, turns[i]): i
                   for i, s in enumerate(sources)}
        for future in as_completed(futures):
            i = futures[future]
            try:
                results[i] = future.result()
            except Exception as exc:  # the worker process died
                results[i] = (_name(sources[i]), None, f"worker failed: {exc!r}")
            bar.update(1)
    return results


def _run_dask(sources, engine, settings, options, scheduler, progress, turns):
    from .errors import require

    distributed = require("distributed", "dask")
    own = isinstance(scheduler, str)
    client = distributed.Client(scheduler) if own else scheduler
    try:
        n = len(sources)
        futures = client.map(_analyze_one, sources, [engine] * n, [settings] * n,
                             [options] * n, turns, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(sources)
        with _bar(len(sources), progress) as bar:
            for future in distributed.as_completed(futures):
                i = index[future.key]
                try:
                    results[i] = future.result()
                except Exception as exc:  # e.g. KilledWorker
                    results[i] = (_name(sources[i]), None, f"task failed on the cluster: {exc!r}")
                bar.update(1)
        return results
    finally:
        if own:
            client.close()


def _name(source: Any) -> str:
    from .audio import source_name

    return source_name(source)


def _collect(results, engine) -> BatchResult:
    import pandas as pd

    from .schema import PROB_PREFIX, empty_frame, normalise

    tables = [t for _, t, _ in results if t is not None]
    failures = {name: err for name, _, err in results if err is not None}
    if not tables:
        return BatchResult(empty_frame(), failures)
    non_empty = [t for t in tables if len(t)]
    if not non_empty:
        return BatchResult(tables[0], failures)
    if len(non_empty) == 1:
        return BatchResult(non_empty[0], failures)
    table = normalise(pd.concat(non_empty, ignore_index=True))
    probs = list(dict.fromkeys(c for t in non_empty for c in t.columns
                               if c.startswith(PROB_PREFIX)))
    table = table[[c for c in table.columns if c not in probs] + probs]
    return BatchResult(table, failures)


def expand_files(patterns: Sequence[str]) -> list[str]:
    """Paths from command-line arguments: folders give their audio files, globs expand.

    >>> expand_files(["no/such/file.wav"])
    ['no/such/file.wav']
    """
    out: list[str] = []
    for pattern in patterns:
        if os.path.isdir(pattern):
            out += sorted(str(p) for p in Path(pattern).iterdir()
                          if p.is_file() and p.name.lower().endswith(AUDIO_SUFFIXES))
        elif glob.has_magic(pattern) and not os.path.exists(pattern):
            out += sorted(glob.glob(pattern))
        else:
            out.append(pattern)  # a missing file is reported as that file's failure
    return out
