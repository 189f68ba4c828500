"""Brute-force reference for reasoning queries: every case of a schema as a table row.

A schema of boolean and categorical features has finitely many cases (one value per
feature, or missing where allowed). `CaseTable` encodes all of them as one `BitTable`
and computes each expected result with `loom.evaluate` on that table, so it shares no
code with the SAT encoding it checks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from loom import BitTable, Schema, evaluate
from loom.constraints.ast import (
    FALSE,
    BooleanAtom,
    Compare,
    Constraint,
    Not,
    format_number,
)
from loom.data import pack_bits, unpack_bits
from loom.data.schema import FeatureSpec, label_value
from loom.reason import Explanation

__all__ = ["CaseTable", "feature_literals", "states_of"]

State = bool | str | None


def states_of(spec: FeatureSpec) -> list[State]:
    """The values a case may give `spec`, missing (None) last."""
    states: list[State]
    if spec.kind == "boolean":
        states = [
            value == "true" for value in ("false", "true") if value in spec.values
        ]
    elif spec.kind == "categorical":
        states = list(spec.values)
    else:
        msg = f"the oracle enumerates boolean and categorical features, not {spec.kind}"
        raise AssertionError(msg)
    if spec.allows_missing:
        states.append(None)
    return states


def feature_literals(spec: FeatureSpec) -> list[Constraint]:
    """The literals a backbone reports on, as `Compiler.literals_of` lists them."""
    if spec.kind == "boolean":
        return [BooleanAtom(spec.name), Not(BooleanAtom(spec.name))]
    values = [label_value(label) for label in spec.values]
    return [Compare(spec.name, op, value) for value in values for op in ("=", "!=")]


class CaseTable:
    """Every case of a schema as a row (or the given cases), with cached evaluation
    of constraints."""

    def __init__(
        self, schema: Schema, rows: Sequence[Sequence[int]] | None = None
    ) -> None:
        self.schema = schema
        self.states = [states_of(spec) for spec in schema.features]
        sizes = [len(states) for states in self.states]
        if rows is None:
            self.n_rows = math.prod(sizes)
            self.index = np.indices(sizes).reshape(len(sizes), -1).astype(np.intp)
        else:
            # Only the given cases, each a state position per feature.
            self.n_rows = len(rows)
            self.index = np.array(rows, dtype=np.intp).reshape(-1, len(sizes)).T
        columns = []
        valid = []
        for position, spec in enumerate(schema.features):
            picked = [self.states[position][i] for i in self.index[position]]
            valid.append([state is not None for state in picked])
            for literal in spec.literals:
                if spec.kind == "boolean":
                    columns.append([state is True for state in picked])
                else:
                    label = _label_of(literal)
                    columns.append([state == label for state in picked])
        bits = pack_bits(np.array(columns, dtype=bool).reshape(-1, self.n_rows))
        validity = pack_bits(np.array(valid, dtype=bool).reshape(-1, self.n_rows))
        self.table = BitTable(schema, bits, validity, self.n_rows)
        self._cache: dict[Constraint, tuple[NDArray[np.bool_], NDArray[np.bool_]]] = {}

    def truth(self, node: Constraint) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """Rows where `node` is TRUE and rows where it is FALSE."""
        cached = self._cache.get(node)
        if cached is None:
            true, false = evaluate(node, self.table)
            cached = (unpack_bits(true, self.n_rows), unpack_bits(false, self.n_rows))
            self._cache[node] = cached
        return cached

    def holds(self, nodes: Sequence[Constraint]) -> NDArray[np.bool_]:
        """Rows where every node is TRUE."""
        rows = np.ones(self.n_rows, dtype=bool)
        for node in nodes:
            rows &= self.truth(node)[0]
        return rows

    def forces(self, nodes: Sequence[Constraint], conclusion: Constraint) -> bool:
        """Whether every row where `nodes` hold makes `conclusion` TRUE (``false``:
        whether no row does)."""
        rows = self.holds(nodes)
        if conclusion == FALSE:
            return not rows.any()
        return not (rows & ~self.truth(conclusion)[0]).any()

    def row_of(self, case: Mapping[str, object]) -> int:
        """The row of a decoded case."""
        positions = []
        for spec, states in zip(self.schema.features, self.states, strict=True):
            positions.append(states.index(case[spec.name]))
        sizes = [len(states) for states in self.states]
        return int(np.ravel_multi_index(positions, sizes)) if sizes else 0

    def assert_explanation(
        self,
        explanation: Explanation,
        labelled: Mapping[str, Constraint],
        facts: Sequence[Constraint],
    ) -> None:
        """Assert that the explanation forces its conclusion, and that dropping any
        one step loses it; its labels and facts must come from the query."""
        assert explanation.minimal
        nodes = [step.constraint for step in explanation.steps]
        for step in explanation.steps:
            if step.kind == "fact":
                assert step.constraint in facts, step
            else:
                assert labelled[step.label] == step.constraint, step
        assert self.forces(nodes, explanation.conclusion), explanation
        for position in range(len(nodes)):
            rest = nodes[:position] + nodes[position + 1 :]
            assert not self.forces(rest, explanation.conclusion), (
                position,
                explanation,
            )


def _label_of(literal: Constraint) -> str:
    assert isinstance(literal, Compare), literal
    value = literal.value
    return value if isinstance(value, str) else format_number(value)
