"""The ``loom audit`` command: export, verify and show the history of a crystal store.

The commands open an existing store and never create one. Results go to stdout (or
the file given with ``--out``); errors are reported by `loom.cli` with exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from loom.crystal.audit import EXPORT_FORMATS, export, export_file, show
from loom.crystal.store import CrystalStore
from loom.crystal.verification import verify

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``loom audit`` and its actions ``export``, ``verify`` and ``show``."""
    parser = subparsers.add_parser(
        "audit",
        help="export, verify or show the history of a crystal store",
        description="Export, verify or show the history of a crystal store.",
    )
    parser.set_defaults(handler=_print_help(parser))
    actions = parser.add_subparsers(title="actions", metavar="ACTION")

    export_parser = actions.add_parser(
        "export",
        help="write the audit trail as JSON lines, CSV or Markdown",
        description=(
            "Write the whole history, or one crystal's, in log order. The same store "
            "always gives the same bytes."
        ),
    )
    export_parser.add_argument("store", metavar="STORE", help="path of the store file")
    export_parser.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        default="jsonl",
        help=(
            "jsonl: one event per line; csv: one row per evidence record; md: a "
            "report per crystal (default: jsonl)"
        ),
    )
    export_parser.add_argument(
        "--id", metavar="ID", help="export only this crystal (id or unique prefix)"
    )
    export_parser.add_argument(
        "--out",
        metavar="FILE",
        help="write to FILE, replaced only once complete (default: stdout)",
    )
    export_parser.set_defaults(handler=_export)

    verify_parser = actions.add_parser(
        "verify",
        help="recompute every hash and id; exit 1 if anything was changed",
        description=(
            "Recompute every hash and id from the stored text. Prints one line and "
            "exits 0 when the store is intact; otherwise prints the problems, the "
            "first bad event first, and exits 1."
        ),
    )
    verify_parser.add_argument("store", metavar="STORE", help="path of the store file")
    verify_parser.add_argument(
        "--head",
        metavar="HASH",
        help="head hash from an earlier verify; finds events cut from the end",
    )
    verify_parser.set_defaults(handler=_verify)

    show_parser = actions.add_parser(
        "show",
        help="print one crystal with its evidence and events",
        description="Print one crystal's provenance, evidence per scenario and events.",
    )
    show_parser.add_argument("store", metavar="STORE", help="path of the store file")
    show_parser.add_argument("id", metavar="ID", help="crystal id or unique prefix")
    show_parser.set_defaults(handler=_show)


def _print_help(parser: argparse.ArgumentParser) -> Any:
    def handler(arguments: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return handler


def _export(arguments: argparse.Namespace) -> int:
    with CrystalStore(arguments.store, create=False) as store:
        if arguments.out is None:
            export(store, sys.stdout, format=arguments.format, crystal=arguments.id)
        else:
            export_file(
                store, arguments.out, format=arguments.format, crystal=arguments.id
            )
    return 0


def _verify(arguments: argparse.Namespace) -> int:
    with CrystalStore(arguments.store, create=False) as store:
        result = verify(store, expected_head=arguments.head)
    print(result.summary())
    if result.ok:
        return 0
    problems = sorted(
        result.problems, key=lambda problem: (problem.seq is None, problem.seq or 0)
    )
    for problem in problems:
        print(f"  {problem}")
    return 1


def _show(arguments: argparse.Namespace) -> int:
    with CrystalStore(arguments.store, create=False) as store:
        sys.stdout.write(show(store, arguments.id))
    return 0
