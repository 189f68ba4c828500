"""The ``loom bench`` command: benchmarks that print ratios against a baseline measured
in the same run."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``loom bench`` and its benchmarks to the command line."""
    parser = subparsers.add_parser(
        "bench",
        help="run a benchmark",
        description=(
            "Run a benchmark; each prints ratios against a baseline measured in the "
            "same run."
        ),
    )
    targets = parser.add_subparsers(title="benchmarks", metavar="BENCHMARK")
    kernels = targets.add_parser(
        "kernels",
        help="throughput of the popcount kernels per backend",
        description="Throughput of the popcount kernels per backend, against memory "
        "read probes and float32 matmul.",
    )
    from loom.kernels.bench import add_arguments

    add_arguments(kernels)
    kernels.set_defaults(handler=_run_kernels)
    parser.set_defaults(handler=lambda arguments: _missing(parser))


def _missing(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _run_kernels(arguments: argparse.Namespace) -> int:
    from loom.kernels.bench import run

    run(arguments)
    return 0
