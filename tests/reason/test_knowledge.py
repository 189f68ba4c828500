"""Every query of `KnowledgeBase` against brute-force enumeration of all cases.

Random schemas of at most 10 boolean and categorical features (missing values where
allowed) and random constraints with every connective and cardinality; each answer
must equal what `loom.evaluate` finds on a table of every case, and each explanation
must force its conclusion and lose it when any one step is dropped.
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
    if not rows.any():
        expected = Status.TRUE
    elif not (rows & ~goal_true).any():
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
    hard = [node for label, node in problem.constraints.items() if label not in problem.weights]
    soft = [(label, problem.constraints[label], w) for label, w in problem.weights.items()]
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
            assert_check, assert_entails, assert_consequences, assert_classify,
            assert_complete,
        ):
            assert_query(problem, kb, cases)
