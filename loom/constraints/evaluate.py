"""Three-valued evaluation of constraints on a `BitTable`, with whole-word operations.

Every node evaluates to two disjoint bit vectors: the rows where it is true and the
rows where it is false; the remaining rows are unknown (Kleene logic). Atoms are
resolved against the table's schema first, so a constraint that names an unknown
feature or an impossible value fails before any bits are touched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from loom.constraints.ast import (
    And,
    BooleanAtom,
    Cardinality,
    Compare,
    Constant,
    Constraint,
    Iff,
    Implies,
    Membership,
    Not,
    Or,
    Value,
    Xor,
    format_number,
    format_value,
    walk,
)
from loom.constraints.parser import parse
from loom.data.schema import FeatureSpec, label_value
from loom.data.table import BitTable
from loom.exceptions import ConstraintError

__all__ = ["Evaluation", "evaluate"]

Words = NDArray[np.uint64]


class Evaluation(NamedTuple):
    """The rows where a constraint is true and where it is false, as packed bits.

    Rows in neither are unknown: a missing value left the answer undetermined.
    """

    true: Words
    false: Words


def evaluate(
    constraint: Constraint | str, table: BitTable, *, allow_unseen: bool = False
) -> Evaluation:
    """Evaluate a constraint on every row of a table.

    Parameters
    ----------
    constraint : Constraint or str
        A node or constraint text.
    table : BitTable
    allow_unseen : bool, default=False
        Accept categorical values the schema does not know (``color = purple``) and
        treat them as matching no row, instead of raising.

    Returns
    -------
    Evaluation
        ``(true, false)``: two ndarrays of shape (n_words,), dtype=uint64, with the
        rows where the constraint is true and where it is false.

    Raises
    ------
    UnknownFeatureError
        If the constraint names a feature the schema does not have.
    ConstraintError
        If a value is impossible for its feature, an operator does not fit its
        feature's kind, or a numeric comparison falls between two rows' values that
        the table's thresholds do not separate.

    Examples
    --------
    >>> import pandas as pd
    >>> from loom import BitTable, evaluate
    >>> from loom.data import unpack_bits
    >>> table = BitTable.from_frame(pd.DataFrame({
    ...     "smoker": [True, False, None, True],
    ...     "color": ["red", "blue", "red", "blue"]}))
    >>> true, false = evaluate("smoker and color = red", table)
    >>> unpack_bits(true, 4).tolist(), unpack_bits(false, 4).tolist()
    ([True, False, False, False], [False, True, False, True])
    """
    node = parse(constraint)
    evaluator = _Evaluator(table, allow_unseen=allow_unseen)
    # Atoms first, so that a bad atom raises before any connective is computed.
    for current in walk(node):
        if isinstance(current, BooleanAtom | Compare | Membership):
            evaluator.atom(current)
    true, false = evaluator.node(node)
    return Evaluation(true, false)


class _Evaluator:
    def __init__(self, table: BitTable, *, allow_unseen: bool) -> None:
        self.table = table
        self.allow_unseen = allow_unseen
        self.rows = table.rows()
        self.none = np.zeros_like(self.rows)
        self.cache: dict[Constraint, tuple[Words, Words]] = {}

    def node(self, node: Constraint) -> tuple[Words, Words]:
        if isinstance(node, BooleanAtom | Compare | Membership):
            return self.atom(node)
        if isinstance(node, Constant):
            return (self.rows, self.none) if node.value else (self.none, self.rows)
        if isinstance(node, Not):
            true, false = self.node(node.operand)
            return false, true
        if isinstance(node, And | Or | Xor):
            return self.chain(node)
        if isinstance(node, Implies):
            a_true, a_false = self.node(node.antecedent)
            c_true, c_false = self.node(node.consequent)
            return a_false | c_true, a_true & c_false
        if isinstance(node, Iff):
            l_true, l_false = self.node(node.left)
            r_true, r_false = self.node(node.right)
            return (l_true & r_true) | (l_false & r_false), (l_true & r_false) | (
                l_false & r_true
            )
        assert isinstance(node, Cardinality), node
        return self.cardinality(node)

    def chain(self, node: And | Or | Xor) -> tuple[Words, Words]:
        parts = [self.node(operand) for operand in node.operands]
        if isinstance(node, And):
            true = _reduce(np.bitwise_and, [t for t, _ in parts])
            return true, _reduce(np.bitwise_or, [f for _, f in parts])
        if isinstance(node, Or):
            true = _reduce(np.bitwise_or, [t for t, _ in parts])
            return true, _reduce(np.bitwise_and, [f for _, f in parts])
        known = _reduce(np.bitwise_and, [t | f for t, f in parts])
        parity = _reduce(np.bitwise_xor, [t for t, _ in parts])
        return known & parity, known & ~parity

    def cardinality(self, node: Cardinality) -> tuple[Words, Words]:
        parts = [self.node(operand) for operand in node.operands]
        n_true = _bit_sliced_count([t for t, _ in parts])
        n_possible = _bit_sliced_count([self.rows & ~f for _, f in parts])
        k = node.bound
        if node.kind == "atleast":
            return self.at_least(n_true, k), ~self.at_least(n_possible, k) & self.rows
        if node.kind == "atmost":
            return ~self.at_least(n_possible, k + 1) & self.rows, self.at_least(n_true, k + 1)
        true = self.at_least(n_true, k) & ~self.at_least(n_possible, k + 1)
        false = self.at_least(n_true, k + 1) | (~self.at_least(n_possible, k) & self.rows)
        return true & self.rows, false

    def at_least(self, planes: list[Words], k: int) -> Words:
        """Rows whose bit-sliced counter is >= k (a comparison from the top bit down)."""
        if k <= 0:
            return self.rows
        if k >= 1 << len(planes):
            return self.none
        greater = self.none
        equal = self.rows
        for position in reversed(range(len(planes))):
            plane = planes[position]
            if (k >> position) & 1:
                equal = equal & plane
            else:
                greater = greater | (equal & plane)
                equal = equal & ~plane
        return greater | equal

    # -- atoms -------------------------------------------------------------------

    def atom(self, node: BooleanAtom | Compare | Membership) -> tuple[Words, Words]:
        cached = self.cache.get(node)
        if cached is None:
            spec = self.table.schema.feature(node.feature)
            valid = self.table.feature_valid(node.feature)
            true = self._atom_true(node, spec, valid)
            cached = (true, valid & ~true)
            self.cache[node] = cached
        return cached

    def _atom_true(
        self, node: BooleanAtom | Compare | Membership, spec: FeatureSpec, valid: Words
    ) -> Words:
        if isinstance(node, BooleanAtom):
            if spec.kind != "boolean":
                msg = (
                    f"{str(node)!r}: feature {spec.name!r} is {spec.kind}, not boolean; "
                    f"compare it with a value, e.g. {_example(spec)}."
                )
                raise ConstraintError(msg)
            return self._boolean(spec, valid, True)
        if isinstance(node, Membership):
            matches = [self._equal(spec, valid, value, node) for value in node.values]
            return _reduce(np.bitwise_or, matches, empty=self.none)
        if node.op in ("=", "!="):
            equal = self._equal(spec, valid, node.value, node)
            return equal if node.op == "=" else valid & ~equal
        if spec.kind != "numeric":
            msg = (
                f"{str(node)!r}: {node.op!r} needs a numeric feature, but {spec.name!r} "
                f"is {spec.kind}; use '=', '!=' or 'in'."
            )
            raise ConstraintError(msg)
        number = self._number(spec, node.value, node)
        if node.op == "<=":
            return self._at_most(spec, valid, number, node, strict=False)
        if node.op == "<":
            return self._at_most(spec, valid, number, node, strict=True)
        if node.op == ">":
            return valid & ~self._at_most(spec, valid, number, node, strict=False)
        return valid & ~self._at_most(spec, valid, number, node, strict=True)

    def _equal(
        self, spec: FeatureSpec, valid: Words, value: Value, node: Constraint
    ) -> Words:
        if spec.kind == "boolean":
            return self._boolean(spec, valid, _boolean_value(spec, value, node))
        if spec.kind == "numeric":
            number = self._number(spec, value, node)
            at_most = self._at_most(spec, valid, number, node, strict=False)
            return at_most & ~self._at_most(spec, valid, number, node, strict=True)
        label = _categorical_label(spec, value)
        if label is None:
            if self.allow_unseen:
                return self.none
            known = ", ".join(format_value(label_value(v)) for v in spec.values) or "none"
            msg = (
                f"{str(node)!r}: feature {spec.name!r} has no value "
                f"{format_value(value)}; its values are {known}. Fix the value, or pass "
                "allow_unseen=True to treat it as matching no row."
            )
            raise ConstraintError(msg)
        if spec.is_constant:
            return valid  # the one value every known row has
        return self.table.column(self.table.schema.columns_of(spec.name)[label])

    def _boolean(self, spec: FeatureSpec, valid: Words, value: bool) -> Words:
        if spec.is_constant:
            return valid if spec.constant is value else self.none
        column = self.table.column(self.table.schema.columns_of(spec.name)[0])
        return column if value else valid & ~column

    def _number(self, spec: FeatureSpec, value: Value, node: Constraint) -> float:
        if isinstance(value, str):
            msg = (
                f"{str(node)!r}: feature {spec.name!r} is numeric, so it is compared "
                f"with numbers, not with the text {value!r}."
            )
            raise ConstraintError(msg)
        return value

    def _at_most(
        self, spec: FeatureSpec, valid: Words, value: float, node: Constraint, *,
        strict: bool,
    ) -> Words:
        """Rows with ``x <= value`` (``x < value`` when strict), decided from bins."""
        thresholds = spec.thresholds
        below = int(np.searchsorted(thresholds, value, side="left"))
        columns = self.table.schema.columns_of(spec.name)
        if not strict and below < len(thresholds) and thresholds[below] == value:
            return self.table.column(columns[below])
        low, high = self.table.ranges[spec.name][below]
        includes_bin = high < value if strict else high <= value
        excludes_bin = low >= value if strict else low > value
        if includes_bin or low > high:
            last = below
        elif excludes_bin:
            last = below - 1
        else:
            lower = format_number(thresholds[below - 1]) if below else "-inf"
            upper = format_number(thresholds[below]) if below < len(thresholds) else "inf"
            msg = (
                f"{str(node)!r}: rows of {spec.name!r} between the thresholds {lower} and "
                f"{upper} lie on both sides of {format_number(value)}, so the bits do not "
                f"decide it. Use a threshold of the table, or encode with "
                f"thresholds={{{spec.name!r}: [{format_number(value)}]}}."
            )
            raise ConstraintError(msg)
        if last < 0:
            return self.none
        if last >= len(thresholds):
            return valid
        return self.table.column(columns[last])


def _categorical_label(spec: FeatureSpec, value: Value) -> int | None:
    """Return the position of `value` among the feature's labels, or None."""
    text = value if isinstance(value, str) else format_number(value)
    try:
        return spec.values.index(text)
    except ValueError:
        return None


def _boolean_value(spec: FeatureSpec, value: Value, node: Constraint) -> bool:
    if value in (1.0, "true"):
        return True
    if value in (0.0, "false"):
        return False
    msg = (
        f"{str(node)!r}: feature {spec.name!r} is boolean; write {spec.name} or "
        f"not {spec.name}, or compare it with 1, 0, \"true\" or \"false\"."
    )
    raise ConstraintError(msg)


def _example(spec: FeatureSpec) -> str:
    if spec.kind == "numeric":
        threshold = spec.thresholds[0] if spec.thresholds else 0.0
        return str(Compare(spec.name, "<=", threshold))
    value = spec.values[0] if spec.values else "value"
    return str(Compare(spec.name, "=", label_value(value)))


def _reduce(
    operation: Callable[[Words, Words], Words], arrays: list[Words],
    empty: Words | None = None,
) -> Words:
    if not arrays:
        assert empty is not None
        return empty
    result = arrays[0]
    for array in arrays[1:]:
        result = operation(result, array)
    return result


def _bit_sliced_count(vectors: list[Words]) -> list[Words]:
    """Count set bits per row across vectors; returns the binary digits, low first.

    Each addition is a ripple-carry over whole words, so there is no loop over rows.
    """
    planes: list[Words] = []
    for vector in vectors:
        carry = vector
        for position, plane in enumerate(planes):
            planes[position] = plane ^ carry
            carry = plane & carry
        if carry.any():
            planes.append(carry)
    return planes
