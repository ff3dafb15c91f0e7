"""The command-line commands: argument parsing, printing and exit codes.

Each module holds one sub-command of ``emotion-analytics`` with ``add_arguments(parser)`` and
``run(args) -> int``; the library functions they call live in the library modules.
"""
