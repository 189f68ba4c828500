"""The ``loom discover`` and ``loom demo`` commands: rule discovery from the shell.

Results go to stdout and the progress bar to stderr, drawn only when stderr is a
terminal. Bad input raises a `LoomError`, which the dispatcher in `loom.cli` prints
as one line with exit status 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from loom.data.readers import read_csv
from loom.data.table import BitTable
from loom.evolve.cluster import require_distributed
from loom.evolve.discover import discover
from loom.evolve.model import RuleSet, _labels_of
from loom.evolve.search import Generation
from loom.exceptions import ClusterError, DataError, OutputError, TargetError

__all__ = ["register"]

DEFAULT_HOLDOUT = 0.2
DEFAULT_CONNECT_TIMEOUT = 30.0
# Options of the demo search. A winning line is a conjunction of three squares, so
# cardinality conditions only widen the search; the rules describe wins of x.
DEMO_OPTIONS: dict[str, Any] = {"positive": "p", "cardinality": False}


def register(subparsers: Any) -> None:
    """Add ``loom discover`` and ``loom demo`` to the command line."""
    _register_discover(subparsers)
    _register_demo(subparsers)


# ---------------------------------------------------------------------------
# Argument types: a bad value is a usage error (exit status 2).


def _integer(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            msg = f"invalid int value: {text!r}"
            raise argparse.ArgumentTypeError(msg) from None
        if value < minimum:
            msg = f"must be an int >= {minimum}, got {value}"
            raise argparse.ArgumentTypeError(msg)
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        msg = f"invalid number of seconds: {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not value > 0 or value == float("inf"):
        msg = f"must be a number of seconds > 0, got {text}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        msg = f"invalid fraction: {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not 0.0 <= value <= 0.5:
        msg = f"must be a fraction between 0 and 0.5, got {text}"
        raise argparse.ArgumentTypeError(msg)
    return value


# ---------------------------------------------------------------------------
# loom discover


def _register_discover(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "discover",
        help="discover rules that predict a column of a CSV file",
        description=(
            "Evolve a small set of readable rules that predict the target column of a "
            "CSV file, print them with their statistics, and report the accuracy on "
            "held-out rows."
        ),
    )

    parser.add_argument("file", metavar="FILE", help="CSV file with a header row")
    parser.add_argument(
        "--target", required=True, metavar="COL", help="name of the column to predict"
    )
    parser.add_argument(
        "--positive",
        metavar="VALUE",
        help="for a two-class target, the class the rules predict (default: chosen "
        "by validation)",
    )

    parser.add_argument(
        "--seed",
        type=_integer(0),
        default=0,
        metavar="N",
        help="random seed of the search and the hold-out split (default: 0)",
    )
    parser.add_argument(
        "--encoding",
        default="utf-8",
        metavar="NAME",
        help="text encoding of FILE, such as latin-1 (default: utf-8)",
    )
    parser.add_argument(
        "--generations",
        type=_integer(0),
        default=150,
        metavar="N",
        help="most generations of each search: the final one, and half as many in "
        "each inner fold (default: 150)",
    )
    parser.add_argument(
        "--max-rules",
        type=_integer(1),
        default=32,
        metavar="N",
        help="maximum number of rules in the model (default: 32)",
    )
    parser.add_argument(
        "--time-budget",
        type=_seconds,
        metavar="S",
        help="seconds for the search; it stops at the first generation past it",
    )
    parser.add_argument(
        "--holdout",
        type=_fraction,
        default=DEFAULT_HOLDOUT,
        metavar="FRACTION",
        help="share of the rows held out, stratified by class, to measure accuracy "
        f"(default: {DEFAULT_HOLDOUT}); 0 fits on every row and reports the "
        "validation accuracy instead",
    )

    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="count on the workers of the Dask cluster whose scheduler listens at "
        "ADDRESS (e.g. tcp://10.0.0.5:8786); the rules equal those of a run in this "
        "process (needs loom-rules[cluster])",
    )
    parser.add_argument(
        "--shard-rows",
        type=_integer(1),
        metavar="N",
        help="with --scheduler, rows per shard sent to a worker (default: one shard "
        "per worker)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=_seconds,
        default=DEFAULT_CONNECT_TIMEOUT,
        metavar="S",
        help="with --scheduler, seconds to wait for the scheduler to respond "
        f"(default: {DEFAULT_CONNECT_TIMEOUT:g})",
    )

    parser.add_argument(
        "--out",
        metavar="PATH",
        help="write the rules to PATH as constraint text that RuleSet.load reads back",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the model as JSON (RuleSet.to_json) instead of the table",
    )
    parser.add_argument(
        "--plot",
        metavar="DIR",
        help="write front.png and progress.png into DIR (needs matplotlib)",
    )
    parser.set_defaults(handler=_run_discover)


def _run_discover(arguments: argparse.Namespace) -> int:
    if arguments.shard_rows is not None and not arguments.scheduler:
        print("loom discover: error: --shard-rows needs --scheduler", file=sys.stderr)
        return 2
    if arguments.plot:
        from loom.evolve.plots import require_matplotlib

        require_matplotlib()  # fail before a long search, not after it
    frame, full = _read(arguments.file, arguments.target, arguments.encoding)
    kinds = {spec.name: spec.kind for spec in full.schema.features}
    train, holdout = _split_rows(
        full, arguments.target, arguments.holdout, arguments.seed
    )
    with _connect(arguments) as client, _ProgressBar(arguments.generations) as bar:
        model = discover(
            frame.iloc[train],
            arguments.target,
            positive=arguments.positive,
            max_rules=arguments.max_rules,
            n_generations=arguments.generations,
            time_budget=arguments.time_budget,
            random_state=arguments.seed,
            on_generation=bar.update,
            kinds=kinds,
            client=client,
            shard_rows=arguments.shard_rows,
        )
    model.info["accuracy"] = _accuracy(model, frame.iloc[holdout], arguments)
    if arguments.out:
        _save(model, arguments.out)
    if arguments.plot:
        from loom.evolve.plots import write_plots

        write_plots(model, arguments.plot)
    if arguments.json:
        print(model.to_json())
    else:
        print(format_report(model, source=Path(arguments.file).name))
    sys.stdout.flush()
    print(f"search took {model.info.get('seconds', 0.0):.1f} s", file=sys.stderr)
    if arguments.out:
        print(f"rules written to {arguments.out}", file=sys.stderr)
    if arguments.plot:
        print(f"plots written to {arguments.plot}", file=sys.stderr)
    return 0


@contextmanager
def _connect(arguments: argparse.Namespace) -> Iterator[Any]:
    """Yield a Dask client connected to ``--scheduler``, or None without it."""
    if not arguments.scheduler:
        yield None
        return
    distributed = require_distributed()
    address = arguments.scheduler
    try:
        client = distributed.Client(address, timeout=arguments.connect_timeout)
    except (OSError, TimeoutError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        msg = (
            f"cannot connect to the Dask scheduler at {address!r}: {reason}. Check "
            "the address, or start a scheduler there (dask scheduler)."
        )
        raise ClusterError(msg) from err
    try:
        yield client
    finally:
        client.close()


def _read(path: str, target: str, encoding: str) -> tuple[pd.DataFrame, BitTable]:
    """Return the file's text cells and its encoding with `target` as the target.

    Encoding the whole file first reports bad cells with their line numbers, and
    fixes each column's kind for the part the rules are fitted on.
    """
    # NOTE: the hold-out split needs the cells, so the whole file is read as text; a
    # file larger than memory needs BitTable.from_csv (chunked) and loom.discover.
    try:
        frame, _ = read_csv(path, encoding=encoding)
        if target not in frame.columns:
            listed = ", ".join(repr(str(name)) for name in frame.columns)
            msg = (
                f"target column {target!r} is not in {path!r}; its columns are "
                f"{listed}. Pass one of them with --target."
            )
            raise TargetError(msg)
        table = BitTable.from_csv(path, target, encoding=encoding)
    except OSError as err:
        if isinstance(err, DataError):
            raise
        msg = f"cannot read {path!r}: {err.strerror or err}."
        raise DataError(msg) from err
    return frame.reset_index(drop=True), table


def _split_rows(
    table: BitTable, target: str, fraction: float, seed: int
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Return the positions of the fitting rows and of the held-out rows.

    The hold-out takes `fraction` of each class's rows, drawn with `seed`, and
    leaves at least one row of every class for fitting. Rows with a missing target
    are never held out.
    """
    spec = table.schema.feature(target)
    known = _labels_of(table, target, spec.values)
    held_out = np.zeros(table.n_rows, dtype=bool)
    rng = np.random.default_rng(seed)
    if fraction > 0:
        for label in spec.values:
            rows = np.flatnonzero(known == label)
            take = min(int(round(fraction * len(rows))), len(rows) - 1)
            if take > 0:
                held_out[rng.permutation(rows)[:take]] = True
    return np.flatnonzero(~held_out), np.flatnonzero(held_out)


def _accuracy(
    model: RuleSet, holdout: pd.DataFrame, arguments: argparse.Namespace
) -> dict[str, Any]:
    """Return the accuracy figure to report, and which rows it was measured on."""
    if len(holdout):
        return {
            "kind": "hold-out",
            "value": model.score(holdout),
            "rows": len(holdout),
            "fraction": arguments.holdout,
            "seed": arguments.seed,
        }
    chosen = [item for item in model.front if item.get("chosen")]
    rows = int(model.info.get("train_rows") or 0)
    if chosen and rows and chosen[0].get("validation_errors") is not None:
        # Every training row is held out by one inner fold.
        return {
            "kind": "validation",
            "value": 1.0 - chosen[0]["validation_errors"] / rows,
            "rows": rows,
        }
    errors = chosen[0]["fit_errors"] if chosen else None
    value = 1.0 - errors / rows if rows and errors is not None else None
    return {"kind": "training", "value": value, "rows": rows}


def _save(model: RuleSet, path: str) -> None:
    try:
        model.save(path)
    except OSError as err:
        msg = f"cannot write the rules to {path!r}: {err.strerror or err}."
        raise OutputError(msg) from err


def _count(number: int, word: str, plural: str | None = None) -> str:
    """Return "1 rule", "2 rules": a count with its noun."""
    return f"{number} {word if number == 1 else plural or word + 's'}"


def format_report(model: RuleSet, *, source: str) -> str:
    """Return the rules as a table with their statistics, then the model's size and
    its accuracy as recorded in ``model.info["accuracy"]``."""
    if model.kind == "rule set":
        positive = model._conclusion(str(model.positive))
        default = model._conclusion(model.default.prediction)
        head = f"Rules for {positive} (rows no rule matches: {default})"
    else:
        head = (
            f"Decision list for {model.target!r} (the first rule that matches decides)"
        )
    lines = [f"{head}:", "", _rule_table(model), ""]
    searches = model.info.get("searches", 1)
    lines.append(
        f"{_count(len(model.rules), 'rule')}, {_count(model.n_literals, 'literal')}, "
        f"{_count(model.info.get('generations', 0), 'generation')} over "
        f"{_count(searches, 'search', 'searches')} (inner folds and the final one)."
    )
    lines.append(_accuracy_line(model.info.get("accuracy"), source))
    return "\n".join(lines)


def _rule_table(model: RuleSet) -> str:
    """Return one line per rule: name, support, confidence and lift in aligned
    columns, then the rule's text."""
    header = ("name", "support", "confidence", "lift", "rule")
    rows = [
        (
            str(item["name"]),
            str(item["support"]),
            f"{item['confidence']:.3f}",
            f"{item['lift']:.2f}",
            str(item["rule"]),
        )
        for item in model.to_frame().to_dict("records")
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(4)]
    lines = []
    for row in (header, *rows):
        cells = [row[0].ljust(widths[0])]
        cells += [
            cell.rjust(width) for cell, width in zip(row[1:4], widths[1:], strict=True)
        ]
        lines.append("  ".join([*cells, row[4]]))
    return "\n".join(lines)


def _accuracy_line(accuracy: dict[str, Any] | None, source: str) -> str:
    if not accuracy or accuracy.get("value") is None:
        return "No accuracy figure: there were no rows to measure it on."
    value = accuracy["value"]
    rows = accuracy["rows"]
    if accuracy["kind"] == "hold-out":
        return (
            f"Hold-out accuracy: {value:.3f} on {rows} rows of {source} "
            f"({accuracy['fraction']:.0%} of each class, seed {accuracy['seed']}) "
            "that the search did not see."
        )
    if accuracy["kind"] == "validation":
        return (
            f"Validation accuracy: {value:.3f} over the inner folds of {rows} rows, "
            "which chose the model's size, so it is optimistic; use --holdout for an "
            "unbiased figure."
        )
    return (
        f"Training accuracy: {value:.3f} on {rows} rows; too few rows were left for "
        "inner folds."
    )


class _ProgressBar:
    """A tqdm bar on stderr with the generation, best error and front size; nothing
    is drawn when stderr is not a terminal."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.bar: Any = None

    def __enter__(self) -> _ProgressBar:
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.total,
                desc="generation",
                unit="gen",
                file=sys.stderr,
                leave=False,
                dynamic_ncols=True,
            )
        return self

    def update(self, record: Generation) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(
                best_error=record.best_error, front=record.front_size, refresh=False
            )

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------------------
# loom demo


def _register_demo(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="discover the rules of tic-tac-toe endgames",
        description=(
            "Build the 958 final boards of legal tic-tac-toe games, discover rules "
            "that say when x has won, and print them."
        ),
    )
    parser.add_argument(
        "--seed",
        type=_integer(0),
        default=0,
        metavar="N",
        help="random seed of the search (default: 0)",
    )
    parser.add_argument(
        "--plot",
        metavar="DIR",
        help="write front.png and progress.png into DIR (needs matplotlib)",
    )
    parser.set_defaults(handler=_run_demo)


def run_demo(seed: int = 0, *, progress: bool = False) -> tuple[RuleSet, float]:
    """Discover the rules of the tic-tac-toe endgame boards; return the model and
    its accuracy on every board."""
    from loom.demo import tic_tac_toe

    boards = tic_tac_toe()
    with _ProgressBar(150) if progress else _NoBar() as bar:
        model = discover(
            boards, "y", random_state=seed, on_generation=bar.update, **DEMO_OPTIONS
        )
    return model, model.score(boards)


def _run_demo(arguments: argparse.Namespace) -> int:
    if arguments.plot:
        from loom.evolve.plots import require_matplotlib

        require_matplotlib()
    started = time.perf_counter()
    model, accuracy = run_demo(arguments.seed, progress=True)
    seconds = time.perf_counter() - started
    print(
        "Tic-tac-toe endgames: 958 final boards of legal games; y = p when x has "
        "three in a row.\n"
    )
    print(model)
    print(
        f"{_count(len(model.rules), 'rule')}, {_count(model.n_literals, 'literal')}, "
        f"accuracy {accuracy:.3f} on all 958 boards."
    )
    sys.stdout.flush()
    print(f"demo took {seconds:.1f} s", file=sys.stderr)
    if arguments.plot:
        from loom.evolve.plots import write_plots

        write_plots(model, arguments.plot)
        print(f"plots written to {arguments.plot}", file=sys.stderr)
    return 0


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def update(self, record: Generation) -> None:
        pass

    def __exit__(self, *exc_info: object) -> None:
        pass
