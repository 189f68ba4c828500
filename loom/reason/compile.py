"""Compilation of constraints and schema axioms to CNF with a dual-rail encoding.

Every sub-formula gets two literals, its *rails*. One is true exactly when the formula
is TRUE on a case and the other exactly when it is FALSE, so neither is true when the
formula is unknown. This is Kleene logic, as `loom.evaluate` computes it on a table. A
case is one value per feature, or a missing value where the schema allows it, and
numeric features range over the real numbers. The compiler does not check that a model
it decodes came from its own clauses.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from pysat.card import CardEnc, EncType
from pysat.formula import IDPool

from loom.constraints.ast import (
    And,
    BooleanAtom,
    Cardinality,
    Compare,
    ComparisonOperator,
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
from loom.data.schema import FeatureSpec, Schema, label_value
from loom.exceptions import ConstraintError, InvalidParameterError

__all__ = ["CaseValue", "Compiler", "Interval", "Rails"]

logger = logging.getLogger(__name__)

Rails: TypeAlias = tuple[int, int]
"""The literals of a formula's truth: ``(true, false)``; never both true in a model."""

Atom: TypeAlias = BooleanAtom | Compare | Membership


@dataclass(frozen=True)
class Interval:
    """The range of a numeric feature between two neighbouring cut points.

    Infinite ends are ``-inf`` and ``inf`` and are never closed.

    Examples
    --------
    >>> str(Interval(3.0, 5.0, low_closed=False, high_closed=True))
    '(3, 5]'
    """

    low: float
    high: float
    low_closed: bool = False
    high_closed: bool = False

    def __str__(self) -> str:
        low = format_number(self.low) if math.isfinite(self.low) else "-inf"
        high = format_number(self.high) if math.isfinite(self.high) else "inf"
        left = "[" if self.low_closed else "("
        right = "]" if self.high_closed else ")"
        return f"{left}{low}, {high}{right}"

    def contains(self, number: float) -> bool:
        """Return whether `number` lies in the interval."""
        above = number >= self.low if self.low_closed else number > self.low
        below = number <= self.high if self.high_closed else number < self.high
        return above and below


CaseValue: TypeAlias = bool | str | Interval | None
"""A feature's value in a decoded case: a boolean, a categorical label, the interval
of a numeric feature, or None for a missing value."""


class Compiler:
    """Dual-rail CNF encoder of constraints over one schema.

    Variables come from one `pysat.formula.IDPool`, so feature variables, gate
    variables and the auxiliary variables of cardinality encodings never collide.
    Clauses accumulate in `clauses` in the order they are made; a caller feeds the
    new ones to a solver after each `rails` call.

    Parameters
    ----------
    schema : Schema
    pool : IDPool, optional
        Pool to take variables from; a new one by default.

    Attributes
    ----------
    schema : Schema
    pool : IDPool
    clauses : list of list of int
        Every clause so far: the schema axioms first, then definitions.
    top : int
        A variable fixed to true by a unit clause; ``-top`` is false.

    Notes
    -----
    Axioms, per feature:

    - A categorical feature takes exactly one of its values, or is missing where
      `FeatureSpec.allows_missing` is set.
    - A boolean feature is one variable, never true when missing. A constant one
      keeps its single value.
    - A numeric feature has one variable per cut point, ``x < c`` and ``x <= c``,
      ordered so that each implies the next, and all false when the value is
      missing. Cut points are the schema's thresholds plus every number a compiled
      formula compares the feature with. A new number adds its cuts and their order
      clauses.

    Examples
    --------
    >>> from loom import FeatureSpec, Schema, parse
    >>> schema = Schema((FeatureSpec("a", "boolean", values=("false", "true")),))
    >>> compiler = Compiler(schema)
    >>> true, false = compiler.rails(parse("not a"))
    >>> true == compiler.rails(parse("a"))[1]
    True
    """

    def __init__(self, schema: Schema, *, pool: IDPool | None = None) -> None:
        if not isinstance(schema, Schema):
            msg = f"schema must be a loom.Schema, got {type(schema).__name__}."
            raise InvalidParameterError(msg)
        self.schema = schema
        self.pool = IDPool() if pool is None else pool
        self.clauses: list[list[int]] = []
        self.top: int = int(self.pool.id(("top",)))
        self.clauses.append([self.top])
        self._cache: dict[Constraint, Rails] = {}
        # Sorted cut keys per numeric feature: (value, 0) is `x < value`, (value, 1)
        # is `x <= value`, so the list order is the order of implication.
        self._cuts: dict[str, list[tuple[float, int]]] = {}
        for spec in schema.features:
            self._add_axioms(spec)

    # -- public ------------------------------------------------------------------

    def validate(self, node: Constraint) -> None:
        """Check every atom of `node` against the schema, adding nothing.

        Raises
        ------
        UnknownFeatureError
            If an atom names a feature the schema does not have.
        ConstraintError
            If a value is not one of its feature's values or does not fit its kind,
            or an operator does not fit the feature's kind.
        """
        for current in walk(node):
            if isinstance(current, BooleanAtom | Compare | Membership):
                _validate_atom(current, self.schema.feature(current.feature))

    def rails(self, node: Constraint) -> Rails:
        """Encode `node` and return its ``(true, false)`` literals.

        The formula is validated first, so a bad atom raises before any clause is
        added. Equal nodes share their encoding.
        """
        cached = self._cache.get(node)
        if cached is not None:
            return cached
        self.validate(node)
        return self._encode(node)

    def known(self, name: str) -> int:
        """Return the literal that is true when feature `name` has a value."""
        spec = self.schema.feature(name)
        return -self._missing(spec) if spec.allows_missing else self.top

    def literals_of(self, name: str) -> list[Constraint]:
        """Return the atoms that describe one feature's value, for backbones.

        Boolean: ``x`` and ``not x``. Categorical: ``x = v`` and ``x != v`` for each
        value. Numeric: ``x <= c``, ``x < c``, ``x > c`` and ``x >= c`` for each cut
        point known so far, in cut order.
        """
        spec = self.schema.feature(name)
        if spec.kind == "boolean":
            return [BooleanAtom(name), Not(BooleanAtom(name))]
        if spec.kind == "categorical":
            values = [label_value(label) for label in spec.values]
            return [Compare(name, op, v) for v in values for op in ("=", "!=")]
        atoms: list[Constraint] = []
        for value, inclusive in self._cuts[name]:
            upper: ComparisonOperator = "<=" if inclusive else "<"
            lower: ComparisonOperator = ">" if inclusive else ">="
            atoms.append(Compare(name, upper, value))
            atoms.append(Compare(name, lower, value))
        return atoms

    def assume(self, case: Mapping[str, bool | str | float | None]) -> list[int]:
        """Return the literals that fix features to the values of a case.

        Parameters
        ----------
        case : mapping of str to value
            A bool for a boolean feature, a label for a categorical one, a number
            for a numeric one, None for a missing value. Features left out stay free.
            A number fixes the cut points known now, so compile the formulas first.

        Raises
        ------
        ConstraintError
            If a value is not one the feature can take.
        """
        literals = []
        for name, value in case.items():
            spec = self.schema.feature(name)
            literals.extend(self._fix(spec, value))
        return literals

    def decode(self, model: Iterable[int]) -> dict[str, CaseValue]:
        """Return each feature's value in a model (a list of literals)."""
        true = {literal for literal in model if literal > 0}
        return {
            spec.name: self._decode_feature(spec, true) for spec in self.schema.features
        }

    # -- schema axioms -----------------------------------------------------------

    def _add_axioms(self, spec: FeatureSpec) -> None:
        missing = [self._missing(spec)] if spec.allows_missing else []
        if spec.kind == "numeric":
            self._cuts[spec.name] = []
            for threshold in spec.thresholds:
                self._cut(spec, threshold, inclusive=True)
            return
        if not spec.values and not spec.allows_missing:
            msg = (
                f"feature {spec.name!r} has no values and does not allow missing "
                "values, so no case fits the schema; give it its values or set "
                "allows_missing=True."
            )
            raise InvalidParameterError(msg)
        if spec.kind == "boolean":
            variable = self._boolean(spec)
            if missing:
                self.clauses.append([-variable, -missing[0]])
            if "true" not in spec.values:
                self.clauses.append([-variable])
            if "false" not in spec.values:
                # Known implies true: the feature has no other value.
                self.clauses.append([variable, *missing])
            return
        choices = [self._value(spec, label) for label in spec.values] + missing
        self.clauses.append(list(choices))
        if len(choices) > 1:
            encoding = EncType.pairwise if len(choices) <= 6 else EncType.seqcounter
            at_most_one = CardEnc.atmost(
                choices, bound=1, vpool=self.pool, encoding=encoding
            )
            self.clauses.extend(at_most_one.clauses)

    def _missing(self, spec: FeatureSpec) -> int:
        return int(self.pool.id(("missing", spec.name)))

    def _boolean(self, spec: FeatureSpec) -> int:
        return int(self.pool.id(("true", spec.name)))

    def _value(self, spec: FeatureSpec, label: str) -> int:
        return int(self.pool.id(("value", spec.name, label)))

    def _cut(self, spec: FeatureSpec, value: float, *, inclusive: bool) -> int:
        """Return the variable of ``x <= value`` (``x < value`` when not inclusive)."""
        key = ("cut", spec.name, value, inclusive)
        if key in self.pool.obj2id:
            return int(self.pool.obj2id[key])
        variable = int(self.pool.id(key))
        cuts = self._cuts[spec.name]
        cut_key = (value, int(inclusive))
        position = bisect.bisect_left(cuts, cut_key)
        # The cut below implies this one, and this one implies the cut above.
        if position > 0:
            lower = self._cut_variable(spec.name, cuts[position - 1])
            self.clauses.append([-lower, variable])
        if position < len(cuts):
            upper = self._cut_variable(spec.name, cuts[position])
            self.clauses.append([-variable, upper])
        cuts.insert(position, cut_key)
        if spec.allows_missing:
            self.clauses.append([-self._missing(spec), -variable])
        return variable

    def _cut_variable(self, name: str, cut_key: tuple[float, int]) -> int:
        return int(self.pool.obj2id[("cut", name, cut_key[0], bool(cut_key[1]))])

    # -- formulas ----------------------------------------------------------------

    def _encode(self, node: Constraint) -> Rails:
        cached = self._cache.get(node)
        if cached is not None:
            return cached
        if isinstance(node, BooleanAtom | Compare | Membership):
            rails = self._atom(node)
        elif isinstance(node, Constant):
            rails = (self.top, -self.top) if node.value else (-self.top, self.top)
        elif isinstance(node, Not):
            true, false = self._encode(node.operand)
            rails = (false, true)
        elif isinstance(node, And | Or | Xor):
            rails = self._chain(node)
        elif isinstance(node, Implies):
            a_true, a_false = self._encode(node.antecedent)
            c_true, c_false = self._encode(node.consequent)
            rails = (self.gate_or([a_false, c_true]), self.gate_and([a_true, c_false]))
        elif isinstance(node, Iff):
            l_true, l_false = self._encode(node.left)
            r_true, r_false = self._encode(node.right)
            same = [self.gate_and([l_true, r_true]), self.gate_and([l_false, r_false])]
            differ = [
                self.gate_and([l_true, r_false]),
                self.gate_and([l_false, r_true]),
            ]
            rails = (self.gate_or(same), self.gate_or(differ))
        else:
            assert isinstance(node, Cardinality), node
            rails = self._cardinality(node)
        self._cache[node] = rails
        return rails

    def _chain(self, node: And | Or | Xor) -> Rails:
        parts = [self._encode(operand) for operand in node.operands]
        trues = [true for true, _ in parts]
        falses = [false for _, false in parts]
        if isinstance(node, And):
            return self.gate_and(trues), self.gate_or(falses)
        if isinstance(node, Or):
            return self.gate_or(trues), self.gate_and(falses)
        # Xor is known only when every operand is known, and then its parity decides.
        known = self.gate_and([self.gate_or(pair) for pair in parts])
        parity = -self.top
        for true in trues:
            parity = self.gate_xor(parity, true)
        return self.gate_and([known, parity]), self.gate_and([known, -parity])

    def _cardinality(self, node: Cardinality) -> Rails:
        # Each occurrence of an operand counts, duplicates included, as in evaluate:
        # `n_true` counts the TRUE operands, `n_possible` those that are not FALSE.
        parts = [self._encode(operand) for operand in node.operands]
        n_true = [true for true, _ in parts]
        n_possible = [-false for _, false in parts]
        k = node.bound
        if node.kind == "atleast":
            return self.at_least(n_true, k), -self.at_least(n_possible, k)
        if node.kind == "atmost":
            return -self.at_least(n_possible, k + 1), self.at_least(n_true, k + 1)
        true = self.gate_and(
            [self.at_least(n_true, k), -self.at_least(n_possible, k + 1)]
        )
        false = self.gate_or(
            [self.at_least(n_true, k + 1), -self.at_least(n_possible, k)]
        )
        return true, false

    # -- atoms -------------------------------------------------------------------

    def _atom(self, node: Atom) -> Rails:
        spec = self.schema.feature(node.feature)
        if isinstance(node, BooleanAtom):
            return self._known_rails(spec, self._boolean(spec))
        if isinstance(node, Membership):
            matches = [self._equal(spec, value) for value in node.values]
            return self._known_rails(spec, self.gate_or(matches))
        if node.op == "=":
            return self._known_rails(spec, self._equal(spec, node.value))
        if node.op == "!=":
            true, false = self._known_rails(spec, self._equal(spec, node.value))
            return false, true
        assert isinstance(node.value, float), node
        inclusive = node.op in ("<=", ">")
        below = self._cut(spec, node.value, inclusive=inclusive)
        true, false = self._known_rails(spec, below)
        return (true, false) if node.op in ("<=", "<") else (false, true)

    def _known_rails(self, spec: FeatureSpec, literal: int) -> Rails:
        """Rails of an atom whose truth is `literal` and which is unknown when the
        feature is missing; `literal` must imply that the feature is known."""
        return literal, self.gate_and([-literal, self.known(spec.name)])

    def _equal(self, spec: FeatureSpec, value: Value) -> int:
        if spec.kind == "boolean":
            variable = self._boolean(spec)
            if _boolean_value(value):
                return variable
            return self.gate_and([-variable, self.known(spec.name)])
        if spec.kind == "numeric":
            assert isinstance(value, float), value
            at_most = self._cut(spec, value, inclusive=True)
            below = self._cut(spec, value, inclusive=False)
            return self.gate_and([at_most, -below])
        label = _categorical_label(spec, value)
        assert label is not None, value
        return self._value(spec, label)

    # -- gates -------------------------------------------------------------------

    def gate_and(self, literals: Sequence[int]) -> int:
        """Return a literal equivalent to the conjunction of `literals`."""
        unique = set(literals)
        unique.discard(self.top)
        if -self.top in unique or any(-literal in unique for literal in unique):
            return -self.top
        if not unique:
            return self.top
        if len(unique) == 1:
            return next(iter(unique))
        key = ("and", tuple(sorted(unique)))
        if key in self.pool.obj2id:
            return int(self.pool.obj2id[key])
        gate = int(self.pool.id(key))
        for literal in unique:
            self.clauses.append([-gate, literal])
        self.clauses.append([gate, *(-literal for literal in sorted(unique))])
        return gate

    def gate_or(self, literals: Sequence[int]) -> int:
        """Return a literal equivalent to the disjunction of `literals`."""
        return -self.gate_and([-literal for literal in literals])

    def gate_xor(self, left: int, right: int) -> int:
        """Return a literal equivalent to ``left xor right``."""
        if abs(left) == self.top:
            return right if left == -self.top else -right
        if abs(right) == self.top:
            return left if right == -self.top else -left
        if left == right:
            return -self.top
        if left == -right:
            return self.top
        # xor(-a, b) is -xor(a, b): one gate per pair of variables.
        sign = -1 if (left < 0) != (right < 0) else 1
        a, b = sorted((abs(left), abs(right)))
        key = ("xor", a, b)
        if key not in self.pool.obj2id:
            gate = int(self.pool.id(key))
            self.clauses.extend(
                [[-gate, a, b], [-gate, -a, -b], [gate, -a, b], [gate, a, -b]]
            )
        return sign * int(self.pool.obj2id[key])

    def at_least(self, literals: Sequence[int], bound: int) -> int:
        """Return a literal equivalent to "at least `bound` of `literals` are true".

        Repeated literals count once per occurrence. Bounds of zero or less give
        true and bounds past the number of literals give false.
        """
        bound -= sum(1 for literal in literals if literal == self.top)
        rest = sorted(literal for literal in literals if abs(literal) != self.top)
        if bound <= 0:
            return self.top
        if bound > len(rest):
            return -self.top
        if bound == 1:
            return self.gate_or(rest)
        if bound == len(rest):
            return self.gate_and(rest)
        key = ("atleast", tuple(rest), bound)
        if key in self.pool.obj2id:
            return int(self.pool.obj2id[key])
        result = int(self.pool.id(key))
        # result -> sum >= bound, and not result -> sum <= bound - 1. Each direction
        # is a totalizer with its own auxiliary variables, guarded by `result`.
        at_least = CardEnc.atleast(
            rest, bound=bound, vpool=self.pool, encoding=EncType.totalizer
        )
        self.clauses.extend([-result, *clause] for clause in at_least.clauses)
        at_most = CardEnc.atmost(
            rest, bound=bound - 1, vpool=self.pool, encoding=EncType.totalizer
        )
        self.clauses.extend([result, *clause] for clause in at_most.clauses)
        return result

    # -- cases -------------------------------------------------------------------

    def _fix(self, spec: FeatureSpec, value: bool | str | float | None) -> list[int]:
        missing = self._missing(spec) if spec.allows_missing else None
        if value is None:
            if missing is None:
                msg = f"feature {spec.name!r} cannot be missing: the schema forbids it."
                raise ConstraintError(msg)
            return [missing]
        known = [] if missing is None else [-missing]
        if spec.kind == "boolean" and isinstance(value, bool):
            if ("true" if value else "false") in spec.values:
                variable = self._boolean(spec)
                return [*known, variable if value else -variable]
        elif spec.kind == "categorical" and value in spec.values:
            return known + [
                self._value(spec, label) * (1 if label == value else -1)
                for label in spec.values
            ]
        elif spec.kind == "numeric" and _is_number(value):
            assert isinstance(value, int | float)
            return known + [
                self._cut_variable(spec.name, key) * (1 if _below(value, key) else -1)
                for key in self._cuts[spec.name]
            ]
        msg = (
            f"{value!r} is not a value of the {spec.kind} feature {spec.name!r}; give "
            "a bool, one of its labels or a finite number, as its kind needs."
        )
        raise ConstraintError(msg)

    # -- decoding ----------------------------------------------------------------

    def _decode_feature(self, spec: FeatureSpec, true: set[int]) -> CaseValue:
        if spec.allows_missing and self._missing(spec) in true:
            return None
        if spec.kind == "boolean":
            return self._boolean(spec) in true
        if spec.kind == "categorical":
            for label in spec.values:
                if self._value(spec, label) in true:
                    return label
            return None
        low, low_closed = -math.inf, False
        for value, inclusive in self._cuts[spec.name]:
            if self._cut_variable(spec.name, (value, inclusive)) in true:
                return Interval(low, value, low_closed, bool(inclusive))
            low, low_closed = value, not inclusive
        return Interval(low, math.inf, low_closed, False)


# ---------------------------------------------------------------------------
# Atom checks, with the same rules and messages as evaluation on a table


def _validate_atom(node: Atom, spec: FeatureSpec) -> None:
    if isinstance(node, BooleanAtom):
        if spec.kind != "boolean":
            msg = (
                f"{str(node)!r}: feature {spec.name!r} is {spec.kind}, not boolean; "
                f"compare it with a value, e.g. {_example(spec)}."
            )
            raise ConstraintError(msg)
        return
    values = node.values if isinstance(node, Membership) else (node.value,)
    if (
        isinstance(node, Compare)
        and node.op not in ("=", "!=")
        and spec.kind != "numeric"
    ):
        msg = (
            f"{str(node)!r}: {node.op!r} needs a numeric feature, but "
            f"{spec.name!r} is {spec.kind}; use '=', '!=' or 'in'."
        )
        raise ConstraintError(msg)
    for value in values:
        _validate_value(node, spec, value)


def _validate_value(node: Atom, spec: FeatureSpec, value: Value) -> None:
    if spec.kind == "boolean" and _boolean_value(value) is None:
        msg = (
            f"{str(node)!r}: feature {spec.name!r} is boolean; write {spec.name} or "
            f'not {spec.name}, or compare it with 1, 0, "true" or "false".'
        )
        raise ConstraintError(msg)
    if spec.kind == "boolean":
        return
    if spec.kind == "numeric":
        if isinstance(value, str):
            msg = (
                f"{str(node)!r}: feature {spec.name!r} is numeric, so it is compared "
                f"with numbers, not with the text {value!r}."
            )
            raise ConstraintError(msg)
    elif _categorical_label(spec, value) is None:
        known = ", ".join(format_value(label_value(v)) for v in spec.values) or "none"
        msg = (
            f"{str(node)!r}: feature {spec.name!r} has no value {format_value(value)}; "
            f"its values are {known}. Use one of them."
        )
        raise ConstraintError(msg)


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _below(number: float, cut_key: tuple[float, int]) -> bool:
    """Return whether `number` is ``<= value`` (inclusive cut) or ``< value``."""
    value, inclusive = cut_key
    return number <= value if inclusive else number < value


def _categorical_label(spec: FeatureSpec, value: Value) -> str | None:
    text = value if isinstance(value, str) else format_number(value)
    return text if text in spec.values else None


def _boolean_value(value: Value) -> bool | None:
    if value in (1.0, "true"):
        return True
    if value in (0.0, "false"):
        return False
    return None


def _example(spec: FeatureSpec) -> str:
    if spec.kind == "numeric":
        threshold = spec.thresholds[0] if spec.thresholds else 0.0
        return str(Compare(spec.name, "<=", threshold))
    value = spec.values[0] if spec.values else "value"
    return str(Compare(spec.name, "=", label_value(value)))
