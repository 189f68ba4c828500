"""Literal codes of a search: what each code means, and which conjunctions of them are
redundant or contradictory.

A literal code is the kernels' code: ``2 * c`` for bit column ``c``, ``2 * c + 1`` for
its negation. Codes from ``2 * n_columns`` on are cardinality conditions, kept in a
`ConditionPool` that grows during a search. A rule's condition is a sorted tuple of
codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from loom.constraints.ast import Cardinality, Constraint, Not
from loom.data.schema import Schema
from loom.kernels import Conditions

__all__ = ["ConditionPool", "LiteralSpace"]

_NO_CONDITIONS = Conditions.build([])

Code = int
Condition = tuple[str, tuple[Code, ...], int]  # (kind, operand codes, bound)

# Literal kinds, by the feature kind of the column.
BOOLEAN, CATEGORICAL, NUMERIC = 0, 1, 2


@dataclass(frozen=True)
class LiteralSpace:
    """Per-column facts that simplification and mutation need.

    Attributes
    ----------
    schema : Schema
    feature : ndarray of shape (n_columns,), dtype=intp
        Feature position of each column.
    kind : ndarray of shape (n_columns,), dtype=int8
        0 boolean, 1 categorical, 2 numeric.
    rank : ndarray of shape (n_columns,), dtype=intp
        Position of the column among its feature's columns (the threshold order for a
        numeric feature).
    usable : ndarray of shape (n_codes,), dtype=intp
        The literal codes a rule may use: every column of every feature except the
        target, in both polarities.
    """

    schema: Schema
    feature: NDArray[np.intp]
    kind: NDArray[np.int8]
    rank: NDArray[np.intp]
    usable: NDArray[np.intp]

    @classmethod
    def build(cls, schema: Schema) -> LiteralSpace:
        """Describe every column of `schema`; the target's columns are not usable."""
        feature = schema.column_feature
        kinds = {"boolean": BOOLEAN, "categorical": CATEGORICAL, "numeric": NUMERIC}
        kind = np.array(
            [kinds[schema.features[f].kind] for f in feature], dtype=np.int8
        ).reshape(-1)
        rank = np.zeros(schema.n_columns, dtype=np.intp)
        for spec in schema.features:
            columns = schema.columns_of(spec.name)
            rank[columns.start : columns.stop] = np.arange(len(columns))
        target = schema.index(schema.target) if schema.target is not None else -1
        columns = np.flatnonzero(feature != target)
        usable = np.sort(np.concatenate([2 * columns, 2 * columns + 1]))
        return cls(schema, feature, kind, rank, usable)

    @property
    def n_columns(self) -> int:
        return self._n_columns

    def __post_init__(self) -> None:
        object.__setattr__(self, "_n_columns", self.schema.n_columns)
        object.__setattr__(self, "_feature_list", self.feature.tolist())
        neighbours: list[tuple[int, ...]] = []
        for column in range(self._n_columns):
            found = []
            if self.kind[column] == NUMERIC:
                for other in (column - 1, column + 1):
                    inside = 0 <= other < self._n_columns
                    if inside and self.feature[other] == self.feature[column]:
                        found.append(other)
            neighbours.append(tuple(found))
        object.__setattr__(self, "_neighbour_columns", neighbours)

    def column_code_feature(self, code: Code) -> int:
        """Return the feature position of a column literal code."""
        return int(self.feature[code >> 1])

    def neighbours(self, code: Code) -> list[Code]:
        """Return the codes of the same polarity at the neighbouring thresholds of a
        numeric literal (empty for other literals)."""
        column = code >> 1
        if column >= self._n_columns:
            return []
        return [2 * other + (code & 1) for other in self._neighbour_columns[column]]

    def literal_node(self, code: Code) -> Constraint:
        """Return the AST of a column literal code (``not`` plus the column for odd
        codes, written as ``x > t`` or ``c != v`` where those read better)."""
        column = code >> 1
        node = self.schema.literals[column]
        if not code & 1:
            return node
        from loom.constraints.ast import Compare

        if isinstance(node, Compare) and node.op == "<=":
            return Compare(node.feature, ">", node.value)
        if isinstance(node, Compare) and node.op == "=":
            return Compare(node.feature, "!=", node.value)
        return Not(node)

    def simplify(self, codes: Iterable[Code]) -> tuple[Code, ...] | None:
        """Return a conjunction without duplicate or implied literals, sorted, or None
        when it is contradictory.

        On one numeric feature only the tightest bound of each direction is kept
        (``x <= 5 and x <= 10`` is ``x <= 5``), and bounds that leave no value are a
        contradiction. On a categorical feature, ``c = a`` makes every ``c != b``
        redundant, and two different ``=`` values contradict. A literal and its
        negation contradict. Cardinality codes are kept as they are.
        """
        unique = sorted(set(codes))
        columns = self._n_columns
        features = self._feature_list
        seen_features = {features[code >> 1] for code in unique if code >> 1 < columns}
        one_each = len(seen_features) == sum(
            1 for code in unique if code >> 1 < columns
        )
        negated_categorical = any(
            code & 1 and code >> 1 < columns and self.kind[code >> 1] == CATEGORICAL
            for code in unique
        )
        if one_each and not negated_categorical:
            return tuple(unique)  # one literal per feature: nothing to reduce
        if any(code ^ 1 in unique for code in unique if code >> 1 < columns):
            return None
        kept: list[Code] = []
        by_feature: dict[int, list[Code]] = {}
        for code in unique:
            if code >> 1 >= columns:
                kept.append(code)
            else:
                by_feature.setdefault(int(self.feature[code >> 1]), []).append(code)
        for group in by_feature.values():
            reduced = self._reduce_feature(group)
            if reduced is None:
                return None
            kept.extend(reduced)
        return tuple(sorted(kept))

    def _reduce_feature(self, group: list[Code]) -> list[Code] | None:
        kind = self.kind[group[0] >> 1]
        if kind == BOOLEAN or (
            len(group) == 1 and not (kind == CATEGORICAL and group[0] & 1)
        ):
            return group
        if kind == NUMERIC:
            at_most = [c for c in group if not c & 1]  # x <= t
            above = [c for c in group if c & 1]  # x > t
            low = max(above) if above else None  # the largest lower bound
            high = min(at_most) if at_most else None  # the smallest upper bound
            if low is not None and high is not None and (high >> 1) <= (low >> 1):
                return None
            return [c for c in (low, high) if c is not None]
        equal = [c for c in group if not c & 1]
        if len(equal) > 1:
            return None
        if equal:
            return equal  # c = a implies every c != b
        # `c != a and c != b` over all but one value is `c = v` for the value left,
        # and over every value it leaves none.
        column = group[0] >> 1
        feature = self._feature_list[column]
        columns = [
            c for c in range(self._n_columns) if self._feature_list[c] == feature
        ]
        left = set(columns) - {code >> 1 for code in group}
        if not left:
            return None
        if len(left) == 1:
            return [2 * left.pop()]
        return group


class ConditionPool:
    """Cardinality conditions of a search, numbered in the order they are added.

    Condition ``j`` has code ``2 * (n_columns + j)``. The pool only grows, so a code
    keeps its meaning for the whole search.
    """

    def __init__(self, space: LiteralSpace) -> None:
        self.space = space
        self.items: list[Condition] = []
        self._index: dict[Condition, int] = {}
        self._prepared: dict[tuple[int, ...], Conditions] = {}

    def __len__(self) -> int:
        return len(self.items)

    def add(self, kind: str, operands: Sequence[Code], bound: int) -> Code | None:
        """Return the code of a condition, adding it when new; None when it adds
        nothing a conjunction could not express.

        None for fewer than two operands, a bound every row meets or none can, and
        the bounds that make a count a conjunction: at least (or exactly) all of the
        operands, or at most (or exactly) none of them, which the plain literals say
        more readably.
        """
        ordered = tuple(sorted(operands))
        n = len(ordered)
        if n < 2 or bound < 0 or bound > n:
            return None
        if (kind == "atleast" and bound == 0) or (kind == "atmost" and bound == n):
            return None
        if (kind in ("atleast", "exactly") and bound == n) or (
            kind in ("atmost", "exactly") and bound == 0
        ):
            return None
        key = (kind, ordered, int(bound))
        if key not in self._index:
            self._index[key] = len(self.items)
            self.items.append(key)
        return 2 * (self.space.n_columns + self._index[key])

    def get(self, code: Code) -> Condition:
        """Return the ``(kind, operands, bound)`` of a condition code."""
        return self.items[(code >> 1) - self.space.n_columns]

    def is_condition(self, code: Code) -> bool:
        return code >> 1 >= self.space.n_columns

    def prepare(self, rules: NDArray[np.int32]) -> tuple[NDArray[np.int32], Conditions]:
        """Return rules and the kernel `Conditions` of just the conditions they use.

        The kernels evaluate every condition they are given on every block, so each
        call gets only its own, renumbered in order of first use.
        """
        first = 2 * self.space.n_columns
        used = np.unique(rules[rules >= first] >> 1) - self.space.n_columns
        if used.size == 0:
            return rules, _NO_CONDITIONS
        key = tuple(int(j) for j in used)
        conditions = self._prepared.get(key)
        if conditions is None:
            conditions = Conditions.build(
                [
                    (kind, list(operands), bound)
                    for kind, operands, bound in (self.items[j] for j in key)
                ]
            )
            if len(self._prepared) > 256:
                self._prepared.clear()
            self._prepared[key] = conditions
        lookup = np.full(len(self.items), -1, dtype=np.int32)
        lookup[used] = np.arange(used.size, dtype=np.int32)
        renumbered = rules.copy()
        is_condition = rules >= first
        positions = lookup[(rules[is_condition] >> 1) - self.space.n_columns]
        renumbered[is_condition] = 2 * (self.space.n_columns + positions) + (
            rules[is_condition] & 1
        )
        return renumbered, conditions

    def node(self, code: Code) -> Constraint:
        """Return the AST of a condition code (negated for an odd code)."""
        kind, operands, bound = self.get(code)
        node: Constraint = Cardinality(
            kind, bound, tuple(self.space.literal_node(o) for o in operands)
        )
        return Not(node) if code & 1 else node

    def size(self, code: Code) -> int:
        """Return the number of literals a code counts for: a condition counts its
        operands."""
        if not self.is_condition(code):
            return 1
        return len(self.get(code)[1])
