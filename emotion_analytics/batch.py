"""Many recordings in, one table out: the ``analyze`` command and `analyze_files`.

``emotion-analytics analyze FILES... -o table.csv --plot timeline.png`` runs an engine on
every file (in parallel with ``--jobs``, or as tasks on a Dask cluster with ``--scheduler``),
writes one table (CSV or Parquet by extension), draws a timeline, and prints a short summary
per file and speaker. A file that fails is reported at the end; the other files' results are
kept and written, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BatchResult", "analyze_files", "add_arguments", "run", "AUDIO_SUFFIXES"]

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
    from .recognition import recognise

    name = source_name(source)
    try:
        return name, recognise(source, engine=engine, turns=turns, **settings, **options), None
    except EmotionAnalyticsError as exc:
        return name, None, str(exc)
    except Exception as exc:  # a bug or an engine's own failure: report it, keep the others
        return name, None, f"unexpected {type(exc).__name__}: {exc}"


def analyze_files(
    sources: Iterable[Any],
    *,
    engine: Any = "local",
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
    import warnings

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


# --------------------------------------------------------------------------------------------
# command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``analyze`` sub-command's options."""
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="audio files, folders (their audio files) or glob patterns")
    parser.add_argument("-o", "--output", metavar="TABLE",
                        help="write the table here: .csv or .parquet")
    parser.add_argument("--plot", metavar="PNG", help="draw the emotion timeline into this image")
    parser.add_argument("--engine", default="local",
                        help="'local' (embedded model, default) or "
                             "'transformers:<model id or path>'")
    parser.add_argument("--window", type=float, default=3.0,
                        help="window length in seconds (default 3)")
    parser.add_argument("--hop", type=float, default=None,
                        help="step between windows in seconds (default: the window length)")
    parser.add_argument("--channels", choices=("mono", "speakers"), default="mono",
                        help="'speakers': one speaker per channel of a stereo call")
    parser.add_argument("--turns", nargs="+", metavar="RTTM", default=[],
                        help="speaker turns (RTTM files, e.g. from a diarizer): windows are cut "
                             "inside each speaker's turns and labelled with the speaker; a turn "
                             "file's recording name matches the audio file's name without "
                             "folder and extension")
    parser.add_argument("--adapt", choices=("auto", "on", "off"), default="auto",
                        help="adapt to each known speaker (--turns or --channels speakers): "
                             "'auto' (default) when the speaker's windows show a range of "
                             "emotions, 'on' always, 'off' never")
    parser.add_argument("--truth", nargs="+", metavar="CSV", default=[],
                        help="true labels (CSV: file,speaker,start,end,emotion, e.g. "
                             "data/*.truth.csv): print how far the answer agrees with them, "
                             "per file and speaker, weighted by time")
    parser.add_argument("--labels", choices=["deepaffects"], default=None,
                        help="map the engine's labels onto the hosted API's vocabulary "
                             "(anger, excited, frustration, happy, sad, neutral)")
    parser.add_argument("--merge", action="store_true",
                        help="merge adjacent windows with the same emotion")
    parser.add_argument("--keep-non-speech", action="store_true",
                        help="keep non-speech windows, with no emotion")
    parser.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                        help="files analysed in parallel (processes; default 1)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run files as tasks on this Dask scheduler (needs the dask extra)")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar and no summary")


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


def run(args: argparse.Namespace) -> int:
    """Run ``emotion-analytics analyze``; 0 if every file worked, 1 if any failed."""
    from .errors import EmotionAnalyticsError

    files = expand_files(args.files)
    if not files:
        raise EmotionAnalyticsError(f"no audio files found in {args.files}")
    if args.jobs < 1:
        raise EmotionAnalyticsError(f"--jobs must be at least 1, got {args.jobs}")
    show = not args.quiet and sys.stderr.isatty()
    turns = _read_turns(args.turns) if args.turns else None
    adapt = {"auto": "auto", "on": True, "off": False}[getattr(args, "adapt", "auto")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = analyze_files(
            files, engine=args.engine, channels=args.channels, window=args.window, hop=args.hop,
            merge=args.merge, speech_only=not args.keep_non_speech, jobs=args.jobs,
            scheduler=args.scheduler, progress=show, labels=args.labels, turns=turns,
            adapt=adapt,
        )
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    table = result.table
    for path in (args.output, args.plot):  # create out/ and the like, as users expect
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    if args.output:
        _write(table, args.output)
    if args.plot:
        _plot(table, args.plot)
    if not args.quiet:
        _print_summary(table, len(files) - len(result.failures))
        if args.output:
            print(f"table: {args.output} ({len(table)} segments)")
        if args.plot:
            print(f"timeline: {args.plot}")
    if args.truth:
        _print_agreement(table, args.truth, labels=args.labels, engine=args.engine)
    for name, message in result.failures.items():
        print(f"failed: {name}: {message}", file=sys.stderr)
    if result.failures:
        print(f"{len(result.failures)} of {len(files)} file(s) failed", file=sys.stderr)
        return 1
    return 0


def _read_turns(paths: Sequence[str]):
    """The speaker turns of these RTTM files, as one table."""
    import pandas as pd

    from . import io as table_io

    return pd.concat([table_io.read_rttm(p) for p in expand_files(paths)], ignore_index=True)


def _print_agreement(table, paths: Sequence[str], *, labels, engine) -> None:
    """Print how far the table agrees with the truth files, per file and speaker and overall."""
    import pandas as pd

    from .agreement import agreement, read_truth

    files = expand_files(paths)
    truth = pd.concat([read_truth(p) for p in files], ignore_index=True)
    per = agreement(table, truth, by=["file", "speaker"], labels=labels)
    overall = agreement(table, truth, by=None, labels=labels)
    overall.index = pd.MultiIndex.from_tuples([("all", "")], names=per.index.names)
    shown = pd.concat([per, overall])
    cols = ["seconds", "emotion_agreement"]
    if shown["arousal_agreement"].notna().any():
        cols.append("arousal_agreement")
    shown = shown[cols].rename(columns={"emotion_agreement": "emotion",
                                        "arousal_agreement": "arousal"})
    print(f"agreement with the truth ({', '.join(files)}): share of the true speech time "
          "labelled with the true emotion" + (" and arousal" if "arousal" in shown else ""))
    print(shown.round({"seconds": 1, "emotion": 2, "arousal": 2}).reset_index()
          .to_string(index=False))
    corpora = truth["corpus"].astype(str).str.lower() if "corpus" in truth else pd.Series()
    if engine == "local" and corpora.eq("emodb").any():
        print("note: these EmoDB speakers are in the embedded model's training data, so this "
              "agreement is optimistic; the leave-one-speaker-out numbers in MODEL_CARD.md are "
              "the estimate for voices it has never heard")


def _write(table, path: str) -> None:
    from . import io as table_io

    table_io.write_table(table, path)


def _plot(table, path: str) -> None:
    import numpy as np
    from matplotlib.figure import Figure

    lanes = max(1, table.groupby(["file", "speaker"], observed=True, dropna=False).ngroups)
    # each file's arousal per speaker under the emotions, when the engine gives arousal
    # (one panel per file, up to four)
    with_arousal = ([] if "arousal" not in table.columns else
                    [f for f, part in table.groupby("file", observed=True, sort=False)
                     if part["arousal"].notna().any()])
    panels = with_arousal if len(with_arousal) <= 4 else [None]
    heights = [1.2 + 0.45 * lanes] + [2.0] * len(panels) * bool(with_arousal)
    fig = Figure(figsize=(11, sum(heights)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(heights), 1, sharex=True, height_ratios=heights))
    ax = axes[0]
    if len(table):
        table.emotion.timeline(ax=ax)
        if with_arousal:
            from .plotting import dimension_timeline

            for f, low in zip(panels, axes[1:], strict=True):
                part = table if f is None else table[table["file"] == f]
                dimension_timeline(part, dimension="arousal", ax=low,
                                   title=None if f is None else str(f))
            for upper in axes[:-1]:
                upper.set_xlabel("")
    else:
        ax.text(0.5, 0.5, "no speech found", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    fig.savefig(path, dpi=120)


def _print_summary(table, n_files: int) -> None:
    if table.empty:
        print(f"{n_files} file(s) analysed: no speech found")
        return
    summary = table.emotion.summary()
    cols = ["seconds", "segments", "dominant", "dominant_share"]
    if "arousal" in summary.columns and summary["arousal"].notna().any():
        cols.append("arousal")  # the time-weighted mean: 0 calm ... 1 aroused
    with_speech = table["file"].nunique()
    print(f"{n_files} file(s) analysed, {with_speech} with speech:")
    shown = summary[cols].round({"seconds": 1, "dominant_share": 2, "arousal": 2}).reset_index()
    if "speaker" in shown.columns:  # a file analysed without speakers
        shown["speaker"] = shown["speaker"].astype(object).fillna("-")
    print(shown.to_string(index=False))
