"""Printing of query answers: readable text with the explanation chain, and JSON.

The command line is a thin wrapper over `format_answer` and `answer_to_json`. Both
accept any answer type of `loom.reason.results` and reject other objects.
"""

from __future__ import annotations

import json
import math
from typing import Any, TypeAlias

from loom.constraints.ast import format_name, format_value
from loom.data.schema import label_value
from loom.exceptions import InvalidParameterError
from loom.reason.compile import CaseValue, Interval
from loom.reason.results import (
    Case,
    Classification,
    Completion,
    Consequences,
    Consistency,
    Entailment,
    Explanation,
)

__all__ = ["Answer", "answer_to_dict", "answer_to_json", "format_answer"]

Answer: TypeAlias = (
    Consistency | Entailment | Consequences | Completion | Classification
)

_QUERY_NAMES: dict[type, str] = {
    Consistency: "check",
    Entailment: "entails",
    Consequences: "consequences",
    Completion: "complete",
    Classification: "classify",
}


def format_answer(answer: Answer) -> str:
    """Return an answer as readable text, explanations as numbered steps.

    Examples
    --------
    >>> from loom import FeatureSpec, KnowledgeBase, Schema
    >>> schema = Schema((FeatureSpec("a", "boolean", values=("false", "true")),
    ...                  FeatureSpec("b", "boolean", values=("false", "true"))))
    >>> with KnowledgeBase({"r1": "a -> b"}, schema) as kb:
    ...     print(format_answer(kb.entails("a", "b")))
    facts: a
    goal: b
    answer: true (the goal is true: b follows from the facts)
      1. given a
      2. by r1: if a then b  (uses 1)
      therefore b
    """
    _query_name(answer)
    lines = [f"facts: {_join(answer.facts) or '(none)'}"]
    if isinstance(answer, Consistency):
        verdict = {True: "yes", False: "no", None: "unknown"}[answer.consistent]
        lines.append(f"consistent: {verdict} ({answer.reason})")
        lines.extend(_explanation_lines(answer.explanation))
    elif isinstance(answer, Entailment):
        lines.append(f"goal: {answer.goal}")
        lines.append(f"answer: {answer.status} ({answer.reason})")
        lines.extend(_explanation_lines(answer.explanation))
        names = ("a case where the goal is not true", "a case where it is not false")
        for name, case in zip(names, answer.witnesses, strict=False):
            lines.append(f"  {name}: {_case_text(case)}")
    elif isinstance(answer, Consequences):
        lines.append(f"consequences: {answer.reason}")
        lines.extend(_explanation_lines(answer.explanation))
        for item in answer.consequences:
            lines.append(f"- {item.literal}")
            lines.extend("  " + line for line in _explanation_lines(item.explanation))
    elif isinstance(answer, Completion):
        lines.append(f"completion: {answer.reason}")
        if answer.case is not None:
            lines.append(f"  case: {_case_text(answer.case)}")
            lines.append(f"  satisfied: {', '.join(answer.satisfied) or '(none)'}")
            lines.append(f"  violated: {', '.join(answer.violated) or '(none)'}")
        lines.extend(_explanation_lines(answer.explanation))
    else:
        lines.append(f"target: {format_name(answer.target)} ({answer.reason})")
        lines.append(f"  possible: {', '.join(answer.possible) or '(none)'}")
        if answer.undecided:
            lines.append(f"  undecided: {', '.join(answer.undecided)}")
        lines.append(f"  forced: {answer.forced if answer.forced is not None else '-'}")
        lines.extend(_explanation_lines(answer.explanation))
    return "\n".join(lines)


def answer_to_dict(answer: Answer) -> dict[str, Any]:
    """Return an answer as JSON-ready data.

    Every answer has ``query``, ``facts`` (canonical texts), ``reason`` and
    ``budget_exhausted``. An explanation is ``{"conclusion", "minimal", "steps"}``;
    each step is ``{"kind", "label", "text", "uses"}``, where ``uses`` holds the
    0-based positions of earlier steps. A case maps feature names to a boolean, a
    label, null (missing) or, for a numeric feature, ``{"low", "high",
    "low_closed", "high_closed"}`` with null for an infinite end.

    Examples
    --------
    >>> from loom import FeatureSpec, KnowledgeBase, Schema
    >>> schema = Schema((FeatureSpec("a", "boolean", values=("false", "true")),))
    >>> with KnowledgeBase(["a"], schema) as kb:
    ...     answer_to_dict(kb.check("not a"))["consistent"]
    False
    """
    query = _query_name(answer)
    data: dict[str, Any] = {"query": query, "facts": [str(f) for f in answer.facts]}
    if isinstance(answer, Consistency):
        data["consistent"] = answer.consistent
    elif isinstance(answer, Entailment):
        data["goal"] = str(answer.goal)
        data["status"] = str(answer.status)
        data["consistent"] = answer.consistent
        data["witnesses"] = [_case_data(case) for case in answer.witnesses]
    elif isinstance(answer, Consequences):
        data["consistent"] = answer.consistent
        data["consequences"] = [
            {
                "literal": str(item.literal),
                "explanation": _explanation_data(item.explanation),
            }
            for item in answer.consequences
        ]
    elif isinstance(answer, Completion):
        data["consistent"] = answer.consistent
        data["case"] = None if answer.case is None else _case_data(answer.case)
        data["weight"] = answer.weight
        data["cost"] = answer.cost
        data["satisfied"] = list(answer.satisfied)
        data["violated"] = list(answer.violated)
    else:
        data["target"] = answer.target
        data["consistent"] = answer.consistent
        data["possible"] = list(answer.possible)
        data["forced"] = answer.forced
        data["undecided"] = list(answer.undecided)
    data["explanation"] = _explanation_data(answer.explanation)
    data["reason"] = answer.reason
    data["budget_exhausted"] = answer.budget_exhausted
    return data


def answer_to_json(answer: Answer, *, indent: int | None = 2) -> str:
    """Return `answer_to_dict` of an answer as JSON text."""
    return json.dumps(answer_to_dict(answer), indent=indent, ensure_ascii=False)


# ---------------------------------------------------------------------------
# Helpers


def _query_name(answer: object) -> str:
    name = _QUERY_NAMES.get(type(answer))
    if name is None:
        kinds = ", ".join(kind.__name__ for kind in _QUERY_NAMES)
        msg = f"expected a query answer ({kinds}), got {type(answer).__name__}."
        raise InvalidParameterError(msg)
    return name


def _join(nodes: tuple[Any, ...]) -> str:
    return "; ".join(str(node) for node in nodes)


def _explanation_lines(explanation: Explanation | None) -> list[str]:
    if explanation is None:
        return []
    lines = []
    for number, step in enumerate(explanation.steps, start=1):
        if step.kind == "fact":
            text = f"given {step.text}"
        else:
            text = f"by {step.label}: {step.text}"
        if step.uses:
            text += f"  (uses {', '.join(str(u + 1) for u in step.uses)})"
        lines.append(f"  {number}. {text}")
    if not explanation.steps:
        lines.append("  (the schema alone)")
    conclusion = str(explanation.conclusion)
    if conclusion == "false":
        lines.append("  these cannot all hold")
    else:
        lines.append(f"  therefore {conclusion}")
    if not explanation.minimal:
        lines.append("  (not minimal: the budget ran out while shrinking it)")
    return lines


def _explanation_data(explanation: Explanation | None) -> dict[str, Any] | None:
    if explanation is None:
        return None
    return {
        "conclusion": str(explanation.conclusion),
        "minimal": explanation.minimal,
        "steps": [
            {
                "kind": step.kind,
                "label": step.label,
                "text": step.text,
                "uses": list(step.uses),
            }
            for step in explanation.steps
        ],
    }


def _case_text(case: Case) -> str:
    return ", ".join(
        f"{format_name(name)} {_value_text(value)}" for name, value in case.items()
    )


def _value_text(value: CaseValue) -> str:
    if value is None:
        return "missing"
    if isinstance(value, Interval):
        return f"in {value}"
    if isinstance(value, bool):
        return "= true" if value else "= false"
    return f"= {format_value(label_value(value))}"


def _case_data(case: Case) -> dict[str, Any]:
    return {name: _value_data(value) for name, value in case.items()}


def _value_data(value: CaseValue) -> Any:
    if isinstance(value, Interval):
        return {
            "low": value.low if math.isfinite(value.low) else None,
            "high": value.high if math.isfinite(value.high) else None,
            "low_closed": value.low_closed,
            "high_closed": value.high_closed,
        }
    return value
