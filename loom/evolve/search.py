"""The NSGA-II generation loop over rule-set genomes, with DEAP's selection operators.

DEAP's tournament draws from the global `random` module; the caller seeds it and
restores its state (see `loom.evolve.discover`). Everything else draws from the
`numpy.random.Generator` passed in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from deap import tools

from loom.evolve.operators import Variation
from loom.evolve.task import Genome, Rule, Task

__all__ = ["Generation", "SearchOptions", "SearchResult", "run_search"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchOptions:
    """Settings of the generation loop; see `loom.discover` for their meaning."""

    population_size: int = 96
    n_generations: int = 150
    patience: int = 25
    crossover_rate: float = 0.5
    mutation_rate: float = 0.9
    time_budget: float | None = None


@dataclass(frozen=True)
class Generation:
    """Record of one generation, behind progress bars and plots."""

    number: int
    best_error: int
    best_literals: int
    front_size: int
    evaluations: int
    seconds: float


@dataclass
class SearchResult:
    """The final Pareto front (on the fitting rows) and the history of the run."""

    front: list[Genome]
    history: list[Generation] = field(default_factory=list)
    stopped: str = ""


class _Evaluator:
    """Fitness of genomes, with a cache by genome identity."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.cache: dict[tuple[Rule, ...], tuple[float, float]] = {}
        self.evaluations = 0

    def __call__(self, genomes: Sequence[Genome]) -> None:
        task = self.task
        todo = [genome for genome in genomes if not genome.fitness.valid]
        keys = [task.key(genome) for genome in todo]
        missing = list(dict.fromkeys(key for key in keys if key not in self.cache))
        if missing:
            values = task.objectives([list(key) for key in missing])
            for key, value in zip(missing, values, strict=True):
                self.cache[key] = value
            self.evaluations += len(missing)
        for genome, key in zip(todo, keys, strict=True):
            genome.fitness.values = self.cache[key]


def _population(
    task: Task,
    variation: Variation,
    seeds: Sequence[Sequence[Rule]],
    size: int,
    rng: np.random.Generator,
) -> list[Genome]:
    """Build the first population: the seeds, then mutated seeds and random draws
    from the candidate rules."""
    population: list[Genome] = []
    seen: set[tuple[Rule, ...]] = set()

    def add(rules: Sequence[Rule]) -> None:
        rules = task.simplify(rules)
        key = task.key(rules)
        if key not in seen and len(population) < size:
            seen.add(key)
            population.append(Genome(rules))

    for seed in seeds:
        add(seed)
    attempts = 0
    while len(population) < size and attempts < 20 * size:
        attempts += 1
        if seeds and rng.random() < 0.5:
            base = list(seeds[int(rng.integers(len(seeds)))])
            add(variation.mutate(base, rng))
        elif variation.pool_rules:
            count = int(
                rng.integers(1, min(len(variation.pool_rules), task.max_rules) + 1)
            )
            chosen = rng.choice(len(variation.pool_rules), size=count, replace=False)
            add([variation.pool_rules[i] for i in sorted(chosen)])
        else:
            add(variation.mutate([], rng))
    while len(population) < size:
        population.append(Genome([]))
    return population


def _vary(
    task: Task,
    variation: Variation,
    parents: list[Genome],
    options: SearchOptions,
    rng: np.random.Generator,
) -> list[Genome]:
    offspring = []
    for parent in parents:
        child = Genome(parent)
        child.fitness.values = parent.fitness.values
        offspring.append(child)
    for i in range(0, len(offspring) - 1, 2):
        if rng.random() < options.crossover_rate:
            first, second = variation.crossover(
                list(offspring[i]), list(offspring[i + 1]), rng
            )
            offspring[i][:] = first
            offspring[i + 1][:] = second
    for child, parent in zip(offspring, parents, strict=True):
        if rng.random() < options.mutation_rate:
            child[:] = variation.mutate(list(child), rng)
        child[:] = task.simplify(child)
        # Fitness is reset exactly when the rules changed.
        if task.key(child) != task.key(parent):
            del child.fitness.values
    return offspring


def run_search(
    task: Task,
    variation: Variation,
    seeds: Sequence[Sequence[Rule]],
    options: SearchOptions,
    rng: np.random.Generator,
    *,
    on_generation: Callable[[Generation], None] | None = None,
) -> SearchResult:
    """Evolve rule sets with NSGA-II and return the final Pareto front.

    Stops after `options.n_generations`, when the front's objective values have not
    changed for `options.patience` generations, or when `options.time_budget`
    seconds have passed (checked between generations).
    """
    started = time.perf_counter()
    size = max(4, -(-options.population_size // 4) * 4)  # DCD tournaments need 4k
    evaluate = _Evaluator(task)
    population = _population(task, variation, seeds, size, rng)
    evaluate(population)
    population = tools.selNSGA2(population, size, nd="log")
    front = _front([], population, task)
    result = SearchResult(front=[])
    signature = _signature(front)
    unchanged = 0
    result.stopped = "generations"
    for number in range(1, options.n_generations + 1):
        # Select parents by tournaments on rank and crowding distance.
        parents = tools.selTournamentDCD(population, size)
        # Vary: crossover, mutation, simplification.
        offspring = _vary(task, variation, parents, options, rng)
        # Evaluate the genomes whose rules changed.
        evaluate(offspring)
        # Record the survivors and the front.
        population = tools.selNSGA2(population + offspring, size, nd="log")
        front = _front(front, population, task)
        best = min(front, key=lambda genome: genome.fitness.values)
        record = Generation(
            number=number,
            best_error=int(best.fitness.values[0]),
            best_literals=int(best.fitness.values[1]),
            front_size=len(front),
            evaluations=evaluate.evaluations,
            seconds=time.perf_counter() - started,
        )
        result.history.append(record)
        logger.debug(
            "generation %s: best error %s with %s literals, front %s",
            number,
            record.best_error,
            record.best_literals,
            record.front_size,
        )
        if on_generation is not None:
            on_generation(record)
        current = _signature(front)
        unchanged = unchanged + 1 if current == signature else 0
        signature = current
        if unchanged >= options.patience:
            result.stopped = "converged"
            break
        if options.time_budget is not None and record.seconds >= options.time_budget:
            result.stopped = "time budget"
            break
    result.front = front
    return result


def _front(archive: list[Genome], population: list[Genome], task: Task) -> list[Genome]:
    """Return the non-dominated genomes of the archive and the population, one per
    objective point, sorted by errors.

    Of genomes with equal objectives the one with fewer negated literals is kept
    (the first seen on a tie), because `c = v` reads more easily than `c != w`.
    """
    best: dict[tuple[float, ...], Genome] = {}
    for genome in (*archive, *population):
        values = genome.fitness.values
        kept = best.get(values)
        if kept is None or task.negations(genome) < task.negations(kept):
            best[values] = genome
    front: list[Genome] = []
    fewest = float("inf")
    for values in sorted(best):  # by errors, then literals
        if values[1] < fewest:
            front.append(best[values])
            fewest = values[1]
    return front


def _signature(front: list[Genome]) -> tuple[tuple[float, ...], ...]:
    return tuple(genome.fitness.values for genome in front)
