"""The ``loom`` command line: one subcommand per task, results on stdout.

Each subcommand lives in the module that owns its work and registers itself through a
``register(subparsers)`` function that sets ``handler`` on its parser. Messages go to
stderr. Exit status: 0 on success, 1 when a `LoomError` is reported, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from loom.exceptions import LoomError

__all__ = ["main"]

# Modules that provide a `register(subparsers)` function, in the order of `loom --help`.
COMMAND_MODULES: tuple[str, ...] = (
    "loom.evolve.commands",
    "loom.crystal.commands",
    "loom.reason.commands",
    "loom.bench",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="loom",
        description=(
            "Discover readable logical constraints in data, freeze the reliable ones "
            "and reason over them."
        ),
    )
    from loom import __version__

    parser.add_argument("--version", action="version", version=f"loom {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default ``sys.argv[1:]``) and return the exit
    status."""
    parser = build_parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    handler = getattr(arguments, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(handler(arguments) or 0)
    except LoomError as error:
        print(f"loom: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("loom: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout (such as `head`) stopped early: not an error of ours.
        # Point stdout at /dev/null so that the flush at exit raises nothing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def run() -> None:
    """Entry point of the ``loom`` script."""
    sys.exit(main())
