"""Immutable syntax tree of the constraint language and its canonical printer.

Nodes are frozen, slotted dataclasses: hashable, comparable, and printed by ``str`` in the
one canonical text that `loom.parse` reads back to an equal node. Constructors normalize
their arguments (ints become floats, ``-0.0`` becomes ``0.0``, set members are sorted and
deduplicated) so that equal meanings written the same way compare equal. They check types
and finiteness but not whether a feature exists: that is the schema's job.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Literal, TypeAlias

import numpy as np

from loom.exceptions import InvalidParameterError

__all__ = [
    "FALSE",
    "KEYWORDS",
    "TRUE",
    "And",
    "BooleanAtom",
    "Cardinality",
    "Compare",
    "Constant",
    "Constraint",
    "Iff",
    "Implies",
    "Membership",
    "Not",
    "Or",
    "Statement",
    "Value",
    "Xor",
    "features",
    "format_name",
    "format_number",
    "format_rules",
    "format_value",
    "walk",
]

Value: TypeAlias = float | str
"""A value in a comparison: a finite float or a string."""

ComparisonOperator: TypeAlias = Literal["=", "!=", "<", "<=", ">", ">="]
CardinalityKind: TypeAlias = Literal["atleast", "atmost", "exactly"]

KEYWORDS = frozenset(
    {
        "and",
        "atleast",
        "atmost",
        "exactly",
        "false",
        "if",
        "in",
        "not",
        "or",
        "then",
        "true",
        "xor",
    }
)
"""Reserved words: a feature or value spelled like one, in any case, must be quoted."""

COMPARISON_OPERATORS: tuple[ComparisonOperator, ...] = ("=", "!=", "<", "<=", ">", ">=")
CARDINALITY_KINDS: tuple[CardinalityKind, ...] = ("atleast", "atmost", "exactly")

_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Binding strength used by the printer: a child whose level is below the level its
# parent requires is put in parentheses. Atoms and cardinality calls are level 7.
_ATOM_LEVEL = 7


class Constraint:
    """Base class of every formula node.

    Subclasses are frozen dataclasses; ``str(node)`` is the canonical text.
    """

    __slots__ = ()
    level: ClassVar[int] = _ATOM_LEVEL

    def children(self) -> tuple[Constraint, ...]:
        """Return the direct sub-formulas, in printing order."""
        return ()

    def __str__(self) -> str:
        if isinstance(self, Implies):
            # A whole constraint that is an implication reads as a rule.
            antecedent = _format(self.antecedent, 1)
            consequent = _format(self.consequent, Implies.level)
            return f"if {antecedent} then {consequent}"
        return _format(self, 1)


# ---------------------------------------------------------------------------
# Atoms


@dataclass(frozen=True, slots=True)
class Constant(Constraint):
    """The constant ``true`` or ``false``."""

    value: bool

    def __post_init__(self) -> None:
        if not isinstance(self.value, bool):
            msg = f"Constant value must be a bool, got {self.value!r}."
            raise InvalidParameterError(msg)

    def _text(self) -> str:
        return "true" if self.value else "false"


TRUE = Constant(True)
FALSE = Constant(False)


@dataclass(frozen=True, slots=True)
class BooleanAtom(Constraint):
    """A boolean feature used as a proposition: ``smoker``."""

    feature: str

    def __post_init__(self) -> None:
        _check_name(self.feature, "feature")

    def _text(self) -> str:
        return format_name(self.feature)


@dataclass(frozen=True, slots=True)
class Compare(Constraint):
    """A feature compared with a value: ``age >= 30``, ``odor = none``."""

    feature: str
    op: ComparisonOperator
    value: Value

    def __post_init__(self) -> None:
        _check_name(self.feature, "feature")
        if self.op not in COMPARISON_OPERATORS:
            allowed = ", ".join(COMPARISON_OPERATORS)
            msg = f"comparison operator must be one of {allowed}; got {self.op!r}."
            raise InvalidParameterError(msg)
        object.__setattr__(self, "value", _normalize_value(self.value))

    def _text(self) -> str:
        return f"{format_name(self.feature)} {self.op} {format_value(self.value)}"


@dataclass(frozen=True, slots=True)
class Membership(Constraint):
    """Set membership: ``color in {red, "dark blue"}``.

    The values are stored sorted (numbers first, by value, then strings) and without
    duplicates, so two spellings of the same set are equal.
    """

    feature: str
    values: tuple[Value, ...]

    def __post_init__(self) -> None:
        _check_name(self.feature, "feature")
        if isinstance(self.values, str | bytes) or not isinstance(self.values, Iterable):
            msg = f"Membership values must be a sequence of values, got {self.values!r}."
            raise InvalidParameterError(msg)
        normalized = {_normalize_value(value) for value in self.values}
        object.__setattr__(self, "values", tuple(sorted(normalized, key=_value_key)))

    def _text(self) -> str:
        members = ", ".join(format_value(value) for value in self.values)
        return f"{format_name(self.feature)} in {{{members}}}"


# ---------------------------------------------------------------------------
# Connectives


@dataclass(frozen=True, slots=True)
class Not(Constraint):
    """Negation: ``not a``. Binds tighter than every other connective."""

    operand: Constraint
    level: ClassVar[int] = 6

    def __post_init__(self) -> None:
        _check_operand(self.operand, "Not")

    def children(self) -> tuple[Constraint, ...]:
        return (self.operand,)

    def _text(self) -> str:
        return f"not {_format(self.operand, Not.level)}"


@dataclass(frozen=True, slots=True)
class _Chain(Constraint):
    """An associative connective over two or more operands."""

    operands: tuple[Constraint, ...]
    keyword: ClassVar[str] = ""

    def __post_init__(self) -> None:
        operands = _check_operands(self.operands, type(self).__name__)
        if len(operands) < 2:
            name = type(self).__name__
            msg = f"{name} needs at least two operands, got {len(operands)}."
            raise InvalidParameterError(msg)
        object.__setattr__(self, "operands", operands)

    def children(self) -> tuple[Constraint, ...]:
        return self.operands

    def _text(self) -> str:
        # An operand of the same kind keeps its parentheses: `(a and b) and c` is a
        # different tree from `a and b and c`, and both must read back unchanged.
        parts = (_format(operand, self.level + 1) for operand in self.operands)
        return f" {self.keyword} ".join(parts)


@dataclass(frozen=True, slots=True)
class And(_Chain):
    """Conjunction: ``a and b and c``."""

    level: ClassVar[int] = 5
    keyword: ClassVar[str] = "and"


@dataclass(frozen=True, slots=True)
class Xor(_Chain):
    """Exclusive or over two or more operands: true when an odd number is true."""

    level: ClassVar[int] = 4
    keyword: ClassVar[str] = "xor"


@dataclass(frozen=True, slots=True)
class Or(_Chain):
    """Disjunction: ``a or b or c``."""

    level: ClassVar[int] = 3
    keyword: ClassVar[str] = "or"


@dataclass(frozen=True, slots=True)
class Implies(Constraint):
    """Implication, right associative: ``a -> b -> c`` is ``a -> (b -> c)``.

    A whole constraint that is an implication prints as ``if a then b``; a nested one
    prints with the arrow.
    """

    antecedent: Constraint
    consequent: Constraint
    level: ClassVar[int] = 2

    def __post_init__(self) -> None:
        _check_operand(self.antecedent, "Implies")
        _check_operand(self.consequent, "Implies")

    def children(self) -> tuple[Constraint, ...]:
        return (self.antecedent, self.consequent)

    def _text(self) -> str:
        antecedent = _format(self.antecedent, Implies.level + 1)
        return f"{antecedent} -> {_format(self.consequent, Implies.level)}"


@dataclass(frozen=True, slots=True)
class Iff(Constraint):
    """Equivalence ``a <-> b``. It does not chain: ``a <-> b <-> c`` needs parentheses."""

    left: Constraint
    right: Constraint
    level: ClassVar[int] = 1

    def __post_init__(self) -> None:
        _check_operand(self.left, "Iff")
        _check_operand(self.right, "Iff")

    def children(self) -> tuple[Constraint, ...]:
        return (self.left, self.right)

    def _text(self) -> str:
        left = _format(self.left, Iff.level + 1)
        return f"{left} <-> {_format(self.right, Iff.level + 1)}"


@dataclass(frozen=True, slots=True)
class Cardinality(Constraint):
    """A count condition: ``atleast(2: a, b, c)``, ``atmost(k: ...)``, ``exactly(k: ...)``.

    The bound may be zero, negative or larger than the number of operands, and
    operands may repeat: each occurrence counts once, so the logic decides.
    """

    kind: CardinalityKind
    bound: int
    operands: tuple[Constraint, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind not in CARDINALITY_KINDS:
            allowed = ", ".join(CARDINALITY_KINDS)
            msg = f"cardinality kind must be one of {allowed}; got {self.kind!r}."
            raise InvalidParameterError(msg)
        if isinstance(self.bound, bool) or not isinstance(self.bound, int):
            msg = f"cardinality bound must be an int, got {self.bound!r}."
            raise InvalidParameterError(msg)
        object.__setattr__(self, "bound", int(self.bound))
        operands = _check_operands(self.operands, "Cardinality")
        object.__setattr__(self, "operands", operands)

    def children(self) -> tuple[Constraint, ...]:
        return self.operands

    def _text(self) -> str:
        parts = ", ".join(_format(operand, 1) for operand in self.operands)
        separator = " " if parts else ""
        return f"{self.kind}({self.bound}:{separator}{parts})"


# ---------------------------------------------------------------------------
# Rule-set entries


@dataclass(frozen=True, slots=True)
class Statement:
    """One entry of a rule set: a constraint, an optional name and annotations.

    Prints as ``name: constraint [key=value, ...]``. Annotations keep their order; keys
    are bare words and unique.
    """

    constraint: Constraint
    name: str | None = None
    annotations: tuple[tuple[str, Value], ...] = ()

    def __post_init__(self) -> None:
        _check_operand(self.constraint, "Statement")
        if self.name is not None:
            _check_name(self.name, "statement name")
        pairs = []
        seen: set[str] = set()
        for pair in self.annotations:
            key, value = pair
            if not isinstance(key, str) or not _is_bare_word(key):
                msg = f"annotation key must be a bare word (letters, digits, _), got {key!r}."
                raise InvalidParameterError(msg)
            if key in seen:
                msg = f"annotation key {key!r} appears twice; keys must be unique."
                raise InvalidParameterError(msg)
            seen.add(key)
            pairs.append((key, _normalize_value(value)))
        object.__setattr__(self, "annotations", tuple(pairs))

    def annotation(self, key: str, default: Value | None = None) -> Value | None:
        """Return the value of annotation `key`, or `default` when it is absent."""
        return dict(self.annotations).get(key, default)

    def __str__(self) -> str:
        text = str(self.constraint)
        if self.name is not None:
            text = f"{format_name(self.name)}: {text}"
        if self.annotations:
            pairs = ", ".join(f"{key}={format_value(v)}" for key, v in self.annotations)
            text = f"{text} [{pairs}]"
        return text


def format_rules(statements: Iterable[Statement | Constraint]) -> str:
    """Print statements one per line, in the text `loom.parse_rules` reads back.

    Examples
    --------
    >>> from loom.constraints.ast import BooleanAtom, Statement, format_rules
    >>> format_rules([Statement(BooleanAtom("a"), name="r1"), BooleanAtom("b")])
    'r1: a\\nb\\n'
    """
    return "".join(f"{statement}\n" for statement in statements)


# ---------------------------------------------------------------------------
# Printing helpers


def _format(node: Constraint, min_level: int) -> str:
    text: str = node._text()  # type: ignore[attr-defined]
    return f"({text})" if node.level < min_level else text


def format_name(name: str) -> str:
    """Print a feature name bare when it is a plain identifier, else in backticks.

    Examples
    --------
    >>> format_name("age"), format_name("age (years)"), format_name("order")
    ('age', '`age (years)`', 'order')
    >>> format_name("or")
    '`or`'
    """
    if _is_bare_word(name):
        return name
    return "`" + _escape(name, "`") + "`"


def format_value(value: Value) -> str:
    """Print a value: numbers in shortest round-trip form, words bare, others quoted.

    Examples
    --------
    >>> format_value(2.5e-3), format_value(-3.0), format_value("dark blue")
    ('0.0025', '-3', '"dark blue"')
    >>> format_value("red"), format_value("007"), format_value("true")
    ('red', '"007"', '"true"')
    """
    if isinstance(value, str):
        if _is_bare_word(value):
            return value
        return '"' + _escape(value, '"') + '"'
    return format_number(value)


def format_number(number: float) -> str:
    """Print a float with the fewest digits that read back to the same float.

    Integral values print without a fraction; exponents lose the ``+`` and leading zeros.

    Examples
    --------
    >>> format_number(37.5), format_number(1e-05), format_number(1e20), format_number(7.0)
    ('37.5', '1e-5', '1e20', '7')
    """
    # repr gives the shortest digit string that round-trips (David Gay's algorithm).
    text = repr(float(number))
    mantissa, _, exponent = text.partition("e")
    if mantissa.endswith(".0"):
        mantissa = mantissa[:-2]
    if not exponent:
        return mantissa
    return f"{mantissa}e{int(exponent)}"


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(text: str, quote: str) -> str:
    parts = []
    for char in text:
        if char == quote:
            parts.append("\\" + quote)
        elif char in _ESCAPES:
            parts.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F or 0xD800 <= ord(char) <= 0xDFFF:
            # Control characters and lone surrogates would not survive a UTF-8 file.
            parts.append(f"\\u{ord(char):04x}")
        else:
            parts.append(char)
    return "".join(parts)


def _is_bare_word(text: str) -> bool:
    return bool(_BARE_WORD.match(text)) and text.lower() not in KEYWORDS


# ---------------------------------------------------------------------------
# Validation helpers


def _check_name(name: object, role: str) -> None:
    if not isinstance(name, str) or not name:
        msg = f"{role} must be a non-empty string, got {name!r}."
        raise InvalidParameterError(msg)


def _check_operand(operand: object, owner: str) -> None:
    if not isinstance(operand, Constraint):
        msg = f"{owner} operand must be a Constraint node, got {operand!r}."
        raise InvalidParameterError(msg)


def _check_operands(operands: object, owner: str) -> tuple[Constraint, ...]:
    if not isinstance(operands, Iterable) or isinstance(operands, Constraint | str):
        msg = f"{owner} operands must be a sequence of Constraint nodes, got {operands!r}."
        raise InvalidParameterError(msg)
    result = tuple(operands)
    for operand in result:
        _check_operand(operand, owner)
    return result


def _normalize_value(value: object) -> Value:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        msg = f"a value must be a number or a string, got {value!r}."
        raise InvalidParameterError(msg)
    try:
        number = float(value)
    except OverflowError:
        # The repr of a huge int can itself fail, so name only its type.
        kind = type(value).__name__
        msg = f"a numeric value must be finite, got a {kind} too large for a float."
        raise InvalidParameterError(msg) from None
    if not math.isfinite(number):
        msg = f"a numeric value must be finite, got {number!r}."
        raise InvalidParameterError(msg)
    return number + 0.0  # turns -0.0 into 0.0


def _value_key(value: Value) -> tuple[int, float, str]:
    if isinstance(value, str):
        return (1, 0.0, value)
    return (0, value, "")


# ---------------------------------------------------------------------------
# Traversal


def walk(node: Constraint) -> Iterator[Constraint]:
    """Yield `node` and every sub-formula, parents before children (pre-order)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))


def features(node: Constraint) -> tuple[str, ...]:
    """Return the feature names a constraint mentions, in order of first mention.

    Examples
    --------
    >>> from loom.constraints import features, parse
    >>> features(parse("if a and color = red then not a"))
    ('a', 'color')
    """
    names: dict[str, None] = {}
    for current in walk(node):
        if isinstance(current, BooleanAtom | Compare | Membership):
            names.setdefault(current.feature, None)
    return tuple(names)
