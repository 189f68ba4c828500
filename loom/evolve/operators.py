"""Variation operators on genomes: mutation of literals, thresholds, conditions and
rules, and crossover that exchanges rules.

Every operator draws from a `numpy.random.Generator`, returns new rule lists and never
changes its inputs; the search simplifies the result and resets the fitness of a
genome exactly when its rules change.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from loom.evolve.literals import CATEGORICAL, Code
from loom.evolve.task import Rule, Task

__all__ = ["Variation"]

KINDS = ("atleast", "atmost", "exactly")


def _draw(cumulative: np.ndarray, rng: np.random.Generator) -> int:
    """Draw an index with the probabilities whose running sums are `cumulative`."""
    index = int(
        np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")
    )
    return min(index, len(cumulative) - 1)


class Variation:
    """The mutation and crossover operators of one search.

    Parameters
    ----------
    task : Task
    pool_rules : sequence of Rule
        Candidate rules (from greedy covering) that "add a rule" draws from.
    literal_weights : ndarray of shape (n_usable,), optional
        Relative chance of each usable literal to be drawn; default uniform.
    """

    def __init__(
        self, task: Task, pool_rules: Sequence[Rule], literal_weights: np.ndarray | None
    ) -> None:
        self.task = task
        self.pool_rules = list(pool_rules)
        usable = task.space.usable
        self.usable = usable
        if literal_weights is None:
            literal_weights = np.ones(len(usable))
        self.weights = literal_weights
        # Cumulative shares: a draw is one uniform number and a binary search.
        self.literal_cumulative = np.cumsum(literal_weights / literal_weights.sum())
        self.operators = [
            (self.add_literal, 3.0),
            (self.drop_literal, 3.0),
            (self.replace_literal, 2.0),
            (self.move_threshold, 2.0),
            (self.add_rule, 1.5),
            (self.drop_rule, 1.5),
            (self.change_condition, 1.0),
            (self.add_condition, 0.5),
        ]
        if task.mode == "multiclass":
            self.operators.append((self.swap_rules, 1.5))
        weights = np.array([weight for _, weight in self.operators])
        self.operator_cumulative = np.cumsum(weights / weights.sum())

    # -- helpers -------------------------------------------------------------------

    def random_literal(self, rng: np.random.Generator) -> Code:
        return int(self.usable[_draw(self.literal_cumulative, rng)])

    def _pick_rule(self, rules: list[Rule], rng: np.random.Generator) -> int | None:
        return int(rng.integers(len(rules))) if rules else None

    # -- mutation ------------------------------------------------------------------

    def mutate(self, rules: list[Rule], rng: np.random.Generator) -> list[Rule]:
        """Apply one operator drawn by weight (a second one with probability 1/3)."""
        result = list(rules)
        for _ in range(1 + int(rng.random() < 1 / 3)):
            operator = self.operators[_draw(self.operator_cumulative, rng)][0]
            result = operator(result, rng)
        return result

    def add_literal(self, rules: list[Rule], rng: np.random.Generator) -> list[Rule]:
        index = self._pick_rule(rules, rng)
        if index is None:
            return self.add_rule(rules, rng)
        rule = rules[index]
        if self.task.rule_size(rule) >= self.task.max_literals:
            return self.drop_literal(rules, rng)
        rules = list(rules)
        rules[index] = (*rule, self.random_literal(rng))
        return rules

    def drop_literal(self, rules: list[Rule], rng: np.random.Generator) -> list[Rule]:
        index = self._pick_rule(rules, rng)
        if index is None or not rules[index]:
            return rules
        rule = list(rules[index])
        del rule[int(rng.integers(len(rule)))]
        rules = list(rules)
        rules[index] = tuple(rule)
        return rules

    def replace_literal(
        self, rules: list[Rule], rng: np.random.Generator
    ) -> list[Rule]:
        index = self._pick_rule(rules, rng)
        if index is None or not rules[index]:
            return self.add_literal(rules, rng)
        rule = list(rules[index])
        position = int(rng.integers(len(rule)))
        old = rule[position]
        space = self.task.space
        if not self.task.pool.is_condition(old) and rng.random() < 0.5:
            # Another value or polarity of the same feature reads as a small step.
            feature = space.feature[old >> 1]
            columns = np.flatnonzero(space.feature == feature)
            rule[position] = int(2 * rng.choice(columns) + rng.integers(2))
        else:
            rule[position] = self.random_literal(rng)
        rules = list(rules)
        rules[index] = tuple(rule)
        return rules

    def move_threshold(self, rules: list[Rule], rng: np.random.Generator) -> list[Rule]:
        """Move a numeric literal to a neighbouring cut point of its feature."""
        candidates = [
            (i, j)
            for i, rule in enumerate(rules)
            for j, code in enumerate(rule)
            if self.task.space.neighbours(code)
        ]
        if not candidates:
            return self.replace_literal(rules, rng)
        i, j = candidates[int(rng.integers(len(candidates)))]
        rule = list(rules[i])
        neighbours = self.task.space.neighbours(rule[j])
        rule[j] = neighbours[int(rng.integers(len(neighbours)))]
        rules = list(rules)
        rules[i] = tuple(rule)
        return rules

    def add_rule(self, rules: list[Rule], rng: np.random.Generator) -> list[Rule]:
        if len(rules) >= self.task.max_rules:
            return self.drop_rule(rules, rng)
        if self.pool_rules and rng.random() < 0.8:
            new = self.pool_rules[int(rng.integers(len(self.pool_rules)))]
        else:
            new = tuple(
                self.random_literal(rng) for _ in range(int(rng.integers(1, 3)))
            )
        rules = list(rules)
        rules.insert(int(rng.integers(len(rules) + 1)), new)
        return rules

    def drop_rule(self, rules: list[Rule], rng: np.random.Generator) -> list[Rule]:
        if not rules:
            return rules
        rules = list(rules)
        del rules[int(rng.integers(len(rules)))]
        return rules

    def swap_rules(self, rules: list[Rule], rng: np.random.Generator) -> list[Rule]:
        """Exchange two rules of a decision list (their order decides rows)."""
        if len(rules) < 2:
            return rules
        i, j = rng.choice(len(rules), size=2, replace=False)
        rules = list(rules)
        rules[i], rules[j] = rules[j], rules[i]
        return rules

    # -- cardinality conditions -----------------------------------------------------

    def add_condition(self, rules: list[Rule], rng: np.random.Generator) -> list[Rule]:
        """Put a new condition over some literals of one feature each into a rule."""
        space = self.task.space
        features = np.unique(space.feature[self.usable >> 1])
        size = (
            int(rng.integers(2, min(7, len(features)) + 1)) if len(features) >= 2 else 0
        )
        if size < 2:
            return rules
        chosen = rng.choice(features, size=size, replace=False)
        operands = []
        for feature in chosen:
            columns = np.flatnonzero(space.feature == feature)
            column = int(rng.choice(columns))
            negate = space.kind[column] != CATEGORICAL and rng.random() < 0.5
            operands.append(2 * column + int(negate))
        kind = KINDS[int(rng.integers(3))]
        code = self.task.pool.add(kind, operands, int(rng.integers(1, size)))
        if code is None:
            return rules
        if rules and rng.random() < 0.5:
            index = int(rng.integers(len(rules)))
            rules = list(rules)
            rules[index] = (*rules[index], code)
            return rules
        if len(rules) >= self.task.max_rules:
            return rules
        return [*rules, (code,)]

    def change_condition(
        self, rules: list[Rule], rng: np.random.Generator
    ) -> list[Rule]:
        """Change the bound, kind or an operand of a condition in a rule."""
        pool = self.task.pool
        places = [
            (i, j)
            for i, rule in enumerate(rules)
            for j, code in enumerate(rule)
            if pool.is_condition(code)
        ]
        if not places:
            return self.add_condition(rules, rng)
        i, j = places[int(rng.integers(len(places)))]
        kind, operands, bound = pool.get(rules[i][j])
        operands = list(operands)
        choice = rng.random()
        if choice < 0.4:
            bound += 1 if rng.random() < 0.5 else -1
        elif choice < 0.6:
            kind = KINDS[int(rng.integers(3))]
        elif choice < 0.8 and len(operands) > 2:
            del operands[int(rng.integers(len(operands)))]
        else:
            operands.append(self.random_literal(rng))
        code = pool.add(kind, operands, bound)
        if code is None:
            return rules
        rule = list(rules[i])
        rule[j] = code | (rules[i][j] & 1)
        rules = list(rules)
        rules[i] = tuple(rule)
        return rules

    # -- crossover -----------------------------------------------------------------

    def crossover(
        self, first: list[Rule], second: list[Rule], rng: np.random.Generator
    ) -> tuple[list[Rule], list[Rule]]:
        """Exchange rules between two parents.

        Rule sets swap a random subset of their rules; decision lists swap their
        tails after a cut point in each, so the rules keep their relative order.
        """
        if self.task.mode == "multiclass":
            cut_first = int(rng.integers(len(first) + 1))
            cut_second = int(rng.integers(len(second) + 1))
            return (
                first[:cut_first] + second[cut_second:],
                second[:cut_second] + first[cut_first:],
            )
        keep_first = rng.random(len(first)) < 0.5
        keep_second = rng.random(len(second)) < 0.5
        child_first = [r for r, k in zip(first, keep_first, strict=True) if k]
        child_second = [r for r, k in zip(second, keep_second, strict=True) if k]
        child_first += [r for r, k in zip(second, keep_second, strict=True) if not k]
        child_second += [r for r, k in zip(first, keep_first, strict=True) if not k]
        return child_first, child_second
