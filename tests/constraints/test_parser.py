"""Tests of the constraint parser: round trips with the printer, precedence, accepted
syntax, and the position and wording of syntax errors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from lark import Lark

from loom import ConstraintSyntaxError, format_rules, parse, parse_rules
from loom.constraints.ast import (
    FALSE,
    KEYWORDS,
    TRUE,
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
from loom.constraints.parser import build_parser
from loom.exceptions import InvalidParameterError
from tests.constraints.strategies import constraints, rule_sets

a, b, c, d = (BooleanAtom(name) for name in "abcd")

SCHEMA_VALUES = {
    "smoker": [],
    "age (years)": [0, 17.5, 65, -1],
    "color": ["red", "dark blue", "", "007"],
    "order": ["true", "AND", 3],
}


# ---------------------------------------------------------------------------
# Round trips with the printer


@settings(max_examples=1000, deadline=None)
@given(constraints())
def test_parse_print_round_trip(node: Constraint) -> None:
    text = str(node)
    parsed = parse(text)

    assert parsed == node
    assert str(parsed) == text


@settings(max_examples=1000, deadline=None)
@given(constraints(feature_names=list(SCHEMA_VALUES), values=SCHEMA_VALUES))
def test_parse_round_trip_schema_vocabulary(node: Constraint) -> None:
    text = str(node)
    parsed = parse(text)

    assert parsed == node
    assert str(parsed) == text


@settings(max_examples=1000, deadline=None)
@given(rule_sets())
def test_parse_rules_format_rules_round_trip(rules: list[Statement]) -> None:
    text = format_rules(rules)
    parsed = parse_rules(text)

    assert parsed == rules
    assert format_rules(parsed) == text


def _is_subnormal(value: object) -> bool:
    return isinstance(value, float) and 0 < abs(value) < sys.float_info.min


def _has_surrogate(value: object) -> bool:
    return isinstance(value, str) and any(
        0xD800 <= ord(char) <= 0xDFFF for char in value
    )


# Node shapes the constraint strategy must draw, each tested on one node of a tree.
NODE_SHAPES = {
    "constant": lambda node: isinstance(node, Constant),
    "boolean-atom": lambda node: isinstance(node, BooleanAtom),
    **{
        f"compare {operator}": (
            lambda node, operator=operator: (
                isinstance(node, Compare) and node.op == operator
            )
        )
        for operator in ("=", "!=", "<", "<=", ">", ">=")
    },
    "empty-membership": lambda node: isinstance(node, Membership) and not node.values,
    "mixed-membership": lambda node: (
        isinstance(node, Membership)
        and {type(value) for value in node.values} == {float, str}
    ),
    "not": lambda node: isinstance(node, Not),
    "and-of-four": lambda node: isinstance(node, And) and len(node.operands) == 4,
    "or": lambda node: isinstance(node, Or),
    "xor": lambda node: isinstance(node, Xor),
    "implies": lambda node: isinstance(node, Implies),
    "iff": lambda node: isinstance(node, Iff),
    "iff-of-iff": lambda node: isinstance(node, Iff) and isinstance(node.left, Iff),
    **{
        f"{kind} with operands": (
            lambda node, kind=kind: (
                isinstance(node, Cardinality)
                and node.kind == kind
                and bool(node.operands)
            )
        )
        for kind in ("atleast", "atmost", "exactly")
    },
    "cardinality-no-operands": lambda node: (
        isinstance(node, Cardinality) and not node.operands
    ),
    "cardinality-negative-bound": lambda node: (
        isinstance(node, Cardinality) and node.bound < 0
    ),
    "cardinality-bound-above-count": lambda node: (
        isinstance(node, Cardinality) and node.bound > len(node.operands) > 0
    ),
    "quoted-name": lambda node: (
        isinstance(node, BooleanAtom) and str(node).startswith("`")
    ),
    "keyword-name": lambda node: (
        isinstance(node, BooleanAtom) and node.feature.lower() in KEYWORDS
    ),
    "lone-surrogate-value": lambda node: (
        isinstance(node, Compare) and _has_surrogate(node.value)
    ),
    "subnormal-value": lambda node: (
        isinstance(node, Compare) and _is_subnormal(node.value)
    ),
}


def test_constraints_strategy_draws_every_shape() -> None:
    seen: set[str] = set()

    @settings(max_examples=500, database=None, deadline=None, derandomize=True)
    @given(constraints())
    def record_shapes(tree: Constraint) -> None:
        for node in walk(tree):
            seen.update(name for name, test in NODE_SHAPES.items() if test(node))

    record_shapes()

    assert sorted(set(NODE_SHAPES) - seen) == []


@settings(max_examples=200, deadline=None)
@given(constraints(feature_names=list(SCHEMA_VALUES), values=SCHEMA_VALUES))
def test_constraints_strategy_keeps_schema_vocabulary(node: Constraint) -> None:
    for current in walk(node):
        if isinstance(current, BooleanAtom):
            assert SCHEMA_VALUES[current.feature] == []
        if isinstance(current, Compare):
            assert current.value in SCHEMA_VALUES[current.feature]
        if isinstance(current, Membership):
            assert set(current.values) <= set(SCHEMA_VALUES[current.feature])


def test_parse_returns_node_unchanged() -> None:
    node = And((a, b))

    assert parse(node) is node


@pytest.mark.parametrize(
    ("function", "argument"),
    [(parse, b"a"), (parse, None), (parse_rules, ["a"]), (parse_rules, 3)],
    ids=["parse-bytes", "parse-none", "rules-list", "rules-int"],
)
def test_parse_rejects_non_string(function, argument: object) -> None:
    with pytest.raises(InvalidParameterError, match="constraint text must be a str"):
        function(argument)


# ---------------------------------------------------------------------------
# Grammar


def test_grammar_builds_in_strict_mode() -> None:
    # Strict mode rejects shift/reduce conflicts and, through interegular,
    # terminals whose patterns can match the same text.
    parser = build_parser(strict=True)

    assert isinstance(parser, Lark)
    assert parser.options.strict is True
    assert parser.parse("a and b", start="constraint") is not None


@pytest.mark.parametrize("keyword", sorted(KEYWORDS), ids=sorted(KEYWORDS))
def test_grammar_names_keyword_terminals(keyword: str) -> None:
    # The postlexer turns a keyword lexed as NAME into the terminal named like this.
    terminals = {terminal.name: terminal for terminal in build_parser().terminals}

    assert terminals[keyword.upper()].pattern.value == keyword


def test_build_parser_is_cached() -> None:
    assert build_parser() is build_parser()


# ---------------------------------------------------------------------------
# Precedence and associativity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not a and b", And((Not(a), b))),
        ("not a or b", Or((Not(a), b))),
        ("not not a", Not(Not(a))),
        ("not (a and b)", Not(And((a, b)))),
        ("a and b or c", Or((And((a, b)), c))),
        ("a or b and c", Or((a, And((b, c))))),
        ("a and b xor c", Xor((And((a, b)), c))),
        ("a xor b and c", Xor((a, And((b, c))))),
        ("a xor b or c", Or((Xor((a, b)), c))),
        ("a or b xor c", Or((a, Xor((b, c))))),
        ("a and b and c", And((a, b, c))),
        ("a or b or c or d", Or((a, b, c, d))),
        ("a xor b xor c", Xor((a, b, c))),
        ("(a and b) and c", And((And((a, b)), c))),
        ("a or (b or c)", Or((a, Or((b, c))))),
        ("a -> b or c", Implies(a, Or((b, c)))),
        ("a or b -> c", Implies(Or((a, b)), c)),
        ("a -> b -> c", Implies(a, Implies(b, c))),
        ("(a -> b) -> c", Implies(Implies(a, b), c)),
        ("not a -> b", Implies(Not(a), b)),
        ("a -> b <-> c", Iff(Implies(a, b), c)),
        ("a <-> b -> c", Iff(a, Implies(b, c))),
        ("a <-> b -> c -> d", Iff(a, Implies(b, Implies(c, d)))),
        ("a or b <-> c and d", Iff(Or((a, b)), And((c, d)))),
        ("(a <-> b) <-> c", Iff(Iff(a, b), c)),
        ("a <-> (b <-> c)", Iff(a, Iff(b, c))),
        ("if a then b", Implies(a, b)),
        ("if a and b then c or d", Implies(And((a, b)), Or((c, d)))),
        ("if a then b -> c", Implies(a, Implies(b, c))),
        ("if a -> b then c", Implies(Implies(a, b), c)),
        ("if a then if b then c", Implies(a, Implies(b, c))),
        ("if a <-> b then c", Implies(Iff(a, b), c)),
        ("if a then b <-> c", Iff(Implies(a, b), c)),
        (
            "not x = 1 and y in {2}",
            And((Not(Compare("x", "=", 1)), Membership("y", (2,)))),
        ),
        (
            "atleast(1: a -> b, c or d)",
            Cardinality("atleast", 1, (Implies(a, b), Or((c, d)))),
        ),
        ("not atleast(1: a) and b", And((Not(Cardinality("atleast", 1, (a,))), b))),
    ],
    ids=[
        "not-over-and",
        "not-over-or",
        "double-not",
        "not-group",
        "and-over-or",
        "or-under-and",
        "and-over-xor",
        "xor-under-and",
        "xor-over-or",
        "or-under-xor",
        "flat-and",
        "flat-or",
        "flat-xor",
        "grouped-and",
        "grouped-or",
        "or-over-arrow-right",
        "or-over-arrow-left",
        "arrow-right-associative",
        "arrow-grouped-left",
        "not-over-arrow",
        "arrow-over-iff-left",
        "arrow-over-iff-right",
        "arrow-chain-in-iff",
        "chains-in-iff",
        "iff-grouped-left",
        "iff-grouped-right",
        "if-then",
        "if-then-chains",
        "if-then-arrow",
        "if-arrow-then",
        "nested-if",
        "if-iff-then",
        "if-then-iff",
        "negated-atoms",
        "cardinality-operands",
        "not-cardinality",
    ],
)
def test_parse_follows_precedence(text: str, expected: Constraint) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("arrow", "keywords"),
    [
        ("a -> b", "if a then b"),
        ("a and b -> c", "if a and b then c"),
        ("a -> b -> c", "if a then b -> c"),
        ("a -> b -> c", "if a then if b then c"),
        ("(a -> b) -> c", "if a -> b then c"),
    ],
    ids=["simple", "chain-antecedent", "right-nested", "nested-if", "left-nested"],
)
def test_parse_arrow_equals_if_then(arrow: str, keywords: str) -> None:
    assert parse(arrow) == parse(keywords)


@pytest.mark.parametrize(
    ("text", "column"),
    [("a <-> b <-> c", 9), ("(a <-> b) <-> c <-> d", 17), ("a <-> b -> c <-> d", 14)],
    ids=["three", "grouped-then-two", "arrow-between"],
)
def test_parse_iff_does_not_chain(text: str, column: int) -> None:
    with pytest.raises(
        ConstraintSyntaxError, match="expected .*the end of the text"
    ) as info:
        parse(text)

    assert info.value.line == 1
    assert info.value.column == column


# ---------------------------------------------------------------------------
# Names and values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("order", BooleanAtom("order")),
        ("notes", BooleanAtom("notes")),
        ("android", BooleanAtom("android")),
        ("iffy", BooleanAtom("iffy")),
        ("thence", BooleanAtom("thence")),
        ("xorb", BooleanAtom("xorb")),
        ("inner", BooleanAtom("inner")),
        ("trueish", BooleanAtom("trueish")),
        ("falsehood", BooleanAtom("falsehood")),
        ("atleast2", BooleanAtom("atleast2")),
        ("not_", BooleanAtom("not_")),
        ("_and", BooleanAtom("_and")),
        ("notes and order", And((BooleanAtom("notes"), BooleanAtom("order")))),
        ("android or order", Or((BooleanAtom("android"), BooleanAtom("order")))),
        ("not notes", Not(BooleanAtom("notes"))),
        ("order = notes", Compare("order", "=", "notes")),
        ("inner in {android, iffy}", Membership("inner", ("android", "iffy"))),
        ("if iffy then thence", Implies(BooleanAtom("iffy"), BooleanAtom("thence"))),
    ],
    ids=[
        "order",
        "notes",
        "android",
        "iffy",
        "thence",
        "xorb",
        "inner",
        "trueish",
        "falsehood",
        "atleast2",
        "not-underscore",
        "underscore-and",
        "in-conjunction",
        "in-disjunction",
        "negated",
        "as-value",
        "in-set",
        "in-if-then",
    ],
)
def test_parse_keyword_prefixes_are_names(text: str, expected: Constraint) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("`age (years)` >= 30", Compare("age (years)", ">=", 30)),
        ("`and`", BooleanAtom("and")),
        ("`AND` or `True`", Or((BooleanAtom("AND"), BooleanAtom("True")))),
        ("`2nd-dose`", BooleanAtom("2nd-dose")),
        ("`a\\`b`", BooleanAtom("a`b")),
        ("`back\\\\slash`", BooleanAtom("back\\slash")),
        ("`new\\nline`", BooleanAtom("new\nline")),
        ("`\\u00e9t\\u00E9`", BooleanAtom("été")),
        ("`\\ud800`", BooleanAtom("\ud800")),
        ('`say "hi"`', BooleanAtom('say "hi"')),
        ("`it's`", BooleanAtom("it's")),
        ("`🍄`", BooleanAtom("🍄")),
        ("`red`", BooleanAtom("red")),
    ],
    ids=[
        "parentheses",
        "keyword",
        "keywords-other-case",
        "leading-digit",
        "escaped-backtick",
        "escaped-backslash",
        "escaped-newline",
        "unicode-escapes",
        "surrogate-escape",
        "double-quotes",
        "single-quote",
        "emoji",
        "needless-quotes",
    ],
)
def test_parse_quoted_names(text: str, expected: Constraint) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x = -3", -3.0),
        ("x = 2.5e-3", 0.0025),
        ("x = +4", 4.0),
        ("x = .5", 0.5),
        ("x = -.5", -0.5),
        ("x = 1.", 1.0),
        ("x = 1E3", 1000.0),
        ("x = 1e+5", 100000.0),
        ("x = 0", 0.0),
        ("x = -0", 0.0),
        ("x = 0.30000000000000004", 0.30000000000000004),
        ("x = 9007199254740993", 9007199254740992.0),
        ("x = 5e-324", 5e-324),
        ("x = 1e-400", 0.0),
        ('x = "dark blue"', "dark blue"),
        ("x = 'dark blue'", "dark blue"),
        ('x = "it\'s"', "it's"),
        ("x = 'say \"hi\"'", 'say "hi"'),
        ("x = 'it\\'s'", "it's"),
        ('x = "a\\nb\\tc\\rd"', "a\nb\tc\rd"),
        ('x = "\\\\"', "\\"),
        ('x = "\\`"', "`"),
        ('x = "\\u00e9"', "é"),
        ('x = "\\ud83d\\ude00"', "\ud83d\ude00"),
        ('x = ""', ""),
        ("x = ''", ""),
        ('x = "007"', "007"),
        ('x = "true"', "true"),
        ("x = red", "red"),
        ("x = _", "_"),
        ("x = order", "order"),
        ("x = Red_2", "Red_2"),
    ],
    ids=[
        "negative",
        "exponent",
        "plus-sign",
        "leading-dot",
        "negative-leading-dot",
        "trailing-dot",
        "upper-exponent",
        "plus-exponent",
        "zero",
        "negative-zero",
        "seventeen-digits",
        "above-2-53",
        "subnormal",
        "underflow",
        "double-quoted",
        "single-quoted",
        "apostrophe-in-double",
        "quotes-in-single",
        "escaped-single",
        "control-escapes",
        "escaped-backslash",
        "escaped-backtick",
        "unicode-escape",
        "surrogate-escapes",
        "empty-double",
        "empty-single",
        "quoted-digits",
        "quoted-keyword",
        "bare-word",
        "underscore",
        "keyword-prefix",
        "mixed-case-word",
    ],
)
def test_parse_value_kinds(text: str, expected: object) -> None:
    node = parse(text)

    assert node == Compare("x", "=", expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x in {}", ()),
        ("x in {b, a, a, 1}", (1.0, "a", "b")),
        ("x in {-1, 2.5, 'two', \"\"}", (-1.0, 2.5, "", "two")),
        ("x in {1, 1.0, +1}", (1.0,)),
        ("x in {\n  red,\n  blue\n}", ("blue", "red")),
    ],
    ids=["empty", "sorted-deduplicated", "mixed", "equal-numbers", "multiline"],
)
def test_parse_membership_values(text: str, expected: tuple) -> None:
    assert parse(text) == Membership("x", expected)


@pytest.mark.parametrize(
    "members",
    ["{1, a}", "{}", "{'dark blue'}"],
    ids=["mixed", "empty", "quoted"],
)
def test_parse_not_in_is_negated_membership(members: str) -> None:
    expected = parse(f"not x in {members}")

    assert parse(f"x not in {members}") == expected
    assert isinstance(expected, Not)
    assert isinstance(expected.operand, Membership)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", TRUE),
        ("false", FALSE),
        ("not true", Not(TRUE)),
        ("true and false", And((TRUE, FALSE))),
        ("atleast(0:)", Cardinality("atleast", 0)),
        ("atmost(-2: a)", Cardinality("atmost", -2, (a,))),
        ("exactly(+1: a, b)", Cardinality("exactly", 1, (a, b))),
        ("atleast(5: a, a)", Cardinality("atleast", 5, (a, a))),
        ("atleast(-0: a)", Cardinality("atleast", 0, (a,))),
        ("atleast(1:a,b)", Cardinality("atleast", 1, (a, b))),
        (
            "atleast(9007199254740993: a)",
            Cardinality("atleast", 9007199254740993, (a,)),
        ),
        (
            "atmost(-123456789012345678901234567890: a)",
            Cardinality("atmost", -123456789012345678901234567890, (a,)),
        ),
    ],
    ids=[
        "true",
        "false",
        "not-true",
        "constants-in-and",
        "empty-cardinality",
        "negative-bound",
        "plus-bound",
        "repeated-operand",
        "negative-zero-bound",
        "no-spaces",
        "bound-above-2-53",
        "bound-above-2-64",
    ],
)
def test_parse_constants_and_cardinality(text: str, expected: Constraint) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a and\nb", And((a, b))),
        ("a ->\n  b", Implies(a, b)),
        ("a <->\nb", Iff(a, b)),
        ("not\na", Not(a)),
        ("if\na and b then\nc", Implies(And((a, b)), c)),
        ("x =\n1", Compare("x", "=", 1)),
        ("x in\n{1}", Membership("x", (1,))),
        ("x not\nin {1}", Not(Membership("x", (1,)))),
        ("(a\nand b\n)", And((a, b))),
        ("atleast(1:\n a,\n b\n)", Cardinality("atleast", 1, (a, b))),
        ("a and # first operand\n b", And((a, b))),
        ("\n\na and b", And((a, b))),
        ("# leading comment\na", a),
        ("a # trailing comment", a),
        ("a and\r\nb", And((a, b))),
        ("\ta\tand\fb", And((a, b))),
    ],
    ids=[
        "after-and",
        "after-arrow",
        "after-iff",
        "after-not",
        "after-if",
        "after-operator",
        "after-in",
        "between-not-in",
        "inside-parentheses",
        "inside-cardinality",
        "after-comment",
        "blank-lines",
        "leading-comment",
        "trailing-comment",
        "crlf",
        "tabs-and-form-feeds",
    ],
)
def test_parse_line_continuation(text: str, expected: Constraint) -> None:
    assert parse(text) == expected


# ---------------------------------------------------------------------------
# Rule sets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("\n\n", []),
        ("# only a comment\n# and another", []),
        (";;", []),
        (" ; \n ; ", []),
        ("a", [Statement(a)]),
        ("a; b", [Statement(a), Statement(b)]),
        ("a\nb\n", [Statement(a), Statement(b)]),
        ("a;\nb", [Statement(a), Statement(b)]),
        ("a ;; b", [Statement(a), Statement(b)]),
        ("a\r\nb\r\n", [Statement(a), Statement(b)]),
        ("a # first\n\n# skipped\nb", [Statement(a), Statement(b)]),
        ("r1: a", [Statement(a, name="r1")]),
        ("`rule 1`: a", [Statement(a, name="rule 1")]),
        ("order: notes", [Statement(BooleanAtom("notes"), name="order")]),
        ("r1:\n  a", [Statement(a, name="r1")]),
        (
            "a [support=120, confidence=0.98]",
            [Statement(a, annotations=(("support", 120), ("confidence", 0.98)))],
        ),
        ("a []", [Statement(a)]),
        (
            "a [tag=red, note='x y', flag=\"true\", delta=-1]",
            [
                Statement(
                    a,
                    annotations=(
                        ("tag", "red"),
                        ("note", "x y"),
                        ("flag", "true"),
                        ("delta", -1),
                    ),
                )
            ],
        ),
        ("a [k=1,\n j=2]", [Statement(a, annotations=(("k", 1), ("j", 2)))]),
        ("a [\n  k=1\n]", [Statement(a, annotations=(("k", 1),))]),
        ("a and\n b; c", [Statement(And((a, b))), Statement(c)]),
        ("(a\n and b)\nc", [Statement(And((a, b))), Statement(c)]),
        (
            "r1: if a then b [support=3]\nr2: a -> b",
            [
                Statement(Implies(a, b), name="r1", annotations=(("support", 3),)),
                Statement(Implies(a, b), name="r2"),
            ],
        ),
        (
            "r1: a; r2: b [k=1]; c",
            [
                Statement(a, name="r1"),
                Statement(b, name="r2", annotations=(("k", 1),)),
                Statement(c),
            ],
        ),
    ],
    ids=[
        "empty",
        "blank-lines",
        "comments-only",
        "semicolons-only",
        "separators-only",
        "one",
        "semicolon",
        "newlines",
        "semicolon-newline",
        "double-semicolon",
        "crlf",
        "comments-between",
        "named",
        "quoted-name",
        "keyword-prefix-name",
        "name-then-newline",
        "annotations",
        "empty-annotations",
        "annotation-value-kinds",
        "annotations-continued",
        "annotation-brackets-split",
        "continued-after-operator",
        "continued-in-parentheses",
        "named-rules",
        "mixed-on-one-line",
    ],
)
def test_parse_rules_separators(text: str, expected: list[Statement]) -> None:
    assert parse_rules(text) == expected


def test_parse_rules_keeps_annotation_order() -> None:
    (statement,) = parse_rules("a [zeta=1, alpha=2, mid=3]")

    assert [key for key, _ in statement.annotations] == ["zeta", "alpha", "mid"]


def test_parse_rules_exposes_statement_fields() -> None:
    (statement,) = parse_rules("r1: odor = none -> y = e [support=120]")

    assert statement.name == "r1"
    assert statement.constraint == Implies(
        Compare("odor", "=", "none"), Compare("y", "=", "e")
    )
    assert statement.annotation("support") == 120.0


# ---------------------------------------------------------------------------
# Syntax errors


def assert_error_position(
    error: ConstraintSyntaxError, text: str, line: int, column: int
) -> None:
    """Check the 1-based position and that the caret in `context` sits under it."""
    source_line = text.split("\n")[line - 1]
    shown_line, caret_line = error.context.split("\n")

    assert error.line == line
    assert error.column == column
    assert shown_line == "    " + source_line
    assert caret_line == "    " + " " * (column - 1) + "^"
    assert str(error).splitlines()[0].endswith(f"at line {line}, column {column}")


PARSE_ERRORS = [
    # missing operands
    ("a and", 1, 6, r"expected a formula after 'and', but the text ends"),
    ("a or", 1, 5, r"expected a formula after 'or'"),
    ("not", 1, 4, r"expected a formula after 'not'"),
    ("a ->", 1, 5, r"expected a formula after '->'"),
    ("a <->", 1, 6, r"expected a formula after '<->'"),
    ("if a then", 1, 10, r"expected a formula after 'then'"),
    ("a and or b", 1, 7, r"expected a formula after 'and', but found 'or'"),
    ("a and and b", 1, 7, r"expected a formula after 'and', but found 'and'"),
    ("x =", 1, 4, r"expected a value after '=', but the text ends"),
    ("x >= and y", 1, 6, r"expected a value after '>=', but found the keyword 'and'"),
    ("x in", 1, 5, r"expected '\{' after 'in'"),
    ("x in {,}", 1, 7, r"expected a value after '\{', but found ','"),
    ("atleast(1: a,)", 1, 14, r"expected a formula after ',', but found '\)'"),
    ("", 1, 1, r"expected a formula, but the text ends"),
    # unbalanced brackets
    ("(a and b", 1, 9, r"expected '\)' to close the '\(' from line 1, column 1"),
    ("((a)", 1, 5, r"expected '\)' to close the '\(' from line 1, column 1"),
    ("a and b)", 1, 8, r"unexpected '\)': it has no matching '\('"),
    ("x in {1, 2", 1, 11, r"expected '\}' to close the '\{' from line 1, column 6"),
    ("x in {1}}", 1, 9, r"unexpected '\}': it has no matching '\{'"),
    ("atleast(1: a", 1, 13, r"expected '\)' to close the '\(' from line 1, column 8"),
    # operators from other languages
    ("x == 1", 1, 4, r"write '=' for equality, not '=='"),
    ("a && b", 1, 3, r"write 'and' instead of '&'"),
    ("a || b", 1, 3, r"write 'or' instead of '\|'"),
    ("!a", 1, 1, r"write 'not' instead of '!'"),
    ("a ^ b", 1, 3, r"write 'xor' instead of '\^'"),
    # keywords in other case
    ("a AND b", 1, 3, r"unexpected 'AND': keywords are lower case, write 'and'"),
    ("a Or b", 1, 3, r"unexpected 'Or': keywords are lower case, write 'or'"),
    ("NOT a", 1, 1, r"unexpected 'NOT': keywords are lower case, write 'not'"),
    ("True", 1, 1, r"'True' is spelled like the keyword 'true'.*quote it as `True`"),
    ("x = False", 1, 5, r"'False' is spelled like the keyword 'false'.*\"False\""),
    ("x in {a, THEN}", 1, 10, r"'THEN' is spelled like the keyword 'then'"),
    # lower-case keywords where a name or value is expected
    ("x = true", 1, 5, r"expected a value after '=', but found the keyword 'true'"),
    ("x = and", 1, 5, r"expected a value after '=', but found the keyword 'and'"),
    ("x in {red, or}", 1, 12, r"found the keyword 'or'.*quote it as \"or\""),
    ("x != if", 1, 6, r"found the keyword 'if'"),
    # unterminated quotes
    ('x = "abc', 1, 5, r"unterminated string: the quote \" is never closed"),
    ("x = 'abc", 1, 5, r"unterminated string: the quote ' is never closed"),
    ('x = "abc\ny = 1', 1, 5, r"unterminated string"),
    ("`abc = 1", 1, 1, r"unterminated quoted name: the backtick is never closed"),
    ("a and `b", 1, 7, r"unterminated quoted name"),
    # escapes
    ('x = "\\q"', 1, 5, r"unknown escape '\\q'"),
    ('x = "\\u12"', 1, 5, r"unknown escape '\\u'"),
    ("`a\\zb`", 1, 1, r"unknown escape '\\z'"),
    # words that need quotes
    ("foo-bar = 1", 1, 4, r"unexpected '-' in 'foo-bar': quote it: \"foo-bar\""),
    ("x = dark-blue", 1, 9, r"unexpected '-' in 'dark-blue'"),
    ("2nd-dose", 1, 1, r"feature name cannot start with a digit.*`2nd-dose`"),
    ("1orfoo", 1, 1, r"feature name cannot start with a digit.*`1orfoo`"),
    ("1 = x", 1, 1, r"feature name cannot start with a digit"),
    ("x = 1a", 1, 6, r"unexpected 'a' in '1a': quote it: \"1a\""),
    ("x = 1or b", 1, 6, r"unexpected 'or' in '1or': quote it: \"1or\""),
    ("x = 2and y", 1, 6, r"unexpected 'and' in '2and'"),
    ("if x = 1then b", 1, 9, r"unexpected 'then' in '1then'"),
    ("x = 1.5.5", 1, 8, r"unexpected '.5' in '1.5.5'"),
    ("x = 0x10", 1, 6, r"unexpected 'x10' in '0x10'"),
    ("x = 1_000", 1, 6, r"unexpected '_000' in '1_000'"),
    # leading zeros
    ("x = 007", 1, 6, r"unexpected '0' in '007': quote it: \"007\""),
    ("x = 00", 1, 6, r"in '00'"),
    ("x = -01", 1, 7, r"in '-01'"),
    ("x = 01.5", 1, 6, r"in '01.5'"),
    ("atleast(01: a)", 1, 10, r"unexpected '1' in '01': quote it"),
    # numbers
    ("x = 1e999", 1, 5, r"number '1e999' is too large for a float"),
    ("x = -", 1, 5, r"unexpected character '-'"),
    # cardinality bounds
    ("atleast(1.5: a)", 1, 9, r"the bound of atleast must be an integer, got '1.5'"),
    ("atmost(2.0: a)", 1, 8, r"the bound of atmost must be an integer, got '2.0'"),
    ("exactly(1e2: a)", 1, 9, r"the bound of exactly must be an integer, got '1e2'"),
    ("atleast(x: a)", 1, 9, r"expected a number after '\(', but found 'x'"),
    ("atleast(: a)", 1, 9, r"expected a number after '\('"),
    # text for parse_rules given to parse
    ("a\nb", 1, 2, r"unexpected line break: parse\(\) reads one constraint"),
    ("if a\nthen b", 1, 5, r"unexpected line break"),
    ("a; b", 1, 2, r"parse\(\) reads one constraint without a name or annotations"),
    ("r1: a", 1, 3, r"parse\(\) reads one constraint without a name"),
    ("a [k=1]", 1, 3, r"use parse_rules\(\) for rule-set text"),
    # other misplaced tokens
    ("a b", 1, 3, r"expected a comparison operator, 'in', 'and', .* but found 'b'"),
    ("x = 1 2", 1, 7, r"expected 'and', 'xor', 'or', '->', '<->' or the end"),
    ("x = `a`", 1, 5, r"expected a value after '=', but found '`a`'"),
    ("x < = 3", 1, 5, r"expected a value after '<', but found '='"),
    ("x in {1 2}", 1, 9, r"expected '\}' or ',' after '1'"),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    PARSE_ERRORS,
    ids=[text for text, *_ in PARSE_ERRORS],
)
def test_parse_syntax_error_position(
    text: str, line: int, column: int, message: str
) -> None:
    with pytest.raises(ConstraintSyntaxError, match=message) as info:
        parse(text)

    assert_error_position(info.value, text, line, column)


RULE_SET_ERRORS = [
    ("a [k=1, k=2]", 1, 9, r"annotation 'k' appears twice; give each key once"),
    ("a [support=1,\n support=2]", 2, 2, r"annotation 'support' appears twice"),
    ("a [and=1]", 1, 4, r"expected a name or '\]' after '\[', but found 'and'"),
    ("a [AND=1]", 1, 4, r"'AND' is spelled like the keyword 'and'"),
    ("a [1=2]", 1, 4, r"expected a name or '\]' after '\[', but found '1'"),
    ("a [k=and]", 1, 6, r"expected a value after '=', but found the keyword 'and'"),
    ("a [k=1] [j=2]", 1, 9, r"expected ';' or the end of the text after '\]'"),
    ("a [k=1]\n[j=2]", 2, 1, r"expected a formula after a line break, but found '\['"),
    ("a]", 1, 2, r"unexpected '\]': it has no matching '\['"),
    ("a [k=1", 1, 7, r"expected '\]' to close the '\[' from line 1, column 3"),
    ("and: a", 1, 1, r"expected a formula, but found 'and'"),
    ("AND: a", 1, 1, r"'AND' is spelled like the keyword 'and'"),
    ("a: b: c", 1, 5, r"but found ':'"),
    ("r1 r2: a", 1, 4, r"after 'r1', but found 'r2'"),
    ("a b\n", 1, 3, r"after 'a', but found 'b'"),
    # errors on the third line
    ("a\nb\nc and", 3, 6, r"expected a formula after 'and', but the text ends"),
    ("r1: a\nr2: b\nr3: x == 1", 3, 8, r"write '=' for equality, not '=='"),
    (
        "a\n# comment\n(b",
        3,
        3,
        r"expected '\)' to close the '\(' from line 3, column 1",
    ),
    ("a\nb\nx = 'abc", 3, 5, r"unterminated string"),
    ("a\n\n  b AND c", 3, 5, r"unexpected 'AND': keywords are lower case"),
    ("a;\nb;\nc d", 3, 3, r"after 'c', but found 'd'"),
    ("a\nb\natleast(0.5: c)", 3, 9, r"the bound of atleast must be an integer"),
    ("a\nb\nx = foo-bar", 3, 8, r"unexpected '-' in 'foo-bar'"),
    ("(a\n and\n b", 3, 3, r"expected '\)' to close the '\(' from line 1, column 1"),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    RULE_SET_ERRORS,
    ids=[text for text, *_ in RULE_SET_ERRORS],
)
def test_parse_rules_syntax_error_position(
    text: str, line: int, column: int, message: str
) -> None:
    with pytest.raises(ConstraintSyntaxError, match=message) as info:
        parse_rules(text)

    assert_error_position(info.value, text, line, column)


def test_parse_rejects_bound_with_too_many_digits() -> None:
    # Python's int() refuses strings beyond sys.get_int_max_str_digits() digits.
    limit = sys.get_int_max_str_digits()
    if limit == 0:
        pytest.skip("this interpreter sets no digit limit for int()")
    text = "atleast(" + "9" * (limit + 1) + ": a)"

    with pytest.raises(ConstraintSyntaxError, match="has too many digits") as info:
        parse(text)

    assert info.value.column == 9


def test_syntax_error_is_value_error() -> None:
    with pytest.raises(ValueError, match="expected a formula after 'and'"):
        parse("a and")


def test_syntax_error_lists_expected_tokens() -> None:
    with pytest.raises(ConstraintSyntaxError, match="expected a value") as info:
        parse("x =")

    assert info.value.expected == ("a name", "a number", "a string")


def test_syntax_error_expects_closing_bracket() -> None:
    with pytest.raises(ConstraintSyntaxError, match="to close") as info:
        parse("(a")

    assert info.value.expected == ("')'",)


def test_syntax_error_caret_follows_tabs() -> None:
    with pytest.raises(ConstraintSyntaxError, match="expected a formula") as info:
        parse("\ta and")

    assert info.value.column == 7
    assert info.value.context.split("\n")[1] == "    " + " " * 13 + "^"


def test_syntax_error_hides_lark_exception() -> None:
    with pytest.raises(ConstraintSyntaxError, match="expected a formula") as info:
        parse("a and")

    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ is True


# ---------------------------------------------------------------------------
# Determinism across processes


DETERMINISM_SCRIPT = """
import json
import sys

from loom import ConstraintSyntaxError, parse, parse_rules

for text in json.loads(sys.argv[1]):
    try:
        parse_rules(text)
    except ConstraintSyntaxError as error:
        print(json.dumps([str(error), error.line, error.column, error.expected]))
    try:
        parse(text)
    except ConstraintSyntaxError as error:
        print(json.dumps([str(error), error.line, error.column, error.expected]))
"""

DETERMINISM_TEXTS = [
    "a and",
    "a b",
    "if a b",
    "x in {1, 2",
    "a AND b",
    "a: b: c",
    "x = 1 2",
    "a <-> b <-> c",
    "atleast(x: a)",
    "x == 1",
    "1orfoo",
    "a\nb\nc d",
    "x = true",
    "a [k=1] [j=2]",
]


def run_with_hash_seed(seed: str) -> str:
    environment = dict(os.environ, PYTHONHASHSEED=seed)
    result = subprocess.run(
        [sys.executable, "-c", DETERMINISM_SCRIPT, json.dumps(DETERMINISM_TEXTS)],
        env=environment,
        capture_output=True,
        check=True,
        timeout=120,
    )
    return result.stdout.decode("utf-8")


def test_syntax_errors_independent_of_hash_seed() -> None:
    reference = run_with_hash_seed("0")
    outputs = {
        seed: run_with_hash_seed(seed) for seed in ("1", "2", "12345", "4294967295")
    }

    assert len(reference.splitlines()) == 2 * len(DETERMINISM_TEXTS)
    for seed, output in outputs.items():
        assert output == reference, f"PYTHONHASHSEED={seed} changed an error message"
