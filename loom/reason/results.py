"""Answers of reasoning queries: small frozen dataclasses, and their explanations.

An explanation is a minimal set of facts and constraints that forces a conclusion,
ordered as a chain of steps. The dataclasses do not check that an explanation really
forces its conclusion; `loom.KnowledgeBase` builds them that way.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from loom.constraints.ast import Constraint
from loom.reason.compile import CaseValue

__all__ = [
    "Case",
    "Classification",
    "Completion",
    "Consequence",
    "Consequences",
    "Consistency",
    "Entailment",
    "Explanation",
    "Status",
    "Step",
]

Case = Mapping[str, CaseValue]
"""One value per feature: a boolean, a categorical label, an `Interval`, or None."""


class Status(enum.StrEnum):
    """Three-valued answer of a query; ``str(Status.TRUE)`` is ``"true"``."""

    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Step:
    """One fact or constraint of an explanation.

    Attributes
    ----------
    kind : {'fact', 'constraint'}
    constraint : Constraint
    label : str or None
        The constraint's label (a crystal id for crystals); None for a fact.
    uses : tuple of int
        Positions, in the explanation, of the earlier steps that share a feature
        with this one.
    """

    kind: Literal["fact", "constraint"]
    constraint: Constraint
    label: str | None = None
    uses: tuple[int, ...] = ()

    @property
    def text(self) -> str:
        """The canonical text of the constraint."""
        return str(self.constraint)


@dataclass(frozen=True)
class Explanation:
    """A minimal set of facts and constraints that forces `conclusion`.

    Attributes
    ----------
    conclusion : Constraint
        What the steps force; the constant ``false`` when they contradict each other.
    steps : tuple of Step
        Facts first, then constraints in the order a reader can follow from the facts
        towards the conclusion. Schema axioms (one value per feature, ordered
        thresholds) hold throughout and are not listed.
    minimal : bool
        Whether dropping any one step loses the conclusion. False only when the
        budget ran out while the explanation was being shrunk.
    """

    conclusion: Constraint
    steps: tuple[Step, ...]
    minimal: bool = True

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels of the constraints among the steps, in step order."""
        return tuple(step.label for step in self.steps if step.label is not None)

    @property
    def facts(self) -> tuple[Constraint, ...]:
        """The facts among the steps, in step order."""
        return tuple(step.constraint for step in self.steps if step.kind == "fact")


@dataclass(frozen=True)
class Consistency:
    """Answer of `KnowledgeBase.check`.

    Attributes
    ----------
    facts : tuple of Constraint
    consistent : bool or None
        None only when the budget ran out first.
    explanation : Explanation or None
        When inconsistent, a minimal set of facts and constraints that conflict.
    reason : str
    budget_exhausted : bool
    """

    facts: tuple[Constraint, ...]
    consistent: bool | None
    explanation: Explanation | None
    reason: str
    budget_exhausted: bool = False

    @property
    def status(self) -> Status:
        """TRUE when consistent, FALSE when not, UNKNOWN when the budget ran out."""
        return _status(self.consistent)


@dataclass(frozen=True)
class Entailment:
    """Answer of `KnowledgeBase.entails`.

    Attributes
    ----------
    facts : tuple of Constraint
    goal : Constraint
    status : Status
        TRUE when the goal follows, FALSE when its negation follows, UNKNOWN when
        neither does or the budget ran out (see `budget_exhausted`).
    explanation : Explanation or None
        For TRUE and FALSE, the steps that force the answer. When the facts
        contradict the constraints every goal follows, and the explanation is the
        conflict (its conclusion is ``false``).
    reason : str
    consistent : bool or None
        Whether the facts are consistent with the constraints; None if unknown.
    witnesses : tuple of Case
        For UNKNOWN, a case where the goal is not true and one where it is not
        false, both consistent with the facts and the constraints.
    budget_exhausted : bool
    """

    facts: tuple[Constraint, ...]
    goal: Constraint
    status: Status
    explanation: Explanation | None
    reason: str
    consistent: bool | None = True
    witnesses: tuple[Case, ...] = ()
    budget_exhausted: bool = False


@dataclass(frozen=True)
class Consequence:
    """A literal that every case consistent with the facts makes true, and why."""

    literal: Constraint
    explanation: Explanation


@dataclass(frozen=True)
class Consequences:
    """Answer of `KnowledgeBase.consequences`: the backbone of the facts.

    Attributes
    ----------
    facts : tuple of Constraint
    consequences : tuple of Consequence
        In schema feature order. When the budget ran out, the ones proved so far.
    consistent : bool or None
    explanation : Explanation or None
        When the facts are inconsistent, the conflict.
    reason : str
    budget_exhausted : bool
    """

    facts: tuple[Constraint, ...]
    consequences: tuple[Consequence, ...]
    consistent: bool | None
    explanation: Explanation | None
    reason: str
    budget_exhausted: bool = False

    @property
    def literals(self) -> tuple[Constraint, ...]:
        """The forced literals, in order."""
        return tuple(item.literal for item in self.consequences)


@dataclass(frozen=True)
class Completion:
    """Answer of `KnowledgeBase.complete`: a case of maximum soft weight.

    Attributes
    ----------
    facts : tuple of Constraint
    consistent : bool or None
        Whether the facts and the hard constraints can hold together.
    case : Case or None
        One known value per feature (None only for a feature with no values);
        None when there is no such case or the budget ran out.
    weight : float
        Total weight of the soft constraints the case satisfies.
    cost : float
        Total weight of the soft constraints it does not satisfy.
    satisfied, violated : tuple of str
        Labels of the soft constraints the case satisfies and does not satisfy.
    explanation : Explanation or None
        When inconsistent, the conflict among the facts and hard constraints.
    reason : str
    budget_exhausted : bool
    """

    facts: tuple[Constraint, ...]
    consistent: bool | None
    case: Case | None
    weight: float
    cost: float
    satisfied: tuple[str, ...]
    violated: tuple[str, ...]
    explanation: Explanation | None
    reason: str
    budget_exhausted: bool = False


@dataclass(frozen=True)
class Classification:
    """Answer of `KnowledgeBase.classify`.

    Attributes
    ----------
    facts : tuple of Constraint
    target : str
    possible : tuple of str
        Labels of the target values some consistent case takes, in schema order.
    forced : str or None
        The label every consistent case takes, if there is one.
    undecided : tuple of str
        Labels the budget ran out on; empty unless `budget_exhausted`.
    consistent : bool or None
    explanation : Explanation or None
        The steps that force `forced`, or the conflict when inconsistent.
    reason : str
    budget_exhausted : bool
    """

    facts: tuple[Constraint, ...]
    target: str
    possible: tuple[str, ...]
    forced: str | None
    consistent: bool | None
    explanation: Explanation | None
    reason: str
    undecided: tuple[str, ...] = field(default=())
    budget_exhausted: bool = False


def _status(value: bool | None) -> Status:
    if value is None:
        return Status.UNKNOWN
    return Status.TRUE if value else Status.FALSE
