"""Reliability of constraints across scenarios: evidence, its lower bound, the policy
that decides which constraints crystallize, and the scenario builders.

A scenario is a named subset of a table's rows, given as a packed row mask (uint64
words, row ``r`` is bit ``r % 64`` of word ``r // 64``, padding bits zero). Counts are
taken with three-valued logic, so a row whose missing value leaves a constraint
undecided counts in no numerator and no denominator.

Where a constraint applies and where it holds
    The *condition* of an implication ``if A then C`` (or ``A -> C``) is its
    antecedent ``A`` and its *conclusion* is ``C``. Any other constraint is an
    invariant: its condition is ``true`` and its conclusion is the whole constraint.
    In a scenario, the constraint *applies* to the rows where its condition is true
    and the constraint is decided (true or false); it *holds* on the rows where its
    condition is true and the constraint is true. For an implication those are the
    rows with ``A`` true and ``C`` known, and with ``A`` true and ``C`` true.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from loom.constraints.ast import (
    Compare,
    Constant,
    Constraint,
    Implies,
    features,
    format_name,
    format_number,
)
from loom.constraints.evaluate import evaluate
from loom.constraints.parser import parse
from loom.data.bits import n_words, pack_bits, popcount, row_mask
from loom.data.schema import label_value
from loom.data.table import BitTable
from loom.exceptions import ConstraintError, InvalidParameterError

__all__ = [
    "DEFAULT_Z",
    "MAX_WINDOWS",
    "CrystallizationPolicy",
    "Evidence",
    "evidence_for",
    "fold_scenarios",
    "group_scenarios",
    "mask_scenarios",
    "split_rule",
    "wilson_lower_bound",
    "window_scenarios",
]

logger = logging.getLogger(__name__)

Words = NDArray[np.uint64]

DEFAULT_Z = 1.9599639845400536
"""The 0.975 quantile of the standard normal distribution: the Wilson interval at this
z has 95 % two-sided coverage, so its lower end is a 97.5 % one-sided lower bound.
Computed as ``statistics.NormalDist().inv_cdf(0.975)``."""

MAX_WINDOWS = 100_000
"""Maximum number of time windows `window_scenarios` builds. Each window is a mask of
the table's size, so more windows than this usually means a step in the wrong unit."""


# ---------------------------------------------------------------------------
# Lower bound


def wilson_lower_bound(successes: int, trials: int, *, z: float = DEFAULT_Z) -> float:
    """Return the lower end of the Wilson score interval for a binomial proportion.

    With ``p = successes / trials`` and ``n = trials``::

        lower = (p + z²/(2n) - z·sqrt(p(1 - p)/n + z²/(4n²))) / (1 + z²/n)

    Unlike the normal approximation, the bound stays inside [0, 1] and is below 1
    when every trial succeeds, so a rule that held on 5 rows scores lower than one
    that held on 500.

    Parameters
    ----------
    successes : int
        Rows where the constraint holds, ``0 <= successes <= trials``.
    trials : int
        Rows where it applies.
    z : float, default=DEFAULT_Z
        Standard normal quantile; the default gives a 95 % two-sided interval.

    Returns
    -------
    float
        In [0, 1]; 0.0 when `successes` is 0, and so when `trials` is 0: no row
        gives no evidence.

    Examples
    --------
    >>> round(wilson_lower_bound(49, 49), 4), round(wilson_lower_bound(490, 490), 4)
    (0.9273, 0.9922)
    >>> wilson_lower_bound(0, 0)
    0.0
    """
    _check_counts(successes, trials)
    if not (isinstance(z, int | float) and math.isfinite(z) and z >= 0):
        msg = f"z must be a finite number >= 0, got {z!r}."
        raise InvalidParameterError(msg)
    return _wilson(successes, trials, z)


def _wilson(successes: int, trials: int, z: float) -> float:
    if successes == 0:
        return 0.0  # exact; the formula can round to a tiny positive number
    n = float(trials)
    p = successes / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return min(1.0, max(0.0, (centre - margin) / (1 + z2 / n)))


def _check_counts(successes: int, trials: int) -> None:
    for name, value in (("successes", successes), ("trials", trials)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            msg = f"{name} must be an int, got {value!r}."
            raise InvalidParameterError(msg)
    if not 0 <= successes <= trials:
        msg = (
            f"need 0 <= successes <= trials, got successes={successes}, "
            f"trials={trials}."
        )
        raise InvalidParameterError(msg)


# ---------------------------------------------------------------------------
# Evidence


@dataclass(frozen=True)
class Evidence:
    """The counts of one constraint on one scenario, and the measures derived from them.

    Only counts are stored, so the measures always agree with them.

    Parameters
    ----------
    scenario : str
        Name of the scenario.
    n_rows : int
        Rows in the scenario.
    n_applies : int
        Rows where the constraint applies: its condition is true and it is decided.
    n_holds : int
        Rows where it holds: its condition is true and it is true.
    n_conclusion : int
        Rows where its conclusion is decided (for an invariant, the constraint).
    n_conclusion_true : int
        Rows where its conclusion is true.
    z : float, default=DEFAULT_Z
        Normal quantile of `lower_bound`.

    Raises
    ------
    InvalidParameterError
        If a count is not an int or the counts are inconsistent: each must satisfy
        ``n_holds <= n_applies <= n_conclusion <= n_rows`` and
        ``n_holds <= n_conclusion_true <= n_conclusion``.

    Examples
    --------
    >>> evidence = Evidence("fold 1/5", n_rows=87, n_applies=49, n_holds=49,
    ...                     n_conclusion=87, n_conclusion_true=53)
    >>> evidence.confidence, round(evidence.lift, 4), round(evidence.lower_bound, 4)
    (1.0, 1.6415, 0.9273)
    """

    scenario: str
    n_rows: int
    n_applies: int
    n_holds: int
    n_conclusion: int
    n_conclusion_true: int
    z: float = DEFAULT_Z

    def __post_init__(self) -> None:
        if not isinstance(self.scenario, str) or not self.scenario:
            msg = f"scenario must be a non-empty string, got {self.scenario!r}."
            raise InvalidParameterError(msg)
        for name in _COUNT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                msg = f"Evidence.{name} must be an int, got {value!r}."
                raise InvalidParameterError(msg)
            object.__setattr__(self, name, int(value))
        consistent = (
            0 <= self.n_holds <= self.n_applies <= self.n_conclusion <= self.n_rows
            and self.n_holds <= self.n_conclusion_true <= self.n_conclusion
        )
        if not consistent:
            counts = ", ".join(
                f"{name}={getattr(self, name)}" for name in _COUNT_FIELDS
            )
            msg = (
                f"inconsistent evidence counts for {self.scenario!r}: {counts}; they "
                "must satisfy n_holds <= n_applies <= n_conclusion <= n_rows and "
                "n_holds <= n_conclusion_true <= n_conclusion."
            )
            raise InvalidParameterError(msg)
        z = self.z
        valid = isinstance(z, int | float) and not isinstance(z, bool)
        if not valid or not math.isfinite(z) or z < 0:
            msg = f"Evidence.z must be a finite number >= 0, got {z!r}."
            raise InvalidParameterError(msg)
        object.__setattr__(self, "z", float(z))

    @property
    def confidence(self) -> float | None:
        """``n_holds / n_applies``; None when the constraint applies to no row."""
        return self.n_holds / self.n_applies if self.n_applies else None

    @property
    def lift(self) -> float | None:
        """Confidence over the rate at which the conclusion is true where decided.

        None when either is undefined or the rate is 0. An invariant's conclusion is
        the constraint itself, so its lift is 1.
        """
        confidence = self.confidence
        if confidence is None or not self.n_conclusion_true:
            return None
        return confidence * self.n_conclusion / self.n_conclusion_true

    @property
    def lower_bound(self) -> float:
        """`wilson_lower_bound` of `n_holds` out of `n_applies` at `z`."""
        return _wilson(self.n_holds, self.n_applies, self.z)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of the fields; the measures are left out."""
        return {
            "scenario": self.scenario,
            "n_rows": self.n_rows,
            "n_applies": self.n_applies,
            "n_holds": self.n_holds,
            "n_conclusion": self.n_conclusion,
            "n_conclusion_true": self.n_conclusion_true,
            "z": self.z,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        """Build evidence from `to_dict` output.

        Raises
        ------
        InvalidParameterError
            If a key is missing or extra, or a value is out of range.
        """
        if not isinstance(data, Mapping) or set(data) != _FIELDS:
            found = sorted(data) if isinstance(data, Mapping) else type(data).__name__
            msg = f"evidence needs exactly the keys {sorted(_FIELDS)}, got {found}."
            raise InvalidParameterError(msg)
        return cls(**data)


_COUNT_FIELDS = ("n_rows", "n_applies", "n_holds", "n_conclusion", "n_conclusion_true")
_FIELDS = frozenset(Evidence.__dataclass_fields__)


# ---------------------------------------------------------------------------
# Policy


@dataclass(frozen=True)
class CrystallizationPolicy:
    """The rule that decides when a constraint is reliable enough to crystallize.

    A scenario *passes* when the constraint's `Evidence.lower_bound` there is at
    least `min_lower_bound`. A scenario where the constraint applies to no row fails,
    because it gives no evidence. The constraint crystallizes when the passing share
    of its scenarios is at least `min_scenario_share` and its support, the sum of
    `Evidence.n_holds` over the scenarios, is at least `min_support`. Overlapping
    scenarios (sliding windows) count a row once per scenario that contains it.

    Parameters
    ----------
    min_lower_bound : float, default=0.75
        In [0, 1]. With the default `DEFAULT_Z`, a rule that held on every one of
        12 rows reaches 0.757 (11 rows: 0.741), and one that failed once in 50 rows
        reaches 0.895.
    min_scenario_share : float, default=0.8
        In (0, 1]; with 5 folds, 4 must pass.
    min_support : int, default=10
        Rows, >= 0.

    Examples
    --------
    >>> policy = CrystallizationPolicy()
    >>> strong = Evidence("a", n_rows=60, n_applies=50, n_holds=50,
    ...                   n_conclusion=60, n_conclusion_true=50)
    >>> weak = Evidence("b", n_rows=60, n_applies=50, n_holds=40,
    ...                 n_conclusion=60, n_conclusion_true=50)
    >>> policy.passes([strong] * 4 + [weak]), policy.passes([strong] * 3 + [weak] * 2)
    (True, False)
    """

    min_lower_bound: float = 0.75
    min_scenario_share: float = 0.8
    min_support: int = 10

    def __post_init__(self) -> None:
        bound = self.min_lower_bound
        if not _is_number(bound) or not 0 <= bound <= 1:
            msg = f"min_lower_bound must be a number in [0, 1], got {bound!r}."
            raise InvalidParameterError(msg)
        share = self.min_scenario_share
        if not _is_number(share) or not 0 < share <= 1:
            msg = f"min_scenario_share must be a number in (0, 1], got {share!r}."
            raise InvalidParameterError(msg)
        support = self.min_support
        if isinstance(support, bool) or not isinstance(support, int) or support < 0:
            msg = f"min_support must be an int >= 0, got {support!r}."
            raise InvalidParameterError(msg)

    def passing_share(self, evidence: Sequence[Evidence]) -> float:
        """Return the share of scenarios whose lower bound reaches the threshold."""
        if not evidence:
            return 0.0
        passing = sum(
            item.n_applies > 0 and item.lower_bound >= self.min_lower_bound
            for item in evidence
        )
        return passing / len(evidence)

    def passes(self, evidence: Sequence[Evidence]) -> bool:
        """Return whether a constraint with this evidence crystallizes.

        No evidence at all never passes.
        """
        if not evidence:
            return False
        support = sum(item.n_holds for item in evidence)
        share = self.passing_share(evidence)
        return support >= self.min_support and share >= self.min_scenario_share

    def select(
        self, evidence: Mapping[Constraint, Sequence[Evidence]]
    ) -> list[Constraint]:
        """Return the constraints that pass, in the mapping's order."""
        return [node for node, items in evidence.items() if self.passes(items)]


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


# ---------------------------------------------------------------------------
# Counting


def split_rule(node: Constraint) -> tuple[Constraint, Constraint]:
    """Return the condition and conclusion of a constraint.

    An implication splits into its antecedent and consequent. Any other constraint
    is an invariant, whose condition is ``true`` and whose conclusion is itself.

    Examples
    --------
    >>> from loom import parse
    >>> [str(part) for part in split_rule(parse("if a and b then c"))]
    ['a and b', 'c']
    >>> [str(part) for part in split_rule(parse("not (a and b)"))]
    ['true', 'not (a and b)']
    """
    if isinstance(node, Implies):
        return node.antecedent, node.consequent
    return Constant(True), node


def evidence_for(
    constraints: Iterable[Constraint | str],
    table: BitTable,
    scenarios: Mapping[str, Words],
    *,
    target: str | None = None,
    z: float = DEFAULT_Z,
) -> dict[Constraint, tuple[Evidence, ...]]:
    """Measure each constraint on each scenario of a table.

    Each constraint is evaluated once on the whole table with whole-word operations.
    The counts per scenario are popcounts of those bit vectors masked by the
    scenario. See the module docstring for where a constraint applies and holds.

    Parameters
    ----------
    constraints : iterable of Constraint or str
        Nodes or constraint text. A repeated constraint is measured once.
    table : BitTable
    scenarios : mapping of str to ndarray of shape (n_words,), dtype=uint64
        Named row masks of `table`, as the ``*_scenarios`` builders return them.
    target : str, optional
        When given, every constraint must be a rule about this feature: its
        conclusion must mention it. Without a target, any constraint is accepted.
    z : float, default=DEFAULT_Z
        Normal quantile of the lower bound.

    Returns
    -------
    dict of Constraint to tuple of Evidence
        One `Evidence` per scenario, in the order of `scenarios`, for each
        constraint in the order given.

    Raises
    ------
    InvalidParameterError
        If a scenario mask has the wrong dtype or shape, or bits set past the last row.
    UnknownFeatureError, ConstraintError
        If a constraint does not fit the table's schema, or its conclusion does not
        mention `target`.

    Examples
    --------
    >>> import pandas as pd
    >>> from loom import BitTable
    >>> table = BitTable.from_frame(pd.DataFrame({
    ...     "wet": [True, True, True, False, False, True],
    ...     "rain": [True, True, False, False, True, True]}))
    >>> scenarios = mask_scenarios({"first": [1, 1, 1, 0, 0, 0],
    ...                             "last": [0, 0, 0, 1, 1, 1]}, table.n_rows)
    >>> result = evidence_for(["if rain then wet"], table, scenarios)
    >>> rule = parse("if rain then wet")
    >>> [(item.scenario, item.n_applies, item.n_holds) for item in result[rule]]
    [('first', 2, 2), ('last', 2, 1)]
    """
    if isinstance(constraints, str | Constraint):
        msg = (
            "constraints must be a sequence of constraints, got a single "
            f"{type(constraints).__name__}; pass [{str(constraints)!r}]."
        )
        raise InvalidParameterError(msg)
    names, masks = _checked_scenarios(scenarios, table.n_rows)
    if target is not None:
        table.schema.feature(target)  # raises UnknownFeatureError with the known names
    nodes = list(dict.fromkeys(parse(item) for item in constraints))
    sizes = np.array([popcount(mask) for mask in masks], dtype=np.int64)
    result: dict[Constraint, tuple[Evidence, ...]] = {}
    batched = _kernel_counts(nodes, table, masks, target)
    for node in nodes:
        counts = batched.get(node)
        if counts is None:
            counts = _count_rows(_rule_vectors(node, table, target), masks)
        result[node] = tuple(
            Evidence(
                name,
                n_rows=int(sizes[index]),
                n_applies=int(counts[0, index]),
                n_holds=int(counts[1, index]),
                n_conclusion=int(counts[2, index]),
                n_conclusion_true=int(counts[3, index]),
                z=z,
            )
            for index, name in enumerate(names)
        )
    logger.debug(
        "measured %s constraints on %s scenarios of %s rows",
        len(nodes),
        len(names),
        table.n_rows,
    )
    return result


def _kernel_counts(
    nodes: list[Constraint], table: BitTable, masks: Words, target: str | None
) -> dict[Constraint, NDArray[np.int64]]:
    """Count rules of the form ``if <conjunction of literals> then <literal>`` with the
    batched kernels: one `score_rules` call per conclusion and scenario for all the
    rules that share them. Other constraints are left out of the result.

    Returns, per rule, the counts of `_count_rows` (applies, holds, conclusion
    decided, conclusion true) per scenario.
    """
    from loom.kernels import Conditions, encode_literal, score_rules

    groups: dict[int, list[tuple[Constraint, list[int], list[tuple[Any, ...]]]]] = {}
    for node in nodes:
        if not isinstance(node, Implies):
            continue
        if target is not None and target not in features(node.consequent):
            continue  # _rule_vectors raises the error that names the target
        try:
            conclusion = encode_literal(table, node.consequent)
            codes, conditions = _conjunction_codes(node.antecedent, table, encode_literal)
        except (ConstraintError, KeyError):
            continue
        groups.setdefault(conclusion, []).append((node, codes, conditions))
    result: dict[Constraint, NDArray[np.int64]] = {}
    column_feature = table.schema.column_feature32
    for conclusion, members in groups.items():
        column = conclusion >> 1
        known = table.valid[column_feature[column]]
        true = known & ~table.bits[column] if conclusion & 1 else table.bits[column]
        items: list[tuple[Any, ...]] = []
        rules = np.full((len(members), max(1, max(len(c) for _, c, _ in members))), -1,
                        dtype=np.int32)
        for row, (_, codes, conditions) in enumerate(members):
            renumbered = []
            for code in codes:
                if code < 0:  # a cardinality condition, by its place in `conditions`
                    renumbered.append(2 * (table.n_columns + len(items)) + (-code - 1))
                    items.append(conditions[-code - 1])
                else:
                    renumbered.append(code)
            rules[row, : len(renumbered)] = renumbered
        built = Conditions.build(items) if items else None
        counts = np.zeros((len(members), 4, masks.shape[0]), dtype=np.int64)
        for index, mask in enumerate(masks):
            scored = score_rules(table, rules, true, mask & known, conditions=built)
            counts[:, 0, index] = scored[:, 0]
            counts[:, 1, index] = scored[:, 1]
            counts[:, 2, index] = popcount(mask & known)
            counts[:, 3, index] = popcount(mask & true)
        for row, (node, _, _) in enumerate(members):
            result[node] = counts[row]
    return result


def _conjunction_codes(
    condition: Constraint, table: BitTable, encode: Any
) -> tuple[list[int], list[tuple[Any, ...]]]:
    """Return the kernel codes of a conjunction of literals and cardinality conditions
    over literals; a condition is coded as ``-(1 + its index)`` in the list returned
    with it. Raises ConstraintError for anything else."""
    from loom.constraints.ast import And, Cardinality

    parts = [] if condition == Constant(True) else (
        list(condition.operands) if isinstance(condition, And) else [condition]
    )
    codes: list[int] = []
    conditions: list[tuple[Any, ...]] = []
    for part in parts:
        if isinstance(part, Cardinality):
            operands = [encode(table, operand) for operand in part.operands]
            conditions.append((part.kind, operands, part.bound))
            codes.append(-len(conditions))
        else:
            codes.append(encode(table, part))
    return codes, conditions


def _rule_vectors(node: Constraint, table: BitTable, target: str | None) -> Words:
    """Return the rows where the constraint applies, holds, and where its conclusion
    is decided and true, stacked as shape (4, n_words)."""
    condition, conclusion = split_rule(node)
    if target is not None and target not in features(conclusion):
        msg = (
            f"{str(node)!r} does not conclude on the target {target!r}: its conclusion "
            f"{str(conclusion)!r} does not mention it. Pass target=None to measure "
            "invariants."
        )
        raise ConstraintError(msg)
    whole = evaluate(node, table)
    condition_true = evaluate(condition, table).true
    concluded = evaluate(conclusion, table)
    return np.stack(
        [
            condition_true & (whole.true | whole.false),
            condition_true & whole.true,
            concluded.true | concluded.false,
            concluded.true,
        ]
    )


def _count_rows(vectors: Words, masks: Words) -> NDArray[np.int64]:
    """Return the popcount of each vector within each mask, shape (n_vectors, n_masks).

    `vectors` has shape (n_vectors, n_words) and `masks` (n_masks, n_words).
    """
    counts = np.empty((vectors.shape[0], masks.shape[0]), dtype=np.int64)
    for index, mask in enumerate(masks):
        counts[:, index] = np.bitwise_count(vectors & mask).sum(axis=1, dtype=np.int64)
    return counts


def _checked_scenarios(
    scenarios: Mapping[str, Words], n_rows: int
) -> tuple[list[str], Words]:
    if not isinstance(scenarios, Mapping):
        msg = (
            f"scenarios must be a mapping of names to row masks, got "
            f"{type(scenarios).__name__}; build one with fold_scenarios or "
            "mask_scenarios."
        )
        raise InvalidParameterError(msg)
    width = n_words(n_rows)
    masks = np.zeros((len(scenarios), width), dtype=np.uint64)
    padding = ~row_mask(n_rows)
    for index, (name, mask) in enumerate(scenarios.items()):
        if not isinstance(name, str) or not name:
            msg = f"scenario names must be non-empty strings, got {name!r}."
            raise InvalidParameterError(msg)
        if not isinstance(mask, np.ndarray) or mask.dtype != np.uint64:
            found = getattr(mask, "dtype", type(mask).__name__)
            msg = (
                f"scenario {name!r} must be a packed uint64 row mask, got {found}; "
                "pack boolean masks with mask_scenarios."
            )
            raise InvalidParameterError(msg)
        if mask.shape != (width,):
            msg = (
                f"scenario {name!r} has shape {mask.shape}; a table of {n_rows} rows "
                f"needs shape ({width},)."
            )
            raise InvalidParameterError(msg)
        if (mask & padding).any():
            msg = f"scenario {name!r} has bits set past row {n_rows - 1}."
            raise InvalidParameterError(msg)
        masks[index] = mask
    return list(scenarios), masks


# ---------------------------------------------------------------------------
# Scenario builders


def fold_scenarios(
    table: BitTable,
    n_folds: int = 5,
    *,
    random_state: int | np.random.Generator | None = 0,
) -> dict[str, Words]:
    """Split the rows at random into `n_folds` disjoint folds of nearly equal size.

    Parameters
    ----------
    table : BitTable
    n_folds : int, default=5
        At least 2 and at most the number of rows.
    random_state : int, numpy.random.Generator or None, default=0
        Seed of the shuffle; the same seed gives the same folds. None draws fresh
        entropy.

    Returns
    -------
    dict of str to ndarray of shape (n_words,), dtype=uint64
        ``"fold 1/5"`` to ``"fold 5/5"``. Fold sizes differ by at most one row.

    Examples
    --------
    >>> import pandas as pd
    >>> from loom import BitTable
    >>> from loom.data import popcount
    >>> table = BitTable.from_frame(pd.DataFrame({"a": [True, False] * 6}))
    >>> folds = fold_scenarios(table, 3, random_state=1)
    >>> {name: popcount(mask) for name, mask in folds.items()}
    {'fold 1/3': 4, 'fold 2/3': 4, 'fold 3/3': 4}
    """
    _check_table(table)
    n_rows = table.n_rows
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 2:
        msg = f"n_folds must be an int >= 2, got {n_folds!r}."
        raise InvalidParameterError(msg)
    if n_folds > n_rows:
        msg = f"n_folds={n_folds} is more than the {n_rows} rows of the table."
        raise InvalidParameterError(msg)
    generator = np.random.default_rng(random_state)
    order = generator.permutation(n_rows)
    fold_of_row = np.empty(n_rows, dtype=np.intp)
    # Row order[i] goes to fold i * n_folds // n_rows: contiguous, near-equal blocks.
    fold_of_row[order] = np.arange(n_rows) * n_folds // n_rows
    return {
        f"fold {fold + 1}/{n_folds}": pack_bits(fold_of_row == fold)
        for fold in range(n_folds)
    }


def group_scenarios(table: BitTable, column: str) -> dict[str, Words]:
    """Make one scenario per value of a categorical or boolean feature.

    Each scenario contains the rows with that value and is named by the literal that
    selects them (``region = north``; ``smoker`` and ``not smoker``). Rows where
    the feature is missing belong to no scenario, and values without rows get none.

    Raises
    ------
    UnknownFeatureError
        If the table has no such feature.
    InvalidParameterError
        If the feature is numeric: use `window_scenarios`.

    Examples
    --------
    >>> import pandas as pd
    >>> from loom import BitTable
    >>> table = BitTable.from_frame(pd.DataFrame({
    ...     "site": ["north", "south", "north", None]}))
    >>> sorted(group_scenarios(table, "site"))
    ['site = north', 'site = south']
    """
    _check_table(table)
    spec = table.schema.feature(column)
    valid = table.feature_valid(column)
    groups: dict[str, Words] = {}
    if spec.kind == "numeric":
        msg = (
            f"feature {column!r} is numeric, so it has no groups; use "
            f"window_scenarios(table, {column!r}, window=...) to cut it into ranges."
        )
        raise InvalidParameterError(msg)
    if spec.is_constant:
        if spec.kind == "boolean" and spec.constant is not None:
            name = (
                format_name(column) if spec.constant else f"not {format_name(column)}"
            )
            groups[name] = valid
        elif spec.values:
            groups[str(Compare(column, "=", label_value(spec.values[0])))] = valid
    elif spec.kind == "boolean":
        bits = table.column(table.schema.columns_of(column)[0])
        groups[format_name(column)] = bits
        groups[f"not {format_name(column)}"] = valid & ~bits
    else:
        for number in table.schema.columns_of(column):
            groups[table.columns[number]] = table.column(number)
    return {name: mask.copy() for name, mask in groups.items() if mask.any()}


def window_scenarios(
    table: BitTable,
    column: str,
    *,
    window: float,
    step: float | None = None,
    start: float | None = None,
) -> dict[str, Words]:
    """Cut a numeric feature, such as a time stamp, into windows ``[lo, lo + window)``.

    Windows start at `start` and then every `step`, up to the largest value. Only
    the table's threshold columns are used, so rows are placed at the resolution of
    the thresholds: each row is taken to have the smallest value of its bin (the
    values between two neighbouring thresholds). Windows are exact when every bin
    contains one distinct value, as it does when the column has at most
    ``n_thresholds + 1`` distinct values. Otherwise a row can land in a window up to
    one bin width early. Encode with ``thresholds={column: [edges]}`` to add cuts.

    Parameters
    ----------
    table : BitTable
    column : str
        A numeric feature.
    window : float
        Width of each window, in the feature's unit; > 0.
    step : float, optional
        Distance between window starts; default `window` (windows that tile the
        range). A smaller step gives overlapping windows.
    start : float, optional
        Start of the first window; default the smallest value of the column.

    Returns
    -------
    dict of str to ndarray of shape (n_words,), dtype=uint64
        Named ``"<column> in [lo, hi)"``; windows without rows are left out, and rows
        with a missing value are in none.

    Raises
    ------
    InvalidParameterError
        If the feature is not numeric, the table has no value ranges for it, a
        parameter is not a positive finite number, or more than `MAX_WINDOWS`
        windows would be built.

    Examples
    --------
    >>> import pandas as pd
    >>> from loom import BitTable
    >>> from loom.data import popcount
    >>> table = BitTable.from_frame(pd.DataFrame({"year": [2001, 2002, 2002, 2004]}))
    >>> windows = window_scenarios(table, "year", window=2)
    >>> {name: popcount(mask) for name, mask in windows.items()}
    {'year in [2001, 2003)': 3, 'year in [2003, 2005)': 1}
    """
    _check_table(table)
    spec = table.schema.feature(column)
    if spec.kind != "numeric":
        msg = (
            f"feature {column!r} is {spec.kind}, not numeric; use "
            f"group_scenarios(table, {column!r}) for one scenario per value."
        )
        raise InvalidParameterError(msg)
    window = _positive(window, "window")
    step = window if step is None else _positive(step, "step")
    lowest = table.ranges[column][:, 0]
    occupied = lowest <= table.ranges[column][:, 1]
    if np.isinf(lowest[occupied]).any():
        msg = (
            f"the table has no value ranges for {column!r}, so its rows cannot be "
            "placed in windows; encode it with BitTable.from_frame or from_csv."
        )
        raise InvalidParameterError(msg)
    if not occupied.any():
        return {}
    first = float(lowest[occupied].min()) if start is None else _finite(start, "start")
    last = float(lowest[occupied].max())
    count = math.floor((last - first) / step) + 1 if last >= first else 0
    if count > MAX_WINDOWS:
        msg = (
            f"window {format_number(window)} and step {format_number(step)} over "
            f"{column!r} from {format_number(first)} to {format_number(last)} give "
            f"{count} windows, more than {MAX_WINDOWS}; use a larger step."
        )
        raise InvalidParameterError(msg)
    columns = table.schema.columns_of(column)
    valid = table.feature_valid(column)
    windows: dict[str, Words] = {}
    for index in range(count):
        low = first + index * step
        high = low + window
        bins = np.flatnonzero(occupied & (lowest >= low) & (lowest < high))
        if bins.size == 0:
            continue
        # Bins are ordered, so the window contains bins bins[0]..bins[-1]:
        # rows with x <= thresholds[bins[-1]] and not x <= thresholds[bins[0] - 1].
        upper = valid if bins[-1] == len(columns) else table.column(columns[bins[-1]])
        below = table.column(columns[bins[0] - 1]) if bins[0] > 0 else None
        mask = upper if below is None else upper & ~below
        name = f"{format_name(column)} in [{format_number(low)}, {format_number(high)})"
        windows[name] = mask.copy()
    return windows


def mask_scenarios(masks: Mapping[str, ArrayLike], n_rows: int) -> dict[str, Words]:
    """Make scenarios from explicit row masks.

    Parameters
    ----------
    masks : mapping of str to array_like
        Boolean (or 0/1) arrays of shape (n_rows,), or arrays of dtype uint64 that
        hold packed words, shape (n_words,), with zero padding bits.
    n_rows : int
        Rows of the table the masks select from.

    Returns
    -------
    dict of str to ndarray of shape (n_words,), dtype=uint64

    Examples
    --------
    >>> mask_scenarios({"even": [True, False, True]}, 3)
    {'even': array([5], dtype=uint64)}
    """
    if isinstance(n_rows, bool) or not isinstance(n_rows, int) or n_rows < 0:
        msg = f"n_rows must be an int >= 0, got {n_rows!r}."
        raise InvalidParameterError(msg)
    packed: dict[str, Words] = {}
    for name, mask in masks.items():
        array = np.asarray(mask)
        if array.dtype == np.uint64:
            packed[name] = array.copy()  # packed words; checked below
            continue
        if array.shape != (n_rows,):
            msg = (
                f"scenario {name!r} has shape {array.shape}; give a boolean mask of "
                f"shape ({n_rows},) or packed words of shape ({n_words(n_rows)},)."
            )
            raise InvalidParameterError(msg)
        if array.dtype != bool and not np.isin(array, (0, 1)).all():
            msg = f"scenario {name!r} must hold only booleans or 0 and 1."
            raise InvalidParameterError(msg)
        packed[name] = pack_bits(array.astype(bool))
    _checked_scenarios(packed, n_rows)
    return packed


def _check_table(table: object) -> None:
    if not isinstance(table, BitTable):
        msg = f"expected a BitTable, got {type(table).__name__}."
        raise InvalidParameterError(msg)


def _positive(value: object, name: str) -> float:
    number = _finite(value, name)
    if number <= 0:
        msg = f"{name} must be > 0, got {value!r}."
        raise InvalidParameterError(msg)
    return number


def _finite(value: object, name: str) -> float:
    if not _is_number(value):
        msg = f"{name} must be a finite number, got {value!r}."
        raise InvalidParameterError(msg)
    return float(value)  # type: ignore[arg-type]
