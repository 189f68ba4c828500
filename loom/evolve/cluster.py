"""`DaskScorer`: the counts of a search, summed over row shards held by Dask workers.

Counts add up over rows, so each worker scores the rules of a call on its shards and the
driver sums the integer counts: a search gets exactly the numbers a `LocalScorer` gives
and so finds the same rules. Each worker keeps its shards and the search's row masks in
a `ShardHost`, a Dask actor, so a call sends only its rules and a mask name, straight to
the workers, and gets back one array of counts from each.

The driver keeps the table and, per mask name, how its current value was made (the mask
it was given, then the exclusions applied to it). When a worker is lost, its shards are
cut from the table and sent again to the workers left, their masks rebuilt, and the call
runs again.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from loom.data.bits import concat_bits, n_words, popcount, slice_bits
from loom.data.schema import Schema
from loom.data.table import BitTable
from loom.evolve.scoring import rule_rows
from loom.exceptions import ClusterError, InvalidParameterError, MissingDependencyError
from loom.kernels import Conditions, score_decision_lists, score_rule_sets, score_rules

__all__ = ["DaskScorer", "ShardHost", "default_shard_rows", "require_distributed"]

logger = logging.getLogger(__name__)

Words = NDArray[np.uint64]
Counts = NDArray[np.int64]

# How often one call is tried again after losing workers, and how long to wait for a
# worker to come back when none is left.
MAX_RECOVERIES = 5
WORKER_TIMEOUT_SECONDS = 60.0


def require_distributed() -> Any:
    """Return the `distributed` module, or raise `MissingDependencyError`."""
    try:
        import distributed
    except ImportError as err:
        msg = (
            "running on a Dask cluster needs dask.distributed, which is not installed; "
            "install it with pip install 'loom-rules[cluster]'."
        )
        raise MissingDependencyError(msg) from err
    return distributed


def default_shard_rows(n_rows: int, n_workers: int) -> int:
    """Return the rows per shard that give each worker one shard, rounded up to a
    whole number of 64-bit words.

    Examples
    --------
    >>> default_shard_rows(1000, 2)
    512
    """
    per_worker = -(-max(n_rows, 1) // max(n_workers, 1))
    return 64 * n_words(per_worker)


# ---------------------------------------------------------------------------
# Masks: what the driver keeps to rebuild them


@dataclass(frozen=True, eq=False)
class _Given:
    """A mask registered from the driver: its words over every row."""

    words: Words


@dataclass(frozen=True, eq=False)
class _Excluded:
    """The rows of another mask where a rule is not true."""

    source: _Given | _Excluded
    rule: NDArray[np.int32]
    conditions: Conditions


_Recipe = _Given | _Excluded




@dataclass(frozen=True, eq=False)
class _Parts:
    """A registered mask cut for some shards: their words by shard number."""

    parts: dict[int, Words]


_ShardRecipe = _Parts | _Excluded


# ---------------------------------------------------------------------------
# The worker side


class ShardHost:
    """The shards and row masks that one worker keeps, run there as a Dask actor.

    Every method works on all the shards of the host and returns their summed
    counts. Masks are kept per shard number: ``masks[name][shard]``.

    Parameters
    ----------
    backend : str, optional
        Kernel backend; see `loom.kernels.backend`.
    """

    def __init__(self, backend: str | None = None) -> None:
        self.backend = backend
        self.shards: dict[int, BitTable] = {}
        self.masks: dict[str, dict[int, Words]] = {}

    def add_shards(self, shards: dict[int, BitTable]) -> int:
        """Keep `shards` (by shard number); return how many the host has now."""
        self.shards.update(shards)
        return len(self.shards)

    def build_mask(self, name: str, recipe: _ShardRecipe, shards: list[int]) -> None:
        """Compute mask `name` of the given shards from a recipe."""
        parts = self.masks.setdefault(name, {})
        for shard in shards:
            parts[shard] = self._evaluate(recipe, shard)

    def _evaluate(self, recipe: _ShardRecipe, shard: int) -> Words:
        if isinstance(recipe, _Parts):
            return recipe.parts[shard]
        source = self._evaluate(recipe.source, shard)  # type: ignore[arg-type]
        rows = rule_rows(self.shards[shard], recipe.rule, recipe.conditions, self.backend)
        return source & ~rows

    def copy_mask(self, name: str, source: str) -> None:
        """Make mask `name` the same rows as mask `source`."""
        self.masks[name] = dict(self.masks[source])

    def exclude(
        self, name: str, source: str, rule: NDArray[np.int32], conditions: Conditions
    ) -> None:
        """Make mask `name` the rows of mask `source` where `rule` is not true."""
        parts = self.masks[source]
        self.masks[name] = {
            shard: parts[shard] & ~rule_rows(table, rule, conditions, self.backend)
            for shard, table in self.shards.items()
        }

    def count(self, mask: str, column: int | None) -> int:
        """Return the rows of a mask, or of a mask and a bit column."""
        parts = self.masks[mask]
        if column is None:
            return sum(popcount(parts[shard]) for shard in self.shards)
        return sum(
            popcount(parts[shard] & table.bits[column]) for shard, table in self.shards.items()
        )

    def columns(self, column: int) -> dict[int, Words]:
        """Return the words of one bit column of every shard held."""
        return {shard: np.array(table.bits[column]) for shard, table in self.shards.items()}

    def rules(
        self, mask: str, rules: NDArray[np.int32], target: int | None,
        conditions: Conditions,
    ) -> Counts:
        """Return summed `score_rules` counts."""
        return _summed(
            score_rules(table, rules, target, self.masks[mask][shard], self.backend,
                        conditions=conditions)
            for shard, table in self.shards.items()
        )

    def rule_sets(
        self, mask: str, rules: NDArray[np.int32], sets: NDArray[np.int32], target: int,
        conditions: Conditions,
    ) -> tuple[Counts, Counts]:
        """Return summed `score_rule_sets` counts."""
        parts = [
            score_rule_sets(table, rules, sets, target, self.masks[mask][shard],
                            self.backend, conditions=conditions)
            for shard, table in self.shards.items()
        ]
        return _summed(p[0] for p in parts), _summed(p[1] for p in parts)

    def decision_lists(
        self, mask: str, rules: NDArray[np.int32], lists: NDArray[np.int32],
        classes: list[int], conditions: Conditions,
    ) -> Counts:
        """Return summed `score_decision_lists` counts."""
        return _summed(
            score_decision_lists(table, rules, lists, classes, self.masks[mask][shard],
                                 self.backend, conditions=conditions)
            for shard, table in self.shards.items()
        )


def _summed(parts: Any) -> Any:
    """Return the sum of arrays (or of ints), None for no parts."""
    total = None
    for part in parts:
        total = part if total is None else total + part
    return total


# ---------------------------------------------------------------------------
# The driver side


@dataclass
class _Host:
    """A `ShardHost` actor and the future that created it."""

    worker: str
    future: Any
    actor: Any


class DaskScorer:
    """A scorer over the row shards of a `BitTable`, held by the workers of a Dask
    cluster; see `loom.evolve.scoring.Scorer`.

    Parameters
    ----------
    table : BitTable
    client : distributed.Client
        A client connected to the cluster.
    shard_rows : int, optional
        Rows per shard; default one shard per worker (`default_shard_rows`).
    backend : str, optional
        Kernel backend on the workers; see `loom.kernels.backend`.

    Notes
    -----
    The driver keeps the table, so that a lost worker's shards can be cut and sent
    again: it needs the memory of the table, as a `LocalScorer` does. Each call goes
    to every worker and waits for all of them.

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"a": [True, False] * 50, "y": ["p", "n"] * 50})
    >>> table = BitTable.from_frame(frame, "y")
    >>> with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
    ...     with Client(cluster) as client:
    ...         scorer = DaskScorer(table, client, shard_rows=64)
    ...         scorer.register_mask("all", table.rows())
    ...         rules = np.array([[0]], dtype=np.int32)
    ...         scorer.rules(rules, 2, "all", Conditions.build([])).tolist()
    [[50, 50]]
    """

    def __init__(
        self, table: BitTable, client: Any, *, shard_rows: int | None = None,
        backend: str | None = None,
    ) -> None:
        require_distributed()
        self.client = client
        self.backend = backend
        self.n_rows = table.n_rows
        self.schema: Schema = table.schema
        workers = self._workers()
        if shard_rows is None:
            shard_rows = default_shard_rows(table.n_rows, len(workers))
        if isinstance(shard_rows, bool) or not isinstance(shard_rows, int) or shard_rows < 1:
            msg = f"shard_rows must be an int >= 1 or None, got {shard_rows!r}."
            raise InvalidParameterError(msg)
        self.shard_rows = shard_rows
        self._table = table
        starts = range(0, max(table.n_rows, 1), shard_rows)
        self._bounds = [(start, min(start + shard_rows, table.n_rows)) for start in starts]
        self._recipes: dict[str, _Recipe] = {}
        self._hosts: dict[str, _Host] = {}
        self._placement = [workers[i % len(workers)] for i in range(len(self._bounds))]
        state = random.getstate()
        try:
            self._send(range(len(self._bounds)))
        finally:
            random.setstate(state)  # see `_call`
        self.calls = 0
        logger.info(
            "sent %s rows as %s shards of at most %s rows to %s workers",
            table.n_rows, len(self._bounds), shard_rows, len(workers),
        )

    @property
    def n_shards(self) -> int:
        """The number of row shards."""
        return len(self._bounds)

    # -- placement ------------------------------------------------------------------

    def _workers(self) -> list[str]:
        """Return the addresses of the workers, waiting for one when none is left."""
        workers = self._addresses()
        if not workers:
            try:
                self.client.wait_for_workers(1, timeout=WORKER_TIMEOUT_SECONDS)
            except TimeoutError as err:
                msg = (
                    f"the Dask cluster has no workers, and none joined within "
                    f"{WORKER_TIMEOUT_SECONDS:.0f} s; start workers for its scheduler."
                )
                raise ClusterError(msg) from err
            workers = self._addresses()
        return workers

    def _addresses(self) -> list[str]:
        try:
            # n_workers limits the workers listed in the releases of distributed that
            # take it (2026.8 documents -1 as every worker).
            info = self.client.scheduler_info(n_workers=-1)
        except TypeError:  # a release without the argument
            info = self.client.scheduler_info()
        return sorted(info["workers"])

    def _host(self, worker: str) -> _Host:
        host = self._hosts.get(worker)
        if host is None:
            future = self.client.submit(
                ShardHost, self.backend, workers=[worker], actor=True, pure=False
            )
            host = _Host(worker, future, future.result())
            self._hosts[worker] = host
        return host

    def _send(self, shards: Sequence[int]) -> None:
        """Send shards to their workers and build every mask there."""
        by_worker: dict[str, list[int]] = {}
        for shard in shards:
            by_worker.setdefault(self._placement[shard], []).append(shard)
        for worker, group in by_worker.items():
            host = self._host(worker)
            for shard in group:
                # One shard at a time, so the driver copies at most one shard's words.
                piece = self._table.slice_rows(*self._bounds[shard])
                host.actor.add_shards({shard: piece}).result()
            for name, recipe in self._recipes.items():
                host.actor.build_mask(name, self._for_shards(recipe, group), group).result()

    def _for_shards(self, recipe: _Recipe, shards: Sequence[int]) -> _ShardRecipe:
        """Return a recipe whose registered masks are cut to the given shards."""
        if isinstance(recipe, _Given):
            return _Parts({shard: self._mask_part(recipe.words, shard) for shard in shards})
        source = self._for_shards(recipe.source, shards)
        return _Excluded(source, recipe.rule, recipe.conditions)  # type: ignore[arg-type]

    def _mask_part(self, words: Words, shard: int) -> Words:
        return slice_bits(words, *self._bounds[shard])

    def _active(self) -> list[_Host]:
        return [self._hosts[worker] for worker in sorted(set(self._placement))]

    def _shards_of(self, worker: str) -> list[int]:
        return [shard for shard, placed in enumerate(self._placement) if placed == worker]

    # -- masks ------------------------------------------------------------------------

    def register_mask(self, name: str, mask: Words) -> None:
        words = np.ascontiguousarray(mask, dtype=np.uint64)
        if words.shape != (n_words(self.n_rows),):
            msg = (
                f"mask {name!r} must have shape ({n_words(self.n_rows)},) for "
                f"{self.n_rows} rows, got {words.shape}."
            )
            raise InvalidParameterError(msg)
        recipe = _Given(words)
        self._recipes[name] = recipe
        self._call(lambda host: host.actor.build_mask(
            name, self._for_shards(recipe, self._shards_of(host.worker)),
            self._shards_of(host.worker),
        ))

    def copy_mask(self, name: str, source: str) -> None:
        self._recipes[name] = self._recipes[source]
        self._call(lambda host: host.actor.copy_mask(name, source))

    def exclude(
        self, name: str, source: str, rule: NDArray[np.int32], conditions: Conditions
    ) -> None:
        rule = np.array(rule, dtype=np.int32)
        self._recipes[name] = _Excluded(self._recipes[source], rule, conditions)
        self._call(lambda host: host.actor.exclude(name, source, rule, conditions))

    # -- counts -------------------------------------------------------------------------

    def column(self, column: int) -> Words:
        parts: dict[int, Words] = {}
        for found in self._call(lambda host: host.actor.columns(column)):
            parts.update(found)
        return concat_bits(
            [parts[shard] for shard in range(self.n_shards)],
            [stop - start for start, stop in self._bounds],
        )

    def count(self, name: str) -> int:
        return int(sum(self._call(lambda host: host.actor.count(name, None))))

    def count_and(self, name: str, column: int) -> int:
        return int(sum(self._call(lambda host: host.actor.count(name, column))))

    def rules(
        self, rules: NDArray[np.int32], target: int | None, mask: str,
        conditions: Conditions,
    ) -> Counts:
        parts = self._call(lambda host: host.actor.rules(mask, rules, target, conditions))
        return _summed(parts)

    def rule_sets(
        self, rules: NDArray[np.int32], sets: NDArray[np.int32], target: int,
        mask: str, conditions: Conditions,
    ) -> tuple[Counts, Counts]:
        parts = self._call(
            lambda host: host.actor.rule_sets(mask, rules, sets, target, conditions)
        )
        return _summed(p[0] for p in parts), _summed(p[1] for p in parts)

    def decision_lists(
        self, rules: NDArray[np.int32], lists: NDArray[np.int32], classes: list[int],
        mask: str, conditions: Conditions,
    ) -> Counts:
        classes = list(classes)
        parts = self._call(
            lambda host: host.actor.decision_lists(mask, rules, lists, classes, conditions)
        )
        return _summed(parts)

    # -- calls and recovery -----------------------------------------------------------

    def _call(self, method: Callable[[_Host], Any]) -> list[Any]:
        """Call `method` on every host that holds shards, all at once, and return the
        results; after losing workers, send their shards again and call again.

        The client's thread draws from the global `random` module while it sends
        (distributed's compression samples, retry jitter), and the search's DEAP
        selection draws from it too, so the call leaves its state as it found it:
        otherwise the search would depend on the traffic.
        """
        state = random.getstate()
        try:
            return self._call_hosts(method)
        finally:
            random.setstate(state)

    def _call_hosts(self, method: Callable[[_Host], Any]) -> list[Any]:
        self.calls += 1
        for attempt in range(MAX_RECOVERIES + 1):
            hosts = self._active()
            pending = [method(host) for host in hosts]
            results = []
            lost: list[_Host] = []
            failure: BaseException | None = None
            for host, future in zip(hosts, pending, strict=True):
                try:
                    results.append(future.result())
                except Exception as error:  # sorted out below
                    if not self._is_lost(host, error):
                        raise
                    lost.append(host)
                    failure = error
            if not lost:
                return results
            if attempt == MAX_RECOVERIES:
                msg = (
                    f"the Dask cluster lost workers in {MAX_RECOVERIES + 1} tries of one "
                    f"call (last: {failure!r}); check that its workers stay up."
                )
                raise ClusterError(msg) from failure
            self._recover(lost, failure)
        raise AssertionError("unreachable")  # pragma: no cover

    def _is_lost(self, host: _Host, error: Exception) -> bool:
        """Whether `error` means that the host's worker is gone."""
        if isinstance(error, OSError):
            return True
        for _ in range(50):
            if host.future.status != "finished":
                return True
            if not isinstance(error, RuntimeError):
                return False
            time.sleep(0.1)  # the scheduler may not have reported the loss yet
        return False

    def _recover(self, lost: list[_Host], failure: BaseException | None) -> None:
        """Move the shards of lost hosts to the workers left and rebuild their masks."""
        for host in lost:
            self._hosts.pop(host.worker, None)
        gone = {host.worker for host in lost}
        moved = [shard for shard, worker in enumerate(self._placement) if worker in gone]
        logger.warning(
            "lost worker(s) %s (%r); sending %s shard(s) again",
            ", ".join(sorted(gone)), failure, len(moved),
        )
        workers = [worker for worker in self._workers() if worker not in gone]
        if not workers:
            workers = self._workers()
        load = {worker: 0 for worker in workers}
        for worker in self._placement:
            if worker in load:
                load[worker] += 1
        for shard in moved:
            worker = min(load, key=lambda w: (load[w], w))
            self._placement[shard] = worker
            load[worker] += 1
        self._send(moved)
