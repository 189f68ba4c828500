"""Reasoning over constraints: CNF compilation, SAT queries and their explanations."""

from __future__ import annotations

from loom.reason.budget import Budget
from loom.reason.compile import Compiler, Interval
from loom.reason.format import answer_to_dict, answer_to_json, format_answer
from loom.reason.items import KnowledgeItem
from loom.reason.knowledge import SOLVERS, KnowledgeBase
from loom.reason.results import (
    Classification,
    Completion,
    Consequence,
    Consequences,
    Consistency,
    Entailment,
    Explanation,
    Status,
    Step,
)

__all__ = [
    "SOLVERS",
    "Budget",
    "Classification",
    "Compiler",
    "Completion",
    "Consequence",
    "Consequences",
    "Consistency",
    "Entailment",
    "Explanation",
    "Interval",
    "KnowledgeBase",
    "KnowledgeItem",
    "Status",
    "Step",
    "answer_to_dict",
    "answer_to_json",
    "format_answer",
]
