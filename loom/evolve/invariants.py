"""Unsupervised invariants: implications, exclusions and at-most-one groups that hold
across a table without a target.

The search is the same NSGA-II machinery as rule discovery (DEAP's non-dominated
sorting and crowded tournaments over genomes of literal codes, scored in batched
kernel calls), with a genome of one implication ``A -> b``: a conjunction of up to
`max_literals` literals and one literal of another feature. Its objectives are the
rows it holds on (maximized), the Wilson lower bound of its confidence (maximized)
and its length (minimized). Every one-literal implication is scored exhaustively to
seed the first population.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from deap import base, tools
from numpy.typing import NDArray

from loom.constraints.ast import (
    And,
    Cardinality,
    Constraint,
    Implies,
    Not,
)
from loom.crystal.evidence import DEFAULT_Z, wilson_lower_bound
from loom.data.table import BitTable
from loom.evolve.literals import CATEGORICAL, NUMERIC, LiteralSpace
from loom.exceptions import InvalidParameterError
from loom.kernels import score_rules

__all__ = ["Invariant", "discover_invariants"]

logger = logging.getLogger(__name__)

Code = int


@dataclass(frozen=True)
class Invariant:
    """A constraint that holds across a table, with its counts there.

    Attributes
    ----------
    constraint : Constraint
        ``A -> b``, ``not (a and b)`` or ``atmost(1: a, b, c)``.
    support : int
        Rows where it applies and holds (for an implication, ``A`` and ``b`` true).
    applies : int
        Rows where it applies (for an implication, ``A`` true and ``b`` known).
    confidence : float
        ``support / applies``.
    lower_bound : float
        Wilson lower bound of the confidence.
    """

    constraint: Constraint
    support: int
    applies: int
    confidence: float
    lower_bound: float

    def __str__(self) -> str:
        return (
            f"{self.constraint} [support={self.support}, "
            f"confidence={self.confidence:.3f}]"
        )


class _Fitness(base.Fitness):
    weights = (1.0, 1.0, -1.0)  # rows held, lower bound, literals


class _Implication(list[Code]):
    """Antecedent codes then the consequent code last; a DEAP individual."""

    def __init__(self, codes: Sequence[Code] = ()) -> None:
        super().__init__(codes)
        self.fitness = _Fitness()


def discover_invariants(
    data: Any,
    *,
    max_literals: int = 2,
    min_support: int = 10,
    min_confidence: float = 0.95,
    max_invariants: int = 50,
    population_size: int = 96,
    n_generations: int = 40,
    random_state: int | np.random.Generator | None = 0,
    backend: str | None = None,
    n_thresholds: int = 32,
    kinds: dict[str, str] | None = None,
    store: Any = None,
    scenarios: Any = None,
    policy: Any = None,
) -> list[Invariant]:
    """Find constraints among the features of a table that hold almost everywhere.

    Parameters
    ----------
    data : str, path, DataFrame or BitTable
        A target column, if the table has one, is treated like any feature.
    max_literals : int, default=2
        Literals in an implication's antecedent.
    min_support, min_confidence : int, float, default=10, 0.95
        An invariant must hold on at least `min_support` rows with a confidence of
        at least `min_confidence`.
    max_invariants : int, default=50
        The most invariants returned: implications first (best lower bound first),
        then at-most-one groups.
    population_size, n_generations : int, default=96, 40
        NSGA-II settings of the search for longer antecedents.
    random_state : int, Generator or None, default=0
        Seed; the global `random` state is restored afterwards.
    store, scenarios, policy
        With a `CrystalStore`, the invariants are measured on `scenarios` (default 5
        folds) and those that pass `policy` are crystallized (already stored ones get
        an evidence event).

    Returns
    -------
    list of Invariant
        Implications between literals of different features (an implication whose
        conclusion is a negated equality prints as an exclusion, ``not (a and b)``),
        then ``atmost(1: ...)`` groups of three or more pairwise exclusive equalities.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"rain": [True, True, False, False] * 10,
    ...                       "wet": [True, True, False, True] * 10})
    >>> [str(item.constraint) for item in discover_invariants(frame, min_support=5)]
    ['if rain then wet']
    """
    from loom.evolve.discover import _as_table_any

    table = _as_table_any(data, n_thresholds=n_thresholds, kinds=kinds)
    if (
        isinstance(max_literals, bool)
        or not isinstance(max_literals, int)
        or max_literals < 1
    ):
        msg = f"max_literals must be an int >= 1, got {max_literals!r}."
        raise InvalidParameterError(msg)
    if not 0.0 < float(min_confidence) <= 1.0:
        msg = f"min_confidence must be in (0, 1], got {min_confidence!r}."
        raise InvalidParameterError(msg)
    for name, value, low in (
        ("min_support", min_support, 0), ("max_invariants", max_invariants, 0),
        ("population_size", population_size, 4), ("n_generations", n_generations, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            msg = f"{name} must be an int >= {low}, got {value!r}."
            raise InvalidParameterError(msg)
    rng = np.random.default_rng(random_state)
    saved = random.getstate()
    random.seed(int(rng.integers(2**63)))
    try:
        search = _Search(table, backend)
        found = search.run(
            max_literals,
            population_size,
            n_generations,
            rng,
            min_support,
            min_confidence,
        )
    finally:
        random.setstate(saved)
    groups, members = _groups(search, min_support, min_confidence)
    invariants = _select(
        search, found, min_support, min_confidence, max_invariants, members
    )
    # The groups come after the implications, within the same limit.
    invariants.extend(groups[: max(0, max_invariants - len(invariants))])
    if store is not None:
        from loom.evolve.crystals import crystallize_constraints

        crystallize_constraints(
            store,
            [item.constraint for item in invariants],
            table,
            scenarios=scenarios,
            policy=policy,
            seed=random_state if isinstance(random_state, int) else None,
        )
    return invariants


class _Search:
    """Scores implications on one table with the batched kernels."""

    def __init__(self, table: BitTable, backend: str | None) -> None:
        schema = table.schema
        if schema.target is not None:
            schema = type(schema)(schema.features, target=None)
            table = BitTable(
                schema, table.bits, table.valid, table.n_rows, table.ranges, copy=False
            )
        self.table = table
        self.backend = backend
        self.space = LiteralSpace.build(schema)
        columns = np.arange(schema.n_columns)
        self.codes = np.sort(np.concatenate([2 * columns, 2 * columns + 1]))
        self.cache: dict[tuple[Code, ...], tuple[int, int]] = {}
        self._consequents: dict[
            Code, tuple[NDArray[np.uint64], NDArray[np.uint64]]
        ] = {}

    def consequent(self, code: Code) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
        """Rows where a literal is true, and where its feature is known."""
        if code not in self._consequents:
            column = code >> 1
            known = self.table.valid[self.table.schema.column_feature32[column]]
            bits = self.table.bits[column]
            self._consequents[code] = (known & ~bits if code & 1 else bits, known)
        return self._consequents[code]

    def score(self, implications: list[tuple[Code, ...]]) -> list[tuple[int, int]]:
        """Return (applies, holds) per implication (antecedent codes, then consequent),
        in one kernel call per distinct consequent."""
        missing = [
            item for item in dict.fromkeys(implications) if item not in self.cache
        ]
        by_consequent: dict[Code, list[tuple[Code, ...]]] = {}
        for item in missing:
            by_consequent.setdefault(item[-1], []).append(item)
        for code, items in by_consequent.items():
            true, known = self.consequent(code)
            width = max(len(item) - 1 for item in items) or 1
            rules = np.full((len(items), width), -1, dtype=np.int32)
            for row, item in enumerate(items):
                rules[row, : len(item) - 1] = item[:-1]
            counts = score_rules(self.table, rules, true, known, self.backend)
            for item, (applies, holds) in zip(items, counts, strict=True):
                self.cache[item] = (int(applies), int(holds))
        return [self.cache[item] for item in implications]

    def valid(self, item: Sequence[Code]) -> bool:
        """Return whether an item links literals of distinct features."""
        features = [self.space.feature[code >> 1] for code in item]
        return len(set(features)) == len(features) and len(item) >= 2

    def run(
        self,
        max_literals: int,
        size: int,
        generations: int,
        rng: np.random.Generator,
        min_support: int,
        min_confidence: float,
    ) -> dict[tuple[Code, ...], tuple[int, int]]:
        # Seed: every implication with a one-literal antecedent, scored exhaustively.
        pairs = [
            (int(a), int(b))
            for b in self.codes
            for a in self.codes
            if self.space.feature[a >> 1] != self.space.feature[b >> 1]
        ]
        scores = self.score(pairs)
        ranked = sorted(
            zip(pairs, scores, strict=True),
            key=lambda item: (-_bound(*item[1]), -item[1][1], item[0]),
        )
        if max_literals == 1 or generations == 0:
            return dict(self.cache)
        size = max(4, -(-size // 4) * 4)
        population = [_Implication(item) for item, _ in ranked[:size]]
        if not population:
            return dict(self.cache)
        while len(population) < size:  # few features: fill with mutated copies
            base = population[int(rng.integers(len(population)))]
            population.append(_Implication(self._mutate(list(base), rng, max_literals)))
        self._evaluate(population)
        population = tools.selNSGA2(population, size, nd="log")
        for _ in range(generations):
            # Select, vary, evaluate, survive: the steps of rule discovery's loop.
            parents = tools.selTournamentDCD(population, size)
            offspring = [
                self._mutate(list(parent), rng, max_literals) for parent in parents
            ]
            offspring = [_Implication(item) for item in offspring]
            self._evaluate(offspring)
            population = tools.selNSGA2(population + offspring, size, nd="log")
        return dict(self.cache)

    def _evaluate(self, population: list[_Implication]) -> None:
        scores = self.score([tuple(item) for item in population])
        for item, (applies, holds) in zip(population, scores, strict=True):
            item.fitness.values = (
                float(holds),
                _bound(applies, holds),
                float(len(item) - 1),
            )

    def _mutate(
        self, item: list[Code], rng: np.random.Generator, max_literals: int
    ) -> tuple[Code, ...]:
        antecedent, consequent = item[:-1], item[-1]
        choice = rng.random()
        if choice < 0.4 and len(antecedent) < max_literals:
            antecedent.append(int(rng.choice(self.codes)))
        elif choice < 0.6 and len(antecedent) > 1:
            del antecedent[int(rng.integers(len(antecedent)))]
        elif choice < 0.8:
            antecedent[int(rng.integers(len(antecedent)))] = int(rng.choice(self.codes))
        else:
            consequent = int(rng.choice(self.codes))
        simple = self.space.simplify(antecedent)
        if simple is None or not simple:
            return tuple(item)
        return (*simple, consequent)


def _bound(applies: int, holds: int) -> float:
    return wilson_lower_bound(holds, applies, z=DEFAULT_Z) if applies else 0.0


def _select(
    search: _Search,
    found: dict[tuple[Code, ...], tuple[int, int]],
    min_support: int,
    min_confidence: float,
    limit: int,
    groups: list[frozenset[Code]],
) -> list[Invariant]:
    """Keep reliable implications, drop those a shorter kept one implies or that only
    restate two members of an at-most-one group, build their constraints."""
    kept: list[Invariant] = []
    chosen: list[tuple[frozenset[Code], Code]] = []
    ranked = sorted(
        (
            (item, counts)
            for item, counts in found.items()
            if search.valid(item)
            and counts[1] >= min_support
            and counts[1] >= min_confidence * counts[0]
        ),
        key=lambda entry: (len(entry[0]), -_bound(*entry[1]), -entry[1][1], entry[0]),
    )
    seen: set[tuple[Code, ...]] = set()
    for item, (applies, holds) in ranked:
        if len(kept) >= limit:
            break
        item = _normal(search, item)
        if len(item) == 2:
            # `a -> b` and `not b -> not a` are equivalent: keep the one with fewer
            # negations (counted on its own rows).
            other = _normal(search, (item[1] ^ 1, item[0] ^ 1))
            if _negations(other) < _negations(item):
                item = other
                applies, holds = search.score([item])[0]
            if holds < min_support or holds < min_confidence * applies:
                continue
        if item in seen:
            continue
        antecedent, consequent = frozenset(item[:-1]), item[-1]
        if any(b == consequent and a <= antecedent for a, b in chosen):
            continue  # a shorter antecedent already gives this conclusion
        seen.add(item)
        chosen.append((antecedent, consequent))
        if len(item) == 2:
            contrapositive = _normal(search, (item[1] ^ 1, item[0] ^ 1))
            seen.add(contrapositive)
            chosen.append((frozenset(contrapositive[:-1]), contrapositive[-1]))
        if _in_group(search, item, groups):
            continue  # the group states it; it still rules out longer forms
        kept.append(
            Invariant(
                _constraint(search, item),
                holds,
                applies,
                holds / applies,
                _bound(applies, holds),
            )
        )
    kept.sort(key=lambda inv: (-inv.lower_bound, -inv.support, str(inv.constraint)))
    return kept


def _negations(item: tuple[Code, ...]) -> int:
    return sum(code & 1 for code in item)


def _normal(search: _Search, item: tuple[Code, ...]) -> tuple[Code, ...]:
    """Return an implication with each literal in its simplest form (``c != w`` over
    a two-valued feature is ``c = v``)."""
    antecedent = search.space.simplify(item[:-1]) or item[:-1]
    consequent = search.space.simplify(item[-1:]) or item[-1:]
    return (*antecedent, *consequent)


def _constraint(search: _Search, item: tuple[Code, ...]) -> Constraint:
    antecedent = [search.space.literal_node(code) for code in item[:-1]]
    condition = antecedent[0] if len(antecedent) == 1 else And(tuple(antecedent))
    consequent = item[-1]
    column = consequent >> 1
    if consequent & 1 and search.space.kind[column] == CATEGORICAL and len(item) == 2:
        # `a -> b != v` reads as the exclusion `not (a and b = v)`.
        return Not(And((condition, search.space.literal_node(consequent ^ 1))))
    return Implies(condition, search.space.literal_node(consequent))


def _in_group(
    search: _Search, item: tuple[Code, ...], groups: list[frozenset[Code]]
) -> bool:
    """Return whether ``a -> not b`` restates an at-most-one group over a and b.

    ``b`` is an equality, written ``b != v`` or as the other value of a two-valued
    feature.
    """
    if len(item) != 2 or item[0] & 1:
        return False
    first, conclusion = item
    space = search.space
    column = conclusion >> 1
    if space.kind[column] != CATEGORICAL:
        return False
    if conclusion & 1:
        excluded = [conclusion ^ 1]
    else:  # `b = w` on a two-valued feature is `b != v` for the other value v
        siblings = np.flatnonzero(space.feature == space.feature[column])
        if len(siblings) != 2:
            return False
        excluded = [2 * int(c) for c in siblings if c != column]
    return any({first, *excluded} <= group for group in groups)


def _groups(
    search: _Search, min_support: int, min_confidence: float
) -> tuple[list[Invariant], list[frozenset[Code]]]:
    """Return ``atmost(1: ...)`` over maximal groups (3 or more) of equalities of
    different features that exclude each other pairwise, and the groups' codes."""
    space = search.space
    equalities = [
        int(code)
        for code in search.codes
        if not code & 1 and space.kind[code >> 1] != NUMERIC
    ]
    graph = nx.Graph()
    for a in equalities:
        for b in equalities:
            if a < b and space.feature[a >> 1] != space.feature[b >> 1]:
                applies, holds = search.score([(a, b ^ 1)])[0]
                if applies >= min_support and holds >= min_confidence * applies:
                    graph.add_edge(a, b)
    found = []
    codes: list[frozenset[Code]] = []
    for clique in nx.find_cliques(graph):
        if len(clique) < 3:
            continue
        members = tuple(sorted(clique))
        node = Cardinality("atmost", 1, tuple(space.literal_node(c) for c in members))
        from loom.constraints.evaluate import evaluate
        from loom.data.bits import popcount

        result = evaluate(node, search.table)
        holds, fails = popcount(result.true), popcount(result.false)
        applies = holds + fails
        if applies and holds >= min_confidence * applies and holds >= min_support:
            found.append(
                Invariant(node, holds, applies, holds / applies, _bound(applies, holds))
            )
            codes.append(frozenset(members))
    order = sorted(
        range(len(found)),
        key=lambda i: (-found[i].lower_bound, str(found[i].constraint)),
    )
    return [found[i] for i in order], [codes[i] for i in order]
