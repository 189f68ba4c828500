"""Tests of the constraint syntax tree: constructor checks, equality, traversal and
the canonical printer.
"""

from __future__ import annotations

import dataclasses
import math
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings

from loom.constraints.ast import (
    FALSE,
    TRUE,
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
    Statement,
    Xor,
    features,
    format_number,
    format_rules,
    walk,
)
from loom.exceptions import InvalidParameterError, LoomError
from tests.constraints.strategies import AWKWARD_NUMBERS, constraints, numbers

a, b, c, d = (BooleanAtom(name) for name in "abcd")

NUMBER_PATTERN = r"[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"


# ---------------------------------------------------------------------------
# Value normalization


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3.0),
        (-7, -7.0),
        (0, 0.0),
        (2**53 + 1, 9007199254740992.0),
        (np.int64(4), 4.0),
        (np.float32(0.5), 0.5),
        (np.float64(2.5), 2.5),
        (Fraction(1, 4), 0.25),
    ],
    ids=[
        "int",
        "negative-int",
        "zero",
        "int-above-2-53",
        "numpy-int",
        "numpy-float32",
        "numpy-float64",
        "fraction",
    ],
)
def test_compare_number_becomes_float(value: object, expected: float) -> None:
    node = Compare("x", "=", value)  # type: ignore[arg-type]

    assert type(node.value) is float
    assert node.value == expected


def test_compare_negative_zero_becomes_zero() -> None:
    node = Compare("x", "=", -0.0)

    assert node.value == 0.0
    assert math.copysign(1.0, node.value) == 1.0


def test_compare_keeps_string_value() -> None:
    node = Compare("x", "=", "007")

    assert node.value == "007"


NON_FINITE = [float("nan"), float("inf"), float("-inf"), np.nan, np.float32("inf")]
NON_FINITE_IDS = ["nan", "inf", "minus-inf", "numpy-nan", "numpy-float32-inf"]


@pytest.mark.parametrize("value", NON_FINITE, ids=NON_FINITE_IDS)
def test_compare_rejects_non_finite_value(value: float) -> None:
    with pytest.raises(InvalidParameterError, match="must be finite"):
        Compare("x", "<", value)


@pytest.mark.parametrize("value", NON_FINITE, ids=NON_FINITE_IDS)
def test_membership_rejects_non_finite_value(value: float) -> None:
    with pytest.raises(InvalidParameterError, match="must be finite"):
        Membership("x", (1, value))


@pytest.mark.parametrize("value", NON_FINITE, ids=NON_FINITE_IDS)
def test_annotation_rejects_non_finite_value(value: float) -> None:
    with pytest.raises(InvalidParameterError, match="must be finite"):
        Statement(a, annotations=(("support", value),))


@pytest.mark.parametrize(
    "value",
    [10**400, -(10**400), Fraction(10**400, 3)],
    ids=["huge-int", "huge-negative-int", "huge-fraction"],
)
def test_compare_rejects_value_beyond_float(value: object) -> None:
    with pytest.raises(InvalidParameterError, match="must be finite"):
        Compare("x", "=", value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [True, False, np.bool_(True)],
    ids=["true", "false", "numpy-bool"],
)
def test_compare_rejects_bool_value(value: object) -> None:
    with pytest.raises(InvalidParameterError, match="must be a number or a string"):
        Compare("x", "=", value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [True, np.bool_(False)],
    ids=["bool", "numpy-bool"],
)
def test_membership_rejects_bool_member(value: object) -> None:
    with pytest.raises(InvalidParameterError, match="must be a number or a string"):
        Membership("x", ("a", value))  # type: ignore[arg-type]


def test_annotation_rejects_bool_value() -> None:
    with pytest.raises(InvalidParameterError, match="must be a number or a string"):
        Statement(a, annotations=(("checked", True),))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [None, b"red", ["red"], 1 + 2j, object()],
    ids=["none", "bytes", "list", "complex", "object"],
)
def test_compare_rejects_other_value_types(value: object) -> None:
    with pytest.raises(InvalidParameterError, match="must be a number or a string"):
        Compare("x", "=", value)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Membership


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ((), ()),
        (("b", "a", "b"), ("a", "b")),
        ((3, 1, 2, 1.0), (1.0, 2.0, 3.0)),
        (("red", 2, "blue", -1), (-1.0, 2.0, "blue", "red")),
        ((-0.0, 0, 0.0), (0.0,)),
        (("1", 1), (1.0, "1")),
        (("B", "a", "_", ""), ("", "B", "_", "a")),
        ([2, 1], (1.0, 2.0)),
        (iter(["y", "x"]), ("x", "y")),
        (frozenset({2, 1}), (1.0, 2.0)),
    ],
    ids=[
        "empty",
        "strings",
        "numbers",
        "mixed-numbers-first",
        "zeros-merge",
        "number-and-digit-string",
        "code-point-order",
        "list",
        "iterator",
        "frozenset",
    ],
)
def test_membership_sorts_and_deduplicates(members: object, expected: tuple) -> None:
    node = Membership("x", members)  # type: ignore[arg-type]

    assert node.values == expected


def test_membership_members_are_floats_or_strings() -> None:
    node = Membership("x", (1, "1", np.int64(2)))

    assert [type(value) for value in node.values] == [float, float, str]


@pytest.mark.parametrize(
    "members",
    ["abc", b"abc", 3, None],
    ids=["str", "bytes", "int", "none"],
)
def test_membership_rejects_non_sequence(members: object) -> None:
    with pytest.raises(InvalidParameterError, match="must be a sequence of values"):
        Membership("x", members)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Names, operators and operands


@pytest.mark.parametrize(
    "build",
    [
        lambda name: BooleanAtom(name),
        lambda name: Compare(name, "=", 1),
        lambda name: Membership(name, ()),
    ],
    ids=["boolean-atom", "compare", "membership"],
)
@pytest.mark.parametrize(
    "name",
    ["", None, 3, b"x"],
    ids=["empty", "none", "int", "bytes"],
)
def test_atom_rejects_invalid_feature_name(build, name: object) -> None:
    with pytest.raises(
        InvalidParameterError, match="feature must be a non-empty string"
    ):
        build(name)


@pytest.mark.parametrize(
    "operator",
    ["==", "=>", "<>", "eq", "", None],
    ids=["double-equal", "arrow", "angle-pair", "word", "empty", "none"],
)
def test_compare_rejects_unknown_operator(operator: object) -> None:
    with pytest.raises(
        InvalidParameterError, match="comparison operator must be one of"
    ):
        Compare("x", operator, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [1, 0, None, "true", np.bool_(True)],
    ids=["one", "zero", "none", "string", "numpy-bool"],
)
def test_constant_rejects_non_bool(value: object) -> None:
    with pytest.raises(InvalidParameterError, match="Constant value must be a bool"):
        Constant(value)  # type: ignore[arg-type]


def test_constants_are_shared_nodes() -> None:
    assert Constant(True) == TRUE
    assert Constant(False) == FALSE
    assert TRUE != FALSE


@pytest.mark.parametrize(
    "build",
    [
        lambda: Not("a"),
        lambda: Not(None),
        lambda: Implies("a", b),
        lambda: Implies(a, True),
        lambda: Iff(a, "b"),
        lambda: Iff(None, b),
        lambda: And((a, "b")),
        lambda: Or((a, None)),
        lambda: Xor((1, a)),
        lambda: Cardinality("atleast", 1, (a, "b")),
        lambda: Statement("a"),
    ],
    ids=[
        "not-str",
        "not-none",
        "implies-antecedent",
        "implies-consequent",
        "iff-right",
        "iff-left",
        "and-member",
        "or-member",
        "xor-member",
        "cardinality-member",
        "statement",
    ],
)
def test_connective_rejects_non_node_operand(build) -> None:
    with pytest.raises(
        InvalidParameterError, match="operand must be a Constraint node"
    ):
        build()


@pytest.mark.parametrize("chain", [And, Or, Xor], ids=["and", "or", "xor"])
@pytest.mark.parametrize(
    "operands",
    [(), (a,), []],
    ids=["none", "one", "empty-list"],
)
def test_chain_needs_two_operands(chain: type, operands: object) -> None:
    with pytest.raises(InvalidParameterError, match="needs at least two operands"):
        chain(operands)


@pytest.mark.parametrize("chain", [And, Or, Xor], ids=["and", "or", "xor"])
@pytest.mark.parametrize(
    "operands",
    [a, "ab", 3],
    ids=["single-node", "str", "int"],
)
def test_chain_rejects_non_sequence(chain: type, operands: object) -> None:
    with pytest.raises(InvalidParameterError, match="must be a sequence of Constraint"):
        chain(operands)


@pytest.mark.parametrize("chain", [And, Or, Xor], ids=["and", "or", "xor"])
def test_chain_stores_operands_as_tuple(chain: type) -> None:
    from_list = chain([a, b, c])
    from_generator = chain(node for node in (a, b, c))

    assert from_list.operands == (a, b, c)
    assert from_generator.operands == (a, b, c)


def test_chain_keeps_repeated_operands() -> None:
    node = And((a, a))

    assert node.operands == (a, a)


@pytest.mark.parametrize(
    "bound",
    [1.0, 2.5, True, False, "2", None, Fraction(2)],
    ids=["integral-float", "float", "true", "false", "str", "none", "fraction"],
)
def test_cardinality_bound_must_be_int(bound: object) -> None:
    with pytest.raises(InvalidParameterError, match="cardinality bound must be an int"):
        Cardinality("atleast", bound, (a, b))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bound", "operands"),
    [(-2, (a,)), (0, ()), (3, (a, b)), (2**70, (a,)), (-(2**70), ())],
    ids=["negative", "zero-no-operands", "above-count", "huge", "huge-negative"],
)
def test_cardinality_accepts_any_int_bound(bound: int, operands: tuple) -> None:
    node = Cardinality("exactly", bound, operands)

    assert node.bound == bound
    assert type(node.bound) is int


@pytest.mark.parametrize(
    "kind",
    ["at_least", "ATLEAST", "most", "", None],
    ids=["underscore", "upper-case", "partial", "empty", "none"],
)
def test_cardinality_rejects_unknown_kind(kind: object) -> None:
    with pytest.raises(InvalidParameterError, match="cardinality kind must be one of"):
        Cardinality(kind, 1, (a,))  # type: ignore[arg-type]


def test_cardinality_defaults_to_no_operands() -> None:
    node = Cardinality("atmost", 0)

    assert node.operands == ()


def test_cardinality_stores_operands_as_tuple() -> None:
    node = Cardinality("atleast", 1, [a, b])

    assert node.operands == (a, b)


# ---------------------------------------------------------------------------
# Statements


def test_statement_normalizes_annotation_values() -> None:
    statement = Statement(a, annotations=[("support", 120), ("lift", -0.0)])

    assert statement.annotations == (("support", 120.0), ("lift", 0.0))
    assert type(statement.annotation("support")) is float


def test_statement_annotation_returns_default() -> None:
    statement = Statement(a, annotations=(("support", 120),))

    assert statement.annotation("support") == 120.0
    assert statement.annotation("confidence") is None
    assert statement.annotation("confidence", 0.5) == 0.5


@pytest.mark.parametrize(
    "key",
    ["", "a b", "1a", "x-y", "`k`", "and", "AND", "True", 3, None],
    ids=[
        "empty",
        "space",
        "leading-digit",
        "hyphen",
        "backticks",
        "keyword",
        "upper-keyword",
        "capitalized-keyword",
        "int",
        "none",
    ],
)
def test_statement_rejects_invalid_annotation_key(key: object) -> None:
    with pytest.raises(
        InvalidParameterError, match="annotation key must be a bare word"
    ):
        Statement(a, annotations=((key, 1),))  # type: ignore[arg-type]


def test_statement_rejects_repeated_annotation_key() -> None:
    with pytest.raises(InvalidParameterError, match="'support' appears twice"):
        Statement(a, annotations=(("support", 1), ("support", 2)))


@pytest.mark.parametrize("name", ["", 3], ids=["empty", "int"])
def test_statement_rejects_invalid_name(name: object) -> None:
    with pytest.raises(
        InvalidParameterError, match="statement name must be a non-empty"
    ):
        Statement(a, name=name)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Equality, hashing and immutability


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (Compare("x", "=", 1), Compare("x", "=", 1.0)),
        (Compare("x", "=", -0.0), Compare("x", "=", 0)),
        (Membership("x", ("b", 1, "a")), Membership("x", ["a", "b", 1.0, "a"])),
        (And([a, b]), And((a, b))),
        (Cardinality("atleast", 1, [a]), Cardinality("atleast", 1, (a,))),
        (Constant(True), TRUE),
        (Statement(a, annotations=[("k", 1)]), Statement(a, annotations=(("k", 1.0),))),
        (Not(Not(a)), Not(Not(BooleanAtom("a")))),
    ],
    ids=[
        "int-and-float",
        "signed-zeros",
        "member-order",
        "operand-list",
        "cardinality-list",
        "constant",
        "annotation-list",
        "nested",
    ],
)
def test_equal_spellings_compare_equal(left: object, right: object) -> None:
    assert left == right
    assert hash(left) == hash(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (And((a, b)), Or((a, b))),
        (And((a, b)), Xor((a, b))),
        (And((a, b)), And((b, a))),
        (And((And((a, b)), c)), And((a, b, c))),
        (And((a, And((b, c)))), And((And((a, b)), c))),
        (Compare("x", "=", 1), Compare("x", "=", "1")),
        (Compare("x", "=", 1), Compare("x", "!=", 1)),
        (Compare("x", "=", 1), Membership("x", (1,))),
        (BooleanAtom("x"), BooleanAtom("X")),
        (Not(Not(a)), a),
        (Implies(a, b), Implies(b, a)),
        (Implies(a, b), Or((Not(a), b))),
        (Iff(a, b), Iff(b, a)),
        (Cardinality("atleast", 1, (a,)), Cardinality("atmost", 1, (a,))),
        (Cardinality("atleast", 1, (a,)), Cardinality("atleast", 2, (a,))),
        (Cardinality("atleast", 1, (a, a)), Cardinality("atleast", 1, (a,))),
        (Statement(a), Statement(a, name="r1")),
        (
            Statement(a, annotations=(("x", 1), ("y", 2))),
            Statement(a, annotations=(("y", 2), ("x", 1))),
        ),
        (Statement(a), a),
    ],
    ids=[
        "and-or",
        "and-xor",
        "operand-order",
        "nested-and-flat",
        "grouping",
        "number-and-string",
        "operator",
        "compare-and-membership",
        "name-case",
        "double-negation",
        "implies-direction",
        "implies-and-or",
        "iff-order",
        "cardinality-kind",
        "cardinality-bound",
        "cardinality-repeat",
        "statement-name",
        "annotation-order",
        "statement-and-constraint",
    ],
)
def test_different_trees_compare_unequal(left: object, right: object) -> None:
    assert left != right


def test_nodes_work_as_set_members() -> None:
    nodes = {Compare("x", "=", 1), Compare("x", "=", 1.0), Membership("x", (2, 1))}

    assert len(nodes) == 2
    assert Membership("x", (1, 2)) in nodes


@pytest.mark.parametrize(
    ("node", "field"),
    [
        (BooleanAtom("a"), "feature"),
        (Compare("x", "=", 1), "value"),
        (And((a, b)), "operands"),
        (Cardinality("atleast", 1, (a,)), "bound"),
        (Statement(a), "name"),
    ],
    ids=["boolean-atom", "compare", "and", "cardinality", "statement"],
)
def test_nodes_are_frozen(node: object, field: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign"):
        setattr(node, field, None)


def test_nodes_have_no_instance_dict() -> None:
    assert not hasattr(Compare("x", "=", 1), "__dict__")
    assert not hasattr(And((a, b)), "__dict__")


def test_invalid_parameter_error_is_value_error() -> None:
    with pytest.raises(ValueError, match="needs at least two operands") as info:
        And((a,))

    assert isinstance(info.value, LoomError)


# ---------------------------------------------------------------------------
# Traversal


def test_walk_visits_in_preorder() -> None:
    tree = Implies(And((a, Not(b))), Cardinality("atleast", 1, (c, d)))

    visited = list(walk(tree))

    assert visited == [
        tree,
        tree.antecedent,
        a,
        Not(b),
        b,
        tree.consequent,
        c,
        d,
    ]


def test_walk_yields_leaf_itself() -> None:
    assert list(walk(a)) == [a]


def test_walk_handles_deep_nesting() -> None:
    tree = a
    for _ in range(5000):
        tree = Not(tree)

    visited = list(walk(tree))

    assert len(visited) == 5001
    assert visited[-1] == a


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (TRUE, ()),
        (a, ()),
        (Compare("x", "=", 1), ()),
        (Not(a), (a,)),
        (And((a, b, c)), (a, b, c)),
        (Implies(a, b), (a, b)),
        (Iff(b, a), (b, a)),
        (Cardinality("atmost", 0), ()),
        (Cardinality("atmost", 1, (c, a)), (c, a)),
    ],
    ids=[
        "constant",
        "boolean-atom",
        "compare",
        "not",
        "and",
        "implies",
        "iff",
        "empty-cardinality",
        "cardinality",
    ],
)
def test_children_in_printing_order(node, expected: tuple) -> None:
    assert node.children() == expected


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (TRUE, ()),
        (Cardinality("atleast", 0), ()),
        (a, ("a",)),
        (Compare("age", ">=", 30), ("age",)),
        (Membership("color", ("red",)), ("color",)),
        (
            Implies(And((a, Compare("color", "=", "red"))), Not(a)),
            ("a", "color"),
        ),
        (Or((c, b, Iff(a, c), b)), ("c", "b", "a")),
        (Cardinality("exactly", 1, (d, Xor((c, d)))), ("d", "c")),
        (And((BooleanAtom("x"), BooleanAtom("X"))), ("x", "X")),
        (Not(BooleanAtom("age (years)")), ("age (years)",)),
    ],
    ids=[
        "constant",
        "empty-cardinality",
        "boolean-atom",
        "compare",
        "membership",
        "first-mention-order",
        "repeats-once",
        "cardinality",
        "case-sensitive",
        "quoted-name",
    ],
)
def test_features_in_first_mention_order(node, expected: tuple) -> None:
    assert features(node) == expected


@settings(max_examples=200, deadline=None)
@given(constraints())
def test_features_match_walked_atoms(node) -> None:
    atom_names = {
        current.feature
        for current in walk(node)
        if isinstance(current, BooleanAtom | Compare | Membership)
    }

    assert set(features(node)) == atom_names
    assert len(features(node)) == len(atom_names)


# ---------------------------------------------------------------------------
# Canonical printing


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (TRUE, "true"),
        (FALSE, "false"),
        (BooleanAtom("smoker"), "smoker"),
        (BooleanAtom("_"), "_"),
        (BooleanAtom("order"), "order"),
        (BooleanAtom("notes"), "notes"),
        (BooleanAtom("android"), "android"),
        (BooleanAtom("and"), "`and`"),
        (BooleanAtom("AND"), "`AND`"),
        (BooleanAtom("True"), "`True`"),
        (BooleanAtom("exactly"), "`exactly`"),
        (BooleanAtom("age (years)"), "`age (years)`"),
        (BooleanAtom("2nd-dose"), "`2nd-dose`"),
        (BooleanAtom("a`b"), "`a\\`b`"),
        (BooleanAtom("back\\slash"), "`back\\\\slash`"),
        (BooleanAtom('say "hi"'), '`say "hi"`'),
        (BooleanAtom("it's"), "`it's`"),
        (BooleanAtom("new\nline"), "`new\\nline`"),
        (BooleanAtom("tab\t"), "`tab\\t`"),
        (BooleanAtom("cr\r"), "`cr\\r`"),
        (BooleanAtom("\x00"), "`\\u0000`"),
        (BooleanAtom("\x7f"), "`\\u007f`"),
        (BooleanAtom("\ud800"), "`\\ud800`"),
        (BooleanAtom("café"), "`café`"),
        (BooleanAtom("🍄"), "`🍄`"),
        (BooleanAtom(" "), "` `"),
    ],
    ids=[
        "true",
        "false",
        "bare",
        "underscore",
        "contains-or",
        "starts-with-not",
        "contains-and",
        "keyword",
        "upper-keyword",
        "capitalized-keyword",
        "cardinality-keyword",
        "parentheses",
        "leading-digit",
        "backtick",
        "backslash",
        "double-quote",
        "single-quote",
        "newline",
        "tab",
        "carriage-return",
        "nul",
        "delete",
        "lone-surrogate",
        "non-ascii-letter",
        "emoji",
        "space",
    ],
)
def test_print_quotes_feature_names(node, expected: str) -> None:
    assert str(node) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("red", "red"),
        ("_x1", "_x1"),
        ("order", "order"),
        ("dark blue", '"dark blue"'),
        ("", '""'),
        ("007", '"007"'),
        ("1a", '"1a"'),
        ("-3", '"-3"'),
        ("true", '"true"'),
        ("AND", '"AND"'),
        ("Then", '"Then"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("it's", '"it\'s"'),
        ("`", '"`"'),
        ("\\", '"\\\\"'),
        ("\n", '"\\n"'),
        ("\t", '"\\t"'),
        ("\x1b", '"\\u001b"'),
        ("\udfff", '"\\udfff"'),
        ("é", '"é"'),
    ],
    ids=[
        "bare",
        "underscore",
        "contains-or",
        "space",
        "empty",
        "leading-zeros",
        "leading-digit",
        "signed-digits",
        "keyword",
        "upper-keyword",
        "capitalized-keyword",
        "double-quotes",
        "single-quote",
        "backtick",
        "backslash",
        "newline",
        "tab",
        "escape-char",
        "lone-surrogate",
        "non-ascii",
    ],
)
def test_print_quotes_string_values(value: str, expected: str) -> None:
    assert str(Compare("x", "=", value)) == f"x = {expected}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, "3"),
        (-3, "-3"),
        (0, "0"),
        (-0.0, "0"),
        (2.5, "2.5"),
        (-2.5, "-2.5"),
        (100.0, "100"),
        (2.5e-3, "0.0025"),
        (1e-4, "0.0001"),
        (1e-5, "1e-5"),
        (1.5e-7, "1.5e-7"),
        (1e15, "1000000000000000"),
        (1e16, "1e16"),
        (1e22, "1e22"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1 / 3, "0.3333333333333333"),
        (2**53 + 1, "9007199254740992"),
        (123456789012345678, "1.2345678901234568e17"),
        (2**63, "9.223372036854776e18"),
        (1.7976931348623157e308, "1.7976931348623157e308"),
        (2.225073858507201e-308, "2.225073858507201e-308"),
        (5e-324, "5e-324"),
        (-1e-300, "-1e-300"),
    ],
    ids=[
        "int",
        "negative-int",
        "zero",
        "negative-zero",
        "fraction",
        "negative-fraction",
        "integral-float",
        "small",
        "fixed-limit",
        "exponent-limit",
        "small-exponent",
        "large-fixed",
        "large-exponent",
        "exact-power",
        "seventeen-digits",
        "third",
        "above-2-53",
        "rounded-large-int",
        "two-to-63",
        "max-float",
        "max-subnormal",
        "min-subnormal",
        "tiny-negative",
    ],
)
def test_print_numbers_shortest_digits(value: float, expected: str) -> None:
    assert str(Compare("x", "=", value)) == f"x = {expected}"


@pytest.mark.parametrize("number", AWKWARD_NUMBERS, ids=repr)
def test_format_number_reads_back(number: float) -> None:
    text = format_number(float(number))

    assert float(text) == float(number)


@settings(max_examples=1000, deadline=None)
@given(numbers())
def test_format_number_canonical_form(number: float) -> None:
    text = format_number(float(number))

    assert float(text) == float(number) + 0.0
    assert re.fullmatch(NUMBER_PATTERN, text)
    assert not text.endswith(".0")
    assert "e+" not in text
    assert "e-0" not in text


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (Compare("age", ">=", 30), "age >= 30"),
        (Compare("age", ">", 30), "age > 30"),
        (Compare("age", "<=", 30), "age <= 30"),
        (Compare("age", "<", 30), "age < 30"),
        (Compare("odor", "=", "none"), "odor = none"),
        (Compare("odor", "!=", "none"), "odor != none"),
        (Membership("color", ()), "color in {}"),
        (
            Membership("color", ("red", "dark blue", 2, -1)),
            'color in {-1, 2, "dark blue", red}',
        ),
        (Membership("`", ("",)), '`\\`` in {""}'),
    ],
    ids=[
        "greater-equal",
        "greater",
        "less-equal",
        "less",
        "equal",
        "not-equal",
        "empty-set",
        "sorted-set",
        "quoted-set",
    ],
)
def test_print_atoms(node, expected: str) -> None:
    assert str(node) == expected


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        # negation
        (Not(a), "not a"),
        (Not(Not(a)), "not not a"),
        (Not(And((a, b))), "not (a and b)"),
        (Not(Compare("x", "=", 1)), "not x = 1"),
        (Not(Membership("x", (1,))), "not x in {1}"),
        (Not(Cardinality("atleast", 1, (a,))), "not atleast(1: a)"),
        (And((Not(a), Not(b))), "not a and not b"),
        # chains
        (And((a, b, c)), "a and b and c"),
        (And((And((a, b)), c)), "(a and b) and c"),
        (And((a, And((b, c)))), "a and (b and c)"),
        (Or((a, Or((b, c)))), "a or (b or c)"),
        (Xor((Xor((a, b)), c)), "(a xor b) xor c"),
        (Or((And((a, b)), c)), "a and b or c"),
        (And((Or((a, b)), c)), "(a or b) and c"),
        (Xor((a, And((b, c)))), "a xor b and c"),
        (And((Xor((a, b)), c)), "(a xor b) and c"),
        (Or((Xor((a, b)), c)), "a xor b or c"),
        (Xor((Or((a, b)), c)), "(a or b) xor c"),
        (Or((a, Xor((b, c)), And((c, d)))), "a or b xor c or c and d"),
        # implication
        (Implies(a, b), "if a then b"),
        (Implies(a, Implies(b, c)), "if a then b -> c"),
        (Implies(Implies(a, b), c), "if a -> b then c"),
        (Implies(Or((a, b)), And((c, d))), "if a or b then c and d"),
        (Implies(Iff(a, b), c), "if a <-> b then c"),
        (Implies(a, Iff(b, c)), "if a then (b <-> c)"),
        (And((Implies(a, b), c)), "(a -> b) and c"),
        (Not(Implies(a, b)), "not (a -> b)"),
        (Not(Implies(a, Implies(b, c))), "not (a -> b -> c)"),
        (Not(Implies(Implies(a, b), c)), "not ((a -> b) -> c)"),
        # equivalence
        (Iff(a, b), "a <-> b"),
        (Iff(Iff(a, b), c), "(a <-> b) <-> c"),
        (Iff(a, Iff(b, c)), "a <-> (b <-> c)"),
        (Iff(Implies(a, b), c), "a -> b <-> c"),
        (Iff(a, Implies(b, c)), "a <-> b -> c"),
        (Iff(Or((a, b)), Not(c)), "a or b <-> not c"),
        (And((Iff(a, b), c)), "(a <-> b) and c"),
        (And((Implies(Iff(a, b), c), d)), "((a <-> b) -> c) and d"),
        # cardinality
        (Cardinality("atleast", 2, (a, b, c)), "atleast(2: a, b, c)"),
        (Cardinality("atmost", 0), "atmost(0:)"),
        (Cardinality("exactly", -1, (a,)), "exactly(-1: a)"),
        (Cardinality("atleast", 5, (a, a)), "atleast(5: a, a)"),
        (Cardinality("atleast", 1, (And((a, b)), c)), "atleast(1: a and b, c)"),
        (
            Cardinality("atleast", 1, (Implies(a, b), Iff(c, d))),
            "atleast(1: a -> b, c <-> d)",
        ),
        (
            Cardinality("exactly", 1, (Cardinality("atmost", 1, (a, b)), c)),
            "exactly(1: atmost(1: a, b), c)",
        ),
        (And((Cardinality("atmost", 1, (a,)), b)), "atmost(1: a) and b"),
    ],
    ids=[
        "not",
        "double-not",
        "not-and",
        "not-compare",
        "not-membership",
        "not-cardinality",
        "and-of-nots",
        "flat-and",
        "nested-left-and",
        "nested-right-and",
        "nested-right-or",
        "nested-left-xor",
        "and-in-or",
        "or-in-and",
        "and-in-xor",
        "xor-in-and",
        "xor-in-or",
        "or-in-xor",
        "mixed-chain",
        "top-implies",
        "top-right-nested",
        "top-left-nested",
        "top-chains",
        "top-iff-antecedent",
        "top-iff-consequent",
        "implies-in-and",
        "implies-in-not",
        "right-nested-in-not",
        "left-nested-in-not",
        "iff",
        "iff-left-iff",
        "iff-right-iff",
        "iff-left-implies",
        "iff-right-implies",
        "iff-of-chains",
        "iff-in-and",
        "iff-in-nested-implies",
        "atleast",
        "empty-atmost",
        "negative-bound",
        "repeated-operand",
        "chain-operand",
        "arrow-operands",
        "nested-cardinality",
        "cardinality-in-and",
    ],
)
def test_print_parenthesizes_by_precedence(node, expected: str) -> None:
    assert str(node) == expected


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (Statement(a), "a"),
        (Statement(a, name="r1"), "r1: a"),
        (Statement(a, name="rule 1"), "`rule 1`: a"),
        (Statement(a, name="and"), "`and`: a"),
        (Statement(Implies(a, b), name="r1"), "r1: if a then b"),
        (
            Statement(a, annotations=(("support", 120), ("confidence", 0.98))),
            "a [support=120, confidence=0.98]",
        ),
        (
            Statement(
                Implies(a, b),
                name="r2",
                annotations=(("note", "x y"), ("tag", "red"), ("flag", "true")),
            ),
            'r2: if a then b [note="x y", tag=red, flag="true"]',
        ),
        (Statement(a, annotations=(("lift", -0.0),)), "a [lift=0]"),
    ],
    ids=[
        "bare",
        "named",
        "quoted-name",
        "keyword-name",
        "named-rule",
        "annotations",
        "string-annotations",
        "zero-annotation",
    ],
)
def test_print_statement(statement: Statement, expected: str) -> None:
    assert str(statement) == expected


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([], ""),
        ([a], "a\n"),
        ([Statement(a, name="r1"), Implies(b, c)], "r1: a\nif b then c\n"),
    ],
    ids=["empty", "one-constraint", "statement-and-constraint"],
)
def test_format_rules_one_per_line(entries: list, expected: str) -> None:
    assert format_rules(entries) == expected
