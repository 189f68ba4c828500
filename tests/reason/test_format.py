"""Tests of answer printing: readable text with the chain, and JSON for programs."""

from __future__ import annotations

import json

import pytest

from loom import Budget, FeatureSpec, KnowledgeBase, Schema
from loom.exceptions import InvalidParameterError
from loom.reason import answer_to_dict, answer_to_json, format_answer
from tests.reason.test_budget import HARD

SCHEMA = Schema(
    (
        FeatureSpec("a", "boolean", values=("false", "true")),
        FeatureSpec("b", "boolean", values=("false", "true"), allows_missing=True),
        FeatureSpec("color", "categorical", values=("dark blue", "red")),
        FeatureSpec("age", "numeric", thresholds=(30.0,)),
    ),
    target="color",
)
RULES = {"r1": "a -> b", "r2": "b -> color = red", "r3": "age > 30 -> not a"}


@pytest.fixture
def kb() -> KnowledgeBase:
    with KnowledgeBase(RULES, SCHEMA) as knowledge:
        yield knowledge


def test_entailment_text_shows_chain(kb: KnowledgeBase) -> None:
    text = format_answer(kb.entails("a", "color = red"))
    assert text.splitlines() == [
        "facts: a",
        "goal: color = red",
        "answer: true (the goal is true: color = red follows from the facts)",
        "  1. given a",
        "  2. by r1: if a then b  (uses 1)",
        "  3. by r2: if b then color = red  (uses 2)",
        "  therefore color = red",
    ]


def test_unknown_text_shows_witnesses(kb: KnowledgeBase) -> None:
    lines = format_answer(kb.entails(None, "a")).splitlines()
    assert lines[:3] == [
        "facts: (none)",
        "goal: a",
        "answer: unknown (neither the goal nor its negation follows from the facts)",
    ]
    assert lines[3].startswith("  a case where the goal is not true: a = false, ")
    assert lines[4].startswith("  a case where it is not false: a = true, b = true, ")
    assert "color = red, age in (-inf, 30]" in lines[4]


def test_conflict_text_ends_in_contradiction(kb: KnowledgeBase) -> None:
    lines = format_answer(kb.check("a and age > 40")).splitlines()
    assert lines[1] == "consistent: no (the facts contradict the constraints)"
    assert lines[-1] == "  these cannot all hold"
    assert "  3. by r3: if age > 30 then not a  (uses 1, 2)" in lines


def test_other_answers_have_text(kb: KnowledgeBase) -> None:
    consequences = format_answer(kb.consequences("a")).splitlines()
    assert "- color = red" in consequences
    completion = format_answer(kb.complete("a")).splitlines()
    assert completion[2].startswith("  case: a = true, b = true, color = red, age in ")
    classification = format_answer(kb.classify("a")).splitlines()
    assert classification[1:4] == [
        "target: color (the facts force color = red)",
        "  possible: red",
        "  forced: red",
    ]


def test_soft_text_lists_violated(kb: KnowledgeBase) -> None:
    answer = kb.complete("a", soft={"not b": 1})
    assert "  violated: not b" in format_answer(answer).splitlines()


def test_budget_text_says_why() -> None:
    rules, schema = HARD
    with KnowledgeBase(rules, schema, budget=Budget(conflicts=50)) as kb:
        lines = format_answer(kb.check()).splitlines()
    assert lines[1].startswith(
        "consistent: unknown (the query ran out of its budget (50 conflicts) after "
    )


def test_json_round_trips(kb: KnowledgeBase) -> None:
    data = json.loads(answer_to_json(kb.entails("a", "color = red")))
    assert data["query"] == "entails"
    assert data["status"] == "true"
    assert data["facts"] == ["a"]
    assert data["budget_exhausted"] is False
    steps = data["explanation"]["steps"]
    assert [step["label"] for step in steps] == [None, "r1", "r2"]
    assert [step["uses"] for step in steps] == [[], [0], [1]]
    assert data["explanation"]["minimal"] is True


def test_json_cases_use_null_for_infinity(kb: KnowledgeBase) -> None:
    data = answer_to_dict(kb.complete("age > 40"))
    assert data["case"]["age"] == {
        "low": 40.0,
        "high": None,
        "low_closed": False,
        "high_closed": False,
    }
    assert data["case"]["color"] in ("dark blue", "red")
    json.dumps(data, allow_nan=False)


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ("check", {"consistent"}),
        ("consequences", {"consistent", "consequences"}),
        ("complete", {"case", "weight", "cost", "satisfied", "violated"}),
        ("classify", {"target", "possible", "forced", "undecided"}),
    ],
)
def test_json_has_query_fields(kb: KnowledgeBase, query: str, keys: set[str]) -> None:
    answer = getattr(kb, query)("a")
    data = answer_to_dict(answer)
    assert data["query"] == query
    assert keys <= data.keys()
    json.dumps(data, allow_nan=False)


def test_format_rejects_other_objects() -> None:
    with pytest.raises(InvalidParameterError, match="expected a query answer"):
        format_answer("true")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="got dict"):
        answer_to_json({})  # type: ignore[arg-type]
