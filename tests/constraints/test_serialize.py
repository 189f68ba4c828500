"""Tests of the dict and JSON form of constraint trees: round trips over every node
kind, the canonical text, and the errors for malformed input.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from loom.constraints import parse, parse_rules
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
    Xor,
    walk,
)
from loom.constraints.serialize import (
    NODE_TYPES,
    canonical_json,
    from_dict,
    from_json,
    statement_from_dict,
    statement_to_dict,
    to_dict,
    to_json,
)
from loom.exceptions import ConstraintFormatError, InvalidParameterError
from tests.constraints.strategies import constraints, statements

ROUND_TRIP = settings(
    max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

EVERY_KIND = parse(
    'if (a and not b) xor c = "dark blue" or `x y` in {1, red} then '
    "(d <-> atleast(2: e, f >= 2.5, true)) and atmost(1:) or exactly(0: false)"
)


@given(constraints())
@ROUND_TRIP
def test_dict_and_json_round_trip(node: Constraint) -> None:
    assert from_dict(to_dict(node)) == node
    text = to_json(node)
    assert from_json(text) == node
    assert to_json(from_json(text)) == text
    assert text.isascii()


@given(statements())
@settings(max_examples=300, deadline=None)
def test_statement_round_trip(statement: Statement) -> None:
    data = json.loads(canonical_json(statement_to_dict(statement)))
    assert statement_from_dict(data) == statement


def test_every_node_kind_has_a_type() -> None:
    kinds = {type(node) for node in walk(EVERY_KIND)}
    expected = {
        And,
        BooleanAtom,
        Cardinality,
        Compare,
        Constant,
        Iff,
        Implies,
        Membership,
        Not,
        Or,
        Xor,
    }
    assert kinds == expected
    types = {item["type"] for item in _nodes(to_dict(EVERY_KIND))}
    assert types == set(NODE_TYPES)
    assert from_json(to_json(EVERY_KIND)) == EVERY_KIND


def _nodes(data: Any) -> list[dict[str, Any]]:
    """Return every node dict inside `data`, `data` included."""
    found = []
    if isinstance(data, dict):
        if "type" in data:
            found.append(data)
        for value in data.values():
            found.extend(_nodes(value))
    elif isinstance(data, list):
        for item in data:
            found.extend(_nodes(item))
    return found


def test_to_dict_keeps_value_types() -> None:
    data = to_dict(parse('x = 3 or x = "3" or x in {1, one}'))
    values = [operand["value"] for operand in data["operands"][:2]]
    assert values == [3.0, "3"]
    assert data["operands"][2]["values"] == [1.0, "one"]


def test_surrogate_pair_stays_two_code_points() -> None:
    node = Compare("\ud83d\ude00", "=", "\U0001f600")
    data = to_dict(node)
    assert data["feature"] == {"code_points": [0xD83D, 0xDE00]}
    assert data["value"] == "\U0001f600"
    assert from_json(to_json(node)) == node


def test_to_json_sorts_keys_without_spaces() -> None:
    text = to_json(parse("age >= 30"))
    assert text == '{"feature":"age","op":">=","type":"compare","value":30.0}'


def test_from_dict_accepts_ints_for_values() -> None:
    node = from_dict({"type": "compare", "feature": "age", "op": "<", "value": 30})
    assert node == Compare("age", "<", 30.0)


def test_statement_to_dict_keeps_name_and_annotations() -> None:
    (statement,) = parse_rules("r1: if a then b [support=12, note=ok]")
    data = statement_to_dict(statement)
    assert data["name"] == "r1"
    assert data["annotations"] == [["support", 12.0], ["note", "ok"]]
    assert statement_from_dict(data) == statement


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ([], r"at \$: expected a node dict, got list"),
        ({"feature": "a"}, r"at \$: 'type' must be one of 'constant'.*got None"),
        ({"type": "andd", "operands": []}, r"'type' must be one of .*got 'andd'"),
        (
            {"type": "not"},
            r"at \$: a 'not' node needs the keys .*missing \['operand'\]",
        ),
        (
            {"type": "boolean_atom", "feature": "a", "negated": True},
            r"has only the keys \['feature', 'type'\]; got \['negated'\]",
        ),
        ({"type": "constant", "value": 1}, r"at \$\.value: expected true or false"),
        ({"type": "boolean_atom", "feature": 7}, r"at \$\.feature: expected a string"),
        (
            {"type": "boolean_atom", "feature": ""},
            r"at \$: feature must be a non-empty",
        ),
        (
            {"type": "compare", "feature": "a", "op": "==", "value": 1},
            r"at \$: comparison operator must be one of",
        ),
        (
            {"type": "compare", "feature": "a", "op": "=", "value": True},
            r"at \$\.value: expected a number or a string, got bool True",
        ),
        (
            {"type": "compare", "feature": "a", "op": "=", "value": 10**400},
            r"at \$: a numeric value must be finite",
        ),
        (
            {"type": "membership", "feature": "a", "values": "red"},
            r"at \$\.values: expected a list, got str",
        ),
        (
            {"type": "membership", "feature": "a", "values": [1, None]},
            r"at \$\.values\[1\]: expected a number or a string, got NoneType",
        ),
        (
            {"type": "or", "operands": [{"type": "constant", "value": True}]},
            r"at \$: Or needs at least two operands, got 1",
        ),
        (
            {
                "type": "and",
                "operands": [
                    {"type": "constant", "value": True},
                    {"type": "not", "operand": {"type": "boolean_atom"}},
                ],
            },
            r"at \$\.operands\[1\]\.operand: a 'boolean_atom' node needs the keys",
        ),
        (
            {
                "type": "implies",
                "antecedent": {"type": "constant", "value": True},
                "consequent": "b",
            },
            r"at \$\.consequent: expected a node dict, got str 'b'",
        ),
        (
            {"type": "cardinality", "kind": "atmost", "bound": 1.0, "operands": []},
            r"at \$\.bound: expected an integer, got 1\.0",
        ),
        (
            {"type": "boolean_atom", "feature": {"code_points": [-1]}},
            r"at \$\.feature\.code_points: expected a list of code points",
        ),
        (
            {"type": "cardinality", "kind": "most", "bound": 1, "operands": []},
            r"at \$: cardinality kind must be one of atleast, atmost, exactly",
        ),
    ],
    ids=[
        "not-a-dict",
        "no-type",
        "unknown-type",
        "missing-key",
        "extra-key",
        "constant-not-bool",
        "feature-not-string",
        "empty-feature",
        "bad-operator",
        "bool-value",
        "huge-int",
        "values-not-list",
        "value-none",
        "one-operand",
        "nested-missing-key",
        "operand-not-dict",
        "float-bound",
        "bad-code-point",
        "bad-kind",
    ],
)
def test_from_dict_rejects_malformed(data: Any, match: str) -> None:
    with pytest.raises(ConstraintFormatError, match=match):
        from_dict(data)


def test_from_dict_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="invalid constraint dict"):
        from_dict({"type": "not", "operand": None})


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{", r"invalid constraint JSON: Expecting property name"),
        ('{"type": "nand"}', r"'type' must be one of"),
        ("[1, 2]", r"expected a node dict, got list"),
    ],
    ids=["truncated", "unknown-type", "list"],
)
def test_from_json_rejects_bad_text(text: str, match: str) -> None:
    with pytest.raises(ConstraintFormatError, match=match):
        from_json(text)


def test_to_dict_rejects_non_nodes() -> None:
    with pytest.raises(InvalidParameterError, match=re.escape("got str: 'a and b'")):
        to_dict("a and b")  # type: ignore[arg-type]


def test_statement_from_dict_rejects_bad_pair() -> None:
    data = {
        "type": "statement",
        "constraint": {"type": "constant", "value": True},
        "name": None,
        "annotations": [["support"]],
    }
    with pytest.raises(ConstraintFormatError, match=r"\$\.annotations\[0\]: expected"):
        statement_from_dict(data)


def test_canonical_json_rejects_nan() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        canonical_json({"confidence": float("nan")})
