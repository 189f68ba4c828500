"""Time `loom.evaluate` on a conjunction of boolean literals over a large table.

Usage: python benchmarks/bench_evaluate.py [--rows N] [--literals K] [--repeat R]

The table is built from random words (no encoding step), so the figure is the time of
evaluation alone: parsing the constraint, resolving its atoms against the schema and
the whole-word AND of the columns and validity masks. A NumPy AND of the same columns
is timed in the same run as the baseline.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import loom
from loom.data import FeatureSpec, Schema, row_mask


def build_table(n_rows: int, n_features: int, seed: int) -> loom.BitTable:
    specs = [
        FeatureSpec(f"f{index}", "boolean", values=("false", "true"))
        for index in range(n_features)
    ]
    mask = row_mask(n_rows)
    generator = np.random.default_rng(seed)
    bits = generator.integers(0, 2**64, size=(n_features, mask.size), dtype=np.uint64)
    bits &= mask
    valid = np.tile(mask, (n_features, 1))
    return loom.BitTable(Schema(tuple(specs)), bits, valid, n_rows, copy=False)


def best_time(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="table rows")
    parser.add_argument("--literals", type=int, default=10, help="literals per rule")
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed runs; best is kept"
    )
    options = parser.parse_args()

    table = build_table(options.rows, options.literals, seed=0)
    text = " and ".join(f"f{index}" for index in range(options.literals))

    def run_loom() -> None:
        loom.evaluate(text, table)

    def run_numpy() -> None:
        result = table.bits[0].copy()
        for column in table.bits[1:]:
            np.bitwise_and(result, column, out=result)

    loom_seconds = best_time(run_loom, options.repeat)
    numpy_seconds = best_time(run_numpy, options.repeat)
    size = f"{table.nbytes / 1e6:.0f} MB"
    print(f"rows {options.rows:,}, literals {options.literals}, {size}")
    print(f"loom.evaluate        {loom_seconds * 1e3:8.1f} ms")
    print(f"NumPy AND of columns {numpy_seconds * 1e3:8.1f} ms")
    print(f"ratio                {loom_seconds / numpy_seconds:8.2f}")


if __name__ == "__main__":
    main()
