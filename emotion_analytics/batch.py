"""Many recordings in, one table out: `analyze_files` and the public `recognise`.

`analyze_files` runs an engine over many recordings, here, in worker processes or as tasks on a
Dask cluster, and keeps going when some fail. `recognise` is the package's entry point for one
recording or many: a list goes through `analyze_files`, one recording through
`emotion_analytics.recognition.recognise`. This module imports `recognition`, never the other
way round. The ``analyze`` command that prints and draws is `emotion_analytics.commands.analyze`.

Sources may be local paths or URLs (`emotion_analytics.storage`). Local paths are made absolute
before they are sent to workers (the ``file`` column keeps them as given); a worker that cannot
read one says which worker and what to do. With ``output="DIR/"`` the workers write each
recording's rows as a Parquet part and the client only appends to the folder's manifest
(`emotion_analytics.results`), which also lets a run resume.
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
    output : str or None
        With ``analyze_files(..., output=DIR)``: the folder the parts went to; ``table`` is
        then ``None`` (read it with `emotion_analytics.read_results`).
    done, skipped : list of str
        With ``output=``: the files this run analysed, and those it skipped because the folder
        already held their results.
    """

    table: Any
    failures: dict[str, str] = field(default_factory=dict)
    #: With ``output=``: the folder, the files analysed by this run, those skipped as done.
    output: str | None = None
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failures


def _analyze_one(source: Any, engine: Any, settings: dict, options: dict, turns: Any = None,
                 name: str | None = None, sink: str | None = None):
    """Worker: ``(name, table or None, error message or None)``; never raises.

    ``name`` is the ``file`` value (the path as the user gave it; ``source`` may be its absolute
    form). With ``sink`` (an output folder) the table is written there as a part and a small
    dict ``{"rows", "part"}`` comes back in its place.
    """
    from .audio import source_name
    from .errors import EmotionAnalyticsError

    name = name or source_name(source)
    try:
        unreadable = _unreadable_here(source)
        if unreadable:
            return name, None, unreadable
        extra = {} if name == source_name(source) else {"file": name}
        table = _recognise_one(source, engine=engine, turns=turns, **settings, **extra,
                               **options)
    except EmotionAnalyticsError as exc:
        return name, None, str(exc)
    except Exception as exc:  # a bug or an engine's own failure: report it, keep the others
        return name, None, f"unexpected {type(exc).__name__}: {exc}"
    if sink is None:
        return name, table, None
    from .results import part_name, write_part

    part = None
    if len(table):
        part = part_name(os.fspath(source))
        try:
            write_part(table, sink, part)
        except OSError as exc:
            return name, None, (f"{_where()}cannot write the results to {sink} ({exc}); give -o "
                                "a folder every worker can write (shared storage)")
    return name, {"rows": len(table), "part": part}, None


def _where() -> str:
    """``"worker ADDRESS (host): "`` inside a Dask worker, else ``""``."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return ""
    import socket

    return f"worker {worker.address} ({socket.gethostname()}): "


def _unreadable_here(source: Any) -> str | None:
    """Why a worker cannot read a local absolute path, or None (it can, or it is no path)."""
    if not isinstance(source, str) or not os.path.isabs(source) or os.path.isdir(source):
        return None
    where = _where()
    if not where or os.access(source, os.R_OK):
        return None  # a local run reports a missing file as the decoder does
    why = "no such file" if not os.path.exists(source) else "no permission to read it"
    return (f"{where}cannot read {source}: {why} on that machine; put the audio on storage "
            "every worker mounts at the same path, or pass URLs the workers can reach "
            "(s3://, gs://, az://, https://; pip install 'emotion_analytics[cloud]')")


@functools.wraps(_recognise_one)
def recognise(source: Any, **settings: Any) -> pd.DataFrame:
    if isinstance(source, list) or (isinstance(source, tuple) and not _is_array_pair(source)):
        return _recognise_many(list(source), **settings)
    return _recognise_one(source, **settings)


def _recognise_many(sources: list, *, progress: Any = None, **settings: Any) -> pd.DataFrame:
    """One table over many recordings; raises when any failed (`analyze_files` does not)."""
    if not sources:
        raise BadAudioError("no recordings given: the list is empty")
    if "output" in settings:
        from .errors import UsageError

        raise UsageError("recognise returns the table; to write results into a folder use "
                         "analyze_files(sources, output=...), then read_results(folder)")
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
    output: str | os.PathLike | None = None,
    force: bool = False,
    **options: Any,
) -> BatchResult:
    """Run an engine over many recordings; keep going when some fail.

    Parameters
    ----------
    sources : iterable of paths or URLs (or other `recognise` sources)
        The recordings: local paths, URLs (``s3://``, ``gs://``, ``az://``, ``http(s)://``,
        ``file://``; see `emotion_analytics.storage`), or bytes. Local paths are sent to
        workers as absolute paths, so a cluster's workers need the same storage mounted at the
        same place (or use URLs); a worker that cannot read one fails that file with a message
        naming the worker. The ``file`` column keeps each path as given.
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
    output : path or URL, optional
        Write the results into this folder (or object storage: ``"s3://bucket/results/"``)
        instead of returning them: each worker writes its file's rows as one Parquet part, and
        this process appends a line per finished file to the folder's manifest
        (`emotion_analytics.results`); read it back with
        `emotion_analytics.read_results`. Files the folder already holds (same path, same size
        and mtime or ETag) are skipped, so running again after an interruption finishes the
        job. Needs paths or URLs as sources.
    force : bool
        With ``output``: analyse every file again, even those already done.
    **options
        Passed on to the engine.

    Returns
    -------
    BatchResult
        ``table`` (all files, in the order given; ``None`` with ``output``) and ``failures``
        (file -> message); with ``output``, also ``done`` and ``skipped``.

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
    from .audio import source_name
    from .storage import for_workers

    names = [source_name(s) for s in sources]
    sent = [for_workers(s) for s in sources]
    if output is not None:
        return _run_to_folder(sent, names, per_source, engine, settings, options, jobs,
                              scheduler, progress, output, force)
    tasks = list(zip(sent, names, per_source, strict=True))
    results: list[Any] = [None] * len(tasks)
    for i, outcome in _run(tasks, engine, settings, options, jobs, scheduler, progress, None):
        results[i] = outcome
    return _collect(results, engine)


def _run(tasks, engine, settings, options, jobs, scheduler, progress, sink):
    """``(index, (name, table or part info, error))`` for each task, as they finish."""
    if scheduler is not None:
        return _run_dask(tasks, engine, settings, options, scheduler, progress, sink)
    if jobs > 1 and len(tasks) > 1:
        return _run_processes(tasks, engine, settings, options, jobs, progress, sink)
    return _run_here(tasks, engine, settings, options, progress, sink)


def _run_to_folder(sent, names, per_source, engine, settings, options, jobs, scheduler,
                   progress, output, force) -> BatchResult:
    """Workers write parts into ``output``; here, only the manifest grows (see `results`)."""
    from .errors import UsageError
    from .results import Manifest
    from .storage import identity, is_url

    bad = [n for s, n in zip(sent, names, strict=True) if not isinstance(s, str)]
    if bad:
        raise UsageError(f"output= needs paths or URLs as sources, got {bad[0]!r}; pass files, "
                         "or leave output out to get the table back")
    text = os.fspath(output)
    folder = text.rstrip("/") if is_url(text) else os.path.abspath(text)
    manifest = Manifest(folder)
    previous = {} if force else manifest.entries()
    result = BatchResult(None, output=folder)
    tasks, ids = [], []
    for source, name, mine in zip(sent, names, per_source, strict=True):
        ident = identity(source)
        last = previous.get(source)
        if last and last.get("status") == "done" and last.get("identity") == ident:
            result.skipped.append(name)
            continue
        tasks.append((source, name, mine))
        ids.append(ident)
    for i, (name, info, error) in _run(tasks, engine, settings, options, jobs, scheduler,
                                       progress, folder):
        entry = {"source": tasks[i][0], "file": name, "identity": ids[i]}
        if error is None:
            manifest.append({**entry, "status": "done", **info})
            result.done.append(name)
        else:
            manifest.append({**entry, "status": "failed", "error": error})
            result.failures[name] = error
    return result


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
    from .analysis.speakers import _match_recordings
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


def _run_here(tasks, engine, settings, options, progress, sink):
    from .engines import get_engine

    engine = get_engine(engine)  # build once, fail early on a bad engine
    with _bar(len(tasks), progress) as bar:
        for i, (source, name, mine) in enumerate(tasks):
            yield i, _analyze_one(source, engine, settings, options, mine, name, sink)
            bar.update(1)


def _run_processes(tasks, engine, settings, options, jobs, progress, sink):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from .engines import get_engine

    get_engine(engine)  # fail early on a bad engine name, before starting workers
    context = multiprocessing.get_context("spawn")  # safe with threads, notebooks and torch
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context) as pool, \
            _bar(len(tasks), progress) as bar:
        futures = {pool.submit(_analyze_one, source, engine, settings, options, mine, name,
                               sink): i
                   for i, (source, name, mine) in enumerate(tasks)}
        for future in as_completed(futures):
            i = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # the worker process died
                outcome = (tasks[i][1], None, f"worker failed: {exc!r}")
            bar.update(1)
            yield i, outcome


#: Tasks a client keeps submitted to a Dask cluster at once, at least (more with more threads):
#: the client's memory stays flat in the number of files, the workers are never starved.
DASK_TASKS_IN_FLIGHT = 64


def _run_dask(tasks, engine, settings, options, scheduler, progress, sink):
    from .errors import require

    distributed = require("distributed", "dask")
    own = isinstance(scheduler, str)
    client = distributed.Client(scheduler) if own else scheduler
    try:
        n = len(tasks)
        if not n:
            return
        window = max(DASK_TASKS_IN_FLIGHT, 4 * sum(client.nthreads().values()))
        index: dict[str, int] = {}
        done = distributed.as_completed()

        def submit(i: int) -> None:
            source, name, mine = tasks[i]
            future = client.submit(_analyze_one, source, engine, settings, options, mine, name,
                                   sink, pure=False)
            index[future.key] = i
            done.add(future)

        for i in range(min(window, n)):
            submit(i)
        following = min(window, n)
        with _bar(n, progress) as bar:
            for future in done:
                i = index.pop(future.key)
                try:
                    outcome = future.result()
                except Exception as exc:  # e.g. KilledWorker
                    outcome = (tasks[i][1], None, f"task failed on the cluster: {exc!r}")
                future.release()  # the client keeps no result it has handed on
                if following < n:
                    submit(following)
                    following += 1
                bar.update(1)
                yield i, outcome
    finally:
        if own:
            client.close()


def _collect(results, engine) -> BatchResult:
    import pandas as pd

    from .schema import PROB_PREFIX, empty_frame, normalize

    tables = [t for _, t, _ in results if t is not None]
    failures = {name: err for name, _, err in results if err is not None}
    if not tables:
        return BatchResult(empty_frame(), failures)
    non_empty = [t for t in tables if len(t)]
    if not non_empty:
        return BatchResult(tables[0], failures)
    if len(non_empty) == 1:
        return BatchResult(non_empty[0], failures)
    table = normalize(pd.concat(non_empty, ignore_index=True))
    probs = list(dict.fromkeys(c for t in non_empty for c in t.columns
                               if c.startswith(PROB_PREFIX)))
    table = table[[c for c in table.columns if c not in probs] + probs]
    return BatchResult(table, failures)


def expand_files(patterns: Sequence[str]) -> list[str]:
    """Paths from command-line arguments: folders give their audio files, globs expand.

    URLs work the same way (``s3://bucket/calls/*.wav``, ``gs://bucket/calls/``; see
    `emotion_analytics.storage.expand_url`); ``file://`` URLs become local paths.

    >>> expand_files(["no/such/file.wav", "file:///srv/a.wav"])
    ['no/such/file.wav', '/srv/a.wav']
    """
    from .storage import expand_url, is_url, local_path

    out: list[str] = []
    for pattern in patterns:
        pattern = os.fspath(pattern)
        if is_url(pattern):
            out += expand_url(pattern, AUDIO_SUFFIXES)
            continue
        pattern = local_path(pattern)
        if os.path.isdir(pattern):
            out += sorted(str(p) for p in Path(pattern).iterdir()
                          if p.is_file() and p.name.lower().endswith(AUDIO_SUFFIXES))
        elif glob.has_magic(pattern) and not os.path.exists(pattern):
            out += sorted(glob.glob(pattern))
        else:
            out.append(pattern)  # a missing file is reported as that file's failure
    return out
