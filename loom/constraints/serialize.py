"""Conversion of constraint trees to JSON-ready dicts and back.

Every node becomes a dict with a ``"type"`` key (the node class in snake case) and one
key per field; values keep their JSON type (a float is a number, a label a string).
`to_json` dumps with sorted keys, no spaces and ASCII escapes, so one tree has one text.
`from_dict` accepts ints for float values but rejects unknown keys and node types.

JSON cannot tell a high surrogate code point followed by a low one from the astral
character the pair encodes, so a name or label holding any surrogate code point is
written as ``{"code_points": [55357, ...]}`` instead of a string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

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
    Statement,
    Value,
    Xor,
)
from loom.exceptions import ConstraintFormatError, InvalidParameterError

__all__ = [
    "NODE_TYPES",
    "canonical_json",
    "from_dict",
    "from_json",
    "statement_from_dict",
    "statement_to_dict",
    "to_dict",
    "to_json",
]

_TYPE_OF: dict[type[Constraint], str] = {
    Constant: "constant",
    BooleanAtom: "boolean_atom",
    Compare: "compare",
    Membership: "membership",
    Not: "not",
    And: "and",
    Or: "or",
    Xor: "xor",
    Implies: "implies",
    Iff: "iff",
    Cardinality: "cardinality",
}

_SURROGATES = re.compile("[\ud800-\udfff]")

NODE_TYPES: tuple[str, ...] = tuple(_TYPE_OF.values())
"""The ``"type"`` of each node kind, in the order of `loom.constraints.ast`."""

# The keys each node type has besides "type".
_FIELDS: dict[str, tuple[str, ...]] = {
    "constant": ("value",),
    "boolean_atom": ("feature",),
    "compare": ("feature", "op", "value"),
    "membership": ("feature", "values"),
    "not": ("operand",),
    "and": ("operands",),
    "or": ("operands",),
    "xor": ("operands",),
    "implies": ("antecedent", "consequent"),
    "iff": ("left", "right"),
    "cardinality": ("kind", "bound", "operands"),
}


def canonical_json(data: Any) -> str:
    """Dump JSON-ready data in its canonical text: sorted keys, no spaces, ASCII only.

    Floats print in their shortest round-trip form, so equal data gives equal text.

    Raises
    ------
    ValueError
        If the data contains NaN or an infinity, which JSON cannot represent.
    TypeError
        If the data contains a value that is not JSON-ready.

    Examples
    --------
    >>> canonical_json({"b": [1.5, "é"], "a": None})
    '{"a":null,"b":[1.5,"\\\\u00e9"]}'
    """
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def to_dict(node: Constraint) -> dict[str, Any]:
    """Convert a constraint tree to nested dicts of JSON-ready values.

    Parameters
    ----------
    node : Constraint

    Returns
    -------
    dict
        ``{"type": ..., <field>: ...}``; sub-formulas are nested dicts and operand
        sequences are lists.

    Raises
    ------
    InvalidParameterError
        If `node` is not a `Constraint`.

    Examples
    --------
    >>> from loom import parse
    >>> to_dict(parse("not age >= 30"))
    {'type': 'not', 'operand': {'type': 'compare', 'feature': 'age', 'op': '>=', \
'value': 30.0}}
    """
    kind = _TYPE_OF.get(type(node))
    if kind is None:
        msg = f"to_dict needs a Constraint node, got {type(node).__name__}: {node!r}."
        raise InvalidParameterError(msg)
    data: dict[str, Any] = {"type": kind}
    for name in _FIELDS[kind]:
        data[name] = _field_to_json(getattr(node, name))
    return data


def _field_to_json(value: Any) -> Any:
    if isinstance(value, Constraint):
        return to_dict(value)
    if isinstance(value, tuple):
        return [_field_to_json(item) for item in value]
    if isinstance(value, str):
        return _text_to_json(value)
    return value


def _text_to_json(text: str) -> str | dict[str, list[int]]:
    if _SURROGATES.search(text):
        return {"code_points": [ord(char) for char in text]}
    return text


def to_json(node: Constraint) -> str:
    """Return the canonical JSON text of a constraint tree.

    Examples
    --------
    >>> from loom import parse
    >>> to_json(parse("a and b"))
    '{"operands":[{"feature":"a","type":"boolean_atom"},{"feature":"b","type":\
"boolean_atom"}],"type":"and"}'
    """
    return canonical_json(to_dict(node))


def from_dict(data: Mapping[str, Any]) -> Constraint:
    """Build a constraint tree from `to_dict` output.

    Parameters
    ----------
    data : mapping
        A dict as `to_dict` returns it, or as ``json.loads`` reads it back.

    Returns
    -------
    Constraint

    Raises
    ------
    ConstraintFormatError
        If a node is not a mapping, has a missing, unknown or extra key, or has a
        value of the wrong type. The message gives the path of the node, such as
        ``$.operands[1].value``.

    Examples
    --------
    >>> node = from_dict({"type": "boolean_atom", "feature": "smoker"})
    >>> print(node)
    smoker
    >>> from_dict({"type": "and", "operands": []})
    Traceback (most recent call last):
    ...
    loom.exceptions.ConstraintFormatError: invalid constraint dict at $: And needs at \
least two operands, got 0.
    """
    return _node_from_dict(data, "$")


def from_json(text: str | bytes) -> Constraint:
    """Build a constraint tree from JSON text, such as `to_json` output.

    Raises
    ------
    ConstraintFormatError
        If the text is not JSON, or not the JSON of a constraint tree.
    """
    try:
        data = json.loads(text)
    except (ValueError, TypeError) as err:
        msg = f"invalid constraint JSON: {err}. Pass the text that to_json returned."
        raise ConstraintFormatError(msg) from err
    return from_dict(data)


def statement_to_dict(statement: Statement) -> dict[str, Any]:
    """Convert a rule-set entry to a JSON-ready dict.

    Returns
    -------
    dict
        ``{"type": "statement", "constraint": {...}, "name": str or None,
        "annotations": [[key, value], ...]}``.

    Examples
    --------
    >>> from loom import parse_rules
    >>> (statement,) = parse_rules("r1: smoker [support=12]")
    >>> statement_to_dict(statement)["annotations"]
    [['support', 12.0]]
    """
    if not isinstance(statement, Statement):
        msg = f"statement_to_dict needs a Statement, got {type(statement).__name__}."
        raise InvalidParameterError(msg)
    return {
        "type": "statement",
        "constraint": to_dict(statement.constraint),
        "name": None if statement.name is None else _text_to_json(statement.name),
        "annotations": [
            [key, _field_to_json(value)] for key, value in statement.annotations
        ],
    }


def statement_from_dict(data: Mapping[str, Any]) -> Statement:
    """Build a rule-set entry from `statement_to_dict` output.

    Raises
    ------
    ConstraintFormatError
        If the dict is malformed; the message gives the path of the bad part.
    """
    path = "$"
    _check_keys(data, ("constraint", "name", "annotations"), path, "statement")
    constraint = _node_from_dict(data["constraint"], f"{path}.constraint")
    annotations_path = f"{path}.annotations"
    pairs = _list(data["annotations"], annotations_path)
    annotations = []
    for index, pair in enumerate(pairs):
        pair_path = f"{annotations_path}[{index}]"
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            _fail(pair_path, f"expected a [key, value] pair, got {pair!r}")
        annotations.append((pair[0], _value(pair[1], f"{pair_path}[1]")))
    name = data["name"]
    if name is not None:
        name = _string(name, f"{path}.name")
    return _build(lambda: Statement(constraint, name, tuple(annotations)), path)


# ---------------------------------------------------------------------------
# Readers


def _node_from_dict(data: Any, path: str) -> Constraint:
    if not isinstance(data, Mapping):
        _fail(path, f"expected a node dict, got {type(data).__name__} {data!r}")
    kind = data.get("type")
    if kind not in _FIELDS:
        allowed = ", ".join(repr(name) for name in NODE_TYPES)
        _fail(path, f"'type' must be one of {allowed}; got {kind!r}")
    _check_keys(data, _FIELDS[kind], path, kind)
    return _READERS[kind](data, path)


def _check_keys(data: Any, fields: tuple[str, ...], path: str, kind: str) -> None:
    if not isinstance(data, Mapping):
        _fail(path, f"expected a dict, got {type(data).__name__} {data!r}")
    expected = {"type", *fields}
    keys = sorted(expected)
    missing = [name for name in fields if name not in data]
    if missing:
        _fail(path, f"a {kind!r} node needs the keys {keys}; missing {missing}")
    extra = sorted(str(key) for key in data if key not in expected)
    if extra:
        _fail(path, f"a {kind!r} node has only the keys {keys}; got {extra}")


def _read_constant(data: Mapping[str, Any], path: str) -> Constraint:
    value = data["value"]
    if not isinstance(value, bool):
        _fail(f"{path}.value", f"expected true or false, got {value!r}")
    return Constant(value)


def _read_boolean_atom(data: Mapping[str, Any], path: str) -> Constraint:
    feature = _string(data["feature"], f"{path}.feature")
    return _build(lambda: BooleanAtom(feature), path)


def _read_compare(data: Mapping[str, Any], path: str) -> Constraint:
    feature = _string(data["feature"], f"{path}.feature")
    operator = _string(data["op"], f"{path}.op")
    value = _value(data["value"], f"{path}.value")
    return _build(lambda: Compare(feature, operator, value), path)  # type: ignore[arg-type]


def _read_membership(data: Mapping[str, Any], path: str) -> Constraint:
    feature = _string(data["feature"], f"{path}.feature")
    items = _list(data["values"], f"{path}.values")
    values = tuple(_value(item, f"{path}.values[{i}]") for i, item in enumerate(items))
    return _build(lambda: Membership(feature, values), path)


def _read_not(data: Mapping[str, Any], path: str) -> Constraint:
    return Not(_node_from_dict(data["operand"], f"{path}.operand"))


def _read_chain(data: Mapping[str, Any], path: str) -> Constraint:
    operands = _operands(data["operands"], f"{path}.operands")
    node_class = {"and": And, "or": Or, "xor": Xor}[data["type"]]
    return _build(lambda: node_class(operands), path)


def _read_implies(data: Mapping[str, Any], path: str) -> Constraint:
    antecedent = _node_from_dict(data["antecedent"], f"{path}.antecedent")
    consequent = _node_from_dict(data["consequent"], f"{path}.consequent")
    return Implies(antecedent, consequent)


def _read_iff(data: Mapping[str, Any], path: str) -> Constraint:
    left = _node_from_dict(data["left"], f"{path}.left")
    return Iff(left, _node_from_dict(data["right"], f"{path}.right"))


def _read_cardinality(data: Mapping[str, Any], path: str) -> Constraint:
    kind = _string(data["kind"], f"{path}.kind")
    bound = data["bound"]
    if isinstance(bound, bool) or not isinstance(bound, int):
        _fail(f"{path}.bound", f"expected an integer, got {bound!r}")
    operands = _operands(data["operands"], f"{path}.operands")
    return _build(lambda: Cardinality(kind, bound, operands), path)  # type: ignore[arg-type]


_READERS: dict[str, Callable[[Mapping[str, Any], str], Constraint]] = {
    "constant": _read_constant,
    "boolean_atom": _read_boolean_atom,
    "compare": _read_compare,
    "membership": _read_membership,
    "not": _read_not,
    "and": _read_chain,
    "or": _read_chain,
    "xor": _read_chain,
    "implies": _read_implies,
    "iff": _read_iff,
    "cardinality": _read_cardinality,
}


def _operands(data: Any, path: str) -> tuple[Constraint, ...]:
    items = _list(data, path)
    return tuple(_node_from_dict(item, f"{path}[{i}]") for i, item in enumerate(items))


def _list(data: Any, path: str) -> list[Any]:
    if not isinstance(data, list | tuple):
        _fail(path, f"expected a list, got {type(data).__name__} {data!r}")
    return list(data)


def _string(data: Any, path: str) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, Mapping) and set(data) == {"code_points"}:
        return _code_points(data["code_points"], f"{path}.code_points")
    _fail(path, f"expected a string, got {type(data).__name__} {data!r}")


def _code_points(data: Any, path: str) -> str:
    points = _list(data, path)
    valid = all(
        isinstance(point, int)
        and not isinstance(point, bool)
        and 0 <= point <= 0x10FFFF
        for point in points
    )
    if not valid:
        _fail(path, f"expected a list of code points 0 to 1114111, got {points!r}")
    return "".join(chr(point) for point in points)


def _value(data: Any, path: str) -> Value:
    if isinstance(data, str | Mapping):
        return _string(data, path)
    if isinstance(data, bool) or not isinstance(data, int | float):
        found = f"{type(data).__name__} {data!r}"
        _fail(path, f"expected a number or a string, got {found}")
    # An int stays an int here: the node constructor converts it to a float and
    # reports one too large for a float.
    return data


_Built = TypeVar("_Built", Constraint, Statement)


def _build(factory: Callable[[], _Built], path: str) -> _Built:
    """Call a node constructor, reporting its check failures at `path`."""
    try:
        return factory()
    except InvalidParameterError as err:
        _fail(path, str(err).rstrip("."), cause=err)


def _fail(path: str, problem: str, cause: Exception | None = None) -> NoReturn:
    msg = f"invalid constraint dict at {path}: {problem}."
    raise ConstraintFormatError(msg) from cause
