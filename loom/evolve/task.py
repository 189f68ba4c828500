"""What a search optimizes: the genome, its simplification, and its objectives.

A genome is a list of rules, each a sorted tuple of literal codes (a conjunction). For a
binary target the rules predict the positive class and their order does not matter. For
more classes they form a decision list: the first rule that matches decides, and each
rule predicts the majority class of the rows it decides. The objectives, both
minimized, are the number of misclassified rows and the number of literals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from deap import base
from numpy.typing import NDArray

from loom.evolve.literals import Code, ConditionPool, LiteralSpace
from loom.evolve.scoring import Scorer

__all__ = ["Fitness", "Genome", "Rule", "Task"]

Rule = tuple[Code, ...]
Mode = Literal["binary", "multiclass"]


class Fitness(base.Fitness):
    """DEAP fitness of a genome: (errors, literals), both minimized."""

    weights = (-1.0, -1.0)


class Genome(list[Rule]):
    """A list of rules with a DEAP fitness; a plain class, so it pickles anywhere."""

    def __init__(self, rules: Sequence[Rule] = ()) -> None:
        super().__init__(rules)
        self.fitness = Fitness()

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_genome, (list(self), self.fitness.values))


def _rebuild_genome(rules: list[Rule], values: tuple[float, ...]) -> Genome:
    genome = Genome(rules)
    if values:
        genome.fitness.values = values
    return genome


@dataclass
class Task:
    """A fitting problem: literals, conditions, target and the scorer of its rows.

    Parameters
    ----------
    space : LiteralSpace
    pool : ConditionPool
    scorer : Scorer
        With masks ``"fit"`` (rows the search fits on) and, when there is one,
        ``"validation"`` registered.
    mode : {'binary', 'multiclass'}
    fit_mask : str
        The registered mask of the rows the search fits (default ``"fit"``).
    max_complexity : int, optional
        A size past which genomes are of no use: `objectives` ranks them behind
        every genome within it.
    fixed : tuple of Rule
        Rules every genome includes without owning them (crystals): they come first
        in a decision list, count in the errors, and are never varied or counted as
        the genome's literals.
    classes : list of int
        Bit columns of the target's classes: for a binary target the positive column
        only; for more classes every class column, in label order.
    max_rules, max_literals : int
        Limits on the number of rules and on the literals of one rule (a cardinality
        condition counts its operands).
    """

    space: LiteralSpace
    pool: ConditionPool
    scorer: Scorer
    mode: Mode
    classes: list[int]
    max_rules: int
    max_literals: int
    fit_mask: str = "fit"
    max_complexity: int | None = None
    fixed: tuple[Rule, ...] = ()
    _positives: dict[str, int] = field(default_factory=dict)
    _sizes: dict[Rule, int] = field(default_factory=dict)
    _simple: dict[Rule, Rule | None] = field(default_factory=dict)
    _sets: dict[Rule, frozenset[Code]] = field(default_factory=dict)

    # -- genomes -------------------------------------------------------------------

    def key(self, genome: Sequence[Rule]) -> tuple[Rule, ...]:
        """Return a hashable identity: rule order matters only in decision lists."""
        if self.mode == "binary":
            return tuple(sorted(genome))
        return tuple(genome)

    def rule_size(self, rule: Rule) -> int:
        size = self._sizes.get(rule)
        if size is None:
            size = sum(self.pool.size(code) for code in rule)
            self._sizes[rule] = size
        return size

    def negations(self, genome: Sequence[Rule]) -> int:
        """Return the number of negated column literals and of conditions: the
        tie-breaker between genomes of equal objectives, since plain equalities read
        most easily."""
        columns = self.space.n_columns
        return sum(
            1 for rule in genome for code in rule if code & 1 or code >> 1 >= columns
        )

    def complexity(self, genome: Sequence[Rule]) -> int:
        """Return the total number of literals (a condition counts its operands)."""
        return sum(self.rule_size(rule) for rule in genome)

    def simplify(self, genome: Sequence[Rule]) -> list[Rule]:
        """Return the genome with redundant literals and rules removed.

        Each rule loses implied literals and is dropped when contradictory. A rule is
        dropped when another rule's literals are a subset of its own: in a rule set
        the other covers every row it covers, and in a decision list an earlier,
        more general rule leaves it no rows. A decision list ends before its first
        rule without literals, which the default replaces. Limits on rules and
        literals are enforced by truncation.
        """
        rules: list[Rule] = []
        seen: set[Rule] = set()
        for rule in genome:
            simple = self._simple_rule(rule)
            if simple is None or simple in seen:
                continue
            seen.add(simple)
            rules.append(simple)
        kept: list[Rule] = []
        if self.mode == "binary":
            # Only a shorter rule can be a proper subset.
            by_length = sorted(rules, key=len)
            sets = [self._members(rule) for rule in by_length]
            dropped = set()
            for i, rule in enumerate(by_length):
                members = sets[i]
                for j in range(i):
                    if len(sets[j]) < len(members) and sets[j] <= members:
                        dropped.add(rule)
                        break
            kept = [rule for rule in rules if rule not in dropped]
        else:
            earlier: list[frozenset[Code]] = []
            for rule in rules:
                if not rule:
                    break  # a rule without literals decides every row left: the default
                members = self._members(rule)
                if not any(previous <= members for previous in earlier):
                    kept.append(rule)
                    earlier.append(members)
        return kept[: self.max_rules]

    def _simple_rule(self, rule: Rule) -> Rule | None:
        """Return a rule without implied literals, cut to `max_literals` (cached)."""
        if rule in self._simple:
            return self._simple[rule]
        simple = self.space.simplify(rule)
        if simple is not None and self.rule_size(simple) > self.max_literals:
            # Drop conditions first (they count their operands), then literals.
            codes = sorted(simple, key=lambda code: (self.pool.size(code), code))
            while codes and self.rule_size(tuple(codes)) > self.max_literals:
                codes.pop()
            simple = tuple(sorted(codes))
        if len(self._simple) > 200_000:
            self._simple.clear()
        self._simple[rule] = simple
        return simple

    def _members(self, rule: Rule) -> frozenset[Code]:
        members = self._sets.get(rule)
        if members is None:
            if len(self._sets) > 200_000:
                self._sets.clear()
            members = self._sets[rule] = frozenset(rule)
        return members

    # -- counts -------------------------------------------------------------------

    def score_rules(
        self, rules: NDArray[np.int32], target: int | None, mask: str
    ) -> NDArray[np.int64]:
        """Count rows and target rows of conjunctions over a registered mask."""
        rules, conditions = self.pool.prepare(rules)
        return self.scorer.rules(rules, target, mask, conditions)

    def score_sets(
        self, rules: NDArray[np.int32], sets: NDArray[np.int32], target: int, mask: str
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Count the rows of rules and of the unions of rule sets over a mask."""
        rules, conditions = self.pool.prepare(rules)
        return self.scorer.rule_sets(rules, sets, target, mask, conditions)

    def score_lists(
        self, rules: NDArray[np.int32], lists: NDArray[np.int32], mask: str
    ) -> NDArray[np.int64]:
        """Count first matches per class of decision lists over a mask."""
        rules, conditions = self.pool.prepare(rules)
        return self.scorer.decision_lists(rules, lists, self.classes, mask, conditions)

    def exclude(self, name: str, source: str, rule: Rule) -> None:
        """Register as `name` the rows of mask `source` where `rule` is not true."""
        codes = np.array([rule if rule else (-1,)], dtype=np.int32)
        codes, conditions = self.pool.prepare(codes)
        self.scorer.exclude(name, source, codes[0], conditions)

    # -- objectives ---------------------------------------------------------------

    def objectives(
        self, genomes: Sequence[Sequence[Rule]]
    ) -> list[tuple[float, float]]:
        """Return (errors, literals) per genome on the fitting rows; a genome past
        `max_complexity` gets more errors than there are rows."""
        errors = self.errors(genomes)
        values = []
        for genome, error in zip(genomes, errors, strict=True):
            size = self.complexity(genome)
            if self.max_complexity is not None and size > self.max_complexity:
                error = self.scorer.n_rows + 1 + size
            values.append((float(error), float(size)))
        return values

    def positives(self, mask: str) -> int:
        """Return the positive rows of a mask (binary tasks)."""
        if mask not in self._positives:
            self._positives[mask] = self.scorer.count_and(mask, self.classes[0])
        return self._positives[mask]

    def errors(
        self, genomes: Sequence[Sequence[Rule]], mask: str | None = None
    ) -> NDArray[np.int64]:
        """Return the misclassified rows of each genome over a mask (default: the
        rows the task fits), in one kernel call for all their rules."""
        mask = mask or self.fit_mask
        if not genomes:
            return np.zeros(0, dtype=np.int64)
        if self.fixed:
            genomes = [[*self.fixed, *genome] for genome in genomes]
        rules, members = _index_rules(genomes)
        if self.mode == "binary":
            _, set_counts = self.score_sets(rules, members, self.classes[0], mask)
            covered, hits = set_counts[:, 0], set_counts[:, 1]
            return (covered - hits) + (self.positives(mask) - hits)
        counts = self.score_lists(rules, members, mask)
        decided = counts[:, :, 0]
        correct = counts[:, :, 1:].max(axis=2)
        return (decided - correct).sum(axis=1)

    def list_classes(self, genome: Sequence[Rule], mask: str) -> tuple[list[int], int]:
        """Return the class position each rule of a decision list predicts, and the
        default's: the majority class of the rows it decides (the first class on a
        tie, and the overall majority for a rule that decides no row)."""
        rules, members = _index_rules([genome])
        counts = self.score_lists(rules, members, mask)[0]
        overall = int(np.argmax(counts[:, 1:].sum(axis=0)))
        chosen = []
        for position in range(len(genome) + 1):
            row = counts[position, 1:]
            chosen.append(int(np.argmax(row)) if row.any() else overall)
        return chosen[:-1], chosen[-1]


def _index_rules(
    genomes: Sequence[Sequence[Rule]],
) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """Number the distinct rules of the genomes; return the padded rule codes and, per
    genome, the padded rule numbers."""
    index: dict[Rule, int] = {}
    for genome in genomes:
        for rule in genome:
            index.setdefault(rule, len(index))
    width = max((len(rule) for rule in index), default=1) or 1
    rules = np.full((max(len(index), 1), width), -1, dtype=np.int32)
    for rule, number in index.items():
        rules[number, : len(rule)] = rule
    longest = max((len(genome) for genome in genomes), default=1) or 1
    members = np.full((len(genomes), longest), -1, dtype=np.int32)
    for position, genome in enumerate(genomes):
        members[position, : len(genome)] = [index[rule] for rule in genome]
    return rules, members
