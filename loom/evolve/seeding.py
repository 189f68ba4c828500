"""Greedy candidates for the first population: sequential covering and cardinality
conditions.

Every step scores all its candidate rules in one batched kernel call, so the greedy
searches cost a few calls per rule they add.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from loom.evolve.literals import CATEGORICAL, Code
from loom.evolve.task import Rule, Task

__all__ = ["cardinality_rules", "cover_binary", "cover_decision_list", "literal_scores"]

KINDS = ("atleast", "atmost", "exactly")


def _pad(rules: list[Rule]) -> NDArray[np.int32]:
    width = max((len(rule) for rule in rules), default=1) or 1
    array = np.full((max(len(rules), 1), width), -1, dtype=np.int32)
    for row, rule in enumerate(rules):
        array[row, : len(rule)] = rule
    return array


def grow_rule(
    task: Task,
    mask: str,
    target: int,
    candidates: NDArray[np.intp],
    *,
    beam: int = 1,
    min_positives: int = 1,
) -> list[Rule]:
    """Grow conjunctions by FOIL gain until they cover no negative row.

    Each step scores every frontier rule extended by every candidate literal in one
    kernel call (an extension that adds nothing has gain 0, a contradictory one
    covers no row). Returns up to `beam` rules: the best partial rules are kept at
    each step.
    """
    total = task.score_rules(_pad([()]), target, mask)[0]
    frontier: list[tuple[Rule, int, int]] = [
        ((), int(total[1]), int(total[0] - total[1]))
    ]
    finished: list[tuple[float, Rule]] = []
    codes = np.asarray(candidates, dtype=np.int32)
    for _ in range(task.max_literals):
        blocks = []
        origins = []
        for rule, p0, n0 in frontier:
            taken = np.array(
                [c for code in rule for c in (code, code ^ 1)], dtype=np.int32
            )
            extra = codes[~np.isin(codes, taken)]
            if extra.size == 0:
                continue
            base = np.broadcast_to(
                np.array(rule, dtype=np.int32), (extra.size, len(rule))
            )
            blocks.append(np.concatenate([base, extra[:, None]], axis=1))
            origins.append(np.tile([p0, n0], (extra.size, 1)))
        if not blocks:
            break
        width = max(block.shape[1] for block in blocks)
        options = np.full((sum(len(b) for b in blocks), width), -1, dtype=np.int32)
        row = 0
        for block in blocks:
            options[row : row + len(block), : block.shape[1]] = block
            row += len(block)
        base_counts = np.concatenate(origins)
        counts = task.score_rules(options, target, mask)
        p = counts[:, 1]
        n = counts[:, 0] - p
        gains = _foil_gain(p, n, base_counts[:, 0], base_counts[:, 1])
        gains[p < min_positives] = -np.inf
        order = np.argsort(-gains, kind="stable")[: 8 * beam]
        next_frontier: list[tuple[Rule, int, int]] = []
        seen: set[Rule] = set()
        for index in order:
            if not np.isfinite(gains[index]) or gains[index] <= 0:
                break
            rule = task.space.simplify(int(c) for c in options[index] if c >= 0)
            if rule is None or rule in seen:
                continue
            seen.add(rule)
            if n[index] == 0:
                finished.append((float(p[index]), rule))
            else:
                next_frontier.append((rule, int(p[index]), int(n[index])))
            if len(seen) >= beam:
                break
        frontier = next_frontier
        if not frontier:
            break
    for rule, p0, n0 in frontier:
        if rule:
            finished.append((p0 - n0 - 0.5, rule))
    finished.sort(key=lambda item: (-item[0], item[1]))
    return [rule for _, rule in finished[:beam]]


def _foil_gain(
    p: NDArray[np.int64],
    n: NDArray[np.int64],
    p0: NDArray[np.int64],
    n0: NDArray[np.int64],
) -> NDArray[np.float64]:
    """FOIL's information gain of specializing rules covering (p0, n0) to (p, n)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        before = np.where(p0 > 0, np.log2(p0 / (p0 + n0)), -np.inf)
        after = np.log2(p / (p + n))
        gain = p * (after - before)
    return np.where(p > 0, gain, -np.inf)


def cover_binary(
    task: Task, mask: str, candidates: NDArray[np.intp], *, beam: int = 1
) -> tuple[list[Rule], list[Rule]]:
    """Sequential covering of the positive class: grow a rule on the uncovered
    positives and every negative, remove what it covers, repeat.

    Returns the covering rule set and every rule grown on the way (the beam's
    alternatives included), as candidates for the search.
    """
    target = task.classes[0]
    scorer = task.scorer
    scorer.copy_mask("_remaining", mask)
    rules: list[Rule] = []
    grown: list[Rule] = []
    while len(rules) < task.max_rules:
        left = scorer.count_and("_remaining", target)
        if left == 0:
            break
        options = grow_rule(task, "_remaining", target, candidates, beam=beam)
        if not options:
            break
        best = options[0]
        grown.extend(options)
        counts = task.score_rules(_pad([best]), target, "_remaining")[0]
        if counts[1] == 0 or counts[1] <= (counts[0] - counts[1]):
            break
        rules.append(best)
        task.exclude("_remaining", "_remaining", best)
    return rules, grown


def cover_decision_list(
    task: Task, mask: str, candidates: NDArray[np.intp]
) -> tuple[list[Rule], list[Rule]]:
    """Ordered covering for several classes: at each step grow one rule per class on
    the rows left, keep the one with the best Laplace accuracy, and remove its rows.

    Stops when no rule beats the majority class of the rows left.
    """
    scorer = task.scorer
    n_classes = len(task.classes)
    scorer.copy_mask("_remaining", mask)
    rules: list[Rule] = []
    grown: list[Rule] = []
    while len(rules) < task.max_rules:
        left = scorer.count("_remaining")
        if left == 0:
            break
        class_counts = [scorer.count_and("_remaining", c) for c in task.classes]
        majority = max(class_counts) / left
        best: tuple[float, int, Rule] | None = None
        for target in task.classes:
            for rule in grow_rule(task, "_remaining", target, candidates):
                grown.append(rule)
                covered, hits = task.score_rules(_pad([rule]), target, "_remaining")[0]
                laplace = (hits + 1) / (covered + n_classes)
                key = (laplace, int(hits), rule)
                if best is None or key[:2] > best[:2]:
                    best = key
        if best is None or best[1] == 0 or best[0] <= majority and len(rules) > 0:
            break
        rules.append(best[2])
        task.exclude("_remaining", "_remaining", best[2])
    return rules, grown


def literal_scores(task: Task, mask: str) -> NDArray[np.float64]:
    """Return, per usable literal, the best information gain it gives about any class
    as a one-literal rule (0 for a literal that splits nothing)."""
    usable = task.space.usable
    rules = usable.astype(np.int32)[:, None]
    total = task.scorer.count(mask)
    best = np.zeros(len(usable))
    if total == 0:
        return best
    for target in task.classes:
        counts = task.score_rules(rules, target, mask)
        positives = task.scorer.count_and(mask, target)
        gain = _information_gain(counts[:, 0], counts[:, 1], total, positives)
        best = np.maximum(best, gain)
    return best


def _entropy(p: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = -p * np.log2(p) - (1 - p) * np.log2(1 - p)
    return np.nan_to_num(terms)


def _information_gain(
    covered: NDArray[np.int64], hits: NDArray[np.int64], total: int, positives: int
) -> NDArray[np.float64]:
    covered = covered.astype(np.float64)
    rest = total - covered
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = np.where(covered > 0, hits / covered, 0.0)
        outside = np.where(rest > 0, (positives - hits) / rest, 0.0)
    before = _entropy(np.array([positives / total]))[0]
    after = (covered * _entropy(inside) + rest * _entropy(outside)) / total
    return np.maximum(before - after, 0.0)


def cardinality_rules(
    task: Task,
    mask: str,
    scores: NDArray[np.float64],
    *,
    max_operands: int = 8,
    beam: int = 6,
    keep: int = 12,
    max_literals: int = 48,
) -> list[Rule]:
    """Build cardinality conditions by forward selection of their operands, and return
    the most informative ones as one-condition rules.

    The operands come from the most informative literals (at most `max_literals`, the
    ``=`` form for categorical features). The search starts from every pair of
    literals of different features and adds one literal at a time, keeping the
    `beam` best conditions of each size; every kind and bound of every candidate is
    scored by its information gain about the classes, all candidates of a step in
    one kernel call per class.
    """
    space = task.space
    usable = space.usable
    allowed = ~((space.kind[usable >> 1] == CATEGORICAL) & (usable & 1 == 1))
    order = np.argsort(-scores, kind="stable")
    literals = [int(usable[i]) for i in order if allowed[i]][:max_literals]
    if len(literals) < 2:
        return []
    feature = {code: int(space.feature[code >> 1]) for code in literals}
    gains: dict[Code, float] = {}

    def score(
        groups: list[tuple[Code, ...]],
    ) -> list[tuple[float, Code, tuple[Code, ...]]]:
        codes: list[Code] = []
        owners: list[tuple[Code, ...]] = []
        for group in groups:
            for kind in KINDS:
                for bound in range(len(group) + 1):
                    code = task.pool.add(kind, group, bound)
                    if code is not None and code not in gains:
                        gains[code] = 0.0
                        codes.append(code)
                        owners.append(group)
        if not codes:
            return []
        values = _class_gains(task, mask, np.array(codes, dtype=np.int32)[:, None])
        for code, value in zip(codes, values, strict=True):
            gains[code] = float(value)
        ranked = sorted(
            zip(values, codes, owners, strict=True),
            key=lambda item: (-item[0], item[1]),
        )
        return [(float(v), c, g) for v, c, g in ranked]

    pairs = [
        (first, second)
        for i, first in enumerate(literals)
        for second in literals[i + 1 :]
        if feature[first] != feature[second]
    ]
    best = score(pairs)[:beam]
    for _ in range(3, max_operands + 1):
        groups = list(
            dict.fromkeys(
                tuple(sorted((*group, code)))
                for _, _, group in best
                for code in literals
                if feature[code] not in {feature[member] for member in group}
            )
        )
        found = score(groups)
        if not found:
            break
        best = found[:beam]
    ranked = sorted(gains.items(), key=lambda item: (-item[1], item[0]))
    return [(code,) for code, value in ranked[:keep] if value > 0]


def _class_gains(
    task: Task, mask: str, rules: NDArray[np.int32]
) -> NDArray[np.float64]:
    """Return each rule's best information gain about any class over a mask."""
    total = task.scorer.count(mask)
    best = np.zeros(len(rules))
    if total == 0:
        return best
    for target in task.classes:
        counts = task.score_rules(rules, target, mask)
        positives = task.scorer.count_and(mask, target)
        best = np.maximum(
            best, _information_gain(counts[:, 0], counts[:, 1], total, positives)
        )
    return best
