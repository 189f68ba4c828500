"""Large data on one machine: encode a synthetic Parquet file of planted rules, then
discover the rules on every row, with time per generation and peak memory.

Usage: python benchmarks/bench_large.py [--rows 10000000] [--features 50]
                                        [--format parquet|csv] [--dir DIR]
                                        [--generations 150] [--json]

Each step runs in a fresh Python process, so that its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is its own. ``write`` makes the file
(`benchmarks/synthetic.py`), as Parquet or as CSV. ``encode`` reads it with
`BitTable.from_parquet` or `BitTable.from_csv` and saves the table. ``discover`` loads the table and runs `loom.discover` (``positive="p"``,
seed 0). The fixed overhead is the resident memory after the imports, before any data.
The planted rules count as recovered when the model's predictions agree with the
noiseless labels on at least 99% of the rows.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def peak_mib() -> float:
    """Return this process's peak resident memory in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_mib() -> float:
    """Return this process's resident memory now, in MiB."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def step_encode(arguments: argparse.Namespace) -> dict[str, Any]:
    from loom import BitTable

    sys.path.insert(0, str(HERE))
    from synthetic import PLANTED_THRESHOLDS

    baseline = current_mib()
    started = time.perf_counter()
    if arguments.format == "csv":
        table = BitTable.from_csv(
            arguments.data, "y", thresholds=PLANTED_THRESHOLDS, progress=arguments.progress
        )
    else:
        table = BitTable.from_parquet(
            arguments.data, "y", thresholds=PLANTED_THRESHOLDS, progress=arguments.progress
        )
    seconds = time.perf_counter() - started
    peak = peak_mib()
    table.save(arguments.table)
    return {
        "step": "encode",
        "format": arguments.format,
        "file_mib": Path(arguments.data).stat().st_size / 2**20,
        "rows": table.n_rows,
        "columns": table.n_columns,
        "bits_mib": table.nbytes / 2**20,
        "seconds": seconds,
        "baseline_mib": baseline,
        "peak_mib": peak,
    }


def step_discover(arguments: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    import loom
    from loom import BitTable

    sys.path.insert(0, str(HERE))
    from synthetic import planted_chunks, planted_truth

    baseline = current_mib()
    table = BitTable.load(arguments.table)
    stamps: list[float] = []
    started = time.perf_counter()
    model = loom.discover(
        table, "y", positive="p", random_state=0, n_generations=arguments.generations,
        on_generation=lambda record: stamps.append(time.perf_counter()),
    )
    seconds = time.perf_counter() - started
    peak = peak_mib()
    bits = table.nbytes / 2**20
    del table
    check = next(planted_chunks(200_000, n_features=arguments.features, noise=0.0))
    agreement = float(np.mean((model.predict(check) == "p") == planted_truth(check)))
    gaps = np.diff(stamps)
    per_generation = [gap for gap in gaps if gap > 0]
    return {
        "step": "discover",
        "bits_mib": bits,
        "seconds": seconds,
        "generations": len(stamps),
        "median_generation_s": statistics.median(per_generation),
        "mean_generation_s": float(np.mean(per_generation)),
        "search_s": float(np.sum(per_generation)),
        "baseline_mib": baseline,
        "peak_mib": peak,
        "peak_over_bits": (peak - baseline) / bits,
        "agreement": agreement,
        "rules": str(model),
    }


def run_step(step: str, arguments: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable, __file__, "--step", step, "--rows", str(arguments.rows),
        "--features", str(arguments.features), "--dir", str(arguments.dir),
        "--generations", str(arguments.generations), "--format", arguments.format,
    ]
    if step == "write":
        command = [sys.executable, str(HERE / "synthetic.py"), str(arguments.data),
                   "--rows", str(arguments.rows), "--features", str(arguments.features)]
        started = time.perf_counter()
        subprocess.run(command, check=True)
        return {"step": "write", "seconds": time.perf_counter() - started}
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--dir", default="/tmp/loom-large", help="folder for the files")
    parser.add_argument("--generations", type=int, default=150)
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet",
                        help="file format of the synthetic table")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--progress", action="store_true", help="progress bars")
    parser.add_argument("--step", choices=["encode", "discover"], help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    folder = Path(arguments.dir)
    arguments.data = folder / f"planted-{arguments.rows}.{arguments.format}"
    arguments.table = folder / f"planted-{arguments.rows}.npz"
    if arguments.step == "encode":
        print(json.dumps(step_encode(arguments)))
        return 0
    if arguments.step == "discover":
        print(json.dumps(step_discover(arguments)))
        return 0

    folder.mkdir(parents=True, exist_ok=True)
    results = []
    if not arguments.data.exists():
        results.append(run_step("write", arguments))
    results.append(run_step("encode", arguments))
    results.append(run_step("discover", arguments))
    if arguments.json:
        print(json.dumps(results, indent=2))
        return 0
    encode, discover = results[-2], results[-1]
    print(f"{encode['rows']} rows, {encode['columns']} bit columns: "
          f"{encode['bits_mib']:.0f} MiB of bits")
    print(f"encode:   {encode['format']} file of {encode['file_mib']:.0f} MiB in "
          f"{encode['seconds']:.1f} s, peak {encode['peak_mib']:.0f} MiB "
          f"(after imports {encode['baseline_mib']:.0f} MiB)")
    print(f"discover: {discover['seconds']:.1f} s, {discover['generations']} generations, "
          f"median {discover['median_generation_s'] * 1000:.0f} ms per generation")
    print(f"          peak {discover['peak_mib']:.0f} MiB (after imports "
          f"{discover['baseline_mib']:.0f} MiB): "
          f"{discover['peak_over_bits']:.2f} x the bits above the imports")
    print(f"          agreement with the noiseless labels: {discover['agreement']:.4f}")
    print(discover["rules"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
