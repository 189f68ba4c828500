"""Tests of query budgets: running out gives UNKNOWN with the reason, never an answer
the solver did not prove. The hard instance is the pigeonhole principle, which
resolution-based SAT solvers refute only with exponentially many conflicts.
"""

from __future__ import annotations

import pytest
from pysat.solvers import Solver

from loom import Budget, FeatureSpec, KnowledgeBase, Schema, Status, parse
from loom.exceptions import InvalidParameterError
from loom.reason import SOLVERS, Compiler
from loom.reason.budget import BudgetExhausted, Meter
from loom.reason.explain import Part, minimize

BOOLEAN = ("false", "true")


def pigeonhole(n_holes: int) -> tuple[dict[str, str], Schema]:
    """One more pigeon than holes: every pigeon in a hole, at most one per hole."""
    pigeons = range(n_holes + 1)
    holes = range(n_holes)
    schema = Schema(
        tuple(
            FeatureSpec(f"p{i}_{j}", "boolean", values=BOOLEAN)
            for i in pigeons
            for j in holes
        )
    )
    rules = {}
    for i in pigeons:
        rules[f"pigeon{i}"] = f"atleast(1: {', '.join(f'p{i}_{j}' for j in holes)})"
    for j in holes:
        rules[f"hole{j}"] = f"atmost(1: {', '.join(f'p{i}_{j}' for i in pigeons)})"
    return rules, schema


HARD = pigeonhole(11)
EASY = pigeonhole(3)


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"conflicts": 0}, "conflicts must be an int >= 1"),
        ({"conflicts": 2.5}, "conflicts must be an int >= 1"),
        ({"conflicts": True}, "conflicts must be an int >= 1"),
        ({"seconds": 0}, "seconds must be a finite number > 0"),
        ({"seconds": float("nan")}, "seconds must be a finite number > 0"),
        ({"seconds": "1"}, "seconds must be a finite number > 0"),
    ],
    ids=["zero", "fraction", "bool", "zero-seconds", "nan", "text"],
)
def test_budget_rejects_bad_limits(arguments: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        Budget(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("solver", SOLVERS)
def test_conflict_budget_gives_unknown(solver: str) -> None:
    rules, schema = HARD
    with KnowledgeBase(
        rules, schema, solver=solver, budget=Budget(conflicts=200)
    ) as kb:
        answer = kb.check()
    assert answer.consistent is None
    assert answer.status is Status.UNKNOWN
    assert answer.budget_exhausted
    assert "ran out of its budget (200 conflicts)" in answer.reason


def test_time_budget_gives_unknown() -> None:
    rules, schema = HARD
    with KnowledgeBase(rules, schema) as kb:
        answer = kb.entails(None, "p0_0", budget=Budget(seconds=0.2))
    assert answer.status is Status.UNKNOWN
    assert answer.budget_exhausted
    assert answer.explanation is None
    assert "0.2 s" in answer.reason


def test_every_query_stops_at_budget() -> None:
    rules, schema = HARD
    budget = Budget(conflicts=100)
    with KnowledgeBase(rules, schema, budget=budget) as kb:
        entailment = kb.entails("p0_0", "not p1_0")
        consequences = kb.consequences("p0_0")
        completion = kb.complete(soft={"p0_1": 2, "p1_1": 1})
        classification = kb.classify(None, "p0_0")
    assert entailment.status is Status.UNKNOWN
    assert entailment.budget_exhausted
    assert consequences.budget_exhausted
    assert consequences.consistent is None
    assert completion.budget_exhausted
    assert completion.case is None
    assert classification.budget_exhausted
    assert classification.forced is None
    assert classification.undecided


def test_query_budget_replaces_default() -> None:
    rules, schema = EASY
    with KnowledgeBase(rules, schema, budget=Budget(conflicts=1)) as kb:
        starved = kb.check()
        answered = kb.check(budget=Budget(conflicts=1_000_000, seconds=60))
    assert starved.budget_exhausted
    assert answered.consistent is False
    assert not answered.budget_exhausted
    assert answered.explanation.minimal
    # The pigeonhole principle has no smaller conflict than all its constraints.
    assert sorted(answered.explanation.labels) == sorted(rules)


def selected_parts(compiler: Compiler, texts: dict[str, str]) -> list[Part]:
    """Compile each text behind a selector, as a knowledge base does."""
    parts = []
    for position, (label, text) in enumerate(texts.items()):
        node = parse(text)
        true, _ = compiler.rails(node)
        selector = compiler.pool.id(("select", label))
        compiler.clauses.append([-selector, true])
        parts.append(Part(selector, "constraint", node, label, position))
    return parts


def test_minimize_stops_at_budget() -> None:
    # A cheap conflict (a, not a) beside the hard pigeonhole: dropping `a` leaves the
    # hard part to refute, and the budget runs out there.
    rules, schema = HARD
    extra = FeatureSpec("a", "boolean", values=BOOLEAN)
    compiler = Compiler(schema.with_features([*schema.features, extra]))
    parts = selected_parts(compiler, {"a": "a", "not_a": "not a", **rules})
    core = [part.selector for part in parts]
    with Solver(name="cadical153", bootstrap_with=compiler.clauses) as solver:
        needed, minimal = minimize(Meter(Budget(conflicts=50)), solver, [], parts, core)
    assert not minimal
    assert needed == parts


def test_minimize_without_budget_is_minimal() -> None:
    rules, schema = EASY
    extra = FeatureSpec("a", "boolean", values=BOOLEAN)
    compiler = Compiler(schema.with_features([*schema.features, extra]))
    parts = selected_parts(compiler, {"a": "a", **rules, "not_a": "not a"})
    core = [part.selector for part in parts]
    with Solver(name="cadical153", bootstrap_with=compiler.clauses) as solver:
        needed, minimal = minimize(Meter(None), solver, [], parts, core)
    assert minimal
    assert [part.label for part in needed] in (["a", "not_a"], list(rules))


def test_meter_raises_when_spent() -> None:
    rules, schema = HARD
    compiler = Compiler(schema)
    parts = selected_parts(compiler, rules)
    meter = Meter(Budget(conflicts=10))
    with (
        Solver(name="cadical153", bootstrap_with=compiler.clauses) as solver,
        pytest.raises(BudgetExhausted, match="10 conflicts"),
    ):
        meter.solve(solver, [part.selector for part in parts])
    assert meter.conflicts_used >= 10
