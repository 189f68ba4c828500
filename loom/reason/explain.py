"""Explanations: minimal unsatisfiable subsets of assumptions, ordered as a chain.

`minimize` shrinks an unsatisfiable core by deletion until every part is needed.
`chain` orders the parts from the facts towards the conclusion, along the features
they share in a networkx graph. Neither checks that the core it is given is one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from loom.constraints.ast import Constraint, features
from loom.reason.budget import BudgetExhausted, Meter
from loom.reason.results import Explanation, Step

__all__ = ["Part", "chain", "explain", "minimize"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Part:
    """A fact or constraint that a query assumes through its selector literal."""

    selector: int
    kind: Literal["fact", "constraint"]
    constraint: Constraint
    label: str | None
    position: int


def minimize(
    meter: Meter,
    solver: Any,
    fixed: Sequence[int],
    parts: Sequence[Part],
    core: Sequence[int],
) -> tuple[list[Part], bool]:
    """Shrink the parts in `core` to a minimal set that stays unsatisfiable.

    Parameters
    ----------
    meter : Meter
        Budget for the SAT calls.
    solver : pysat solver
        Where ``fixed`` plus the selectors of the parts in `core` is unsatisfiable.
    fixed : sequence of int
        Assumptions every call keeps (the negated goal).
    parts : sequence of Part
        Every part the query assumed, in the order deletion tries them.
    core : sequence of int
        The failed assumptions the solver reported.

    Returns
    -------
    parts : list of Part
        The parts left, in the order of `parts`.
    minimal : bool
        False when the budget ran out before every part was tried.
    """
    in_core = set(core)
    current = [part for part in parts if part.selector in in_core]
    position = 0
    while position < len(current):
        trial = current[:position] + current[position + 1 :]
        try:
            satisfiable = meter.solve(solver, [*fixed, *(p.selector for p in trial)])
        except BudgetExhausted:
            return current, False
        if satisfiable:
            position += 1
            continue
        # Every part before `position` is needed, so it is in any unsatisfiable
        # subset, the new core included. The core may also drop later parts.
        smaller = set(solver.get_core() or ())
        current = [part for part in trial if part.selector in smaller]
    return current, True


def chain(parts: Sequence[Part], conclusion: Constraint) -> tuple[Step, ...]:
    """Order the parts of an explanation as steps a reader can follow.

    Parts that share a feature are linked. Facts come first, then each constraint by
    its distance from the facts in that graph. Among equals, the one farther from the
    conclusion's features comes first, and parts that no fact reaches come last. Each
    step records the earlier steps it shares a feature with.
    """
    import networkx as nx

    mentioned = [set(features(part.constraint)) for part in parts]
    graph = nx.Graph()
    graph.add_nodes_from(range(len(parts)))
    for i in range(len(parts)):
        for j in range(i + 1, len(parts)):
            if mentioned[i] & mentioned[j]:
                graph.add_edge(i, j)

    unreachable = len(parts) + 1
    facts = [i for i, part in enumerate(parts) if part.kind == "fact"]
    from_facts = nx.multi_source_dijkstra_path_length(graph, facts) if facts else {}
    goal_features = set(features(conclusion))
    near_goal = [i for i in range(len(parts)) if mentioned[i] & goal_features]
    to_goal = (
        nx.multi_source_dijkstra_path_length(graph, near_goal) if near_goal else {}
    )

    def rank(i: int) -> tuple[int, int, int, int]:
        kind = 0 if parts[i].kind == "fact" else 1
        return (
            from_facts.get(i, unreachable),
            kind,
            -to_goal.get(i, unreachable),
            parts[i].position,
        )

    # Each link points from the earlier step to the later one, so the graph is a
    # DAG whose topological order, ties broken by rank, is the chain.
    dependencies = nx.DiGraph()
    dependencies.add_nodes_from(range(len(parts)))
    for i, j in graph.edges:
        first, second = sorted((i, j), key=rank)
        dependencies.add_edge(first, second)
    order = list(nx.lexicographical_topological_sort(dependencies, key=rank))
    step_of = {node: step for step, node in enumerate(order)}
    return tuple(
        Step(
            kind=parts[node].kind,
            constraint=parts[node].constraint,
            label=parts[node].label,
            uses=_uses(parts[node], dependencies, node, step_of),
        )
        for node in order
    )


def _uses(
    part: Part, dependencies: Any, node: int, step_of: dict[int, int]
) -> tuple[int, ...]:
    # A fact is given, so it uses nothing even when it shares a feature.
    if part.kind == "fact":
        return ()
    return tuple(sorted(step_of[p] for p in dependencies.predecessors(node)))


def explain(
    meter: Meter,
    solver: Any,
    *,
    fixed: Sequence[int],
    parts: Sequence[Part],
    core: Sequence[int],
    conclusion: Constraint,
) -> Explanation:
    """Minimize the core and order what is left: the explanation of `conclusion`."""
    needed, minimal = minimize(meter, solver, fixed, parts, core)
    if not minimal:
        logger.debug("explanation of %s left unminimized: %s", conclusion, meter.reason)
    return Explanation(conclusion, chain(needed, conclusion), minimal=minimal)
