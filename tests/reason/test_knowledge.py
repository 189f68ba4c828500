"""Every query of `KnowledgeBase` against brute-force enumeration of all cases.

The problems are random schemas of at most 10 boolean and categorical features, with
missing values where allowed, and random constraints with every connective and
cardinality. Each result must equal what `loom.evaluate` finds on a table of every
case, and each explanation must force its conclusion and lose it when any one step is
dropped.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from loom import FeatureSpec, KnowledgeBase, Schema, Status
from loom.constraints.ast import FALSE, Compare, Not
from loom.data.schema import label_value
from loom.exceptions import (
    ConstraintError,
    InvalidParameterError,
    KnowledgeBaseClosedError,
    UnknownFeatureError,
)
from loom.reason import SOLVERS, Interval
from tests.reason.oracle import CaseTable, feature_literals
from tests.reason.strategies import Problem, problems

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PER_SOLVER = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class ConstraintItems:
    """The ``constraint_items()`` protocol that crystal stores and rule sets follow."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    def constraint_items(self) -> list[tuple[str, object, int | None]]:
        return list(self.problem.items())


def build(problem: Problem, solver: str = "cadical153") -> KnowledgeBase:
    return KnowledgeBase(ConstraintItems(problem), problem.schema, solver=solver)


# ---------------------------------------------------------------------------
# One check per query, shared by the property tests and the per-solver test


def assert_check(problem: Problem, kb: KnowledgeBase, cases: CaseTable) -> None:
    answer = kb.check(problem.facts)
    rows = cases.holds([*problem.constraints.values(), *answer.facts])
    assert answer.consistent == bool(rows.any())
    assert not answer.budget_exhausted
    if answer.consistent:
        assert answer.explanation is None
        return
    assert answer.explanation.conclusion == FALSE
    cases.assert_explanation(answer.explanation, problem.constraints, answer.facts)


def assert_entails(problem: Problem, kb: KnowledgeBase, cases: CaseTable) -> None:
    answer = kb.entails(problem.facts, problem.goal)
    rows = cases.holds([*problem.constraints.values(), *answer.facts])
    goal_true, goal_false = cases.truth(problem.goal)
    assert answer.consistent == bool(rows.any())
    # With no consistent case at all, every goal follows.
    if not (rows & ~goal_true).any():
        expected = Status.TRUE
    elif not (rows & ~goal_false).any():
        expected = Status.FALSE
    else:
        expected = Status.UNKNOWN
    assert answer.status == expected
    if expected is Status.UNKNOWN:
        assert answer.explanation is None
        not_true, not_false = (cases.row_of(case) for case in answer.witnesses)
        assert rows[not_true]
        assert not goal_true[not_true]
        assert rows[not_false]
        assert not goal_false[not_false]
        return
    conclusion = {True: problem.goal, False: Not(problem.goal)}[expected is Status.TRUE]
    if not rows.any():
        conclusion = FALSE
    assert answer.explanation.conclusion == conclusion
    cases.assert_explanation(answer.explanation, problem.constraints, answer.facts)


def assert_consequences(problem: Problem, kb: KnowledgeBase, cases: CaseTable) -> None:
    answer = kb.consequences(problem.facts)
    rows = cases.holds([*problem.constraints.values(), *answer.facts])
    assert answer.consistent == bool(rows.any())
    if not rows.any():
        assert answer.consequences == ()
        cases.assert_explanation(answer.explanation, problem.constraints, answer.facts)
        return
    expected = []
    for spec in problem.schema.features:
        forced = [
            literal
            for literal in feature_literals(spec)
            if not (rows & ~cases.truth(literal)[0]).any()
        ]
        equal = [literal for literal in forced if getattr(literal, "op", "") == "="]
        expected.extend(equal or forced)
    assert answer.literals == tuple(expected)
    for item in answer.consequences:
        assert item.explanation.conclusion == item.literal
        cases.assert_explanation(item.explanation, problem.constraints, answer.facts)


def assert_classify(problem: Problem, kb: KnowledgeBase, cases: CaseTable) -> None:
    answer = kb.classify(problem.facts, problem.target)
    rows = cases.holds([*problem.constraints.values(), *answer.facts])
    spec = problem.schema.feature(problem.target)
    literals = {
        label: Compare(spec.name, "=", label_value(label)) for label in spec.values
    }
    possible = tuple(
        label for label, node in literals.items() if (rows & cases.truth(node)[0]).any()
    )
    forced = [
        label
        for label, node in literals.items()
        if rows.any() and not (rows & ~cases.truth(node)[0]).any()
    ]
    assert answer.consistent == bool(rows.any())
    assert answer.possible == possible
    assert answer.forced == (forced[0] if forced else None)
    assert answer.undecided == ()
    if answer.forced is not None:
        assert answer.explanation.conclusion == literals[answer.forced]
    if answer.explanation is not None:
        cases.assert_explanation(answer.explanation, problem.constraints, answer.facts)


def assert_complete(problem: Problem, kb: KnowledgeBase, cases: CaseTable) -> None:
    answer = kb.complete(problem.facts, soft=problem.soft)
    facts = answer.facts
    hard = [
        node
        for label, node in problem.constraints.items()
        if label not in problem.weights
    ]
    soft = [
        (label, problem.constraints[label], w) for label, w in problem.weights.items()
    ]
    soft += [(str(node), node, w) for node, w in problem.soft.items()]
    allowed = cases.holds([*hard, *facts])
    assert answer.consistent == bool(allowed.any())
    if not allowed.any():
        assert answer.case is None
        cases.assert_explanation(answer.explanation, problem.constraints, facts)
        return
    scores = np.zeros(cases.n_rows)
    for _, node, weight in soft:
        scores += weight * cases.truth(node)[0]
    best = scores[allowed].max()
    row = cases.row_of(answer.case)
    assert allowed[row]
    assert answer.weight == best
    assert scores[row] == best
    assert None not in answer.case.values()
    satisfied = {label for label, node, _ in soft if cases.truth(node)[0][row]}
    assert set(answer.satisfied) == satisfied
    assert set(answer.violated) == {label for label, _, _ in soft} - satisfied


# ---------------------------------------------------------------------------
# Property tests


@PROPERTY
@given(problem=problems())
def test_check_matches_enumeration(problem: Problem) -> None:
    with build(problem) as kb:
        assert_check(problem, kb, CaseTable(problem.schema))


@PROPERTY
@given(problem=problems())
def test_entails_matches_enumeration(problem: Problem) -> None:
    with build(problem) as kb:
        assert_entails(problem, kb, CaseTable(problem.schema))


@PROPERTY
@given(problem=problems())
def test_consequences_match_enumeration(problem: Problem) -> None:
    with build(problem) as kb:
        assert_consequences(problem, kb, CaseTable(problem.schema))


@PROPERTY
@given(problem=problems())
def test_classify_matches_enumeration(problem: Problem) -> None:
    with build(problem) as kb:
        assert_classify(problem, kb, CaseTable(problem.schema))


@PROPERTY
@given(problem=problems())
def test_complete_matches_enumeration(problem: Problem) -> None:
    with build(problem) as kb:
        assert_complete(problem, kb, CaseTable(problem.schema))


@pytest.mark.parametrize("solver", SOLVERS)
@PER_SOLVER
@given(problem=problems())
def test_every_solver_matches_enumeration(solver: str, problem: Problem) -> None:
    cases = CaseTable(problem.schema)
    with build(problem, solver) as kb:
        for assert_query in (
            assert_check,
            assert_entails,
            assert_consequences,
            assert_classify,
            assert_complete,
        ):
            assert_query(problem, kb, cases)


# ---------------------------------------------------------------------------
# Building, closing and bad input

SCHEMA = Schema(
    (
        FeatureSpec("a", "boolean", values=("false", "true")),
        FeatureSpec("b", "boolean", values=("false", "true"), allows_missing=True),
        FeatureSpec(
            "color", "categorical", values=("blue", "red"), allows_missing=True
        ),
        FeatureSpec("age", "numeric", thresholds=(30.0,)),
    ),
    target="color",
)


def test_close_is_idempotent() -> None:
    kb = KnowledgeBase(["a -> b"], SCHEMA)
    kb.close()
    kb.close()
    assert kb.closed
    assert "closed" in repr(kb)
    with pytest.raises(KnowledgeBaseClosedError, match="KnowledgeBase is closed"):
        kb.check("a")


def test_context_manager_closes() -> None:
    with KnowledgeBase(["a -> b"], SCHEMA) as kb:
        assert not kb.closed
        assert kb.check("a").consistent
    assert kb.closed


def test_repr_names_sizes_and_solver() -> None:
    with KnowledgeBase(["a -> b", "b"], SCHEMA, solver="minisat22") as kb:
        assert repr(kb) == (
            "KnowledgeBase(n_constraints=2, n_features=4, solver='minisat22')"
        )


@pytest.mark.parametrize(
    ("arguments", "error", "match"),
    [
        (
            {"solver": "glucose4"},
            InvalidParameterError,
            "solver must be one of cadical103, cadical153",
        ),
        (
            {"budget": 100},
            InvalidParameterError,
            "budget must be a loom.Budget or None",
        ),
        (
            {"constraints": {"r1": "height > 3"}},
            UnknownFeatureError,
            "constraint 'r1': unknown feature 'height'",
        ),
        (
            {"constraints": {"r1": "color = green"}},
            ConstraintError,
            "constraint 'r1': .*has no value green; its values are blue, red",
        ),
    ],
    ids=["solver", "budget", "feature", "value"],
)
def test_build_rejects_bad_input(
    arguments: dict[str, object], error: type[Exception], match: str
) -> None:
    arguments = {"constraints": ["a"], **arguments}
    with pytest.raises(error, match=match):
        KnowledgeBase(arguments.pop("constraints"), SCHEMA, **arguments)


def test_queries_reject_unknown_features_and_values() -> None:
    with KnowledgeBase(["a -> b"], SCHEMA) as kb:
        with pytest.raises(ConstraintError, match="fact 'color = green': .*its values"):
            kb.check("a and color = green")
        with pytest.raises(UnknownFeatureError, match="goal: unknown feature 'size'"):
            kb.entails("a", "size = 3")
        with pytest.raises(ConstraintError, match="'<=' needs a numeric feature"):
            kb.entails("a", "color <= 3")
        with pytest.raises(UnknownFeatureError, match="unknown feature 'size'"):
            kb.classify("a", "size")
        # A failed query leaves the knowledge base usable.
        assert kb.entails("a", "b").status is Status.TRUE


@pytest.mark.parametrize(
    ("target", "match"),
    [
        (None, "classify needs a target: the schema has none"),
        ("age", "'age' is numeric"),
    ],
    ids=["none", "numeric"],
)
def test_classify_rejects_bad_target(target: str | None, match: str) -> None:
    schema = Schema(SCHEMA.features)
    with (
        KnowledgeBase([], schema) as kb,
        pytest.raises(InvalidParameterError, match=match),
    ):
        kb.classify("a", target)


def test_classify_uses_schema_target() -> None:
    with KnowledgeBase(["a -> color = red"], SCHEMA) as kb:
        answer = kb.classify("a")
    assert answer.target == "color"
    assert answer.forced == "red"
    assert answer.explanation.labels == ("0",)


@pytest.mark.parametrize(
    ("soft", "match"),
    [
        ({"0": 0}, "weight of '0' must be a finite number > 0"),
        ({"0": None}, "soft weight of '0' must be a number > 0"),
        (["a"], "soft must be a mapping"),
    ],
    ids=["zero", "none", "list"],
)
def test_complete_rejects_bad_soft(soft: object, match: str) -> None:
    with (
        KnowledgeBase(["a"], SCHEMA) as kb,
        pytest.raises(InvalidParameterError, match=match),
    ):
        kb.complete(soft=soft)


def test_complete_weighs_items_and_overrides() -> None:
    rules = "r1: a [confidence=0.9]\nr2: not a [confidence=0.6]\nr3: b"
    with KnowledgeBase(rules, SCHEMA) as kb:
        default = kb.complete()
        swapped = kb.complete(soft={"r2": 5})
        hard = kb.complete("not a")
    assert default.case["a"] is True
    assert default.satisfied == ("r1",)
    assert default.violated == ("r2",)
    assert default.weight == pytest.approx(0.9)
    assert swapped.case["a"] is False
    assert swapped.satisfied == ("r2",)
    # r3 is hard: every completion keeps b, and b is never left missing.
    assert default.case["b"] is True
    assert hard.consistent is True
    assert hard.case["a"] is False


def test_complete_reports_hard_conflict() -> None:
    with KnowledgeBase({"r1": "a -> b", "soft": "not b"}, SCHEMA) as kb:
        answer = kb.complete("a and not b")
    assert answer.consistent is False
    assert answer.case is None
    assert answer.explanation.labels == ("r1",)
    assert answer.explanation.conclusion == FALSE


def test_complete_fills_every_feature() -> None:
    with KnowledgeBase([], SCHEMA) as kb:
        case = kb.complete().case
    assert set(case) == {"a", "b", "color", "age"}
    assert None not in case.values()
    assert isinstance(case["age"], Interval)


def test_entails_gives_witnesses_for_unknown() -> None:
    with KnowledgeBase(["a -> b"], SCHEMA) as kb:
        answer = kb.entails("not a", "b")
    assert answer.status is Status.UNKNOWN
    assert answer.reason == "neither the goal nor its negation follows from the facts"
    not_true, not_false = answer.witnesses
    assert not_true["a"] is False
    assert not_true["b"] is not True
    assert not_false["b"] is not False


def test_entails_false_explains_negation() -> None:
    with KnowledgeBase({"r1": "a -> not b", "r2": "color = red -> a"}, SCHEMA) as kb:
        answer = kb.entails("color = red", "b")
    assert answer.status is Status.FALSE
    assert str(answer.explanation.conclusion) == "not b"
    assert answer.explanation.labels == ("r2", "r1")


def test_queries_leave_no_trace() -> None:
    with KnowledgeBase({"r1": "a -> b"}, SCHEMA) as kb:
        assert kb.check("a and not b").consistent is False
        assert kb.entails("a", "b").status is Status.TRUE
        # Earlier facts are not assumed by later queries.
        assert kb.check("not b").consistent is True
        assert kb.entails(None, "b").status is Status.UNKNOWN
        assert kb.consequences().literals == ()


def test_consequences_report_tightest_numeric_bounds() -> None:
    with KnowledgeBase(["a -> age > 40", "a -> age <= 60"], SCHEMA) as kb:
        answer = kb.consequences("a and age < 50")
    texts = [str(literal) for literal in answer.literals]
    assert texts == ["a", "age > 40", "age < 50"]


# ---------------------------------------------------------------------------
# Tic-tac-toe: hand-written line rules on the schema of the real data set

LINES = {
    "top_row": ("tl", "tm", "tr"),
    "middle_row": ("ml", "mm", "mr"),
    "bottom_row": ("bl", "bm", "br"),
    "left_column": ("tl", "ml", "bl"),
    "middle_column": ("tm", "mm", "bm"),
    "right_column": ("tr", "mr", "br"),
    "diagonal": ("tl", "mm", "br"),
    "antidiagonal": ("tr", "mm", "bl"),
}


def line_rules() -> dict[str, str]:
    rules = {
        name: f"if {' and '.join(f'{cell} = x' for cell in cells)} then y = p"
        for name, cells in LINES.items()
    }
    lines = " or ".join(
        "(" + " and ".join(f"{cell} = x" for cell in cells) + ")"
        for cells in LINES.values()
    )
    rules["positive_needs_line"] = f"if y = p then {lines}"
    return rules


def test_tic_tac_toe_line_rules(datasets_dir) -> None:  # type: ignore[no-untyped-def]
    from loom import BitTable, evaluate

    table = BitTable.from_csv(datasets_dir / "tic_tac_toe.csv", target="y")
    rules = line_rules()
    for text in rules.values():
        _, false = evaluate(text, table)
        assert not false.any(), text
    with KnowledgeBase(rules, table.schema) as kb:
        top = kb.entails("tl = x and tm = x and tr = x", "y = p")
        # x holds no line, and every line is blocked by an o: y = p is impossible.
        blocked = kb.entails(
            "tl = x and tm = o and tr = x and ml = o and mm = o and mr = x "
            "and bl = x and bm = b and br = o",
            "y = p",
        )
        # The bottom row is open, so x may still complete it, or not.
        open_board = kb.entails(
            "tl = o and tm = x and tr = o and ml = x and mm = o and mr = x", "y = p"
        )
    assert top.status is Status.TRUE
    assert top.explanation.labels == ("top_row",)
    assert blocked.status is Status.FALSE
    assert "positive_needs_line" in blocked.explanation.labels
    assert open_board.status is Status.UNKNOWN
