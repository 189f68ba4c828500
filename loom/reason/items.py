"""Inputs of a knowledge base: labelled, optionally weighted constraints, and facts.

`knowledge_items` accepts the forms `loom.KnowledgeBase` documents and checks labels
and weights; `parse_facts` turns fact text into separate facts. Neither checks the
constraints against a schema.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from loom.constraints.ast import And, Constraint, Statement
from loom.constraints.parser import parse, parse_rules
from loom.exceptions import InvalidParameterError

__all__ = ["KnowledgeItem", "knowledge_items", "parse_facts"]

# Statement annotations read as an item's weight, in order of preference.
WEIGHT_ANNOTATIONS = ("weight", "confidence")


@dataclass(frozen=True)
class KnowledgeItem:
    """One constraint of a knowledge base.

    Attributes
    ----------
    label : str
        Unique name: a crystal id, a statement name, a mapping key, or the position
        in a list.
    constraint : Constraint
    weight : float or None
        Weight as a soft constraint in `KnowledgeBase.complete`; None makes the
        constraint hard there.
    """

    label: str
    constraint: Constraint
    weight: float | None = None


def knowledge_items(constraints: Any) -> list[KnowledgeItem]:
    """Return the labelled constraints of any input form `KnowledgeBase` accepts.

    Parameters
    ----------
    constraints : object
        One of these forms:

        - an object with a ``constraint_items()`` method returning ``(label,
          constraint, weight or None)`` triples;
        - a mapping of label to constraint or text;
        - rule-set text, one statement per line;
        - an iterable of constraints, texts and `Statement` objects, labelled by
          statement name or else by position (``"0"``, ``"1"``, ...).

        A statement's ``weight`` annotation, or else its ``confidence``, is its
        weight.

    Raises
    ------
    InvalidParameterError
        For an unsupported input, a label used twice or an invalid weight.
    ConstraintSyntaxError
        For text that does not parse.

    Examples
    --------
    >>> [item.label for item in knowledge_items(["a -> b", "b -> c"])]
    ['0', '1']
    >>> knowledge_items("r1: a -> b [confidence=0.9]")[0].weight
    0.9
    """
    triples: list[tuple[Any, Any, Any]]
    if hasattr(constraints, "constraint_items"):
        triples = [tuple(entry) for entry in constraints.constraint_items()]
        for entry in triples:
            if len(entry) != 3:
                msg = (
                    f"constraint_items() must return (label, constraint, weight) "
                    f"triples, got {entry!r}."
                )
                raise InvalidParameterError(msg)
    elif isinstance(constraints, str):
        triples = [
            _statement_triple(s, i) for i, s in enumerate(parse_rules(constraints))
        ]
    elif isinstance(constraints, Mapping):
        triples = [(label, value, None) for label, value in constraints.items()]
    elif isinstance(constraints, Iterable):
        triples = [_entry_triple(entry, i) for i, entry in enumerate(constraints)]
    else:
        msg = (
            "constraints must be a list of constraints or texts, a mapping of label "
            "to constraint, rule-set text, or an object with constraint_items(); "
            f"got {type(constraints).__name__}."
        )
        raise InvalidParameterError(msg)

    items = []
    seen: set[str] = set()
    for label, constraint, weight in triples:
        if not isinstance(label, str) or not label:
            msg = f"a constraint label must be a non-empty string, got {label!r}."
            raise InvalidParameterError(msg)
        if label in seen:
            msg = f"constraint label {label!r} appears twice; labels must be unique."
            raise InvalidParameterError(msg)
        seen.add(label)
        node = _constraint(constraint, label)
        items.append(KnowledgeItem(label, node, check_weight(weight, label)))
    return items


def parse_facts(facts: Any) -> tuple[Constraint, ...]:
    """Return facts as separate constraints: a conjunction is split into its parts.

    Parameters
    ----------
    facts : str, Constraint, iterable of those, or None

    Examples
    --------
    >>> [str(fact) for fact in parse_facts("a and (b or c) and a")]
    ['a', 'b or c']
    """
    if facts is None:
        return ()
    if isinstance(facts, str | Constraint):
        entries: list[Any] = [facts]
    elif isinstance(facts, Iterable):
        entries = list(facts)
    else:
        msg = (
            "facts must be constraint text, a Constraint, or a list of those; got "
            f"{type(facts).__name__}."
        )
        raise InvalidParameterError(msg)
    split: dict[Constraint, None] = {}
    for entry in entries:
        if not isinstance(entry, str | Constraint):
            msg = f"a fact must be constraint text or a Constraint, got {entry!r}."
            raise InvalidParameterError(msg)
        for part in _conjuncts(parse(entry)):
            split.setdefault(part, None)
    return tuple(split)


def check_weight(weight: Any, label: str) -> float | None:
    """Return `weight` as a float, or None; reject zero, negative and non-finite."""
    if weight is None:
        return None
    if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
        msg = f"weight of {label!r} must be a number > 0 or None, got {weight!r}."
        raise InvalidParameterError(msg)
    value = float(weight)
    if not math.isfinite(value) or value <= 0:
        msg = f"weight of {label!r} must be a finite number > 0, got {weight!r}."
        raise InvalidParameterError(msg)
    return value


def _conjuncts(node: Constraint) -> list[Constraint]:
    if isinstance(node, And):
        return [part for operand in node.operands for part in _conjuncts(operand)]
    return [node]


def _statement_triple(
    statement: Statement, position: int
) -> tuple[str, Constraint, Any]:
    label = statement.name if statement.name is not None else str(position)
    weight = None
    for key in WEIGHT_ANNOTATIONS:
        weight = statement.annotation(key)
        if weight is not None:
            break
    return label, statement.constraint, weight


def _entry_triple(entry: Any, position: int) -> tuple[str, Any, Any]:
    if isinstance(entry, Statement):
        return _statement_triple(entry, position)
    return str(position), entry, None


def _constraint(value: Any, label: str) -> Constraint:
    if isinstance(value, Statement):
        return value.constraint
    if isinstance(value, str | Constraint):
        return parse(value)
    msg = f"constraint {label!r} must be a Constraint or text, got {value!r}."
    raise InvalidParameterError(msg)
