"""The ``loom query`` command: reasoning over a crystal store or a rules file."""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from loom.exceptions import DataFileNotFoundError, InvalidParameterError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``loom query`` to the command line."""
    parser = subparsers.add_parser(
        "query",
        help="ask what follows from facts, by the crystals of a store or a rules file",
        description=(
            "Answer a reasoning query over the active crystals of a store (or the "
            "rules of a file written by RuleSet.save). Without --entails or "
            "--complete it checks that the facts are consistent with the knowledge "
            "and lists every value they force, each with its explanation."
        ),
    )
    parser.add_argument("source", metavar="STORE", help="crystal store or rules file")
    parser.add_argument(
        "facts",
        nargs="?",
        default="",
        help='facts in the constraint language, e.g. "tl = x and tm = x"',
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--entails", metavar="GOAL", help="ask whether GOAL follows")
    mode.add_argument(
        "--complete",
        action="store_true",
        help="the most plausible full case (weights: crystal confidence)",
    )
    mode.add_argument(
        "--classify",
        metavar="FEATURE",
        help="the values of FEATURE the facts still allow, and the forced one",
    )
    parser.add_argument(
        "--schema",
        metavar="FINGERPRINT",
        help="schema fingerprint (or prefix) when the store's crystals use several",
    )
    parser.add_argument(
        "--conflicts",
        type=_positive(int),
        default=None,
        metavar="N",
        help="budget: solver conflicts per query, >= 1 (default: none)",
    )
    parser.add_argument(
        "--seconds",
        type=_positive(float),
        default=None,
        metavar="S",
        help="budget: seconds per query, > 0 (default: none)",
    )
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    parser.set_defaults(handler=run)


def _positive(kind: type) -> Any:
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value <= 0:
            msg = f"must be a number > 0, got {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return value

    return convert


def run(arguments: argparse.Namespace) -> int:
    """Open the knowledge, run the query and print its answer."""
    from loom.reason import Budget, KnowledgeBase
    from loom.reason.format import answer_to_json, format_answer

    path = Path(arguments.source)
    if not path.exists():
        msg = f"{str(path)!r} not found: give a crystal store or a rules file."
        raise DataFileNotFoundError(msg)
    budget = None
    if arguments.conflicts is not None or arguments.seconds is not None:
        budget = Budget(conflicts=arguments.conflicts, seconds=arguments.seconds)
    with ExitStack() as stack:
        knowledge, schema = _open(path, arguments.schema, stack)
        kb = stack.enter_context(KnowledgeBase(knowledge, schema, budget=budget))
        facts = arguments.facts or None
        if arguments.entails:
            answers = [kb.entails(facts, arguments.entails)]
        elif arguments.complete:
            answers = [kb.complete(facts)]
        elif arguments.classify:
            answers = [kb.classify(facts, arguments.classify)]
        else:
            answers = [kb.check(facts), kb.consequences(facts)]
    for answer in answers:
        print(answer_to_json(answer) if arguments.json else format_answer(answer))
    return 0


def _open(path: Path, fingerprint: str | None, stack: ExitStack) -> tuple[Any, Any]:
    """Return the knowledge in `path` and its schema (None: taken from it)."""
    if _is_sqlite(path):
        from loom.crystal import CrystalStore

        store = stack.enter_context(CrystalStore(path, create=False))
        schemas = sorted({c.schema_fingerprint for c in store.active()})
        if fingerprint is None:
            if len(schemas) > 1:
                listed = ", ".join(f[:12] for f in schemas)
                msg = (
                    f"the store's active crystals refer to {len(schemas)} schemas "
                    f"({listed}); pick one with --schema FINGERPRINT (a prefix will do)."
                )
                raise InvalidParameterError(msg)
            return store, None
        matches = [f for f in schemas if f.startswith(fingerprint)]
        if len(matches) != 1:
            listed = ", ".join(f[:12] for f in schemas) or "none"
            advice = "a longer prefix" if matches else "one of them"
            msg = (
                f"--schema {fingerprint!r} matches {len(matches)} of the schemas of the "
                f"store's active crystals ({listed}); give {advice}."
            )
            raise InvalidParameterError(msg)
        schema = store.schema(matches[0])
        items = [
            item
            for item in store.constraint_items()
            if store.get(item[0]).schema_fingerprint == matches[0]
        ]
        return _Items(items), schema
    from loom.evolve.model import RuleSet

    return RuleSet.load(path), None


class _Items:
    """Knowledge given as ``(label, constraint, weight)`` triples."""

    def __init__(self, items: list[tuple[str, Any, float | None]]) -> None:
        self.items = items

    def constraint_items(self) -> list[tuple[str, Any, float | None]]:
        return self.items


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False
