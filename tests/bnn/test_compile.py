"""Rule sets compiled into binary layers predict exactly what the rules predict: on
random rule sets over tables with missing values, on every kernel backend, and on the
rules `loom.discover` finds on the tic-tac-toe boards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import loom
from loom import BitTable, RuleSet
from loom.bnn.compile import compile_rules
from loom.constraints.ast import (
    TRUE,
    And,
    BooleanAtom,
    Cardinality,
    Compare,
    Constraint,
    Implies,
    Membership,
    Not,
    Or,
    Xor,
)
from loom.demo import tic_tac_toe
from loom.evolve import ModelRule
from loom.exceptions import ConstraintError
from loom.kernels import available_backends

BACKENDS = available_backends()


def random_table(rng: np.random.Generator, n_rows: int, n_classes: int) -> BitTable:
    """Booleans, categories and numbers, each missing in about a tenth of the rows."""
    frame = pd.DataFrame(
        {
            "b0": rng.random(n_rows) < 0.5,
            "b1": rng.random(n_rows) < 0.3,
            "c0": rng.choice(["red", "green", "blue"], n_rows),
            "c1": rng.choice(["on", "off"], n_rows),
            "n0": rng.integers(0, 6, n_rows).astype(float),
            "y": rng.choice([f"k{i}" for i in range(n_classes)], n_rows),
        }
    ).astype(object)
    for name in ("b0", "b1", "c0", "c1", "n0"):
        frame.loc[rng.random(n_rows) < 0.1, name] = None
    frame["n0"] = frame["n0"].astype(float)
    return BitTable.from_frame(frame, "y", kinds={"y": "categorical"}, n_thresholds=4)


def literal(rng: np.random.Generator, table: BitTable) -> Constraint:
    """A column's literal or its negation, written as the search writes it."""
    schema = table.schema
    columns = [c for c in range(schema.n_columns) if c not in schema.columns_of("y")]
    node = schema.literals[int(rng.choice(columns))]
    if rng.random() < 0.5:
        return node
    if isinstance(node, Compare) and node.op == "<=":
        return Compare(node.feature, ">", node.value)
    if isinstance(node, Compare) and node.op == "=":
        return Compare(node.feature, "!=", node.value)
    return Not(node)


def cardinality(rng: np.random.Generator, table: BitTable) -> Constraint:
    operands = [literal(rng, table) for _ in range(int(rng.integers(2, 5)))]
    if rng.random() < 0.2:
        operands.append(operands[0])  # a repeated operand counts twice
    kind = str(rng.choice(["atleast", "atmost", "exactly"]))
    node = Cardinality(kind, int(rng.integers(-1, len(operands) + 2)), tuple(operands))
    return Not(node) if rng.random() < 0.3 else node


def condition(rng: np.random.Generator, table: BitTable) -> Constraint:
    if rng.random() < 0.05:
        return TRUE
    parts: list[Constraint] = []
    for _ in range(int(rng.integers(1, 4))):
        draw = rng.random()
        if draw < 0.6:
            parts.append(literal(rng, table))
        elif draw < 0.85:
            parts.append(cardinality(rng, table))
        elif draw < 0.9:
            parts.append(Or((literal(rng, table), literal(rng, table))))
        elif draw < 0.95:
            parts.append(Membership("c0", ("red", "blue")))
        else:
            parts.append(Compare("c0", str(rng.choice(["=", "!="])), "purple"))
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def random_rules(rng: np.random.Generator, table: BitTable, n_classes: int) -> RuleSet:
    classes = tuple(f"k{i}" for i in range(n_classes))
    kind = "rule set" if n_classes == 2 and rng.random() < 0.6 else "decision list"

    def model_rule(node: Constraint) -> ModelRule:
        counts = tuple(int(c) for c in rng.integers(0, 6, n_classes))
        confidence = float(rng.choice([0.5, 0.75, 1.0]))
        return ModelRule(
            node, classes[int(np.argmax(counts))], counts, sum(counts), confidence, 1.0
        )

    rules = tuple(model_rule(condition(rng, table)) for _ in range(rng.integers(0, 7)))
    return RuleSet(
        target="y",
        classes=classes,
        kind=kind,
        rules=rules,  # type: ignore[arg-type]
        default=model_rule(TRUE),
        schema=table.schema,
        positive=classes[1] if kind == "rule set" else None,
    )


SEEDS = list(range(60))


@pytest.mark.parametrize("seed", SEEDS)
def test_random_rules_predict_the_same(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_classes = int(rng.integers(2, 4))
    n_rows = int(rng.choice([30, 63, 64, 65, 129, 200, 300]))
    table = random_table(rng, n_rows, n_classes)
    rules = random_rules(rng, table, n_classes)
    compiled = compile_rules(rules)
    assert np.array_equal(compiled.predict(table), rules.predict(table))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", SEEDS[:12])
def test_random_rules_same_on_every_backend(seed: int, backend: str) -> None:
    rng = np.random.default_rng(1000 + seed)
    table = random_table(rng, 130, 3)
    rules = random_rules(rng, table, 3)
    compiled = compile_rules(rules)
    assert np.array_equal(compiled.predict(table, backend), rules.predict(table))


@pytest.fixture(scope="module")
def boards() -> pd.DataFrame:
    return tic_tac_toe()


@pytest.mark.parametrize("target", ["y", "mm"], ids=["rule_set", "decision_list"])
def test_discovered_board_rules_predict_the_same(
    boards: pd.DataFrame, target: str
) -> None:
    rules = loom.discover(
        boards, target, n_generations=15, inner_folds=0, random_state=0
    )
    assert rules.kind == ("rule set" if target == "y" else "decision list")
    compiled = compile_rules(rules)
    table = BitTable.from_frame(boards, target)
    for backend in BACKENDS:
        assert np.array_equal(compiled.predict(table, backend), rules.predict(table))
    with_missing = boards.copy()
    with_missing.loc[::5, "mm"] = None
    with_missing.loc[::7, "tl"] = None
    assert np.array_equal(compiled.predict(with_missing), rules.predict(with_missing))


def test_board_rule_set_is_one_conjunction_per_rule(boards: pd.DataFrame) -> None:
    rules = loom.discover(boards, "y", n_generations=15, inner_folds=0, random_state=0)
    compiled = compile_rules(rules)
    conjunctions, output = compiled.layers
    assert conjunctions.n_outputs == len(rules.rules)
    assert output.n_outputs == 2
    assert conjunctions.n_inputs == 2 * 27  # nine squares, three values each
    # Each neuron's mask contains its rule's literals, each weighted +1.
    literals = [len(rule.condition.operands) for rule in rules.rules]
    masks = np.unpackbits(conjunctions.mask.view(np.uint8), axis=1).sum(axis=1)
    assert masks.tolist() == literals
    assert conjunctions.thresholds.tolist() == literals


def schema_rules(table: BitTable, conditions: list[Constraint], kind: str) -> RuleSet:
    classes = table.schema.feature("y").values

    def model_rule(node: Constraint, counts: tuple[int, ...]) -> ModelRule:
        return ModelRule(
            node, classes[int(np.argmax(counts))], counts, sum(counts), 1.0, 1.0
        )

    counts = [
        tuple(5 if i == k % len(classes) else 0 for i in range(len(classes)))
        for k in range(1, len(conditions) + 1)
    ]
    return RuleSet(
        "y",
        tuple(classes),
        kind,  # type: ignore[arg-type]
        tuple(model_rule(n, c) for n, c in zip(conditions, counts, strict=True)),
        model_rule(TRUE, tuple(range(len(classes)))),
        table.schema,
    )


def test_no_rules_predict_the_default() -> None:
    table = random_table(np.random.default_rng(1), 50, 3)
    rules = schema_rules(table, [], "decision list")
    compiled = compile_rules(rules)
    assert set(compiled.predict(table)) == {rules.classes[2]}


@pytest.mark.parametrize(
    "text",
    [
        "b0 -> c1 = on",
        "b0 xor b1 xor c1 = on",
        "not (b0 and c0 = red)",
        "atleast(2: b0, b0)",
        "c0 = purple or b1",
        "c0 != purple",
        "c1 in {on}",
        "n0 > 3.5 and not c0 in {red, green}",
    ],
)
def test_other_connectives_compile(text: str) -> None:
    rng = np.random.default_rng(5)
    table = random_table(rng, 200, 2)
    rules = schema_rules(table, [loom.parse(text)], "decision list")
    compiled = compile_rules(rules)
    assert np.array_equal(compiled.predict(table), rules.predict(table))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("n0 <= 2.2", "Compiled rules need bit columns"),
        ("atleast(1: b0 and b1, c1 = on)", "is not a literal"),
        ("y = k0", "uses the target"),
    ],
    ids=["not_a_threshold", "nested_count", "target"],
)
def test_uncompilable_conditions_raise(text: str, message: str) -> None:
    table = random_table(np.random.default_rng(2), 40, 2)
    rules = schema_rules(table, [loom.parse(text)], "decision list")
    with pytest.raises(ConstraintError, match=message):
        compile_rules(rules)


def test_compiled_layers_run_on_input_bits() -> None:
    table = random_table(np.random.default_rng(3), 100, 2)
    rules = schema_rules(table, [loom.parse("b0 and c1 = on")], "rule set")
    compiled = compile_rules(rules)
    bits = compiled.input_bits(table)
    assert bits.shape == (100, 1)
    assert compiled.n_inputs == 2 * (table.n_columns - 2)
    first = np.unpackbits(bits.view(np.uint8), axis=1, bitorder="little")
    b0 = table.column_values("b0")
    known = np.unpackbits(table.feature_valid("b0").view(np.uint8), bitorder="little")[
        :100
    ]
    assert np.array_equal(first[:, 0].astype(bool), b0)
    assert np.array_equal(first[:, 1].astype(bool), known.astype(bool) & ~b0)


def test_predict_encodes_frames_with_the_schema() -> None:
    frame = tic_tac_toe()
    rules = loom.discover(frame, "y", n_generations=5, inner_folds=0, random_state=1)
    compiled = compile_rules(rules)
    boards = frame.drop(columns="y").head(50)
    assert np.array_equal(compiled.predict(boards), rules.predict(boards))


def test_rule_of_implication_form_is_not_special() -> None:
    # An implication inside a condition reads as (not a) or b.
    table = random_table(np.random.default_rng(8), 150, 2)
    node = And(
        (
            Implies(BooleanAtom("b0"), BooleanAtom("b1")),
            Not(Xor((BooleanAtom("b0"), Compare("c1", "=", "on")))),
        )
    )
    rules = schema_rules(table, [node], "decision list")
    assert np.array_equal(compile_rules(rules).predict(table), rules.predict(table))
