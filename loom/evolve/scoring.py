"""The counts a search asks for, behind one interface that the local table and a
cluster of row shards both provide.

A search names its row subsets (the rows it fits on, the validation rows) once with
`register_mask`, then asks for counts of rules, rule sets and decision lists over them.
Counts add up over rows, so a scorer over row shards returns the sums of its shards.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from loom.data.bits import popcount
from loom.data.schema import Schema
from loom.data.table import BitTable
from loom.kernels import (
    Conditions,
    cardinality_rows,
    score_decision_lists,
    score_rule_sets,
    score_rules,
)

__all__ = ["LocalScorer", "Scorer", "rule_rows"]

Words = NDArray[np.uint64]
Counts = NDArray[np.int64]


class Scorer(Protocol):
    """What a search needs from the data: counts over named row masks."""

    n_rows: int
    schema: Schema

    def column(self, column: int) -> Words:
        """Return the packed rows of one bit column (the target's classes)."""

    def register_mask(self, name: str, mask: Words) -> None:
        """Store a packed row mask under `name` for later calls."""

    def count(self, name: str) -> int:
        """Return the number of rows in a registered mask."""

    def count_and(self, name: str, column: int) -> int:
        """Return the number of rows of a mask where a bit column is set."""

    def rules(
        self, rules: NDArray[np.int32], target: int | None, mask: str,
        conditions: Conditions,
    ) -> Counts:
        """Return `score_rules` counts over a registered mask."""

    def rule_sets(
        self, rules: NDArray[np.int32], sets: NDArray[np.int32], target: int,
        mask: str, conditions: Conditions,
    ) -> tuple[Counts, Counts]:
        """Return `score_rule_sets` counts over a registered mask."""

    def decision_lists(
        self, rules: NDArray[np.int32], lists: NDArray[np.int32], classes: list[int],
        mask: str, conditions: Conditions,
    ) -> Counts:
        """Return `score_decision_lists` counts over a registered mask."""

    def exclude(
        self, name: str, source: str, rule: NDArray[np.int32], conditions: Conditions
    ) -> None:
        """Register as `name` the rows of mask `source` where `rule` is not true."""

    def copy_mask(self, name: str, source: str) -> None:
        """Register as `name` a copy of mask `source`."""


class LocalScorer:
    """A scorer over one in-memory `BitTable`.

    Parameters
    ----------
    table : BitTable
    backend : str, optional
        Kernel backend; see `loom.kernels.backend`.
    """

    def __init__(self, table: BitTable, backend: str | None = None) -> None:
        self.table = table
        self.backend = backend
        self.n_rows = table.n_rows
        self.schema = table.schema
        self._masks: dict[str, Words] = {}

    def register_mask(self, name: str, mask: Words) -> None:
        self._masks[name] = np.ascontiguousarray(mask, dtype=np.uint64)

    def column(self, column: int) -> Words:
        return self.table.bits[column]

    def mask(self, name: str) -> Words:
        """Return a registered mask."""
        return self._masks[name]

    def count(self, name: str) -> int:
        return popcount(self._masks[name])

    def count_and(self, name: str, column: int) -> int:
        return popcount(self._masks[name] & self.table.bits[column])

    def rules(
        self, rules: NDArray[np.int32], target: int | None, mask: str,
        conditions: Conditions,
    ) -> Counts:
        return score_rules(
            self.table, rules, target, self._masks[mask], self.backend,
            conditions=conditions,
        )

    def rule_sets(
        self, rules: NDArray[np.int32], sets: NDArray[np.int32], target: int,
        mask: str, conditions: Conditions,
    ) -> tuple[Counts, Counts]:
        return score_rule_sets(
            self.table, rules, sets, target, self._masks[mask], self.backend,
            conditions=conditions,
        )

    def decision_lists(
        self, rules: NDArray[np.int32], lists: NDArray[np.int32], classes: list[int],
        mask: str, conditions: Conditions,
    ) -> Counts:
        return score_decision_lists(
            self.table, rules, lists, classes, self._masks[mask], self.backend,
            conditions=conditions,
        )

    def exclude(
        self, name: str, source: str, rule: NDArray[np.int32], conditions: Conditions
    ) -> None:
        self._masks[name] = self._masks[source] & ~self.rule_rows(rule, conditions)

    def copy_mask(self, name: str, source: str) -> None:
        self._masks[name] = self._masks[source].copy()

    def rule_rows(self, rule: NDArray[np.int32], conditions: Conditions) -> Words:
        """Return the rows where a conjunction of literal codes is true."""
        return rule_rows(self.table, rule, conditions, self.backend)


def rule_rows(
    table: BitTable, rule: NDArray[np.int32], conditions: Conditions,
    backend: str | None = None,
) -> Words:
    """Return the rows of `table` where a conjunction of literal codes is true.

    Codes as in `loom.kernels.score_rules`: ``2 * c`` for column ``c``, ``2 * c + 1``
    for its negation (true where the feature is known and the bit is clear), codes
    from ``2 * n_columns`` on for `conditions`, and -1 for padding.
    """
    rows = table.rows()
    n_columns = table.n_columns
    condition_rows = None
    for code in rule:
        if code < 0:
            continue
        column = int(code) >> 1
        if column >= n_columns:
            if condition_rows is None:
                condition_rows = cardinality_rows(table, conditions, backend)
            rows = rows & condition_rows[code & 1][column - n_columns]
        elif code & 1:
            feature = table.schema.column_feature32[column]
            rows = rows & table.valid[feature] & ~table.bits[column]
        else:
            rows = rows & table.bits[column]
    return rows
