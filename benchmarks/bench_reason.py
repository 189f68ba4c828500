"""Time entailment queries of `loom.KnowledgeBase` over many random constraints.

Usage: python benchmarks/bench_reason.py [--features N] [--constraints M]
       [--queries Q] [--solver NAME] [--seed S]

The schema mixes boolean, categorical (3 to 5 values) and numeric features, a tenth
of them with missing values. Constraints are random rules, disjunctions and
cardinality constraints over random literals, kept only when they hold on every one
of 64 random cases, so the knowledge is consistent the way discovered rules are.
Each query takes three facts from one of those cases and asks whether a random
literal follows; every other query also adds the body of a random rule to the facts
and asks whether its head follows. The figures are the time to build the knowledge
base, then queries per second and the median and 95th percentile time of one query,
explanation included.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter

import numpy as np
import pandas as pd

import loom
from loom.constraints.ast import (
    And,
    BooleanAtom,
    Cardinality,
    Compare,
    Constraint,
    Implies,
    Not,
    Or,
)
from loom.data import FeatureSpec, Schema, unpack_bits
from loom.data.schema import label_value

N_CASES = 64


def build_schema(n_features: int, generator: np.random.Generator) -> Schema:
    specs = []
    for index in range(n_features):
        kind = generator.choice(
            ["boolean", "categorical", "numeric"], p=[0.5, 0.4, 0.1]
        )
        missing = bool(generator.random() < 0.1)
        name = f"f{index}"
        if kind == "boolean":
            spec = FeatureSpec(
                name, "boolean", values=("false", "true"), allows_missing=missing
            )
        elif kind == "categorical":
            n_values = int(generator.integers(3, 6))
            labels = tuple(f"v{value}" for value in range(n_values))
            spec = FeatureSpec(
                name, "categorical", values=labels, allows_missing=missing
            )
        else:
            thresholds = (25.0, 50.0, 75.0)
            spec = FeatureSpec(
                name, "numeric", thresholds=thresholds, allows_missing=missing
            )
        specs.append(spec)
    return Schema(tuple(specs))


def build_cases(schema: Schema, generator: np.random.Generator) -> pd.DataFrame:
    columns: dict[str, list[object]] = {}
    for spec in schema.features:
        values: list[object]
        if spec.kind == "boolean":
            values = [bool(v) for v in generator.integers(0, 2, N_CASES)]
        elif spec.kind == "categorical":
            values = [
                spec.values[i] for i in generator.integers(0, len(spec.values), N_CASES)
            ]
        else:
            values = [float(v) for v in generator.uniform(0, 100, N_CASES)]
        if spec.allows_missing:
            values = [None if generator.random() < 0.2 else value for value in values]
        columns[spec.name] = values
    return pd.DataFrame(columns)


def random_literal(schema: Schema, generator: np.random.Generator) -> Constraint:
    spec = schema.features[int(generator.integers(schema.n_features))]
    if spec.kind == "boolean":
        atom: Constraint = BooleanAtom(spec.name)
    elif spec.kind == "categorical":
        label = spec.values[int(generator.integers(len(spec.values)))]
        atom = Compare(spec.name, "=", label_value(label))
    else:
        threshold = spec.thresholds[int(generator.integers(len(spec.thresholds)))]
        atom = Compare(spec.name, "<=", threshold)
    return Not(atom) if generator.random() < 0.3 else atom


def random_constraint(schema: Schema, generator: np.random.Generator) -> Constraint:
    shape = generator.choice(["rule", "rule", "rule", "or", "atmost", "atleast"])
    literals = [
        random_literal(schema, generator) for _ in range(int(generator.integers(2, 5)))
    ]
    if shape == "rule":
        body = literals[0] if len(literals) == 2 else And(tuple(literals[:-1]))
        return Implies(body, literals[-1])
    if shape == "or":
        return Or(tuple(literals))
    bound = 1 if shape == "atmost" else len(literals) - 1
    return Cardinality(str(shape), bound, tuple(literals))  # type: ignore[arg-type]


def build_constraints(
    schema: Schema, cases: loom.BitTable, count: int, generator: np.random.Generator
) -> list[Constraint]:
    holding: list[Constraint] = []
    while len(holding) < count:
        node = random_constraint(schema, generator)
        true, _ = loom.evaluate(node, cases)
        if unpack_bits(true, cases.n_rows).all():
            holding.append(node)
    return holding


def case_facts(
    schema: Schema, frame: pd.DataFrame, row: int, generator: np.random.Generator
) -> list[Constraint]:
    facts: list[Constraint] = []
    while len(facts) < 3:
        spec = schema.features[int(generator.integers(schema.n_features))]
        value = frame.at[row, spec.name]
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        if spec.kind == "boolean":
            facts.append(
                BooleanAtom(spec.name) if value else Not(BooleanAtom(spec.name))
            )
        elif spec.kind == "categorical":
            facts.append(Compare(spec.name, "=", label_value(str(value))))
        else:
            facts.append(Compare(spec.name, ">" if value > 50 else "<=", 50.0))
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=200, help="number of features")
    parser.add_argument("--constraints", type=int, default=1_000, help="constraints")
    parser.add_argument("--queries", type=int, default=1_000, help="entailment queries")
    parser.add_argument("--solver", default="cadical153", choices=loom.reason.SOLVERS)
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    options = parser.parse_args()

    generator = np.random.default_rng(options.seed)
    schema = build_schema(options.features, generator)
    frame = build_cases(schema, generator)
    cases = loom.BitTable.from_frame(frame, schema=schema)
    constraints = build_constraints(schema, cases, options.constraints, generator)

    start = time.perf_counter()
    kb = loom.KnowledgeBase(constraints, schema, solver=options.solver)
    build_seconds = time.perf_counter() - start

    times = []
    statuses: Counter[str] = Counter()
    steps = []
    rules = [node for node in constraints if isinstance(node, Implies)]
    with kb:
        for query in range(options.queries):
            row = int(generator.integers(N_CASES))
            facts = case_facts(schema, frame, row, generator)
            goal = random_literal(schema, generator)
            if query % 2 and rules:
                # Every other query fires a rule: its body joins the facts and its
                # head is the goal, so the answer needs an explanation.
                rule = rules[int(generator.integers(len(rules)))]
                body = rule.antecedent
                facts += list(body.operands) if isinstance(body, And) else [body]
                goal = rule.consequent
            start = time.perf_counter()
            answer = kb.entails(facts, goal)
            times.append(time.perf_counter() - start)
            statuses[str(answer.status)] += 1
            if answer.explanation is not None:
                steps.append(len(answer.explanation.steps))

    total = sum(times)
    median = statistics.median(times)
    p95 = float(np.percentile(times, 95))
    print(
        f"features {options.features}, constraints {options.constraints}, "
        f"queries {options.queries}, solver {options.solver}"
    )
    print(f"build                {build_seconds * 1e3:8.1f} ms")
    print(f"queries per second   {options.queries / total:8.1f}")
    print(f"median query         {median * 1e3:8.2f} ms")
    print(f"95th percentile      {p95 * 1e3:8.2f} ms")
    print(f"answers              {dict(sorted(statuses.items()))}")
    if steps:
        print(
            f"explanation steps    mean {statistics.mean(steps):.1f}, max {max(steps)}"
        )


if __name__ == "__main__":
    main()
