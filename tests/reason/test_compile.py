"""Tests of the dual-rail CNF encoding: its rails must equal `loom.evaluate` on every
case, for every connective, cardinality bound, numeric comparison and missing value.
"""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pysat.solvers import Solver

from loom import FeatureSpec, KnowledgeBase, Schema, Status, parse
from loom.constraints.ast import Constraint
from loom.exceptions import ConstraintError, InvalidParameterError, UnknownFeatureError
from loom.reason import Compiler, Interval
from tests.reason.oracle import CaseTable
from tests.reason.strategies import draw_formula, schemas

BOOLEAN = ("false", "true")


def rails_on_cases(schema: Schema, node: Constraint) -> tuple[list[bool], list[bool]]:
    """Encode `node`, then read its rails on every case by unit propagation."""
    cases = CaseTable(schema)
    compiler = Compiler(schema)
    true, false = compiler.rails(node)
    trues, falses = [], []
    with Solver(name="minisat22", bootstrap_with=compiler.clauses) as solver:
        for row in range(cases.n_rows):
            case = {
                spec.name: cases.states[position][cases.index[position][row]]
                for position, spec in enumerate(schema.features)
            }
            assert solver.solve(assumptions=compiler.assume(case))
            model = set(solver.get_model())
            trues.append(true in model)
            falses.append(false in model)
    return trues, falses


def assert_rails_match_evaluate(schema: Schema, node: Constraint) -> None:
    trues, falses = rails_on_cases(schema, node)
    expected_true, expected_false = CaseTable(schema).truth(node)
    assert trues == expected_true.tolist(), str(node)
    assert falses == expected_false.tolist(), str(node)


@st.composite
def small_formulas(draw: st.DrawFn) -> tuple[Schema, Constraint]:
    schema = draw(schemas(max_cases=200))
    return schema, draw_formula(draw, schema, depth=3)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(problem=small_formulas())
def test_rails_match_evaluate_on_every_case(problem: tuple[Schema, Constraint]) -> None:
    schema, node = problem
    assert_rails_match_evaluate(schema, node)


# ---------------------------------------------------------------------------
# Cardinality


CARDINALITY_SCHEMA = Schema(
    (
        FeatureSpec("a", "boolean", values=BOOLEAN, allows_missing=True),
        FeatureSpec("b", "boolean", values=BOOLEAN),
        FeatureSpec("c", "categorical", values=("u", "v", "w"), allows_missing=True),
    )
)


@pytest.mark.parametrize("kind", ["atleast", "atmost", "exactly"])
@pytest.mark.parametrize("bound", [-2, -1, 0, 1, 2, 3, 4, 5, 6])
def test_cardinality_bounds_match_evaluate(kind: str, bound: int) -> None:
    # Five operands with `a` twice: bounds run past both ends.
    node = parse(f"{kind}({bound}: a, a, not b, c = u, c != w)")
    assert_rails_match_evaluate(CARDINALITY_SCHEMA, node)


@pytest.mark.parametrize(
    "text",
    ["atleast(0:)", "atmost(0:)", "exactly(0:)", "atleast(1:)", "atmost(-1:)"],
)
def test_cardinality_without_operands_matches_evaluate(text: str) -> None:
    assert_rails_match_evaluate(CARDINALITY_SCHEMA, parse(text))


@pytest.mark.parametrize(
    ("facts", "goal", "expected"),
    [
        ("a", "atleast(2: a, a)", Status.TRUE),
        ("not a", "atleast(2: a, a)", Status.FALSE),
        ("a", "exactly(1: a, a)", Status.FALSE),
        ("not a", "exactly(1: a, a)", Status.FALSE),
        ("a and b", "exactly(3: a, b, a)", Status.TRUE),
        ("a", "atmost(1: a, a, b)", Status.FALSE),
        (None, "atleast(3: a, a, b) <-> (a and b)", Status.UNKNOWN),
    ],
    ids=[
        "twice-true",
        "twice-false",
        "exactly-one-of-twice",
        "exactly-one-none",
        "three-of-repeated",
        "atmost-repeated",
        "missing-leaves-unknown",
    ],
)
def test_duplicate_operands_count_each_time(
    facts: str | None, goal: str, expected: Status
) -> None:
    with KnowledgeBase([], CARDINALITY_SCHEMA) as kb:
        assert kb.entails(facts, goal).status is expected


def test_auxiliary_variables_stay_in_pool() -> None:
    compiler = Compiler(CARDINALITY_SCHEMA)
    for kind, bound in itertools.product(("atleast", "atmost", "exactly"), range(4)):
        compiler.rails(parse(f"{kind}({bound}: a, b, c = u, c = v, not a)"))
    used = {abs(literal) for clause in compiler.clauses for literal in clause}
    named = set(compiler.pool.obj2id.values())
    assert max(used) <= compiler.pool.top
    assert len(named) == len(compiler.pool.obj2id)
    assert compiler.pool.id(("missing", "a")) in used
    # An auxiliary variable of a totalizer is one the pool gave no name.
    auxiliary = used - named
    assert auxiliary
    assert not auxiliary & named


# ---------------------------------------------------------------------------
# Numeric features

NUMERIC_SCHEMA = Schema(
    (
        FeatureSpec("x", "numeric", thresholds=(3.0, 5.0), allows_missing=True),
        FeatureSpec("n", "numeric", thresholds=(0.5,)),
    )
)
NUMERIC_VALUES = [-1.0, 1.0, 2.0, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0, None]


COMPARISONS = {
    "x <= 3": lambda x: x <= 3,
    "x < 3": lambda x: x < 3,
    "x > 3": lambda x: x > 3,
    "x >= 3": lambda x: x >= 3,
    "x <= 4.5": lambda x: x <= 4.5,
    "x > 4.5": lambda x: x > 4.5,
    "x = 4": lambda x: x == 4,
    "x != 4": lambda x: x != 4,
    "x in {1, 5}": lambda x: x in (1, 5),
}


@pytest.mark.parametrize("text", list(COMPARISONS))
def test_numeric_comparison_matches_numbers(text: str) -> None:
    compiler = Compiler(NUMERIC_SCHEMA)
    true, false = compiler.rails(parse(text))
    with Solver(name="minisat22", bootstrap_with=compiler.clauses) as solver:
        for number in NUMERIC_VALUES:
            assert solver.solve(assumptions=compiler.assume({"x": number}))
            model = set(solver.get_model())
            expected = None if number is None else COMPARISONS[text](number)
            assert (true in model) == (expected is True), (text, number)
            assert (false in model) == (expected is False), (text, number)


def test_numeric_cuts_imply_in_order() -> None:
    with KnowledgeBase([], NUMERIC_SCHEMA) as kb:
        assert kb.entails("x <= 3", "x <= 5").status is Status.TRUE
        assert kb.entails("x < 3", "x <= 3").status is Status.TRUE
        assert kb.entails("x <= 5", "x <= 3").status is Status.UNKNOWN
        assert kb.entails("x = 4", "x > 3 and x <= 5").status is Status.TRUE
        assert kb.entails("x > 5", "x <= 4").status is Status.FALSE
        assert kb.check("x > 5 and x < 4").consistent is False
        assert kb.check("x >= 4 and x <= 4").consistent is True


def test_numeric_missing_leaves_unknown() -> None:
    with KnowledgeBase([], NUMERIC_SCHEMA) as kb:
        # x may be missing, so neither side of its threshold follows; n may not.
        assert kb.entails(None, "x <= 3 or x > 3").status is Status.UNKNOWN
        assert kb.entails(None, "n <= 0.5 or n > 0.5").status is Status.TRUE


def test_numeric_value_between_thresholds_adds_cut() -> None:
    compiler = Compiler(NUMERIC_SCHEMA)
    before = len(compiler.clauses)
    compiler.rails(parse("x <= 4"))
    # Order clauses link the new cut to its neighbours 3 and 5.
    assert len(compiler.clauses) > before
    with Solver(name="minisat22", bootstrap_with=compiler.clauses) as solver:
        at_most_3 = compiler.rails(parse("x <= 3"))[0]
        at_most_4 = compiler.rails(parse("x <= 4"))[0]
        at_most_5 = compiler.rails(parse("x <= 5"))[0]
        assert not solver.solve(assumptions=[at_most_3, -at_most_4])
        assert not solver.solve(assumptions=[at_most_4, -at_most_5])
        assert solver.solve(assumptions=[at_most_5, -at_most_4])


def test_numeric_case_decodes_to_interval() -> None:
    with KnowledgeBase(["x > 3 -> n <= 0.5"], NUMERIC_SCHEMA) as kb:
        answer = kb.complete("x > 4.5 and x <= 5")
    assert answer.case["x"] == Interval(4.5, 5.0, low_closed=False, high_closed=True)
    assert answer.case["n"] == Interval(
        -math.inf, 0.5, low_closed=False, high_closed=True
    )
    assert str(answer.case["x"]) == "(4.5, 5]"


@pytest.mark.parametrize(
    ("interval", "inside", "outside"),
    [
        (
            Interval(3.0, 5.0, low_closed=False, high_closed=True),
            [3.5, 5.0],
            [3.0, 6.0],
        ),
        (
            Interval(3.0, 5.0, low_closed=True, high_closed=False),
            [3.0, 4.9],
            [5.0, 2.0],
        ),
        (Interval(-math.inf, 0.5, high_closed=True), [-1e300, 0.5], [0.6]),
    ],
    ids=["open-closed", "closed-open", "unbounded"],
)
def test_interval_contains_its_numbers(
    interval: Interval, inside: list[float], outside: list[float]
) -> None:
    for number in inside:
        assert interval.contains(number), number
    for number in outside:
        assert not interval.contains(number), number


# ---------------------------------------------------------------------------
# Schema axioms and errors


def test_constant_boolean_keeps_its_value() -> None:
    schema = Schema(
        (FeatureSpec("a", "boolean", values=("true",), allows_missing=True),)
    )
    with KnowledgeBase([], schema) as kb:
        assert kb.check("not a").consistent is False
        assert kb.entails("a = 1 or a = 0", "a").status is Status.TRUE
        assert kb.entails(None, "a").status is Status.UNKNOWN


def test_feature_without_values_raises() -> None:
    schema = Schema((FeatureSpec("c", "categorical"),))
    with pytest.raises(
        InvalidParameterError, match="'c' has no values and does not allow"
    ):
        Compiler(schema)


ERROR_SCHEMA = Schema(
    (
        FeatureSpec("smoker", "boolean", values=BOOLEAN),
        FeatureSpec("color", "categorical", values=("blue", "dark blue", "red")),
        FeatureSpec("age", "numeric", thresholds=(30.0,)),
    )
)


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        (
            "height > 3",
            UnknownFeatureError,
            r"unknown feature 'height'; the features "
            r"are 'smoker', 'color', 'age'",
        ),
        (
            "color = purple",
            ConstraintError,
            r"'color' has no value purple; its values "
            r'are blue, "dark blue", red',
        ),
        ("color in {red, green}", ConstraintError, "has no value green"),
        ("color < 3", ConstraintError, "'<' needs a numeric feature"),
        ("color", ConstraintError, "'color' is categorical, not boolean"),
        ("smoker = 2", ConstraintError, "'smoker' is boolean"),
        (
            "age = old",
            ConstraintError,
            "compared with numbers, not with the text 'old'",
        ),
    ],
    ids=["feature", "value", "member", "order", "atom", "boolean", "numeric"],
)
def test_bad_atom_raises_before_encoding(
    text: str, error: type[Exception], match: str
) -> None:
    compiler = Compiler(ERROR_SCHEMA)
    before = list(compiler.clauses)
    with pytest.raises(error, match=match):
        compiler.rails(parse(f"smoker or ({text})"))
    assert compiler.clauses == before


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ({"color": "green"}, "'green' is not a value of the categorical feature"),
        ({"age": "old"}, "'old' is not a value of the numeric feature 'age'"),
        ({"smoker": None}, "'smoker' cannot be missing"),
    ],
    ids=["label", "number", "missing"],
)
def test_assume_rejects_impossible_values(case: dict[str, object], match: str) -> None:
    with pytest.raises(ConstraintError, match=match):
        Compiler(ERROR_SCHEMA).assume(case)
