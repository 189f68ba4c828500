"""Throughput of the popcount kernels on every backend, against memory read probes.

Run as ``loom bench kernels [--quick] [--threads N] [--json]`` or
``python benchmarks/bench_kernels.py``. Figures are rows x literals per second
(G = 1e9). Each case also prints the ratio to the NumPy reference and to a read probe
measured in the same run: a NumPy sum over uint64 words of the same size as the data
the case reads (DRAM), and the same sum repeated over a 256 KiB array (L2). The XNOR
product is compared with a float32 NumPy matmul (BLAS) of the same shape at the same
thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from loom.data import FeatureSpec, Schema, row_mask
from loom.data.table import BitTable
from loom.kernels.backends import available_backends
from loom.kernels.config import thread_count
from loom.kernels.scoring import pack_signs, score_rule_sets, score_rules, xnor_matmul

__all__ = ["add_arguments", "main", "run"]


def best_time(
    function: Callable[[], object], repeat: int, budget: float = 2.0
) -> float:
    """Shortest of up to `repeat` runs (fewer when the runs pass `budget` seconds)."""
    function()  # compile, fault pages in, warm caches
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < repeat and (not times or time.perf_counter() - started < budget):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def boolean_table(n_rows: int, n_features: int, seed: int = 0) -> BitTable:
    """Build a table of boolean features with random bits and no missing values."""
    specs = tuple(
        FeatureSpec(f"f{index}", "boolean", values=("false", "true"))
        for index in range(n_features)
    )
    mask = row_mask(n_rows)
    generator = np.random.default_rng(seed)
    bits = generator.integers(0, 2**63, size=(n_features, mask.size), dtype=np.uint64)
    bits = (bits | (bits << np.uint64(1))) & mask
    valid = np.tile(mask, (n_features, 1))
    return BitTable(Schema(specs), bits, valid, n_rows, copy=False)


def dram_probe(n_bytes: int) -> float:
    """Bytes per second of a NumPy sum over a fresh array of `n_bytes`."""
    words = np.ones(max(n_bytes // 8, 1), dtype=np.uint64)
    seconds = best_time(lambda: words.sum(), 5)
    return words.nbytes / seconds


def l2_probe() -> float:
    """Bytes per second of a NumPy sum repeated over a 256 KiB array (L2-resident)."""
    words = np.ones(32 * 1024, dtype=np.uint64)

    def read() -> None:
        for _ in range(200):
            words.sum()

    return 200 * words.nbytes / best_time(read, 5)


def backends_to_run() -> list[str]:
    return [name for name in ("c", "numba", "numpy") if name in available_backends()]


def single_rule_cases(sizes: list[int], results: dict[str, object]) -> None:
    print("\nOne rule of k literals (G rows*literals/s; ratio to the DRAM probe)")
    for n_rows in sizes:
        table = boolean_table(n_rows, 8)
        for k in (1, 2, 4, 8):
            rules = np.arange(0, 2 * k, 2, dtype=np.int32)[None, :]
            data_bytes = k * table.n_words * 8
            probe = dram_probe(data_bytes)
            row = []
            for name in backends_to_run():
                seconds = best_time(partial(score_rules, table, rules, backend=name), 5)
                rate = n_rows * k / seconds
                ratio = (data_bytes / seconds) / probe
                row.append(f"{name} {rate / 1e9:7.1f} G ({ratio:4.2f})")
                results[f"single_{n_rows:.0e}_k{k}_{name}_grows_lits"] = rate / 1e9
                results[f"single_{n_rows:.0e}_k{k}_{name}_dram_ratio"] = ratio
            print(f"  rows {n_rows:>11,} k={k}: " + "  ".join(row))


def batch_case(n_rows: int, results: dict[str, object]) -> None:
    print(f"\n1,000 rules x 3 literals over 64 features, {n_rows:,} rows, one call")
    table = boolean_table(n_rows, 64, seed=1)
    generator = np.random.default_rng(2)
    codes = np.stack([generator.choice(64, size=3, replace=False) for _ in range(1000)])
    rules = (2 * codes + (generator.random((1000, 3)) < 0.3)).astype(np.int32)
    work = 1000 * 3 * n_rows
    l2_rate = l2_probe()
    rates = {}
    for name in backends_to_run():
        seconds = best_time(partial(score_rules, table, rules, backend=name), 3)
        rates[name] = work / seconds
        # Bytes the rules read, as if every literal's words came from L2.
        as_bytes = 1000 * 3 * table.n_words * 8 / seconds
        results[f"batch_{name}_grows_lits"] = rates[name] / 1e9
        results[f"batch_{name}_l2_ratio"] = as_bytes / l2_rate
        print(
            f"  {name:6s} {rates[name] / 1e9:8.1f} G rows*literals/s, "
            f"{seconds * 1e3:8.1f} ms, {as_bytes / l2_rate:5.2f} x the L2 read probe"
        )
    best = max(rates, key=rates.__getitem__)
    if "numpy" in rates:
        speedup = rates[best] / rates["numpy"]
        results["batch_best_vs_numpy"] = speedup
        print(f"  best ({best}) / NumPy reference: {speedup:.1f}")


def rule_set_case(n_rows: int, results: dict[str, object]) -> None:
    print(f"\nRule-set coverage: 200 sets of 10 rules, {n_rows:,} rows")
    table = boolean_table(n_rows, 64, seed=3)
    generator = np.random.default_rng(4)
    codes = np.stack([generator.choice(64, size=3, replace=False) for _ in range(2000)])
    rules = (2 * codes).astype(np.int32)
    sets = np.arange(2000, dtype=np.int32).reshape(200, 10)
    for name in backends_to_run():
        seconds = best_time(
            partial(score_rule_sets, table, rules, sets, 0, backend=name), 3
        )
        rate = 2000 * 3 * n_rows / seconds
        results[f"sets_{name}_ms"] = seconds * 1e3
        print(
            f"  {name:6s} {seconds * 1e3:8.1f} ms ({rate / 1e9:.1f} G rows*literals/s)"
        )


def xnor_cases(
    shapes: list[tuple[int, int, int]], threads: int, results: dict[str, object]
) -> None:
    print(f"\nXNOR-popcount product against float32 matmul, {threads} thread(s) each")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
        print("  (threadpoolctl is not installed: BLAS uses its default thread count)")
    generator = np.random.default_rng(5)
    for m, k, n in shapes:
        a = generator.standard_normal((m, k)).astype(np.float32)
        b = generator.standard_normal((k, n)).astype(np.float32)
        if threadpool_limits is not None:
            with threadpool_limits(limits=threads, user_api="blas"):
                float_seconds = best_time(partial(np.matmul, a, b), 5)
        else:
            float_seconds = best_time(partial(np.matmul, a, b), 5)
        a_bits, b_bits = pack_signs(a), pack_signs(b.T)
        row = [f"float32 {float_seconds * 1e3:7.2f} ms"]
        for name in backends_to_run():
            if name == "numpy" and m * n * k > 300_000_000:
                continue
            product = partial(xnor_matmul, a_bits, b_bits, k, backend=name)
            seconds = best_time(product, 5)
            ratio = float_seconds / seconds
            results[f"xnor_{m}x{k}x{n}_{name}_speedup"] = ratio
            row.append(f"{name} {seconds * 1e3:7.2f} ms ({ratio:5.1f}x)")
        print(f"  ({m}, {k}, {n}): " + "  ".join(row))


def _call_many(table: BitTable, rules: np.ndarray, name: str) -> None:
    for _ in range(1000):
        score_rules(table, rules, backend=name)


def overhead_case(results: dict[str, object]) -> None:
    print("\nCalling overhead: one 1-literal rule on a 64-row table")
    table = boolean_table(64, 2)
    rules = np.zeros((1, 1), dtype=np.int32)
    for name in backends_to_run():
        call_many = partial(_call_many, table, rules, name)
        seconds = best_time(call_many, 5) / 1000
        results[f"overhead_{name}_us"] = seconds * 1e6
        print(f"  {name:6s} {seconds * 1e6:6.1f} us per call")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"must be an int >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to `parser`."""
    parser.add_argument(
        "--quick", action="store_true", help="smaller tables: 1e6 rows, no 1e8-row case"
    )
    parser.add_argument(
        "--threads",
        type=_positive,
        default=None,
        help="threads per call, >= 1 (default: all CPUs)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON object of every figure last"
    )


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark with command-line arguments `argv` and return the figures."""
    parser = argparse.ArgumentParser(
        description="Throughput of Loom's popcount kernels."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(options: argparse.Namespace) -> dict[str, object]:
    """Run the benchmark with parsed options and return the figures."""
    if options.threads:
        os.environ["LOOM_NUM_THREADS"] = str(options.threads)
    threads = options.threads or thread_count()
    results: dict[str, object] = {"threads": threads, "backends": backends_to_run()}
    print(f"backends: {', '.join(backends_to_run())}; threads per call: {threads}")

    single_rule_cases([10**6] if options.quick else [10**6, 10**8], results)
    batch_case(10**6 if options.quick else 10**7, results)
    rule_set_case(10**6, results)
    shapes = [(256, 1024, 1024), (64, 784, 512)]
    if not options.quick:
        shapes.insert(1, (1024, 4096, 4096))
    xnor_cases(shapes, threads, results)
    overhead_case(results)
    if options.json:
        print(json.dumps(results, sort_keys=True))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
