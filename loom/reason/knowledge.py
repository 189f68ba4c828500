"""`KnowledgeBase`: reasoning queries over constraints with one incremental SAT solver.

The constraints are compiled once. Each query compiles its facts and goal, then solves
under assumptions, so it adds only definitions of new sub-formulas to the solver. Every
constraint and fact is guarded by a selector literal, which maps unsatisfiable cores
back to labels and fact text. A knowledge base is not safe to share between threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import Any, TypeVar

from pysat.examples.rc2 import RC2Stratified
from pysat.formula import WCNF
from pysat.solvers import Solver

from loom.constraints.ast import FALSE, Compare, Constraint, Not
from loom.constraints.parser import parse
from loom.data.schema import Schema, label_value
from loom.exceptions import (
    ConstraintError,
    InvalidParameterError,
    KnowledgeBaseClosedError,
)
from loom.reason.budget import Budget, BudgetExhausted, Meter
from loom.reason.compile import Compiler, Rails
from loom.reason.explain import Part, explain
from loom.reason.items import KnowledgeItem, check_weight, knowledge_items, parse_facts
from loom.reason.results import (
    Case,
    Classification,
    Completion,
    Consequence,
    Consequences,
    Consistency,
    Entailment,
    Explanation,
    Status,
)

__all__ = ["SOLVERS", "KnowledgeBase"]

logger = logging.getLogger(__name__)

SOLVERS: tuple[str, ...] = (
    "cadical103",
    "cadical153",
    "cadical195",
    "maplechrono",
    "maplecm",
    "maplesat",
    "mergesat3",
    "minicard",
    "minisat22",
)
"""PySAT solver names a knowledge base accepts: each solves incrementally under
assumptions, reports cores and stops within a few conflicts of a conflict budget.
Left out (PySAT 1.9.dev24): Glucose and Gluecard, which check the budget only at
restarts (100,000 conflicts past a budget of 200 on a pigeonhole instance), and
Kissat and Lingeling, which lack assumptions or budgets."""

_Result = TypeVar("_Result")


def schema_of(constraints: Any) -> Schema:
    """Return the schema a rule set or a crystal store's active crystals refer to.

    Raises
    ------
    InvalidParameterError
        For other knowledge, or a store whose active crystals use several schemas
        (pass `schema`) or none.
    """
    schema = getattr(constraints, "schema", None)
    if isinstance(schema, Schema):
        return schema
    active = getattr(constraints, "active", None)
    if callable(active):
        fingerprints = sorted({crystal.schema_fingerprint for crystal in active()})
        if len(fingerprints) == 1:
            return constraints.schema(fingerprints[0])
        if not fingerprints:
            msg = "the store has no active crystals, so no schema to reason over."
            raise InvalidParameterError(msg)
        listed = ", ".join(f[:12] for f in fingerprints)
        msg = (
            f"the store's active crystals refer to {len(fingerprints)} schemas "
            f"({listed}); pass schema=store.schema(fingerprint) for one of them."
        )
        raise InvalidParameterError(msg)
    msg = "schema is required unless the knowledge is a RuleSet or a CrystalStore."
    raise InvalidParameterError(msg)


class KnowledgeBase:
    """Constraints compiled for reasoning queries, with one incremental SAT solver.

    Parameters
    ----------
    constraints : object
        The knowledge, in one of these forms:

        - a list of constraints or constraint texts, labelled ``"0"``, ``"1"``, ...
        - rule-set text or `Statement` objects, labelled by name and weighted by a
          ``weight`` or ``confidence`` annotation;
        - a mapping of label to constraint;
        - an object with a ``constraint_items()`` method that returns ``(label,
          constraint, weight or None)`` triples, as the crystal store and rule sets
          do (their labels are crystal ids).
    schema : Schema, optional
        The features, their values, thresholds and whether they may be missing.
        Needed unless `constraints` is a `RuleSet` (its schema) or a `CrystalStore`
        whose active crystals share one schema.
    solver : str, default="cadical153"
        PySAT solver name, one of `SOLVERS`.
    budget : Budget, optional
        Default limits of every query; a query's own `budget` argument replaces it.

    Raises
    ------
    UnknownFeatureError, ConstraintError
        If a constraint does not fit the schema; the message names its label.
    InvalidParameterError
        For an unknown solver, a label used twice or a weight that is not > 0.

    Notes
    -----
    A constraint, fact or goal holds on a case only where it is TRUE in Kleene's
    three-valued logic, exactly as `loom.evaluate` decides on a row, so a missing
    value can leave a goal neither true nor false. Schema axioms always hold: a
    categorical feature takes one of its values (or is missing where allowed), and
    numeric features range over the real numbers.

    Examples
    --------
    >>> from loom import FeatureSpec, KnowledgeBase, Schema
    >>> schema = Schema((
    ...     FeatureSpec("a", "boolean", values=("false", "true")),
    ...     FeatureSpec("b", "boolean", values=("false", "true")),
    ...     FeatureSpec("y", "categorical", values=("e", "p")),
    ... ))
    >>> with KnowledgeBase({"r1": "if a and b then y = p"}, schema) as kb:
    ...     answer = kb.entails("a and b", "y = p")
    >>> str(answer.status), answer.explanation.labels
    ('true', ('r1',))
    """

    def __init__(
        self,
        constraints: Any,
        schema: Schema | None = None,
        *,
        solver: str = "cadical153",
        budget: Budget | None = None,
    ) -> None:
        if schema is None:
            schema = schema_of(constraints)
        if solver not in SOLVERS:
            msg = f"solver must be one of {', '.join(SOLVERS)}; got {solver!r}."
            raise InvalidParameterError(msg)
        self.schema = schema
        self.solver_name = solver
        self.budget = _checked_budget(budget)
        self.items: tuple[KnowledgeItem, ...] = tuple(knowledge_items(constraints))
        self._compiler = Compiler(schema)
        self._item_parts: list[Part] = []
        self._label_index = {item.label: i for i, item in enumerate(self.items)}
        for index, item in enumerate(self.items):
            true, _ = self._compile(item.constraint, f"constraint {item.label!r}")
            selector = self._selector(("item", index), true)
            self._item_parts.append(
                Part(selector, "constraint", item.constraint, item.label, index)
            )
        self._solver: Any = Solver(name=solver)
        self._sent = 0
        self._flush()
        logger.info(
            "compiled %d constraints over %d features: %d variables, %d clauses",
            len(self.items),
            schema.n_features,
            self._compiler.pool.top,
            len(self._compiler.clauses),
        )

    # -- lifetime ----------------------------------------------------------------

    def close(self) -> None:
        """Free the solver. Closing again does nothing."""
        if self._solver is not None:
            self._solver.delete()
            self._solver = None

    @property
    def closed(self) -> bool:
        """Whether `close` has run."""
        return self._solver is None

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return (
            f"KnowledgeBase(n_constraints={len(self.items)}, "
            f"n_features={self.schema.n_features}, solver={self.solver_name!r}{state})"
        )

    # -- queries -----------------------------------------------------------------

    def check(self, facts: Any = None, *, budget: Budget | None = None) -> Consistency:
        """Decide whether the facts are consistent with the constraints.

        Parameters
        ----------
        facts : str, Constraint, list of those, or None
            Constraint text such as ``"tl = x and tm = x"``; a conjunction counts as
            separate facts.
        budget : Budget, optional
            Limits of this query, in place of the knowledge base's budget.

        Returns
        -------
        Consistency
            When inconsistent, the explanation is a minimal set of facts and
            constraints that conflict (its conclusion is ``false``).

        Raises
        ------
        UnknownFeatureError, ConstraintError
            If a fact names an unknown feature or value.
        """
        fact_nodes, parts = self._prepare(facts)
        meter = Meter(self._query_budget(budget))

        def run() -> Consistency:
            conflict = self._conflict(meter, parts)
            if conflict is None:
                return Consistency(fact_nodes, True, None, "the facts are consistent")
            reason = "the facts contradict the constraints"
            return Consistency(fact_nodes, False, conflict, reason)

        def out_of_budget(reason: str) -> Consistency:
            return Consistency(fact_nodes, None, None, reason, budget_exhausted=True)

        return self._run(run, out_of_budget)

    def entails(
        self, facts: Any, goal: str | Constraint, *, budget: Budget | None = None
    ) -> Entailment:
        """Decide whether the facts and the constraints force the goal.

        Parameters
        ----------
        facts : str, Constraint, list of those, or None
        goal : str or Constraint
        budget : Budget, optional

        Returns
        -------
        Entailment
            Status TRUE when every consistent case makes the goal true, FALSE when
            every one makes it false, else UNKNOWN with two witness cases. TRUE and
            FALSE come with a minimal explanation ordered as a chain.

        Raises
        ------
        UnknownFeatureError, ConstraintError
            If a fact or the goal names an unknown feature or value.
        """
        fact_nodes, parts = self._prepare(facts)
        goal_node = parse(goal)
        goal_true, goal_false = self._compile(goal_node, "goal")
        self._flush()
        meter = Meter(self._query_budget(budget))
        state: dict[str, Any] = {}

        def run() -> Entailment:
            witnesses: list[Case] = []
            for status, literal, conclusion in (
                (Status.TRUE, goal_true, goal_node),
                (Status.FALSE, goal_false, Not(goal_node)),
            ):
                selectors = [part.selector for part in parts]
                if meter.solve(self._solver, [*selectors, -literal]):
                    state["consistent"] = True
                    witnesses.append(self._case())
                    continue
                return self._forced(
                    meter,
                    parts,
                    literal,
                    conclusion,
                    fact_nodes,
                    goal_node,
                    status,
                    state,
                )
            reason = "neither the goal nor its negation follows from the facts"
            return Entailment(
                fact_nodes,
                goal_node,
                Status.UNKNOWN,
                None,
                reason,
                witnesses=tuple(witnesses),
            )

        def out_of_budget(reason: str) -> Entailment:
            return Entailment(
                fact_nodes,
                goal_node,
                Status.UNKNOWN,
                None,
                reason,
                consistent=state.get("consistent"),
                budget_exhausted=True,
            )

        return self._run(run, out_of_budget)

    def consequences(
        self, facts: Any = None, *, budget: Budget | None = None
    ) -> Consequences:
        """Find every feature literal the facts force (the backbone), with reasons.

        A boolean feature gives ``x`` or ``not x``. A categorical one gives ``x = v``,
        or else each ``x != v`` that is forced. A numeric one gives its tightest
        forced bounds (``x > c``, ``x >= c``, ``x < c``, ``x <= c``) over its cut
        points, which are the schema's thresholds and the numbers compared so far.

        Parameters
        ----------
        facts : str, Constraint, list of those, or None
        budget : Budget, optional

        Returns
        -------
        Consequences
        """
        fact_nodes, parts = self._prepare(facts)
        candidates = self._backbone_candidates()
        self._flush()
        meter = Meter(self._query_budget(budget))
        found: list[Consequence] = []
        state: dict[str, Any] = {}

        def run() -> Consequences:
            conflict = self._conflict(meter, parts)
            if conflict is not None:
                reason = "the facts contradict the constraints"
                return Consequences(fact_nodes, (), False, conflict, reason)
            state["consistent"] = True
            self._backbone(meter, parts, candidates, found)
            forced = self._tightest(found)
            reason = f"{len(forced)} literals follow from the facts"
            return Consequences(fact_nodes, forced, True, None, reason)

        def out_of_budget(reason: str) -> Consequences:
            return Consequences(
                fact_nodes,
                self._tightest(found),
                state.get("consistent"),
                None,
                reason,
                budget_exhausted=True,
            )

        return self._run(run, out_of_budget)

    def complete(
        self,
        facts: Any = None,
        *,
        soft: Mapping[str | Constraint, float] | None = None,
        budget: Budget | None = None,
    ) -> Completion:
        """Find a full case of maximum total weight of satisfied soft constraints.

        Facts are hard. A constraint with a weight is soft with that weight, one
        without is hard. The search is MaxSAT with RC2 (stratified).

        Parameters
        ----------
        facts : str, Constraint, list of those, or None
        soft : mapping, optional
            Weights by constraint label, which make that constraint soft with that
            weight, and by any other constraint (node or text), which adds it as a
            soft constraint. Weights must be finite and > 0.
        budget : Budget, optional

        Returns
        -------
        Completion
            The case gives every feature a value, because Kleene logic is monotone:
            a missing value turned into any known one keeps every TRUE formula TRUE,
            so a known value never costs weight.
        """
        fact_nodes, parts = self._prepare(facts)
        weights, extra = self._soft_weights(soft)
        extra_parts = []
        for position, (node, _) in enumerate(extra):
            true, _ = self._compile(node, f"soft constraint {str(node)!r}")
            selector = self._selector(("soft", node), true)
            extra_parts.append(Part(selector, "constraint", node, str(node), position))
        self._flush()
        meter = Meter(self._query_budget(budget))

        def run() -> Completion:
            return self._complete(meter, fact_nodes, parts, weights, extra, extra_parts)

        def out_of_budget(reason: str) -> Completion:
            return _no_completion(fact_nodes, None, None, reason, budget_exhausted=True)

        return self._run(run, out_of_budget)

    def classify(
        self,
        facts: Any,
        target: str | None = None,
        *,
        budget: Budget | None = None,
    ) -> Classification:
        """Find the target values the facts leave possible, and the forced one.

        Parameters
        ----------
        facts : str, Constraint, list of those, or None
        target : str, optional
            A boolean or categorical feature; default the schema's target.
        budget : Budget, optional

        Returns
        -------
        Classification
            When one value is forced, the explanation is the chain that forces it.

        Raises
        ------
        InvalidParameterError
            If there is no target, or it is numeric.
        UnknownFeatureError
            If the target is not a feature of the schema.
        """
        name = self._target(target)
        spec = self.schema.feature(name)
        fact_nodes, parts = self._prepare(facts)
        values = {
            label: self._compile(Compare(name, "=", label_value(label)), "target")
            for label in spec.values
        }
        self._flush()
        meter = Meter(self._query_budget(budget))
        decided: dict[str, bool] = {}
        state: dict[str, Any] = {}

        def possible() -> tuple[str, ...]:
            return tuple(label for label in spec.values if decided.get(label))

        def run() -> Classification:
            conflict = self._conflict(meter, parts)
            if conflict is not None:
                reason = "the facts contradict the constraints"
                return Classification(
                    fact_nodes, name, (), None, False, conflict, reason
                )
            state["consistent"] = True
            return self._classify(meter, fact_nodes, parts, name, values, decided)

        def out_of_budget(reason: str) -> Classification:
            undecided = tuple(label for label in spec.values if label not in decided)
            return Classification(
                fact_nodes,
                name,
                possible(),
                None,
                state.get("consistent"),
                None,
                reason,
                undecided=undecided,
                budget_exhausted=True,
            )

        return self._run(run, out_of_budget)

    # -- query steps -------------------------------------------------------------

    def _run(
        self, run: Callable[[], _Result], out_of_budget: Callable[[str], _Result]
    ) -> _Result:
        try:
            return run()
        except BudgetExhausted as exhausted:
            logger.info("query stopped: %s", exhausted)
            return out_of_budget(str(exhausted))

    def _conflict(self, meter: Meter, parts: Sequence[Part]) -> Explanation | None:
        """Return None when the parts are consistent, else their minimal conflict."""
        if meter.solve(self._solver, [part.selector for part in parts]):
            return None
        core = self._solver.get_core() or []
        return explain(
            meter, self._solver, fixed=[], parts=parts, core=core, conclusion=FALSE
        )

    def _forced(
        self,
        meter: Meter,
        parts: Sequence[Part],
        literal: int,
        conclusion: Constraint,
        fact_nodes: tuple[Constraint, ...],
        goal: Constraint,
        status: Status,
        state: dict[str, Any],
    ) -> Entailment:
        """Build the entailment once ``facts and not literal`` is unsatisfiable."""
        core = self._solver.get_core() or []
        if -literal in core and not state.get("consistent"):
            # The core used the goal, but the facts alone may still conflict.
            if meter.solve(self._solver, [part.selector for part in parts]):
                state["consistent"] = True
            else:
                core = self._solver.get_core() or []
        if state.get("consistent"):
            explanation = explain(
                meter,
                self._solver,
                fixed=[-literal],
                parts=parts,
                core=core,
                conclusion=conclusion,
            )
            reason = f"the goal is {status}: {conclusion} follows from the facts"
            return Entailment(fact_nodes, goal, status, explanation, reason)
        state["consistent"] = False
        explanation = explain(
            meter, self._solver, fixed=[], parts=parts, core=core, conclusion=FALSE
        )
        reason = "the facts contradict the constraints, so every goal follows"
        return Entailment(
            fact_nodes, goal, Status.TRUE, explanation, reason, consistent=False
        )

    def _backbone(
        self,
        meter: Meter,
        parts: Sequence[Part],
        candidates: list[tuple[Constraint, int]],
        found: list[Consequence],
    ) -> None:
        """Test each candidate literal true in a model; keep those no model refutes."""
        selectors = [part.selector for part in parts]
        true_now = set(self._model())
        alive = [(node, literal) for node, literal in candidates if literal in true_now]
        refuted: set[int] = set()
        for node, literal in alive:
            if literal in refuted:
                continue
            if meter.solve(self._solver, [*selectors, -literal]):
                model = set(self._model())
                refuted.update(lit for _, lit in alive if lit not in model)
                continue
            core = self._solver.get_core() or []
            explanation = explain(
                meter,
                self._solver,
                fixed=[-literal],
                parts=parts,
                core=core,
                conclusion=node,
            )
            found.append(Consequence(node, explanation))

    def _classify(
        self,
        meter: Meter,
        fact_nodes: tuple[Constraint, ...],
        parts: Sequence[Part],
        name: str,
        values: dict[str, Rails],
        decided: dict[str, bool],
    ) -> Classification:
        selectors = [part.selector for part in parts]
        self._mark_values(values, decided)
        for label, (true, _) in values.items():
            if label in decided:
                continue
            if meter.solve(self._solver, [*selectors, true]):
                self._mark_values(values, decided)
            else:
                decided[label] = False
        possible = tuple(label for label in values if decided[label])
        forced = None
        explanation = None
        if len(possible) == 1:
            true = values[possible[0]][0]
            if not meter.solve(self._solver, [*selectors, -true]):
                forced = possible[0]
                core = self._solver.get_core() or []
                conclusion = Compare(name, "=", label_value(forced))
                explanation = explain(
                    meter,
                    self._solver,
                    fixed=[-true],
                    parts=parts,
                    core=core,
                    conclusion=conclusion,
                )
        if forced is not None:
            reason = f"the facts force {name} = {forced}"
        elif possible:
            reason = f"{len(possible)} values of {name} remain possible"
        else:
            reason = f"{name} can only be missing"
        return Classification(
            fact_nodes, name, possible, forced, True, explanation, reason
        )

    def _best_model(
        self, meter: Meter, hard: Sequence[Part], soft: Sequence[tuple[Part, float]]
    ) -> list[int] | None:
        """Return a model of maximum soft weight with every feature known, or None
        when the hard parts conflict."""
        known = [
            self._compiler.known(spec.name)
            for spec in self.schema.features
            if spec.allows_missing and (spec.values or spec.kind == "numeric")
        ]
        hard_selectors = [part.selector for part in hard]
        if not soft:
            if meter.solve(self._solver, [*hard_selectors, *known]):
                return self._model()
            return None
        formula = WCNF()
        formula.extend(self._compiler.clauses)
        formula.extend([literal] for literal in [*hard_selectors, *known])
        for part, weight in soft:
            formula.append([part.selector], weight=weight)
        with _BudgetedRC2(formula, meter, solver=self.solver_name) as maxsat:
            model = maxsat.compute()
        return None if model is None else list(model)

    def _mark_values(self, values: dict[str, Rails], decided: dict[str, bool]) -> None:
        model = set(self._model())
        for label, (true, _) in values.items():
            if true in model:
                decided[label] = True

    def _complete(
        self,
        meter: Meter,
        fact_nodes: tuple[Constraint, ...],
        parts: Sequence[Part],
        weights: dict[int, float],
        extra: list[tuple[Constraint, float]],
        extra_parts: list[Part],
    ) -> Completion:
        facts = [part for part in parts if part.kind == "fact"]
        hard = facts + [
            part for index, part in enumerate(self._item_parts) if index not in weights
        ]
        soft = [(self._item_parts[index], w) for index, w in weights.items()]
        soft += [(part, w) for part, (_, w) in zip(extra_parts, extra, strict=True)]

        model = self._best_model(meter, hard, soft)
        if model is None:
            conflict = self._conflict(meter, hard)
            reason = "the facts contradict the hard constraints"
            return _no_completion(fact_nodes, False, conflict, reason)
        true_now = {literal for literal in model if literal > 0}
        satisfied: list[str] = []
        violated: list[str] = []
        weight = cost = 0.0
        for part, part_weight in soft:
            true, _ = self._compiler.rails(part.constraint)
            is_satisfied = true in true_now if true > 0 else -true not in true_now
            assert part.label is not None
            (satisfied if is_satisfied else violated).append(part.label)
            if is_satisfied:
                weight += part_weight
            else:
                cost += part_weight
        case = MappingProxyType(self._compiler.decode(model))
        reason = f"a case of weight {weight:g} (cost {cost:g})"
        return Completion(
            facts=fact_nodes,
            consistent=True,
            case=case,
            weight=weight,
            cost=cost,
            satisfied=tuple(satisfied),
            violated=tuple(violated),
            explanation=None,
            reason=reason,
        )

    # -- helpers -----------------------------------------------------------------

    def _require_open(self) -> None:
        if self._solver is None:
            msg = "this KnowledgeBase is closed; build a new one to run queries."
            raise KnowledgeBaseClosedError(msg)

    def _compile(self, node: Constraint, role: str) -> Rails:
        try:
            return self._compiler.rails(node)
        except ConstraintError as error:
            msg = f"{role}: {error}"
            raise type(error)(msg) from error

    def _selector(self, key: tuple[Any, ...], true: int) -> int:
        pool = self._compiler.pool
        if key in pool.obj2id:
            return int(pool.obj2id[key])
        selector = int(pool.id(key))
        self._compiler.clauses.append([-selector, true])
        return selector

    def _flush(self) -> None:
        """Send the clauses compiled since the last call to the solver."""
        clauses = self._compiler.clauses
        if self._sent < len(clauses):
            self._solver.append_formula(clauses[self._sent :])
            self._sent = len(clauses)

    def _prepare(self, facts: Any) -> tuple[tuple[Constraint, ...], list[Part]]:
        """Compile the facts and return them with every part a query assumes."""
        # NOTE: definitions of each new fact and goal stay in the solver, so a
        # long-lived knowledge base grows with the distinct facts it is asked about.
        self._require_open()
        fact_nodes = parse_facts(facts)
        fact_parts = []
        for position, node in enumerate(fact_nodes):
            true, _ = self._compile(node, f"fact {str(node)!r}")
            selector = self._selector(("fact", node), true)
            fact_parts.append(Part(selector, "fact", node, None, position))
        self._flush()
        return fact_nodes, fact_parts + self._item_parts

    def _query_budget(self, budget: Budget | None) -> Budget | None:
        return self.budget if budget is None else _checked_budget(budget)

    def _model(self) -> list[int]:
        return list(self._solver.get_model() or [])

    def _case(self) -> Case:
        return MappingProxyType(self._compiler.decode(self._model()))

    def _backbone_candidates(self) -> list[tuple[Constraint, int]]:
        candidates = []
        for spec in self.schema.features:
            for node in self._compiler.literals_of(spec.name):
                candidates.append((node, self._compiler.rails(node)[0]))
        return candidates

    def _tightest(self, found: Sequence[Consequence]) -> tuple[Consequence, ...]:
        """Return the strongest literals per feature, in schema order."""
        by_feature: dict[str, list[Consequence]] = {}
        for item in found:
            by_feature.setdefault(_feature_of(item.literal), []).append(item)
        strongest: list[Consequence] = []
        for spec in self.schema.features:
            items = by_feature.get(spec.name, [])
            if spec.kind == "categorical":
                equal = [i for i in items if _operator(i.literal) == "="]
                strongest.extend(equal or items)
            elif spec.kind == "numeric":
                upper = [i for i in items if _operator(i.literal) in ("<", "<=")]
                lower = [i for i in items if _operator(i.literal) in (">", ">=")]
                if lower:
                    strongest.append(max(lower, key=_cut_key))
                if upper:
                    strongest.append(min(upper, key=_cut_key))
            else:
                strongest.extend(items)
        return tuple(strongest)

    def _soft_weights(
        self, soft: Mapping[str | Constraint, float] | None
    ) -> tuple[dict[int, float], list[tuple[Constraint, float]]]:
        """Return item weights by position, and extra soft constraints."""
        weights = {
            index: item.weight
            for index, item in enumerate(self.items)
            if item.weight is not None
        }
        extra: list[tuple[Constraint, float]] = []
        if soft is None:
            return weights, extra
        if not isinstance(soft, Mapping):
            msg = (
                "soft must be a mapping of constraint label or constraint to weight, "
                f"got {type(soft).__name__}."
            )
            raise InvalidParameterError(msg)
        for key, value in soft.items():
            label = key if isinstance(key, str) else str(key)
            weight = check_weight(value, label)
            if weight is None:
                msg = f"soft weight of {label!r} must be a number > 0, got None."
                raise InvalidParameterError(msg)
            if isinstance(key, str) and key in self._label_index:
                weights[self._label_index[key]] = weight
            else:
                extra.append((parse(key), weight))
        return weights, extra

    def _target(self, target: str | None) -> str:
        name = target if target is not None else self.schema.target
        if name is None:
            msg = (
                "classify needs a target: the schema has none, so pass "
                "target='<feature name>'."
            )
            raise InvalidParameterError(msg)
        spec = self.schema.feature(name)
        if spec.kind == "numeric":
            msg = (
                f"classify needs a boolean or categorical target, but {name!r} is "
                "numeric; ask entails() about a bound such as "
                f"'{name} <= <value>' instead."
            )
            raise InvalidParameterError(msg)
        return name


class _BudgetedRC2(RC2Stratified):  # type: ignore[misc]
    """RC2 whose SAT calls spend a query's budget.

    RC2 sends every SAT call through ``_call_oracle``. With a budget, this override
    runs the call through the meter, which raises `BudgetExhausted` when spent.
    """

    # NOTE: `_call_oracle` is internal to PySAT's RC2 (read in 1.9.dev24). A release
    # that renames it would leave `complete` without a budget.

    def __init__(self, formula: WCNF, meter: Meter, *, solver: str) -> None:
        self._meter = meter
        super().__init__(formula, solver=solver, exhaust=True, minz=True)

    def _call_oracle(
        self, assumptions: Sequence[int] = (), expect_interrupt: bool = False
    ) -> bool | None:
        if self._meter.budget.unlimited:
            return super()._call_oracle(  # type: ignore[no-any-return]
                assumptions=list(assumptions), expect_interrupt=expect_interrupt
            )
        return self._meter.solve(self.oracle, assumptions)


def _no_completion(
    facts: tuple[Constraint, ...],
    consistent: bool | None,
    conflict: Explanation | None,
    reason: str,
    *,
    budget_exhausted: bool = False,
) -> Completion:
    return Completion(
        facts=facts,
        consistent=consistent,
        case=None,
        weight=0.0,
        cost=0.0,
        satisfied=(),
        violated=(),
        explanation=conflict,
        reason=reason,
        budget_exhausted=budget_exhausted,
    )


def _checked_budget(budget: Budget | None) -> Budget | None:
    if budget is not None and not isinstance(budget, Budget):
        msg = (
            f"budget must be a loom.Budget or None, got {type(budget).__name__}; "
            "pass e.g. Budget(conflicts=10_000, seconds=5)."
        )
        raise InvalidParameterError(msg)
    return budget


def _feature_of(node: Constraint) -> str:
    inner = node.operand if isinstance(node, Not) else node
    name: str = inner.feature  # type: ignore[attr-defined]
    return name


def _operator(node: Constraint) -> str:
    return node.op if isinstance(node, Compare) else ""


def _cut_key(item: Consequence) -> tuple[float, int]:
    node = item.literal
    assert isinstance(node, Compare)
    assert isinstance(node.value, float)
    # `x < c` lies just below `x <= c` in the order of cut points.
    return (node.value, 0 if node.op in ("<", ">=") else 1)
