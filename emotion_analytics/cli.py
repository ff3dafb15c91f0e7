"""The ``emotion-analytics`` command line: ``analyze``, ``serve`` and ``train``.

Each sub-command is a module of `emotion_analytics.commands` (argument parsing, printing and
exit codes); the work is done by the library. This file only wires them up. The command
modules keep their top-level imports light so that ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from .errors import EmotionAnalyticsError

#: sub-command -> (module with ``add_arguments(parser)`` and ``run(args) -> int``, help line)
COMMANDS = {
    "analyze": ("emotion_analytics.commands.analyze",
                "analyse audio files into an emotion table and plots"),
    "serve": ("emotion_analytics.commands.serve", "run the DeepAffects-compatible emotion API"),
    "train": ("emotion_analytics.commands.train", "train or evaluate the embedded emotion model"),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="emotion-analytics",
        description="Who felt what, when, and for how long, in your recordings.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        mod = import_module(module)
        mod.add_arguments(cmd)
        cmd.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``emotion-analytics`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except EmotionAnalyticsError as exc:
        print(f"emotion-analytics {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `emotion-analytics analyze ... | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
