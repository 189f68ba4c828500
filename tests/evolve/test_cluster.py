"""Tests of `DaskScorer` on a local cluster of two worker processes on loopback: its
counts equal `LocalScorer`'s, discovery finds the same rules, and a killed worker's
shards are sent again."""

from __future__ import annotations

import builtins
import logging
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import loom
from loom.cli import main
from loom.data import BitTable, pack_bits
from loom.evolve.cluster import DaskScorer, default_shard_rows
from loom.evolve.scoring import LocalScorer
from loom.exceptions import InvalidParameterError, MissingDependencyError
from loom.kernels import Conditions

distributed = pytest.importorskip("distributed")

# Small searches: each scorer call is a round trip to the workers.
SEARCH = {"n_generations": 6, "population_size": 16, "inner_folds": 2, "random_state": 3}


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A client of two worker processes on loopback, shared by the module's tests."""
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
        dashboard_address=None,
    )
    with cluster, distributed.Client(cluster) as connected:
        yield connected


@pytest.fixture
def two_workers(client: Any) -> Any:
    """The shared client, once both workers are up (a test may have killed one)."""
    client.wait_for_workers(2, timeout=60)
    return client


def planted_frame(seed: int, n_rows: int = 300) -> pd.DataFrame:
    """Six boolean features, a numeric one and a target set by two rules, 5% flipped."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_rows, 6)) < 0.5
    y = (X[:, 0] & X[:, 1]) | (X[:, 2] & ~X[:, 3])
    y ^= rng.random(n_rows) < 0.05
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    frame["x"] = np.round(rng.normal(size=n_rows), 2)
    frame["y"] = np.where(y, "p", "n")
    return frame


def scorer_table(seed: int, n_rows: int) -> BitTable:
    frame = planted_frame(seed, n_rows)
    frame["f4"] = frame["f4"].astype(object)
    frame.loc[frame.index % 7 == 0, "f4"] = None  # missing values
    return BitTable.from_frame(frame, "y", n_thresholds=4)


# ---------------------------------------------------------------------------
# Counts


@pytest.mark.parametrize("shard_rows", [1, 63, 64, 65, None], ids=str)
def test_scorer_counts_match_local(two_workers: Any, shard_rows: int | None) -> None:
    table = scorer_table(5, 200)
    local = LocalScorer(table)
    remote = DaskScorer(table, two_workers, shard_rows=shard_rows)
    rng = np.random.default_rng(9)
    mask = pack_bits(rng.random(table.n_rows) < 0.7)
    target = table.schema.columns_of("y")[1]
    conditions = Conditions.build([("exactly", [0, 2, 4], 2), ("atleast", [1, 6], 1)])
    first = 2 * table.n_columns
    rules = np.array(
        [[0, -1, -1], [3, 8, -1], [first, -1, -1], [first + 3, 4, -1], [-1, -1, -1]],
        dtype=np.int32,
    )
    sets = np.array([[0, 1], [2, -1], [3, 4]], dtype=np.int32)

    for scorer in (local, remote):
        scorer.register_mask("m", mask)
        scorer.copy_mask("left", "m")
        scorer.exclude("left", "left", rules[3], conditions)

    for name in ("m", "left"):
        assert remote.count(name) == local.count(name)
        assert remote.count_and(name, target) == local.count_and(name, target)
        assert np.array_equal(
            remote.rules(rules, target, name, conditions),
            local.rules(rules, target, name, conditions),
        )
        for got, expected in zip(
            remote.rule_sets(rules, sets, target, name, conditions),
            local.rule_sets(rules, sets, target, name, conditions),
            strict=True,
        ):
            assert np.array_equal(got, expected)
        classes = list(table.schema.columns_of("y"))
        assert np.array_equal(
            remote.decision_lists(rules, sets, classes, name, conditions),
            local.decision_lists(rules, sets, classes, name, conditions),
        )

    assert np.array_equal(remote.column(target), table.bits[target])


def test_scorer_shards_cover_rows(two_workers: Any) -> None:
    table = scorer_table(6, 130)
    remote = DaskScorer(table, two_workers, shard_rows=50)
    assert remote.n_shards == 3
    assert default_shard_rows(130, 2) == 128


def test_scorer_rejects_wrong_mask(two_workers: Any) -> None:
    remote = DaskScorer(scorer_table(6, 130), two_workers)
    with pytest.raises(InvalidParameterError, match=r"mask 'm' must have shape \(3,\)"):
        remote.register_mask("m", np.zeros(5, dtype=np.uint64))


# ---------------------------------------------------------------------------
# Discovery


@pytest.mark.parametrize(
    ("seed", "options"),
    [(1, {}), (2, {"cardinality": False, "max_rules": 3})],
    ids=["cardinality", "plain"],
)
def test_discover_cluster_matches_local(
    two_workers: Any, seed: int, options: dict[str, Any]
) -> None:
    frame = planted_frame(seed)
    local = loom.discover(frame, "y", **SEARCH, **options)
    remote = loom.discover(frame, "y", client=two_workers, shard_rows=100, **SEARCH, **options)
    assert str(remote) == str(local)
    assert remote.front == local.front
    assert remote.info["generations"] == local.info["generations"]


def test_discover_boolean_target_on_cluster(two_workers: Any) -> None:
    frame = planted_frame(4, n_rows=150)
    frame["y"] = frame["y"] == "p"
    local = loom.discover(frame, "y", **SEARCH)
    remote = loom.discover(frame, "y", client=two_workers, **SEARCH)
    assert str(remote) == str(local)


def test_discover_sample_seeds_on_cluster(
    two_workers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Seeds fit a sample of 128 rows on the driver; the search counts on the workers.
    monkeypatch.setattr(sys.modules["loom.evolve.discover"], "SEED_SAMPLE_ROWS", 128)
    frame = planted_frame(9, n_rows=600)
    local = loom.discover(frame, "y", **SEARCH)
    remote = loom.discover(frame, "y", client=two_workers, **SEARCH)
    assert str(remote) == str(local)
    assert remote.front == local.front


def test_discover_survives_killed_worker(
    two_workers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    frame = planted_frame(7)
    local = loom.discover(frame, "y", **SEARCH)
    pids = two_workers.run(os.getpid)
    victim = pids[sorted(pids)[0]]
    killed = []

    def kill_once(record: Any) -> None:
        if not killed and record.number == 2:
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    with caplog.at_level(logging.WARNING, logger="loom.evolve.cluster"):
        remote = loom.discover(
            frame, "y", client=two_workers, on_generation=kill_once, **SEARCH
        )
    assert killed == [victim]
    assert "sending 1 shard(s) again" in caplog.text
    assert str(remote) == str(local)
    assert remote.front == local.front


def test_discover_rejects_other_client() -> None:
    with pytest.raises(InvalidParameterError, match="client must be a dask.distributed"):
        loom.discover(planted_frame(1), "y", client="tcp://127.0.0.1:8786")


@pytest.mark.parametrize("shard_rows", [0, 2.5, True], ids=repr)
def test_discover_rejects_shard_rows(shard_rows: Any) -> None:
    with pytest.raises(InvalidParameterError, match="shard_rows must be an int >= 1"):
        loom.discover(planted_frame(1), "y", shard_rows=shard_rows)


def test_discover_without_distributed(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def block(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", block)
    with pytest.raises(MissingDependencyError, match=r"loom-rules\[cluster\]"):
        loom.discover(planted_frame(1), "y", client=object())


# ---------------------------------------------------------------------------
# The command line


def test_cli_scheduler_matches_local(
    two_workers: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "planted.csv"
    planted_frame(8, n_rows=120).to_csv(path, index=False)
    arguments = [
        "discover", str(path), "--target", "y", "--generations", "3", "--max-rules", "3",
        "--json",
    ]
    assert main(arguments) == 0
    local = capsys.readouterr().out
    address = two_workers.scheduler.address
    assert main([*arguments, "--scheduler", address, "--shard-rows", "64"]) == 0
    remote = capsys.readouterr().out
    assert loom.RuleSet.from_json(remote).rules == loom.RuleSet.from_json(local).rules


def test_cli_scheduler_unreachable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "planted.csv"
    planted_frame(8).to_csv(path, index=False)
    status = main(
        ["discover", str(path), "--target", "y", "--scheduler", "tcp://127.0.0.1:1",
         "--connect-timeout", "0.5"]
    )
    assert status == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith(
        "loom: error: cannot connect to the Dask scheduler at 'tcp://127.0.0.1:1'"
    )
    assert "\n" not in error


def test_cli_shard_rows_needs_scheduler(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "planted.csv"
    planted_frame(8).to_csv(path, index=False)
    assert main(["discover", str(path), "--target", "y", "--shard-rows", "10"]) == 2
    assert "--shard-rows needs --scheduler" in capsys.readouterr().err
