"""The constraint language: syntax tree, parser and canonical printer."""

from __future__ import annotations

from loom.constraints.ast import (
    FALSE,
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
    Value,
    Xor,
    features,
    format_rules,
    walk,
)
from loom.constraints.parser import parse, parse_rules

__all__ = [
    "FALSE",
    "TRUE",
    "And",
    "BooleanAtom",
    "Cardinality",
    "Compare",
    "Constant",
    "Constraint",
    "Iff",
    "Implies",
    "Membership",
    "Not",
    "Or",
    "Statement",
    "Value",
    "Xor",
    "features",
    "format_rules",
    "parse",
    "parse_rules",
    "walk",
]
