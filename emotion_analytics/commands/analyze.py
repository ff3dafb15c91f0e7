"""The ``emotion-analytics analyze`` sub-command: its options, printing and exit code.

``emotion-analytics analyze FILES... -o table.csv --plot timeline.png`` runs an engine on
every file (in parallel with ``--jobs``, or as tasks on a Dask cluster with ``--scheduler``,
``DASK_SCHEDULER_ADDRESS`` or Dask's configuration), writes one table (CSV or Parquet by
extension), draws a timeline, and prints a short summary per file and speaker. FILES may be
URLs (``s3://bucket/calls/*.wav``). ``-o DIR/`` writes one Parquet part per file from the
workers and a ``_manifest`` instead (`emotion_analytics.results`); running the same command
again then skips the files already done (``--force`` redoes them). A file that fails is
reported at the end; the other files' results are kept and written, and the exit code is 1.

The work is `emotion_analytics.batch.analyze_files`; this module only parses, prints and
draws. Its imports are light, so ``--help`` is instant.

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_arguments(parser)
>>> parser.parse_args(["a.wav", "--turns", "a.rttm", "--jobs", "2"]).jobs
2
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from ..errors import EmotionAnalyticsError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``analyze`` sub-command's options."""
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="audio files, folders (their audio files) or glob patterns")
    parser.add_argument("-o", "--output", metavar="TABLE",
                        help="write the table here: .csv or .parquet; or a folder (ending in "
                             "'/', e.g. out/ or out.parquet/): one Parquet part per file "
                             "written by the workers and a _manifest; running again skips "
                             "the files already there")
    parser.add_argument("--force", action="store_true",
                        help="with -o DIR/: analyse again the files the folder already holds")
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
                        help="run files as tasks on this Dask scheduler (needs the dask extra); "
                             "default: DASK_SCHEDULER_ADDRESS or Dask's configuration "
                             "(scheduler-address), if set; 'local' runs here")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar and no summary")


def run(args: argparse.Namespace) -> int:
    """Run ``emotion-analytics analyze``; 0 if every file worked, 1 if any failed."""
    from ..batch import analyze_files, expand_files

    check_options(args)  # before any work: a bad -o or --hop is not found after the analysis
    for path, why in broken_entries(args.files):
        print(f"skipped: {path}: {why}", file=sys.stderr)
    files = expand_files(args.files)
    if not files:
        raise EmotionAnalyticsError(f"no audio files found in {args.files}")
    show = not args.quiet and sys.stderr.isatty()
    scheduler = default_scheduler(args.scheduler, quiet=args.quiet)
    from ..results import is_output_folder

    folder = args.output if args.output and is_output_folder(args.output) else None
    turns = args.turns or None  # RTTM paths: analyze_files reads them
    adapt = {"auto": "auto", "on": True, "off": False}[getattr(args, "adapt", "auto")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = analyze_files(
            files, engine=args.engine, channels=args.channels, window=args.window, hop=args.hop,
            merge=args.merge, speech_only=not args.keep_non_speech, jobs=args.jobs,
            scheduler=scheduler, progress=show, labels=args.labels, turns=turns,
            adapt=adapt, output=folder, force=getattr(args, "force", False),
        )
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    if folder:
        return _report_folder(result, args, len(files))
    table = result.table
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
    return _finish(table, result, args, len(files))


#: Windows start at most this often: ``--hop`` below it would make one window per few samples.
MIN_HOP_SECONDS = 0.05
#: The longest window (``--window``) in seconds.
MAX_WINDOW_SECONDS = 600.0


def check_options(args: argparse.Namespace) -> None:
    """Refuse options that cannot work, before any file is read.

    Checks ``--window``, ``--hop`` (at most 1 / `MIN_HOP_SECONDS` windows per second of
    audio), ``--jobs``, and that ``-o`` and ``--plot`` have a known extension and a folder that
    exists (or can be made) and is writable; the folders are made here.

    >>> ns = argparse.Namespace(window=3.0, hop=0.0001, jobs=1, output=None, plot=None)
    >>> check_options(ns)
    Traceback (most recent call last):
    ...
    emotion_analytics.errors.EmotionAnalyticsError: --hop 0.0001 is too small: ...
    """
    window, hop = args.window, args.hop
    if not (math.isfinite(window) and 0 < window <= MAX_WINDOW_SECONDS):
        raise EmotionAnalyticsError(
            f"--window must be more than 0 and at most {MAX_WINDOW_SECONDS:g} seconds, got "
            f"{window:g}; the default is 3")
    if hop is not None and not (math.isfinite(hop) and hop >= MIN_HOP_SECONDS):
        raise EmotionAnalyticsError(
            f"--hop {hop:g} is too small: windows may start at most every "
            f"{MIN_HOP_SECONDS:g} s ({1 / MIN_HOP_SECONDS:g} windows per second of audio); "
            "leave it out for windows end to end, or use e.g. --hop 1")
    if args.jobs < 1:
        raise EmotionAnalyticsError(f"--jobs must be at least 1, got {args.jobs}")
    from ..results import is_output_folder

    if args.output and is_output_folder(args.output):
        _check_output_folder(args.output)
    elif args.output:
        from ..io.tables import _table_kind

        try:
            _table_kind(Path(args.output))
        except EmotionAnalyticsError as exc:
            raise EmotionAnalyticsError(f"-o {args.output}: {exc}") from None
        _check_writable(args.output, "-o")
    if args.plot:
        from matplotlib.figure import Figure

        kinds = Figure().canvas.get_supported_filetypes()
        suffix = Path(args.plot).suffix.lower().lstrip(".")
        if suffix not in kinds:
            raise EmotionAnalyticsError(
                f"--plot {args.plot}: unknown image extension {suffix or '(none)'!r}; use one of "
                f"{', '.join(sorted(kinds))} (e.g. .png)")
        _check_writable(args.plot, "--plot")


def _check_output_folder(path: str) -> None:
    from ..storage import is_url

    if is_url(path):  # object storage: the workers write there; its package must be here
        from ..storage import filesystem

        filesystem(path)
        return
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmotionAnalyticsError(f"-o {path}: cannot make the folder ({exc.strerror or exc}); "
                                    "choose a writable place") from None
    if not os.access(path, os.W_OK):
        raise EmotionAnalyticsError(f"-o {path}: the folder is not writable; choose another")


def _check_writable(path: str, option: str) -> None:
    folder = Path(path).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmotionAnalyticsError(
            f"{option} {path}: cannot make its folder {str(folder)!r} ({exc.strerror or exc}); "
            "choose a writable place") from None
    if Path(path).is_dir() or not os.access(folder, os.W_OK):
        raise EmotionAnalyticsError(
            f"{option} {path}: " + ("is a folder" if Path(path).is_dir() else
                                    f"the folder {str(folder)!r} is not writable")
            + "; choose a writable file name")


def broken_entries(patterns: Sequence[str]) -> list[tuple[str, str]]:
    """Entries of the given folders that cannot be read: broken symbolic links.

    >>> broken_entries([])
    []
    """
    out = []
    for pattern in patterns:
        if os.path.isdir(pattern):
            for entry in sorted(Path(pattern).iterdir()):
                if entry.is_symlink() and not entry.exists():
                    out.append((str(entry), f"a broken symbolic link (to "
                                            f"{os.readlink(entry)!r}, which does not exist)"))
    return out


def default_scheduler(given: str | None, *, quiet: bool = True) -> str | None:
    """The Dask scheduler to run on: ``--scheduler``, else ``DASK_SCHEDULER_ADDRESS`` or Dask's
    configuration (``scheduler-address``); ``None`` (and ``--scheduler local``): run here.

    >>> default_scheduler("tcp://10.0.0.5:8786"), default_scheduler("local")
    ('tcp://10.0.0.5:8786', None)
    """
    if given:
        return None if given == "local" else given
    address = os.environ.get("DASK_SCHEDULER_ADDRESS")
    origin = "DASK_SCHEDULER_ADDRESS"
    if not address:
        import importlib.util

        if importlib.util.find_spec("dask") is None:
            return None
        import dask.config

        address, origin = dask.config.get("scheduler-address", None), "Dask's configuration"
    if address and not quiet:
        print(f"running on the Dask scheduler {address} (from {origin}; --scheduler local "
              "runs here)", file=sys.stderr)
    return address or None


def _report_folder(result, args: argparse.Namespace, n_files: int) -> int:
    """Print what a run into an output folder did; the table is read only for --plot/--truth."""
    table = None
    if args.plot or args.truth:
        from ..results import read_results

        table = read_results(result.output)
    if args.plot:
        _plot(table, args.plot)
    if not args.quiet:
        print(f"{len(result.done)} file(s) analysed, {len(result.skipped)} already in "
              f"{args.output} (skipped; --force analyses them again), "
              f"{len(result.failures)} failed")
        print(f"results: {result.output} (parts and their manifest; read with "
              "emotion_analytics.read_results)")
        if args.plot:
            print(f"timeline: {args.plot}")
    return _finish(table, result, args, n_files)


def _finish(table, result, args: argparse.Namespace, n_files: int) -> int:
    """Agreement with --truth, the failures on stderr, and the exit code (1: some failed)."""
    if args.truth:
        _print_agreement(table, args.truth, labels=args.labels, engine=args.engine)
    for name, message in result.failures.items():
        print(f"failed: {name}: {message}", file=sys.stderr)
    if result.failures:
        print(f"{len(result.failures)} of {n_files} file(s) failed", file=sys.stderr)
        return 1
    return 0


def _print_agreement(table, paths: Sequence[str], *, labels, engine) -> None:
    """Print how far the table agrees with the truth files, per file and speaker and overall."""
    import pandas as pd

    from ..agreement import agreement, read_truth
    from ..batch import expand_files

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
    trained_on_emodb = {"local": "the embedded model's", "encoder": "the encoder heads'"}
    if engine in trained_on_emodb and corpora.eq("emodb").any():
        print(f"note: these EmoDB speakers are in {trained_on_emodb[engine]} training data, so "
              "this agreement is optimistic; the leave-one-speaker-out numbers in MODEL_CARD.md "
              "are the estimate for voices it has never heard")


def _write(table, path: str) -> None:
    from .. import io as table_io

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
            from ..plotting import dimension_timeline

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
