"""Time per generation of rule discovery on a local Dask cluster of 1 and 2 worker
processes, against the run in this process, on synthetic tables of planted rules.

Usage: python benchmarks/bench_scale.py [--rows 1000000 10000000] [--generations 20]
                                        [--dir DIR] [--json]

For each size, the table (`benchmarks/synthetic.py`, 50 features) is encoded once and
saved in DIR. Each run is ``loom.discover(table, "y", positive="p", inner_folds=0,
n_generations=G, patience=G, random_state=0)``, so every run makes the same G
generations of one search. The time per generation is the median gap between two
generations. Cluster runs use ``LocalCluster(n_workers=k, processes=True,
threads_per_worker=1, host="127.0.0.1")`` and one shard per worker.

The overhead per generation is measured on the cluster runs: the scorer calls per
generation (each is one message to every worker and one answer back), the bytes those
messages carry when pickled, and the round trip of a call that does almost no work
(``count`` of a mask, timed 50 times). Every run must find the same rules.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def load_table(rows: int, folder: Path) -> Any:
    """Return the synthetic table of `rows` rows, made and saved on first use."""
    from synthetic import PLANTED_THRESHOLDS, write_parquet

    from loom import BitTable

    saved = folder / f"planted-{rows}.npz"
    if saved.exists():
        return BitTable.load(saved)
    parquet = folder / f"planted-{rows}.parquet"
    if not parquet.exists():
        write_parquet(str(parquet), rows)
    table = BitTable.from_parquet(parquet, "y", thresholds=PLANTED_THRESHOLDS)
    table.save(saved)
    return table


class Traffic:
    """Counts the scorer's calls and the pickled bytes of their arguments and results,
    per actor method, by wrapping `DaskScorer._call_hosts`."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        self.received: dict[str, int] = {}

    def install(self) -> Any:
        """Wrap the scorer's calls; return the function that undoes it."""
        from loom.evolve import cluster

        original = cluster.DaskScorer._call_hosts
        traffic = self

        def uninstall() -> None:
            cluster.DaskScorer._call_hosts = original  # type: ignore[method-assign]

        def counted(scorer: Any, method: Any) -> list[Any]:
            recorder = _Recorder()
            for host in scorer._active():
                method(_RecordingHost(host, recorder))
            results = original(scorer, method)
            name = recorder.name
            traffic.calls[name] = traffic.calls.get(name, 0) + 1
            traffic.sent[name] = traffic.sent.get(name, 0) + recorder.sent
            back = sum(len(pickle.dumps(result)) for result in results)
            traffic.received[name] = traffic.received.get(name, 0) + back
            return results

        cluster.DaskScorer._call_hosts = counted  # type: ignore[method-assign]
        return uninstall

    def total(self, table: dict[str, int], names: tuple[str, ...] | None = None) -> int:
        return sum(value for name, value in table.items() if names is None or name in names)


class _Recorder:
    def __init__(self) -> None:
        self.sent = 0
        self.name = ""


class _RecordingHost:
    """Stands in for a host to measure a call's arguments without sending them."""

    def __init__(self, host: Any, recorder: _Recorder) -> None:
        self.worker = host.worker
        self.actor = self
        self.recorder = recorder

    def __getattr__(self, name: str) -> Any:
        def record(*arguments: Any) -> None:
            self.recorder.name = name
            self.recorder.sent += len(pickle.dumps((name, arguments)))

        return record


# The calls that score a generation's genomes; the others set up masks or build the
# model once per run.
SEARCH_CALLS = ("rule_sets", "decision_lists")


def run(table: Any, generations: int, client: Any = None) -> dict[str, Any]:
    import loom

    stamps: list[float] = []
    started = time.perf_counter()
    model = loom.discover(
        table, "y", positive="p", inner_folds=0, n_generations=generations,
        patience=generations, random_state=0, client=client,
        on_generation=lambda record: stamps.append(time.perf_counter()),
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "generations": len(stamps),
        "generation_s": statistics.median(np.diff(stamps)),
        "search_s": stamps[-1] - stamps[0],
        "rules": str(model),
    }


def round_trip(table: Any, client: Any) -> float:
    """Return the median seconds of a scorer call that does almost no work."""
    from loom.evolve.cluster import DaskScorer

    scorer = DaskScorer(table, client)
    scorer.register_mask("all", table.rows())
    times = []
    for _ in range(50):
        started = time.perf_counter()
        scorer.count("all")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_size(rows: int, generations: int, folder: Path) -> list[dict[str, Any]]:
    from distributed import Client, LocalCluster

    table = load_table(rows, folder)
    local = run(table, generations)
    results = [{"rows": rows, "mode": "in-process", **local}]
    for workers in (1, 2):
        cluster = LocalCluster(
            n_workers=workers, processes=True, threads_per_worker=1, host="127.0.0.1",
            dashboard_address=None,
        )
        with cluster, Client(cluster) as client:
            traffic = Traffic()
            uninstall = traffic.install()
            try:
                remote = run(table, generations, client)
            finally:
                uninstall()
            latency = round_trip(table, client)
        count = max(remote["generations"], 1)
        results.append({
            "rows": rows,
            "mode": f"{workers} worker(s)",
            **remote,
            "ratio": remote["generation_s"] / local["generation_s"],
            "overhead_s": remote["generation_s"] - local["generation_s"],
            "calls": traffic.total(traffic.calls),
            "bytes_sent": traffic.total(traffic.sent),
            "bytes_received": traffic.total(traffic.received),
            "search_calls_per_generation": traffic.total(traffic.calls, SEARCH_CALLS) / count,
            "search_bytes_per_generation": (
                traffic.total(traffic.sent, SEARCH_CALLS)
                + traffic.total(traffic.received, SEARCH_CALLS)
            ) / count,
            "calls_by_method": traffic.calls,
            "round_trip_s": latency,
            "same_rules": remote["rules"] == local["rules"],
        })
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--dir", default="/tmp/loom-large", help="folder for the tables")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    arguments = parser.parse_args()
    folder = Path(arguments.dir)
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    for rows in arguments.rows:
        results.extend(bench_size(rows, arguments.generations, folder))
    if arguments.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{os.cpu_count()} CPUs; {arguments.generations} generations per run")
    header = f"{'rows':>10}  {'mode':<12} {'ms/gen':>7} {'ratio':>6} {'total s':>8}"
    print(
        header + "  overhead ms/gen  calls/gen  KiB/gen  round trip ms  "
        "run KiB sent  same rules"
    )
    for item in results:
        line = (
            f"{item['rows']:>10}  {item['mode']:<12} {item['generation_s'] * 1000:>7.1f} "
            f"{item.get('ratio', 1.0):>6.2f} {item['seconds']:>8.1f}"
        )
        if "calls" in item:
            line += (
                f"  {item['overhead_s'] * 1000:>15.1f} "
                f"{item['search_calls_per_generation']:>10.2f} "
                f"{item['search_bytes_per_generation'] / 1024:>8.1f} "
                f"{item['round_trip_s'] * 1000:>14.2f} "
                f"{item['bytes_sent'] / 1024:>13.0f}  {item['same_rules']}"
            )
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
