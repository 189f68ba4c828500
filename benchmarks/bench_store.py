"""Time `verify` and the JSONL export on a large crystal store, and measure the peak
memory of the export.

Usage: python benchmarks/bench_store.py [--crystals N] [--events M] [--scenarios K]
                                        [--path FILE] [--keep]

The store is built through the public API in large batches: N crystals, then
evidence events on them until there are M events, with 1 % of the crystals retired
and 0.5 % superseded. Every evidence event carries K scenarios. Without ``--path``
the store goes to a temporary folder that is deleted at the end.

Wall and CPU times are printed, since other processes on the machine stretch wall
times. The export is timed once without tracing, then run again under `tracemalloc`,
whose peak counts the Python allocations of the export alone. Last, a fresh process
exports to the null device, and its peak resident memory (``ru_maxrss``) is printed:
it includes the interpreter, the imports and SQLite's page cache. Linux only, since
``ru_maxrss`` is in KiB there.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from loom.constraints import And, BooleanAtom, Compare, Implies, Not
from loom.crystal import Candidate, CrystalStore, Evidence, Provenance
from loom.crystal.audit import export
from loom.data import FeatureSpec, Schema

EXPORT_CHILD = """
import sys
from loom.crystal import CrystalStore
from loom.crystal.audit import export
with CrystalStore(sys.argv[1], create=False) as store, open(sys.argv[2], "w") as out:
    export(store, out, format="jsonl")
"""

N_FEATURES = 200
BATCH = 10_000


def build_schema() -> Schema:
    features = [
        FeatureSpec(f"f{index}", "boolean", values=("false", "true"))
        for index in range(N_FEATURES)
    ]
    features.append(FeatureSpec("y", "categorical", values=("no", "yes")))
    return Schema(tuple(features), target="y")


def rules(count: int) -> Iterator[Implies]:
    """Yield `count` distinct rules ``if fa and not fb and fc then y = yes``."""
    atoms = [BooleanAtom(f"f{index}") for index in range(N_FEATURES)]
    conclusion = Compare("y", "=", "yes")
    triples = itertools.permutations(range(N_FEATURES), 3)
    for a, b, c in itertools.islice(triples, count):
        yield Implies(And((atoms[a], Not(atoms[b]), atoms[c])), conclusion)


def evidence_pool(n_scenarios: int) -> list[tuple[Evidence, ...]]:
    """Return a few evidence lists, one Evidence per scenario, to draw from."""
    pool = []
    for shift in range(7):
        pool.append(
            tuple(
                Evidence(
                    f"fold {k + 1}/{n_scenarios}",
                    n_rows=2000,
                    n_applies=300 + 7 * k + shift,
                    n_holds=290 + 5 * k + shift,
                    n_conclusion=1990,
                    n_conclusion_true=1000 + shift,
                )
                for k in range(n_scenarios)
            )
        )
    return pool


def build(path: Path, n_crystals: int, n_events: int, n_scenarios: int) -> None:
    schema = build_schema()
    provenance = Provenance(
        schema, "ab" * 32, options={"population_size": 200, "n_generations": 50}, seed=0
    )
    pool = evidence_pool(n_scenarios)
    nodes = list(rules(n_crystals))
    start = time.perf_counter()
    with CrystalStore(path) as store:
        for first in range(0, n_crystals, BATCH):
            offered = [
                Candidate(node, pool[(first + i) % len(pool)], target="y")
                for i, node in enumerate(nodes[first : first + BATCH])
            ]
            store.add(offered, provenance)
        ids = [crystal.id for crystal in store.iter_crystals()]
        n_retired, n_superseded = n_crystals // 100, n_crystals // 200
        with store.batch():
            for identity in ids[:n_retired]:
                store.retire(identity, reason="benchmark")
            for old, new in zip(
                ids[n_retired : n_retired + n_superseded],
                ids[-n_superseded:],
                strict=True,
            ):
                store.supersede(old, new, reason="benchmark")
        remaining = n_events - n_crystals - n_retired - n_superseded
        position = 0
        while remaining > 0:
            size = min(BATCH, remaining)
            offered = [
                Candidate(nodes[(position + i) % n_crystals], pool[i % len(pool)])
                for i in range(size)
            ]
            store.add(offered, provenance)
            position += size
            remaining -= size
            print(f"  {n_events - remaining:>9} events", flush=True)
        summary = store.summary()
    elapsed = time.perf_counter() - start
    print(
        f"built {summary.n_crystals} crystals, {summary.n_events} events, "
        f"{summary.n_evidence} evidence records in {elapsed:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crystals", type=int, default=100_000, help="crystals")
    parser.add_argument("--events", type=int, default=1_000_000, help="events")
    parser.add_argument("--scenarios", type=int, default=5, help="scenarios per event")
    parser.add_argument("--path", type=Path, help="store file (default: temporary)")
    parser.add_argument("--keep", action="store_true", help="keep an existing --path")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = options.path or Path(folder) / "bench.db"
        if not (options.keep and path.exists()):
            path.unlink(missing_ok=True)
            build(path, options.crystals, options.events, options.scenarios)
        print(f"store file: {os.path.getsize(path) / 2**20:.0f} MiB")
        jsonl = Path(folder) / "audit.jsonl"
        with CrystalStore(path, create=False) as store:
            start, cpu = time.perf_counter(), time.process_time()
            result = store.verify()
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            print(f"verify: {elapsed:.1f} s ({cpu:.1f} s CPU): {result.summary()}")

            start, cpu = time.perf_counter(), time.process_time()
            with open(jsonl, "w", encoding="utf-8", newline="") as out:
                count = export(store, out, format="jsonl")
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            size = jsonl.stat().st_size / 2**20
            print(
                f"export jsonl: {elapsed:.1f} s ({cpu:.1f} s CPU), {count} events, "
                f"{size:.0f} MiB"
            )

            tracemalloc.start()
            with open(jsonl, "w", encoding="utf-8", newline="") as out:
                export(store, out, format="jsonl")
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"export jsonl peak Python memory (tracemalloc): {peak / 2**20:.1f} MiB"
            )

        # The whole process, SQLite's cache included, in a fresh interpreter.
        subprocess.run(
            [sys.executable, "-c", EXPORT_CHILD, str(path), os.devnull], check=True
        )
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**10
        print(f"export jsonl peak resident memory of a fresh process: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
