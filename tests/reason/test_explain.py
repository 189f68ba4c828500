"""Tests of explanation chains: steps run from the facts towards the conclusion."""

from __future__ import annotations

from loom import FeatureSpec, KnowledgeBase, Schema, Status, parse
from loom.constraints.ast import FALSE
from loom.reason.explain import Part, chain

BOOLEAN = ("false", "true")
SCHEMA = Schema(
    tuple(FeatureSpec(name, "boolean", values=BOOLEAN) for name in "abcdexyz")
)


def part(kind: str, text: str, label: str | None, position: int) -> Part:
    return Part(position + 1, kind, parse(text), label, position)  # type: ignore[arg-type]


def test_chain_runs_from_facts_to_goal() -> None:
    # Listed backwards on purpose: the chain must not follow the input order.
    rules = {"r3": "c -> d", "r2": "b -> c", "r1": "a -> b", "noise": "x -> y"}
    with KnowledgeBase(rules, SCHEMA) as kb:
        answer = kb.entails("a and z", "d")
    assert answer.status is Status.TRUE
    steps = answer.explanation.steps
    assert [step.text for step in steps] == [
        "a",
        "if a then b",
        "if b then c",
        "if c then d",
    ]
    assert [step.kind for step in steps] == [
        "fact",
        "constraint",
        "constraint",
        "constraint",
    ]
    assert answer.explanation.labels == ("r1", "r2", "r3")
    assert [step.uses for step in steps] == [(), (0,), (1,), (2,)]


def test_chain_puts_unreachable_parts_last() -> None:
    parts = [
        part("constraint", "y -> e", "near", 0),
        part("constraint", "x -> y", "far", 1),
        part("fact", "a", None, 2),
        part("constraint", "a -> d", "direct", 3),
    ]
    steps = chain(parts, parse("e"))
    # No fact reaches `far` or `near`; the one farther from the goal comes first.
    assert [step.label for step in steps] == [None, "direct", "far", "near"]
    assert [step.uses for step in steps] == [(), (0,), (), (2,)]


def test_chain_of_conflict_without_facts() -> None:
    parts = [part("constraint", "not a", "no", 0), part("constraint", "a", "yes", 1)]
    steps = chain(parts, FALSE)
    assert [step.label for step in steps] == ["no", "yes"]
    assert steps[1].uses == (0,)


def test_fact_steps_use_nothing() -> None:
    parts = [part("fact", "a", None, 0), part("fact", "a or b", None, 1)]
    steps = chain(parts, parse("b"))
    assert [step.uses for step in steps] == [(), ()]


def test_explanation_lists_labels_and_facts() -> None:
    with KnowledgeBase({"r1": "a and b -> c"}, SCHEMA) as kb:
        explanation = kb.entails("a and b and e", "c").explanation
    assert explanation.labels == ("r1",)
    assert [str(fact) for fact in explanation.facts] == ["a", "b"]
    assert explanation.conclusion == parse("c")
