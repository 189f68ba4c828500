"""Discovery with a crystal store: crystals as fixed rules of every genome, and the
rules of a run offered back to the store with their evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from loom.constraints.ast import TRUE, And, Cardinality, Compare, Constraint, Implies
from loom.crystal import (
    Candidate,
    Crystal,
    CrystallizationPolicy,
    CrystalStore,
    Provenance,
    evidence_for,
    fold_scenarios,
    warn_foreign_crystals,
)
from loom.crystal.records import crystal_id
from loom.data.schema import label_value
from loom.data.table import BitTable
from loom.evolve.literals import Code
from loom.evolve.model import RuleSet
from loom.evolve.task import Rule, Task
from loom.exceptions import ConstraintError, InvalidParameterError
from loom.kernels import encode_literal

__all__ = ["crystallize", "fixed_rules"]

logger = logging.getLogger(__name__)


def _check_store(store: object) -> CrystalStore:
    if not isinstance(store, CrystalStore):
        msg = f"store must be a CrystalStore, got {type(store).__name__}."
        raise InvalidParameterError(msg)
    return store


def fixed_rules(
    store: CrystalStore,
    task: Task,
    target: str,
    positive: str | None,
    *,
    dataset_fingerprint: str,
    backbone_fingerprint: str | None = None,
) -> tuple[list[Rule], list[Crystal]]:
    """Return the active crystals about `target` that this run can apply, as rules.

    A crystal applies when it reads ``if <conjunction> then target = <class>`` over
    literals this table's schema has (for a two-class target, the class must be the
    positive one). Crystals recorded on another data set or backbone are applied too,
    after one `ForeignCrystalWarning`; crystals whose literals this schema lacks are
    skipped with a log line.
    """
    store = _check_store(store)
    rules: list[Rule] = []
    used: list[Crystal] = []
    for crystal in store.active(target=target):
        constraint = crystal.constraint
        if not isinstance(constraint, Implies):
            continue
        conclusion = constraint.consequent
        if not (
            isinstance(conclusion, Compare)
            and conclusion.feature == target
            and conclusion.op == "="
        ):
            continue
        if positive is not None and conclusion.value != label_value(positive):
            continue
        try:
            rule = _codes(task, constraint.antecedent)
        except (ConstraintError, KeyError) as err:
            logger.info("crystal %s does not fit this schema: %s", crystal.id[:12], err)
            continue
        if rule not in rules:
            rules.append(rule)
            used.append(crystal)
    if used:
        warn_foreign_crystals(
            used,
            dataset_fingerprint=dataset_fingerprint,
            backbone_fingerprint=backbone_fingerprint,
            stacklevel=4,
        )
    return rules, used


def _codes(task: Task, condition: Constraint) -> Rule:
    """Return the literal codes of a conjunction in this task's literal space."""
    if condition == TRUE:
        return ()
    parts = condition.operands if isinstance(condition, And) else (condition,)
    schema = task.space.schema
    codes: list[Code] = []
    for part in parts:
        if isinstance(part, Cardinality):
            operands = [encode_literal(schema, operand) for operand in part.operands]
            code = task.pool.add(part.kind, operands, part.bound)
            if code is None:
                msg = f"{str(part)!r} is not a condition the search uses"
                raise ConstraintError(msg)
            codes.append(code)
        else:
            codes.append(encode_literal(schema, part))
    simple = task.space.simplify(codes)
    if simple is None:
        msg = f"{str(condition)!r} is contradictory"
        raise ConstraintError(msg)
    return simple


def crystallize(
    store: CrystalStore,
    model: RuleSet,
    table: BitTable,
    *,
    scenarios: Mapping[str, NDArray[np.uint64]] | None,
    policy: CrystallizationPolicy | None,
    options: Mapping[str, Any],
    seed: int | None,
    backbone_fingerprint: str | None = None,
) -> dict[str, Any]:
    """Measure the model's rules on the scenarios and offer them to the store.

    The candidates are the model's rules, every other rule of the Pareto fronts the
    search ended with (the inner folds' and the final one), and the active crystals
    about the target on this table's schema, which get new evidence whether or not
    the search found them again; see `crystallize_constraints`.
    """
    nodes = [
        Implies(rule.condition, model._conclusion(rule.prediction))
        for rule in model.rules
        if rule.condition != TRUE
    ]
    # The other rules of the search's Pareto fronts are candidates too, and every
    # crystal about the target on this schema is measured again.
    stored = [
        crystal.constraint
        for crystal in _check_store(store).active(target=model.target)
        if crystal.schema_fingerprint == table.schema.fingerprint
    ]
    nodes = list(dict.fromkeys([*nodes, *model._front_rules, *stored]))
    return crystallize_constraints(
        store,
        nodes,
        table,
        scenarios=scenarios,
        policy=policy,
        options=options,
        seed=seed,
        target=model.target,
        backbone_fingerprint=backbone_fingerprint,
    )


def crystallize_constraints(
    store: CrystalStore,
    nodes: list[Constraint],
    table: BitTable,
    *,
    scenarios: Mapping[str, NDArray[np.uint64]] | None,
    policy: CrystallizationPolicy | None,
    seed: int | None,
    options: Mapping[str, Any] | None = None,
    target: str | None = None,
    backbone_fingerprint: str | None = None,
) -> dict[str, Any]:
    """Measure constraints on the scenarios and offer them to the store.

    A constraint already in the store gets an evidence event whatever its evidence;
    a new one is stored only when it passes `policy` (default
    `CrystallizationPolicy()`). Scenarios default to 5 folds seeded with `seed`.
    Returns the ids of the crystals that got evidence and of the new ones.
    """
    store = _check_store(store)
    policy = policy or CrystallizationPolicy()
    if scenarios is None:
        scenarios = fold_scenarios(table, 5, random_state=seed or 0)
    report: dict[str, Any] = {"new": [], "evidence": [], "scenarios": list(scenarios)}
    if not nodes:
        return report
    evidence = evidence_for(nodes, table, scenarios, target=target)
    provenance = Provenance.of_table(
        table,
        backbone_fingerprint=backbone_fingerprint,
        options=dict(options or {}),
        seed=seed,
    )
    fingerprint = table.schema.fingerprint
    known = {crystal.id for crystal in store.crystals()}
    offered = []
    for node in nodes:
        if crystal_id(str(node), fingerprint) in known or policy.passes(evidence[node]):
            offered.append(Candidate(node, evidence[node], target=target))
    events = store.add(offered, provenance)
    report["new"] = [e.crystal_id for e in events if e.kind == "crystallized"]
    report["evidence"] = [e.crystal_id for e in events if e.kind != "crystallized"]
    logger.info(
        "crystals: %s new, %s with more evidence, of %s candidates",
        len(report["new"]),
        len(report["evidence"]),
        len(nodes),
    )
    return report
