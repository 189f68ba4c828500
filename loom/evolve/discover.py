"""`loom.discover`: from a table and a target to a `RuleSet`, end to end.

The steps: encode the data and split the rows with a known target into stratified,
seeded inner folds. For each fold, seed a population with greedy covering and
cardinality candidates and evolve it with NSGA-II on the other folds, then score its
Pareto front on the fold. The fewest held-out errors summed over the folds fix the
model's size. A final search on every training row returns its front member of that
size, and the statistics of its rules are counted on all training rows.
"""

from __future__ import annotations

import logging
import os
import random
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from loom.constraints.ast import TRUE, And, Compare, Constraint, Implies
from loom.data.bits import pack_bits, unpack_bits
from loom.data.schema import FeatureSpec, Schema, label_value
from loom.data.table import BitTable
from loom.evolve.literals import CATEGORICAL, ConditionPool, LiteralSpace
from loom.evolve.model import ModelRule, RuleSet
from loom.evolve.operators import Variation
from loom.evolve.scoring import LocalScorer, Scorer
from loom.evolve.search import Generation, SearchOptions, run_search
from loom.evolve.seeding import (
    cardinality_rules,
    cover_binary,
    cover_decision_list,
    literal_scores,
)
from loom.evolve.task import Genome, Rule, Task
from loom.exceptions import InvalidParameterError, NumericTargetWarning, TargetError
from loom.kernels.config import thread_limit

__all__ = ["discover"]

logger = logging.getLogger(__name__)

# A target of more distinct values than this, all numbers, draws a warning.
MAX_NUMERIC_CLASSES = 20
# Fewer training rows than this leave no inner folds: the final search alone runs.
MIN_ROWS_FOR_VALIDATION = 30
# Tables with more rows fit their greedy seeds on a sample of about this many rows
# (see `SeedSample`); the search itself counts every row.
SEED_SAMPLE_ROWS = 200_000


def discover(
    data: Any,
    target: str | None = None,
    *,
    positive: str | None = None,
    max_rules: int = 32,
    max_literals_per_rule: int = 6,
    population_size: int = 96,
    n_generations: int = 150,
    patience: int = 25,
    crossover_rate: float = 0.5,
    mutation_rate: float = 0.9,
    inner_folds: int = 3,
    cardinality: bool = True,
    time_budget: float | None = None,
    random_state: int | np.random.Generator | None = 0,
    n_jobs: int | None = None,
    backend: str | None = None,
    progress: bool = False,
    on_generation: Callable[[Generation], None] | None = None,
    n_thresholds: int = 32,
    kinds: dict[str, str] | None = None,
    store: Any = None,
    scenarios: Any = None,
    policy: Any = None,
    backbone_fingerprint: str | None = None,
    client: Any = None,
    shard_rows: int | None = None,
) -> RuleSet:
    """Evolve a small set of readable rules that predict `target`.

    Parameters
    ----------
    data : str, path, DataFrame, ndarray, (X, y) tuple or BitTable
        The training data. A path is read as CSV. For an array without `y`, `target`
        is a column number (default: the last column).
    target : str, optional
        The column to predict; default the BitTable's target.
    positive : str, optional
        For a two-class target, the class the rules predict (the other is the
        default). By default both are tried on the greedy seeds and the class whose
        rules validate better (then the one with fewer literals) is taken.
    max_rules, max_literals_per_rule : int, default=32, 6
        Limits that hold in the returned model.
    population_size, n_generations, patience : int, default=96, 150, 25
        NSGA-II population, most generations, and generations without a change of
        the Pareto front before stopping early.
    crossover_rate, mutation_rate : float, default=0.5, 0.9
        Probability that a pair of parents exchanges rules, and that a child mutates.
    inner_folds : int, default=3
        Folds of the training rows (stratified, seeded) that choose the model's size:
        each fold's search fits the other folds and scores its front on the fold.
        0 or 1, or fewer than 30 training rows, leave no folds: then the member of
        the front with the fewest training errors is returned.
    cardinality : bool, default=True
        Offer cardinality conditions (``exactly(2: a = 1, b = 1, c = 1)``) to rules.
    time_budget : float, optional
        Seconds for the whole run; the search stops at the first generation past it.
    random_state : int, Generator or None, default=0
        Seed: the same data, options and seed give the same rules on every backend
        and thread count. The global `random` and `numpy.random` states are left as
        they were.
    n_jobs : int, optional
        Threads per kernel call (default: every CPU the process may use).
    backend : {'c', 'numba', 'numpy'}, optional
        Kernel backend; see `loom.kernels.backend`.
    progress : bool, default=False
        Show a progress bar on stderr.
    on_generation : callable, optional
        Called with each `Generation` record.
    n_thresholds, kinds
        Encoding options when `data` is not a BitTable; see `BitTable.from_csv`.
    store : CrystalStore, optional
        Crystals about the target in this store become fixed rules of every genome
        (never varied or removed; for a two-class target, those about the positive
        class). At the end the model's rules are measured on `scenarios` and offered
        back: a rule already crystallized gets an evidence event, a new one is
        stored when it passes `policy`.
    scenarios : mapping of str to packed row masks, optional
        Scenarios for the evidence (default: 5 folds of the training rows, seeded).
    policy : CrystallizationPolicy, optional
        Default `CrystallizationPolicy()`.
    backbone_fingerprint : str, optional
        Fingerprint of the binary network whose activations `data` holds; recorded
        with new crystals and compared with that of applied ones.
    client : distributed.Client, optional
        Count on the workers of a Dask cluster (`loom.evolve.cluster.DaskScorer`).
        The table is scattered as row shards, and the driver sums the shards' counts,
        so the rules equal those of an in-process run with the same seed. Needs
        ``pip install "loom-rules[cluster]"``.
    shard_rows : int, optional
        Rows per shard with `client`; default one shard per worker.

    Returns
    -------
    RuleSet

    Notes
    -----
    Model choice: for each inner fold a shorter search fits the other folds, and
    each member of its final Pareto front (training errors against literals) is
    scored on the fold. At every size L, a fold's error is that of its front member
    of at most L literals with the fewest fitting errors; the size with the fewest
    errors summed over the folds wins (the smaller size on a tie). A final search
    on every training row, started from the greedy seeds and the folds' fronts,
    returns the member of its front of that size, or the largest below it (on a
    Pareto front, the largest member within a size is the one with the fewest
    errors). The rules' statistics are counted on all training rows, and a rule of a
    two-class rule set whose rows are not mostly positive there is dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "a": [True, True, False, False] * 10,
    ...     "b": [True, False, True, False] * 10,
    ...     "y": ["yes", "no", "no", "no"] * 10})
    >>> model = discover(frame, "y", n_generations=5, random_state=0)
    >>> [str(rule.condition) for rule in model.rules]
    ['a and b']
    """
    options = _check_options(locals())
    _check_cluster(client, shard_rows)
    started = time.perf_counter()
    table = _as_table(data, target, n_thresholds=n_thresholds, kinds=kinds)
    target = target or table.target
    rng = np.random.default_rng(random_state)
    saved_state = random.getstate()
    random.seed(int(rng.integers(2**63)))
    try:
        with thread_limit(n_jobs):
            scorer, seed_sample = _make_scorer(table, str(target), backend, client,
                                               shard_rows)
            model = _discover(scorer, seed_sample, table, str(target), positive, options,
                              rng, started, on_generation, progress, store,
                              backbone_fingerprint)
            if store is not None:
                from loom.evolve.crystals import crystallize

                model.info["crystals"] = crystallize(
                    store, model, table, scenarios=scenarios, policy=policy,
                    options=options, seed=_seed(random_state),
                    backbone_fingerprint=backbone_fingerprint,
                )
    finally:
        random.setstate(saved_state)
    model.info["seconds"] = time.perf_counter() - started
    return model


def _seed(random_state: object) -> int | None:
    """Return the seed to record with crystals: the int given, else None."""
    if isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        return int(random_state)
    return None


def _check_options(given: dict[str, Any]) -> dict[str, Any]:
    def integer(name: str, low: int) -> None:
        value = given[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            msg = f"{name} must be an int >= {low}, got {value!r}."
            raise InvalidParameterError(msg)

    def rate(name: str, high: float = 1.0) -> None:
        value = given[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
            0.0 <= value <= high
        ):
            msg = f"{name} must be a number between 0 and {high}, got {value!r}."
            raise InvalidParameterError(msg)

    integer("max_rules", 1)
    integer("max_literals_per_rule", 1)
    integer("population_size", 4)
    integer("n_generations", 0)
    integer("patience", 1)
    rate("crossover_rate")
    rate("mutation_rate")
    integer("inner_folds", 0)
    budget = given["time_budget"]
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, int | float) or budget <= 0
    ):
        msg = f"time_budget must be a number of seconds > 0, got {budget!r}."
        raise InvalidParameterError(msg)
    jobs = given["n_jobs"]
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        msg = f"n_jobs must be an int >= 1 or None, got {jobs!r}."
        raise InvalidParameterError(msg)
    keys = (
        "max_rules", "max_literals_per_rule", "population_size", "n_generations",
        "patience", "crossover_rate", "mutation_rate", "inner_folds", "cardinality",
        "time_budget",
    )
    return {key: given[key] for key in keys}


def _as_table_any(
    data: Any, *, n_thresholds: int, kinds: dict[str, str] | None
) -> BitTable:
    """Encode data of any accepted kind without a target."""
    options: dict[str, Any] = {"n_thresholds": n_thresholds, "kinds": kinds}
    if isinstance(data, BitTable):
        return data
    if isinstance(data, str | os.PathLike):
        return BitTable.from_csv(data, **options)
    if isinstance(data, pd.DataFrame):
        return BitTable.from_frame(data, **options)
    array = np.asarray(data)
    if array.ndim != 2:
        msg = (
            f"data must be a path, a DataFrame, a BitTable or a 2-D array; got "
            f"{type(data).__name__}."
        )
        raise InvalidParameterError(msg)
    return BitTable.from_array(array, **options)


def _check_cluster(client: Any, shard_rows: int | None) -> None:
    if shard_rows is not None and (
        isinstance(shard_rows, bool) or not isinstance(shard_rows, int) or shard_rows < 1
    ):
        msg = f"shard_rows must be an int >= 1 or None, got {shard_rows!r}."
        raise InvalidParameterError(msg)
    if client is None:
        return
    from loom.evolve.cluster import require_distributed

    distributed = require_distributed()
    if not isinstance(client, distributed.Client):
        msg = (
            f"client must be a dask.distributed.Client, got {type(client).__name__}; "
            "pass Client(address) or leave it None to count in this process."
        )
        raise InvalidParameterError(msg)


def _make_scorer(
    table: BitTable, target: str, backend: str | None, client: Any,
    shard_rows: int | None,
) -> tuple[Scorer, SeedSample | None]:
    """Return the scorer of a run (over the table in this process, or over its row
    shards on the workers of `client`) and, for a large table, its seed sample."""
    table = _with_target(table, target)
    seed_sample = SeedSample.of(table, backend, whole=client is not None)
    if client is None:
        return LocalScorer(table, backend), seed_sample
    from loom.evolve.cluster import DaskScorer

    return DaskScorer(table, client, shard_rows=shard_rows, backend=backend), seed_sample


class SeedSample:
    """The rows that the greedy seeds of a large table fit on, as a table in this
    process.

    Greedy covering makes thousands of small scoring calls, each of which reads
    every word of the table, so on millions of rows it costs far more than the
    search. The sample takes every k-th 64-bit word of the rows (blocks of 64 rows
    spread evenly over the table) for about `SEED_SAMPLE_ROWS` rows. It depends only
    on the number of rows, so it draws nothing from the run's generator, and a run
    on a cluster seeds on the same rows as one in this process. With `words` None
    the sample is the whole table, without a copy.
    """

    def __init__(
        self, table: BitTable, words: NDArray[np.intp] | None, backend: str | None
    ) -> None:
        self.words = words
        sample = table
        if words is not None:
            n_rows = 64 * len(words)
            if len(words) and words[-1] == table.n_words - 1:
                n_rows -= 64 * table.n_words - table.n_rows  # the last word is partial
            sample = BitTable(
                table.schema, table.bits[:, words], table.valid[:, words], n_rows,
                table.ranges, copy=False,
            )
        self.scorer = LocalScorer(sample, backend)

    @classmethod
    def of(
        cls, table: BitTable, backend: str | None, *, whole: bool = False
    ) -> SeedSample | None:
        """Return the sample of a table of more than `SEED_SAMPLE_ROWS` rows.

        A smaller table's seeds fit every row: then return None, or with `whole`
        the whole table. A run on a cluster passes `whole`, so that its thousands of
        seeding calls stay in this process, which keeps the table anyway.
        """
        if table.n_rows <= SEED_SAMPLE_ROWS:
            return cls(table, None, backend) if whole else None
        step = -(-table.n_words // (SEED_SAMPLE_ROWS // 64))
        return cls(table, np.arange(0, table.n_words, step), backend)

    def register_mask(self, name: str, mask: NDArray[np.uint64]) -> None:
        """Register the sample's rows of a mask over every row."""
        self.scorer.register_mask(name, mask if self.words is None else mask[self.words])

    def task(self, task: Task) -> Task:
        """Return `task` with its counts taken on the sample."""
        return replace(task, scorer=self.scorer, _positives={})


def _as_table(
    data: Any, target: str | None, *, n_thresholds: int, kinds: dict[str, str] | None
) -> BitTable:
    options: dict[str, Any] = {"n_thresholds": n_thresholds, "kinds": kinds}
    if isinstance(data, BitTable):
        table = data
    elif isinstance(data, str | os.PathLike):
        table = BitTable.from_csv(data, target, **options)
    elif isinstance(data, pd.DataFrame):
        table = BitTable.from_frame(data, target, **options)
    elif isinstance(data, tuple) and len(data) == 2:
        table = BitTable.from_array(data[0], data[1], target=target or "y", **options)
    else:
        array = np.asarray(data)
        if array.ndim != 2 or array.shape[1] < 2:
            msg = (
                f"data must be a path, a DataFrame, an (X, y) tuple, a BitTable or a 2-D "
                f"array with a target column; got {type(data).__name__}."
            )
            raise InvalidParameterError(msg)
        frame = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
        column = frame.columns[-1] if target is None else target
        table = BitTable.from_frame(frame, str(column), **options)
    name = target or table.target
    if name is None:
        msg = "no target given: pass target=<column name>."
        raise TargetError(msg)
    spec = table.schema.feature(name)
    if spec.kind == "numeric":
        msg = (
            f"target {name!r} is numeric; Loom predicts classes. Pass "
            f"kinds={{{name!r}: 'categorical'}} to treat its values as labels."
        )
        raise TargetError(msg)
    if len(spec.values) < 2:
        msg = f"target {name!r} has {len(spec.values)} class(es); a classifier needs two."
        raise TargetError(msg)
    if len(spec.values) > MAX_NUMERIC_CLASSES and all(
        _is_number_text(value) for value in spec.values
    ):
        msg = (
            f"target {name!r} has {len(spec.values)} distinct values that all read as "
            f"numbers; each is treated as a class. Loom predicts classes: bin a "
            f"numeric target into a few classes first."
        )
        warnings.warn(msg, NumericTargetWarning, stacklevel=3)
    return table


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------
# The run


def _discover(
    scorer: Scorer, seed_sample: SeedSample | None, table: BitTable, target: str,
    positive: str | None, options: dict[str, Any], rng: np.random.Generator,
    started: float, on_generation: Callable[[Generation], None] | None,
    progress: bool, store: Any = None, backbone_fingerprint: str | None = None,
) -> RuleSet:
    spec = scorer.schema.feature(target)
    labels = _labels(scorer, target, spec.values)
    known = labels != None  # noqa: E711 - elementwise comparison
    scorer.register_mask("train", pack_bits(known))
    folds = _folds(labels, spec.values, options["inner_folds"], rng)
    for number, held_out in enumerate(folds):
        scorer.register_mask(f"fit{number}", pack_bits(known & ~held_out))
        scorer.register_mask(f"validation{number}", pack_bits(held_out))
    if seed_sample is not None:
        seed_sample.register_mask("train", pack_bits(known))
        for number, held_out in enumerate(folds):
            seed_sample.register_mask(f"fit{number}", pack_bits(known & ~held_out))

    def seeding(task: Task) -> Task:
        return task if seed_sample is None else seed_sample.task(task)

    space = LiteralSpace.build(scorer.schema)
    pool = ConditionPool(space)
    columns = list(scorer.schema.columns_of(target))

    fixed: dict[tuple[str, ...], tuple[Rule, ...]] = {}

    def make_task(mode: str, classes: list[int], mask: str) -> Task:
        task = Task(
            space=space, pool=pool, scorer=scorer, mode=mode,  # type: ignore[arg-type]
            classes=classes, max_rules=options["max_rules"],
            max_literals=options["max_literals_per_rule"], fit_mask=mask,
        )
        if store is not None:
            key = (mode, *map(str, classes))
            if key not in fixed:
                from loom.evolve.crystals import fixed_rules

                label = spec.values[columns.index(classes[0])] if mode == "binary" else None
                rules, _ = fixed_rules(
                    store, task, target, label, dataset_fingerprint=table.fingerprint,
                    backbone_fingerprint=backbone_fingerprint,
                )
                fixed[key] = tuple(rules)
            task = replace(task, fixed=fixed[key])
        return task

    if len(spec.values) == 2:
        labels_to_try = _positive_candidates(spec.values, positive, target)
        modes = [("binary", [columns[spec.values.index(name)]]) for name in labels_to_try]
    else:
        if positive is not None:
            msg = (
                f"positive={positive!r} applies to two-class targets; {target!r} has "
                f"{len(spec.values)} classes."
            )
            raise InvalidParameterError(msg)
        labels_to_try = [None]
        modes = [("multiclass", columns)]

    if space.usable.size == 0:
        # No feature gives a literal (all constant, or only the target): the model is
        # the default class alone, which a rule set may be.
        logger.warning("no feature of the table gives a literal; the model is the default")
        mode, classes = modes[0]
        task = make_task(mode, classes, "train")
        model = _build_model(task, [], table, target, labels_to_try[0])
        model.info.update(
            {"options": dict(options), "positive": labels_to_try[0], "generations": 0,
             "searches": 0, "stopped": "no literals", "train_rows": int(known.sum()),
             "dataset_fingerprint": table.fingerprint,
             "schema_fingerprint": table.schema.fingerprint}
        )
        return model

    budget = options["time_budget"]
    stages = len(folds) * len(modes) + 1
    callback = _progress_callback(on_generation, progress, stages * options["n_generations"])
    history: list[Generation] = []
    try:
        # Inner folds: per candidate positive class, a short search per fold whose
        # front is scored on the held-out rows.
        trials = []
        for (mode, classes), name in zip(modes, labels_to_try, strict=True):
            fronts: list[tuple[list[Genome], NDArray[np.int64]]] = []
            pool_rules: list[Rule] = []
            for number in range(len(folds)):
                task = make_task(mode, classes, f"fit{number}")
                seeds, grown, weights = _seeds(seeding(task), options)
                pool_rules.extend(grown)
                result = run_search(
                    task, Variation(task, grown, weights), seeds,
                    _search_options(options, started, budget, stages), rng,
                    on_generation=callback,
                )
                history.extend(result.history)
                errors = task.errors(result.front, f"validation{number}")
                fronts.append((result.front, errors))
            limit, curve = _validated_size(fronts)
            trials.append((name, mode, classes, fronts, pool_rules, limit, curve))
        label, mode, classes, fronts, pool_rules, limit, curve = _best_trial(
            trials, lambda name, mode, classes: make_task(mode, classes, "train"), seeding
        )
        # The final search on every training row, within the validated size.
        task = replace(make_task(mode, classes, "train"), max_complexity=limit)
        seeds, grown, weights = _seeds(seeding(task), options)
        starts = [*seeds, *(list(genome) for front, _ in fronts for genome in front)]
        variation = Variation(task, list(dict.fromkeys([*grown, *pool_rules])), weights)
        result = run_search(
            task, variation, starts, _search_options(options, started, budget, None),
            rng, on_generation=callback,
        )
        history.extend(result.history)
    finally:
        if hasattr(callback, "close"):
            callback.close()
    picked = _choose(result.front, limit)
    chosen = _center_thresholds(task, _prefer_equalities(task, picked))
    model = _build_model(task, [*task.fixed, *chosen], table, target, label)
    # The front marks the member picked; its final form may read differently.
    model.front = _front_figures(result.front, picked, curve, task)
    model.history = [asdict(record) for record in history]
    model.info.update(
        {
            "options": dict(options),
            "positive": label,
            "validated_literals": limit,
            "stopped": result.stopped,
            "generations": len(history),
            "searches": stages,
            "train_rows": int(known.sum()),
            "dataset_fingerprint": table.fingerprint,
            "schema_fingerprint": table.schema.fingerprint,
        }
    )
    logger.info(
        "discovered %s rules with %s literals after %s generations (%s)",
        len(model.rules), model.n_literals, len(history), result.stopped,
    )
    if store is not None:
        inner = [genome for front, _ in fronts for genome in front]
        model._front_rules = _front_rules(task, [*result.front, *inner], target, label)
    return model


def _front_rules(
    task: Task, front: list[Genome], target: str, positive: str | None
) -> list[Constraint]:
    """Return every distinct rule of the fronts' members as ``if A then target = c``
    (for a decision list, c is the class the rule predicts in its own list)."""
    spec = task.scorer.schema.feature(target)
    found: dict[Constraint, None] = {}
    for genome in front:
        rules = [*task.fixed, *genome]
        if task.mode == "binary":
            labels = [positive] * len(rules)
        else:
            classes, _ = task.list_classes(rules, "train")
            labels = [spec.values[c] for c in classes]
        for rule, label in zip(rules, labels, strict=True):
            if rule:
                conclusion = Compare(target, "=", label_value(str(label)))
                found.setdefault(Implies(_condition(task, rule), conclusion))
    return list(found)


def _labels(scorer: Scorer, target: str, classes: Sequence[str]) -> NDArray[np.object_]:
    """Return each row's class label (None where the target is missing), from the
    target's class columns."""
    labels = np.full(scorer.n_rows, None, dtype=object)
    for label, column in zip(classes, scorer.schema.columns_of(target), strict=True):
        labels[unpack_bits(scorer.column(column), scorer.n_rows)] = label
    return labels


def _search_options(
    options: dict[str, Any], started: float, budget: float | None, stages: int | None
) -> SearchOptions:
    """Settings of one search: an inner one (one of `stages` searches before the
    final one) runs half as many generations, with half the patience."""
    remaining = None
    if budget is not None:
        remaining = max(budget - (time.perf_counter() - started), 0.0)
        if stages is not None:
            remaining /= stages
    generations = options["n_generations"]
    patience = options["patience"]
    if stages is not None:
        # The inner searches only rank sizes, so they run shorter, but not so short
        # that their fronts rank sizes by chance.
        generations = max(min(generations, 10), generations // 2)
        patience = max(min(patience, 5), patience // 2)
    return SearchOptions(
        population_size=options["population_size"],
        n_generations=generations,
        patience=patience,
        crossover_rate=options["crossover_rate"],
        mutation_rate=options["mutation_rate"],
        time_budget=remaining,
    )


def _with_target(table: BitTable, target: str) -> BitTable:
    """Return the table with `target` as its schema's target, so no rule uses it.

    A boolean target becomes categorical (``false``, ``true``), so that every class
    has a bit column.
    """
    schema = table.schema
    spec = schema.feature(target)
    if spec.kind != "boolean":
        if schema.target == target:
            return table
        schema = Schema(schema.features, target=target)
        return BitTable(schema, table.bits, table.valid, table.n_rows, table.ranges,
                        copy=False)
    # NOTE: a boolean target copies every bit column once, so the peak memory is twice
    # the bits; on a very large table, encode the target with kinds={target: "categorical"}.
    position = schema.index(target)
    categorical = FeatureSpec(target, "categorical", values=("false", "true"),
                              allows_missing=spec.allows_missing)
    features = list(schema.features)
    features[position] = categorical
    new_schema = Schema(tuple(features), target=target)
    known = table.valid[position]
    if spec.is_constant:
        value = spec.values[0] == "true" if spec.values else False
        true = known if value else np.zeros_like(known)
    else:
        true = table.bits[schema.columns_of(target)[0]]
    parts = []
    for name in schema.feature_names:
        if name == target:
            parts.append(np.stack([known & ~true, true]))
        else:
            columns = schema.columns_of(name)
            parts.append(table.bits[columns.start : columns.stop])
    bits = np.ascontiguousarray(np.concatenate(parts, axis=0))
    return BitTable(new_schema, bits, table.valid, table.n_rows, table.ranges, copy=False)


def _folds(
    labels: NDArray[np.object_], classes: Sequence[str], n_folds: int,
    rng: np.random.Generator,
) -> list[NDArray[np.bool_]]:
    """Split the rows with a known label into `n_folds` held-out parts, stratified by
    class. Too few rows, or fewer than 2 folds, give no parts."""
    known = labels != None  # noqa: E711 - elementwise comparison
    if n_folds < 2 or known.sum() < MIN_ROWS_FOR_VALIDATION:
        return []
    assignment = np.full(len(labels), -1)
    offset = 0
    for label in classes:
        rows = rng.permutation(np.flatnonzero(labels == label))
        assignment[rows] = (np.arange(len(rows)) + offset) % n_folds
        offset += len(rows)
    return [assignment == number for number in range(n_folds)]


def _positive_candidates(
    values: Sequence[str], positive: str | None, target: str
) -> list[str]:
    if positive is None:
        return list(values)
    if str(positive) not in values:
        known = ", ".join(repr(value) for value in values)
        msg = f"positive={positive!r} is not a class of {target!r}; its classes are {known}."
        raise InvalidParameterError(msg)
    return [str(positive)]


Seeds = tuple[list[list[Rule]], list[Rule], NDArray[np.float64]]


def _seeds(task: Task, options: dict[str, Any]) -> Seeds:
    """Greedy rule sets on the task's fitting rows (the first population's seeds),
    candidate rules for the add-rule mutation, and draw weights of the literals."""
    mask = task.fit_mask
    scores = literal_scores(task, mask)
    weights = 1.0 + 9.0 * scores / scores.max() if scores.max() > 0 else np.ones_like(scores)
    candidates = task.space.usable
    condition_rules: list[Rule] = []
    if options["cardinality"]:
        condition_rules = cardinality_rules(task, mask, scores)
        extra = np.array([rule[0] for rule in condition_rules], dtype=np.intp)
        candidates = np.concatenate([candidates, extra])
    seeds: list[list[Rule]] = []
    pool: list[Rule] = []
    # Greedy covering over plain literals, and with the cardinality conditions:
    # either can be the better start.
    plain = task.space.usable
    variants = [(plain, 1), (plain, 3)]
    if len(candidates) > len(plain):
        variants.append((candidates, 1))
    for literals, beam in variants:
        if task.mode == "binary":
            rules, grown = cover_binary(task, mask, literals, beam=beam)
        elif beam == 1:
            rules, grown = cover_decision_list(task, mask, literals)
        else:
            continue
        seeds.append(rules)
        pool.extend(grown)
    seeds.extend([[rule] for rule in condition_rules[:4]])
    pool.extend(condition_rules)
    pool = list(dict.fromkeys(rule for rule in pool if rule))
    return seeds, pool, weights


def _best_trial(
    trials: list[tuple[Any, ...]], make_task: Callable[..., Task],
    seeding: Callable[[Task], Task],
) -> tuple[Any, ...]:
    """Pick the candidate positive class (two-class targets) whose inner folds found
    the fewest held-out errors, then fewer literals; on a tie, or without folds, the
    class whose greedy rule set (fit on the seed sample of a large table) errs least
    on all training rows, then has fewer literals and rules, then is the smaller
    class."""
    if len(trials) == 1:
        return trials[0]
    ranked = []
    for position, (name, mode, classes, _, _, limit, curve) in enumerate(trials):
        held_out = curve[limit] if curve else 0
        task = make_task(name, mode, classes)
        seed = cover_binary(seeding(task), "train", task.space.usable)[0]
        error = int(task.errors([seed])[0])
        ranked.append(
            (held_out, limit or 0, error, task.complexity(seed), len(seed),
             task.positives("train"), position)
        )
    return trials[min(ranked)[-1]]


def _validated_size(
    fronts: list[tuple[list[Genome], NDArray[np.int64]]],
) -> tuple[int | None, dict[int, int]]:
    """Return the number of literals with the fewest held-out errors summed over the
    inner folds (the smaller number on a tie), and those sums per number of literals.

    For a fold, the error at size L is the held-out error of the front member of at
    most L literals with the fewest fitting errors. None (no limit) without folds.
    """
    if not fronts:
        return None, {}
    sizes = sorted({int(g.fitness.values[1]) for front, _ in fronts for g in front})
    curve: dict[int, int] = {}
    for size in sizes:
        total = 0
        for front, held_out in fronts:
            members = [i for i, g in enumerate(front) if g.fitness.values[1] <= size]
            if not members:
                total = -1
                break
            best = min(members, key=lambda i: front[i].fitness.values)
            total += int(held_out[best])
        if total >= 0:
            curve[size] = total
    if not curve:
        return None, {}
    limit = min(curve, key=lambda size: (curve[size], size))
    return limit, curve


def _choose(front: list[Genome], limit: int | None) -> list[Rule]:
    """Return the front member with the fewest training errors among those within the
    validated size (fewer literals on a tie); the smallest member when none fits."""
    if not front:
        return []
    allowed = [g for g in front if limit is None or g.fitness.values[1] <= limit]
    if not allowed:
        allowed = [min(front, key=lambda g: g.fitness.values[1])]
    return list(min(allowed, key=lambda g: g.fitness.values))


def _prefer_equalities(task: Task, rules: list[Rule]) -> list[Rule]:
    """Replace each negated categorical literal (``c != w``) by an equality of the same
    feature (``c = v``) where that makes no more training errors.

    Both count as one literal, so the search has no reason to prefer either; the
    equality reads more easily. One batched call per literal scores every value.
    """
    space = task.space
    rules = [list(rule) for rule in rules]
    for i in range(len(rules)):
        for j in range(len(rules[i])):
            code = rules[i][j]
            column = code >> 1
            if task.pool.is_condition(code) or not code & 1:
                continue
            if space.kind[column] != CATEGORICAL:
                continue
            columns = np.flatnonzero(space.feature == space.feature[column])
            variants = [[tuple(sorted(rule)) for rule in rules]]
            for other in columns:
                variant = [list(rule) for rule in rules]
                variant[i][j] = int(2 * other)
                variants.append([tuple(sorted(rule)) for rule in variant])
            errors = task.errors(variants)
            best = int(np.argmin(errors[1:])) + 1
            if errors[best] <= errors[0]:
                rules[i][j] = int(2 * columns[best - 1])
    return task.simplify([tuple(sorted(rule)) for rule in rules])


def _center_thresholds(task: Task, rules: list[Rule]) -> list[Rule]:
    """Move each numeric literal to the middle of the run of neighbouring thresholds
    that give the model its fewest training errors.

    Several cut points often fit the training rows equally well; the middle one
    keeps the widest margin to the rows on both sides. Each literal takes one batched
    call that scores the model with every threshold of its feature.
    """
    space = task.space
    rules = [list(rule) for rule in rules]
    for i in range(len(rules)):
        for j in range(len(rules[i])):
            code = rules[i][j]
            column = code >> 1
            if task.pool.is_condition(code) or not space.neighbours(code):
                continue
            columns = np.flatnonzero(space.feature == space.feature[column])
            variants = []
            for other in columns:
                variant = [list(rule) for rule in rules]
                variant[i][j] = int(2 * other + (code & 1))
                variants.append([tuple(sorted(rule)) for rule in variant])
            errors = task.errors(variants)
            best = errors.min()
            position = int(np.flatnonzero(columns == column)[0])
            if errors[position] != best:
                position = int(np.argmin(errors))
            low = high = position
            while low > 0 and errors[low - 1] == best:
                low -= 1
            while high < len(columns) - 1 and errors[high + 1] == best:
                high += 1
            rules[i][j] = int(2 * columns[(low + high) // 2] + (code & 1))
    return task.simplify([tuple(sorted(rule)) for rule in rules])


def _front_figures(
    front: list[Genome], chosen: list[Rule], curve: dict[int, int], task: Task
) -> list[dict[str, Any]]:
    """Per member of the final front: literals, training errors, the held-out errors
    of the inner folds at that size, and whether it was chosen."""
    key = task.key(chosen)
    figures = []
    for genome in sorted(front, key=lambda g: g.fitness.values[::-1]):
        size = int(genome.fitness.values[1])
        fitting = [s for s in curve if s <= size]
        figures.append(
            {
                "literals": size,
                "fit_errors": int(genome.fitness.values[0]),
                "validation_errors": curve[max(fitting)] if fitting else None,
                "chosen": task.key(genome) == key,
            }
        )
    return figures


def _progress_callback(
    on_generation: Callable[[Generation], None] | None, progress: bool, total: int
) -> Any:
    if not progress:
        return on_generation
    from tqdm import tqdm

    bar = tqdm(total=total, desc="generations", unit="gen", leave=False)

    class _Callback:
        def __call__(self, record: Generation) -> None:
            bar.update(1)
            bar.set_postfix(error=record.best_error, front=record.front_size)
            if on_generation is not None:
                on_generation(record)

        def close(self) -> None:
            bar.close()

    return _Callback()


# ---------------------------------------------------------------------------
# The model


def _condition(task: Task, rule: Rule) -> Constraint:
    parts = []
    for code in rule:
        if task.pool.is_condition(code):
            parts.append(task.pool.node(code))
        else:
            parts.append(task.space.literal_node(code))
    if not parts:
        return TRUE
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _build_model(
    task: Task, rules: list[Rule], table: BitTable, target: str, positive: str | None
) -> RuleSet:
    scorer = task.scorer
    spec = scorer.schema.feature(target)
    classes = tuple(spec.values)
    columns = list(scorer.schema.columns_of(target))
    totals = np.array([scorer.count_and("train", c) for c in columns], dtype=np.int64)
    prior = totals / max(int(totals.sum()), 1)
    if task.mode == "binary":
        assert positive is not None
        positive_index = classes.index(positive)
        negative_index = 1 - positive_index
        kept = []
        for rule in rules:
            covered, hits = task.score_rules(_rows(rule), task.classes[0], "train")[0]
            if hits > covered - hits:
                kept.append((rule, int(covered), int(hits)))
        model_rules = []
        for rule, covered, hits in kept:
            counts = [0, 0]
            counts[positive_index] = hits
            counts[negative_index] = covered - hits
            model_rules.append(_model_rule(_condition(task, rule), classes, counts, prior))
        kept_rules = [rule for rule, _, _ in kept]
        if kept_rules:
            _, union = task.score_sets(
                _rows_many(kept_rules), np.arange(len(kept_rules), dtype=np.int32)[None, :],
                task.classes[0], "train",
            )
            covered, hits = (int(v) for v in union[0])
        else:
            covered = hits = 0
        counts = [0, 0]
        counts[positive_index] = int(totals[positive_index]) - hits
        counts[negative_index] = int(totals[negative_index]) - (covered - hits)
        # The default predicts the negative class unless the rows no rule matches
        # are mostly positive (an empty rule set on a positive majority).
        majority = positive_index if counts[positive_index] > counts[negative_index] else (
            negative_index
        )
        default = _model_rule(TRUE, classes, counts, prior, label=classes[majority])
        return RuleSet(target, classes, "rule set", tuple(model_rules), default,
                       table.schema, positive=positive)
    while True:
        counts = task.score_lists(
            _rows_many(rules) if rules else _rows(()),
            np.arange(len(rules), dtype=np.int32)[None, :] if rules
            else np.full((1, 1), -1, dtype=np.int32),
            "train",
        )[0]
        dead = [i for i in range(len(rules)) if counts[i, 0] == 0]
        if not dead:
            break
        rules = [rule for i, rule in enumerate(rules) if i not in dead]
    model_rules = [
        _model_rule(_condition(task, rule), classes, list(counts[i, 1:]), prior)
        for i, rule in enumerate(rules)
    ]
    default = _model_rule(TRUE, classes, list(counts[-1, 1:]), prior)
    return RuleSet(target, classes, "decision list", tuple(model_rules), default,
                   table.schema)


def _rows(rule: Rule) -> NDArray[np.int32]:
    return _rows_many([rule])


def _rows_many(rules: Sequence[Rule]) -> NDArray[np.int32]:
    width = max((len(rule) for rule in rules), default=1) or 1
    array = np.full((len(rules), width), -1, dtype=np.int32)
    for row, rule in enumerate(rules):
        array[row, : len(rule)] = rule
    return array


def _model_rule(
    condition: Constraint, classes: Sequence[str], counts: Sequence[int],
    prior: NDArray[np.float64], *, label: str | None = None,
) -> ModelRule:
    counts = [int(count) for count in counts]
    support = sum(counts)
    index = classes.index(label) if label is not None else int(np.argmax(counts))
    confidence = counts[index] / support if support else 0.0
    lift = confidence / prior[index] if prior[index] > 0 else 0.0
    return ModelRule(
        condition=condition, prediction=classes[index], class_counts=tuple(counts),
        support=support, confidence=confidence, lift=lift,
    )

