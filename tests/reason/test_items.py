"""Tests of the inputs a knowledge base accepts: labelled constraints and facts."""

from __future__ import annotations

import pytest

from loom import Statement, parse
from loom.exceptions import ConstraintSyntaxError, InvalidParameterError
from loom.reason import KnowledgeItem
from loom.reason.items import knowledge_items, parse_facts


class Store:
    def __init__(self, triples: list[tuple[object, ...]]) -> None:
        self.triples = triples

    def constraint_items(self) -> list[tuple[object, ...]]:
        return self.triples


def test_items_from_list_are_numbered() -> None:
    items = knowledge_items(["a -> b", parse("b -> c")])
    assert items == [
        KnowledgeItem("0", parse("a -> b")),
        KnowledgeItem("1", parse("b -> c")),
    ]


def test_items_from_mapping_keep_labels() -> None:
    items = knowledge_items({"first": "a", "second": parse("not b")})
    assert [(item.label, str(item.constraint), item.weight) for item in items] == [
        ("first", "a", None),
        ("second", "not b", None),
    ]


def test_items_from_rule_text_read_weights() -> None:
    text = "r1: a -> b [confidence=0.9]\nr2: b -> c [weight=3, confidence=0.5]\nc"
    items = knowledge_items(text)
    assert [item.label for item in items] == ["r1", "r2", "2"]
    assert [item.weight for item in items] == [0.9, 3.0, None]


def test_items_from_statements() -> None:
    statements = [Statement(parse("a"), name="s", annotations=(("weight", 2),)), "b"]
    items = knowledge_items(statements)
    assert [(item.label, item.weight) for item in items] == [("s", 2.0), ("1", None)]


def test_items_from_constraint_items_protocol() -> None:
    items = knowledge_items(Store([("c1", "a", 0.75), ("c2", parse("b"), None)]))
    assert items == [
        KnowledgeItem("c1", parse("a"), 0.75),
        KnowledgeItem("c2", parse("b"), None),
    ]


@pytest.mark.parametrize(
    ("constraints", "error", "match"),
    [
        (42, InvalidParameterError, "constraints must be a list of constraints"),
        (
            {"a": "x", "b": 3},
            InvalidParameterError,
            "constraint 'b' must be a Constraint",
        ),
        (Store([("c1", "a")]), InvalidParameterError, r"\(label, constraint, weight\)"),
        (
            Store([("c1", "a", None), ("c1", "b", None)]),
            InvalidParameterError,
            "label 'c1' appears twice",
        ),
        (Store([("", "a", None)]), InvalidParameterError, "non-empty string"),
        (
            Store([("c1", "a", 0)]),
            InvalidParameterError,
            "weight of 'c1' must be a finite",
        ),
        (
            Store([("c1", "a", -1.5)]),
            InvalidParameterError,
            "must be a finite number > 0",
        ),
        (
            Store([("c1", "a", float("inf"))]),
            InvalidParameterError,
            "finite number > 0",
        ),
        (Store([("c1", "a", "high")]), InvalidParameterError, "must be a number > 0"),
        (Store([("c1", "a", True)]), InvalidParameterError, "must be a number > 0"),
        (["a and"], ConstraintSyntaxError, "expected"),
    ],
    ids=[
        "type",
        "value",
        "triple",
        "duplicate",
        "empty",
        "zero",
        "negative",
        "inf",
        "text-weight",
        "bool-weight",
        "syntax",
    ],
)
def test_items_reject_bad_input(
    constraints: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        knowledge_items(constraints)


def test_facts_split_conjunctions() -> None:
    facts = parse_facts(["tl = x and (tm = x and tr = x)", parse("a or b"), "tl = x"])
    assert [str(fact) for fact in facts] == ["tl = x", "tm = x", "tr = x", "a or b"]


def test_facts_none_is_empty() -> None:
    assert parse_facts(None) == ()
    assert parse_facts([]) == ()


@pytest.mark.parametrize(
    ("facts", "match"),
    [(3, "facts must be constraint text"), ([1], "a fact must be constraint text")],
    ids=["number", "list-of-number"],
)
def test_facts_reject_bad_input(facts: object, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        parse_facts(facts)
