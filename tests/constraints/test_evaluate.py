"""Tests of three-valued evaluation: a plain row-by-row oracle over the raw CSV cells
checks `loom.evaluate` on every real data set and on small synthetic tables.
"""

from __future__ import annotations

import bisect
import csv
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loom
from loom.constraints.ast import (
    FALSE,
    TRUE,
    And,
    BooleanAtom,
    Cardinality,
    Compare,
    Constant,
    Constraint,
    Iff,
    Implies,
    Membership,
    Not,
    Or,
    Value,
    Xor,
    format_number,
    walk,
)
from loom.data import BitTable, unpack_bits
from loom.data.bits import concat_bits
from loom.exceptions import (
    ConstantFeatureWarning,
    ConstraintError,
    UnknownFeatureError,
)
from tests.conftest import dataset_index
from tests.data.invariants import assert_padding_zero

MISSING_CELLS = ("", "?")
TRUE_TEXTS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_TEXTS = frozenset({"false", "f", "no", "n", "0"})
COMPARISON_OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
UNSEEN_LABEL = "never seen in any data set"
MIN_CHECKED = 200
SYNTHETIC_ROWS = (0, 1, 63, 64, 65, 127, 128, 129)

Truth = bool | None  # None is Kleene's unknown


# ---------------------------------------------------------------------------
# The oracle: raw cells, row by row, Kleene logic


def read_cells(path: Path) -> tuple[list[str], list[list[str]]]:
    """Read a CSV file with the csv module: the header and the non-blank records."""
    with path.open(encoding="utf-8", newline="") as handle:
        records = [record for record in csv.reader(handle) if record]
    return records[0], records[1:]


def cell_truth(cell: str) -> bool:
    text = cell.lower()
    if text in TRUE_TEXTS:
        return True
    assert text in FALSE_TEXTS, cell
    return False


def categorical_text(value: Value) -> str:
    return value if isinstance(value, str) else format_number(value)


def boolean_value(value: Value) -> bool:
    assert value in (1.0, 0.0, "true", "false"), value
    return value in (1.0, "true")


def kleene_not(value: Truth) -> Truth:
    return None if value is None else not value


def kleene_and(values: Sequence[Truth]) -> Truth:
    if any(value is False for value in values):
        return False
    if all(value is True for value in values):
        return True
    return None


def kleene_or(values: Sequence[Truth]) -> Truth:
    if any(value is True for value in values):
        return True
    if all(value is False for value in values):
        return False
    return None


def kleene_xor(values: Sequence[Truth]) -> Truth:
    if any(value is None for value in values):
        return None
    return sum(values) % 2 == 1


def kleene_iff(left: Truth, right: Truth) -> Truth:
    if left is None or right is None:
        return None
    return left == right


def count_condition(kind: str, bound: int, values: Sequence[Truth]) -> Truth:
    n_true = sum(value is True for value in values)
    n_unknown = sum(value is None for value in values)
    if kind == "atleast":
        if n_true >= bound:
            return True
        return False if n_true + n_unknown < bound else None
    if kind == "atmost":
        if n_true + n_unknown <= bound:
            return True
        return False if n_true > bound else None
    if n_true == bound and n_unknown == 0:
        return True
    if n_true > bound or n_true + n_unknown < bound:
        return False
    return None


class Oracle:
    """Evaluate constraints on raw cells, one row at a time, without any bit code.

    Parameters
    ----------
    header, rows : the CSV header and records, as `read_cells` returns them.
    kinds : the kind of every column, as the table was encoded.
    """

    def __init__(self, header: list[str], rows: list[list[str]], kinds: dict[str, str]):
        self.kinds = kinds
        self.n_rows = len(rows)
        self.cells = {name: [row[i] for row in rows] for i, name in enumerate(header)}

    def numbers(self, name: str) -> list[float]:
        """The present values of a numeric feature."""
        return [float(cell) for cell in self.cells[name] if cell not in MISSING_CELLS]

    def labels(self, name: str) -> list[str]:
        """The distinct present cell texts of a feature, in order of first appearance."""
        present = (cell for cell in self.cells[name] if cell not in MISSING_CELLS)
        return list(dict.fromkeys(present))

    def evaluate(self, node: Constraint) -> tuple[list[bool], list[bool]]:
        """Return the rows where `node` is true and the rows where it is false."""
        values = [self.value(node, row) for row in range(self.n_rows)]
        return [value is True for value in values], [value is False for value in values]

    def value(self, node: Constraint, row: int) -> Truth:
        if isinstance(node, Constant):
            return node.value
        if isinstance(node, BooleanAtom | Compare | Membership):
            return self.atom(node, row)
        if isinstance(node, Not):
            return kleene_not(self.value(node.operand, row))
        if isinstance(node, Implies):
            antecedent = self.value(node.antecedent, row)
            return kleene_or([kleene_not(antecedent), self.value(node.consequent, row)])
        if isinstance(node, Iff):
            return kleene_iff(self.value(node.left, row), self.value(node.right, row))
        values = [self.value(operand, row) for operand in node.children()]
        if isinstance(node, And):
            return kleene_and(values)
        if isinstance(node, Or):
            return kleene_or(values)
        if isinstance(node, Xor):
            return kleene_xor(values)
        assert isinstance(node, Cardinality), node
        return count_condition(node.kind, node.bound, values)

    def atom(self, node: BooleanAtom | Compare | Membership, row: int) -> Truth:
        cell = self.cells[node.feature][row]
        if cell in MISSING_CELLS:
            return None
        kind = self.kinds[node.feature]
        if isinstance(node, BooleanAtom):
            return cell_truth(cell)
        if isinstance(node, Membership):
            return any(self.equal(kind, cell, value) for value in node.values)
        if node.op in ("=", "!="):
            return self.equal(kind, cell, node.value) == (node.op == "=")
        number = float(cell)
        bound = node.value
        if node.op == "<":
            return number < bound
        if node.op == "<=":
            return number <= bound
        if node.op == ">":
            return number > bound
        return number >= bound

    @staticmethod
    def equal(kind: str, cell: str, value: Value) -> bool:
        if kind == "boolean":
            return cell_truth(cell) == boolean_value(value)
        if kind == "numeric":
            return float(cell) == value
        return cell == categorical_text(value)


def undecided_features(node: Constraint, oracle: Oracle, table: BitTable) -> set[str]:
    """Return the numeric features of `node` compared at a value its thresholds leave open.

    A comparison ``x <= v`` (or ``x < v``) is open when the rows between the two
    thresholds around ``v`` lie on both sides of ``v``, so no bit column answers it.
    """
    open_features = set()
    for atom in walk(node):
        if not isinstance(atom, Compare | Membership):
            continue
        if oracle.kinds[atom.feature] != "numeric":
            continue
        for value, strict in comparison_points(atom):
            thresholds = table.schema.feature(atom.feature).thresholds
            if not strict and value in thresholds:
                continue
            gap = bisect.bisect_left(thresholds, value)
            low = thresholds[gap - 1] if gap > 0 else -math.inf
            high = thresholds[gap] if gap < len(thresholds) else math.inf
            in_gap = [x for x in oracle.numbers(atom.feature) if low < x <= high]
            below = [x < value if strict else x <= value for x in in_gap]
            if any(below) and not all(below):
                open_features.add(atom.feature)
    return open_features


def comparison_points(atom: Compare | Membership) -> list[tuple[float, bool]]:
    """The ``(value, strict)`` pairs of the ``x <= value`` or ``x < value`` tests."""
    if isinstance(atom, Membership):
        return [(value, strict) for value in atom.values for strict in (False, True)]
    if atom.op in ("<=", ">"):
        return [(atom.value, False)]
    if atom.op in ("<", ">="):
        return [(atom.value, True)]
    return [(atom.value, False), (atom.value, True)]


# ---------------------------------------------------------------------------
# Random constraints


@dataclass
class FeatureValues:
    """What the generator may compare a feature with."""

    kind: str
    labels: list[str] = field(default_factory=list)
    thresholds: tuple[float, ...] = ()
    observed: list[float] = field(default_factory=list)


class ConstraintGenerator:
    """Draw random constraints over a table's features from a seeded generator.

    Numeric comparisons use the table's thresholds most of the time, which the bits
    always decide, and otherwise observed values or values outside the data's range.
    Categorical values are labels of the data, written as numbers when the label is
    a number's canonical text, and now and then a label that no row has.
    """

    def __init__(self, rng: np.random.Generator, features: dict[str, FeatureValues]):
        self.rng = rng
        self.features = {
            name: values
            for name, values in features.items()
            if values.kind != "categorical" or values.labels
        }
        self.names = sorted(self.features)

    def constraint(self, depth: int = 0) -> Constraint:
        if depth >= 3 or self.rng.random() < 0.25 + 0.2 * depth:
            return self.leaf()
        choice = self.rng.integers(8)
        if choice == 0:
            return Not(self.constraint(depth + 1))
        if choice in (1, 2, 3):
            chain = (And, Or, Xor)[choice - 1]
            n_operands = int(self.rng.integers(2, 4))
            return chain(tuple(self.constraint(depth + 1) for _ in range(n_operands)))
        if choice == 4:
            return Implies(self.constraint(depth + 1), self.constraint(depth + 1))
        if choice == 5:
            return Iff(self.constraint(depth + 1), self.constraint(depth + 1))
        return self.cardinality(depth)

    def cardinality(self, depth: int) -> Cardinality:
        kind = ("atleast", "atmost", "exactly")[int(self.rng.integers(3))]
        n_operands = int(self.rng.integers(0, 5))
        operands = tuple(self.constraint(depth + 1) for _ in range(n_operands))
        bound = int(self.rng.integers(-2, n_operands + 3))
        return Cardinality(kind, bound, operands)

    def leaf(self) -> Constraint:
        if self.rng.random() < 0.08 or not self.names:
            return TRUE if self.rng.random() < 0.5 else FALSE
        name = self.names[int(self.rng.integers(len(self.names)))]
        values = self.features[name]
        if values.kind == "boolean":
            return self.boolean_atom(name)
        if values.kind == "numeric":
            return self.numeric_atom(name, values)
        return self.categorical_atom(name, values)

    def boolean_atom(self, name: str) -> Constraint:
        choice = self.rng.integers(4)
        if choice < 2:
            return BooleanAtom(name)
        pool: list[Value] = [1.0, 0.0, "true", "false"]
        if choice == 2:
            op = "=" if self.rng.random() < 0.5 else "!="
            return Compare(name, op, pool[int(self.rng.integers(4))])
        return Membership(name, tuple(self.pick(pool, int(self.rng.integers(0, 3)))))

    def numeric_atom(self, name: str, values: FeatureValues) -> Constraint:
        source = self.rng.random()
        if values.thresholds and source < 0.65:
            value = self.pick(list(values.thresholds), 1)[0]
        elif values.observed and source < 0.85:
            value = self.pick(values.observed, 1)[0]
        else:
            low = min(values.observed, default=0.0)
            high = max(values.observed, default=1.0)
            offset = 1.0 + float(self.rng.random()) * 10
            value = low - offset if self.rng.random() < 0.5 else high + offset
        if self.rng.random() < 0.06:
            members = [value, *self.pick(list(values.thresholds) or [value], 1)]
            return Membership(name, tuple(members))
        op = COMPARISON_OPERATORS[int(self.rng.integers(len(COMPARISON_OPERATORS)))]
        return Compare(name, op, value)

    def categorical_atom(self, name: str, values: FeatureValues) -> Constraint:
        if self.rng.random() < 0.3:
            count = int(self.rng.integers(0, min(4, len(values.labels)) + 1))
            labels = self.pick(values.labels, count)
            return Membership(name, tuple(self.label_value(label) for label in labels))
        op = "=" if self.rng.random() < 0.5 else "!="
        if self.rng.random() < 0.05:
            return Compare(name, op, UNSEEN_LABEL)
        return Compare(name, op, self.label_value(self.pick(values.labels, 1)[0]))

    def label_value(self, label: str) -> Value:
        """The label as a string, or as a number when that number prints as the label."""
        if self.rng.random() < 0.5:
            try:
                number = float(label)
            except ValueError:
                return label
            if math.isfinite(number) and format_number(number + 0.0) == label:
                return number
        return label

    def pick(self, pool: Sequence, count: int) -> list:
        indices = self.rng.choice(len(pool), size=min(count, len(pool)), replace=False)
        return [pool[int(index)] for index in indices]


def node_tags(node: Constraint, kinds: dict[str, str]) -> set[str]:
    """Name the node kinds a constraint uses, for the coverage checks."""
    tags = set()
    for current in walk(node):
        if isinstance(current, Compare):
            tags.add(f"{kinds[current.feature]} {current.op}")
        elif isinstance(current, Membership):
            tags.add(f"{kinds[current.feature]} in")
        elif isinstance(current, Constant):
            tags.add(str(current))
        elif isinstance(current, Cardinality):
            tags.add(current.kind)
            if current.bound == 0:
                tags.add("bound zero")
            elif current.bound < 0:
                tags.add("bound negative")
            elif current.bound > len(current.operands):
                tags.add("bound above count")
        else:
            tags.add(type(current).__name__)
    return tags


def uses_unseen_label(node: Constraint) -> bool:
    return any(
        isinstance(current, Compare) and current.value == UNSEEN_LABEL
        for current in walk(node)
    )


# ---------------------------------------------------------------------------
# Checking loop


@dataclass
class CheckCounts:
    checked: int = 0
    undecided: int = 0
    tags: Counter = field(default_factory=Counter)


def evaluate_unpacked(
    node: Constraint, table: BitTable, *, allow_unseen: bool = False
) -> tuple[list[bool], list[bool]]:
    true, false = loom.evaluate(node, table, allow_unseen=allow_unseen)
    assert_padding_zero(true, table.n_rows)
    assert_padding_zero(false, table.n_rows)
    assert not (true & false).any(), f"rows both true and false: {node}"
    return unpack_bits(true, table.n_rows).tolist(), unpack_bits(false, table.n_rows).tolist()


def check_constraint(
    node: Constraint, table: BitTable, oracle: Oracle, counts: CheckCounts
) -> None:
    """Compare `loom.evaluate` with the oracle, or justify a ConstraintError."""
    allow_unseen = uses_unseen_label(node)
    if allow_unseen:
        # Without allow_unseen the unseen label is rejected, unless an undecided
        # threshold elsewhere in the constraint is reached first.
        expected = r"has no value .*allow_unseen=True"
        if undecided_features(node, oracle, table):
            expected += "|so the bits do not decide it"
        with pytest.raises(ConstraintError, match=expected):
            loom.evaluate(node, table)
    try:
        true, false = evaluate_unpacked(node, table, allow_unseen=allow_unseen)
    except ConstraintError as error:
        open_features = undecided_features(node, oracle, table)
        message = str(error)
        assert open_features, f"{node}: raised {message!r} though the bits decide it"
        assert "so the bits do not decide it" in message
        assert any(repr(name) in message for name in open_features), message
        counts.undecided += 1
        return
    expected_true, expected_false = oracle.evaluate(node)
    assert true == expected_true, f"true rows differ for {node}"
    assert false == expected_false, f"false rows differ for {node}"
    counts.checked += 1
    counts.tags.update(node_tags(node, oracle.kinds))


def feature_values(table: BitTable, oracle: Oracle) -> dict[str, FeatureValues]:
    values = {}
    for spec in table.schema.features:
        kind = oracle.kinds[spec.name]
        observed = sorted(set(oracle.numbers(spec.name))) if kind == "numeric" else []
        labels = oracle.labels(spec.name) if kind == "categorical" else []
        values[spec.name] = FeatureValues(kind, labels, spec.thresholds, observed)
    return values


EXPECTED_TAGS = {
    "Not",
    "And",
    "Or",
    "Xor",
    "Implies",
    "Iff",
    "atleast",
    "atmost",
    "exactly",
    "bound zero",
    "bound negative",
    "bound above count",
    "true",
    "false",
    "categorical =",
    "categorical !=",
    "categorical in",
}
NUMERIC_TAGS = {f"numeric {op}" for op in COMPARISON_OPERATORS if op not in ("=", "!=")}
BOOLEAN_TAGS = {"BooleanAtom", "boolean =", "boolean !=", "boolean in"}


# ---------------------------------------------------------------------------
# Real data sets


@pytest.mark.parametrize(
    "entry", dataset_index(), ids=[str(entry["file"]) for entry in dataset_index()]
)
def test_evaluate_real_data_matches_oracle(
    datasets_dir: Path, entry: dict, rng: np.random.Generator
) -> None:
    path = datasets_dir / str(entry["file"])
    header, rows = read_cells(path)
    numeric = set(entry["numeric_features"])
    kinds = {name: "numeric" if name in numeric else "categorical" for name in header}
    table = BitTable.from_csv(path, str(entry["target"]), kinds=kinds)
    oracle = Oracle(header, rows, kinds)
    generator = ConstraintGenerator(rng, feature_values(table, oracle))
    shards = table.split(100)

    counts = CheckCounts()
    for attempt in range(600):
        if counts.checked >= MIN_CHECKED + 50:
            break
        node = generator.constraint()
        check_constraint(node, table, oracle, counts)
        if attempt < 20 and not undecided_features(node, oracle, table):
            assert_shards_agree(node, table, shards)

    assert counts.checked >= MIN_CHECKED, counts
    expected = EXPECTED_TAGS | (NUMERIC_TAGS if numeric else set())
    assert expected <= set(counts.tags), sorted(expected - set(counts.tags))


def assert_shards_agree(node: Constraint, table: BitTable, shards: list[BitTable]) -> None:
    """Evaluating shard by shard and joining the results gives the whole answer."""
    allow_unseen = uses_unseen_label(node)
    whole = loom.evaluate(node, table, allow_unseen=allow_unseen)
    parts = [loom.evaluate(node, shard, allow_unseen=allow_unseen) for shard in shards]
    counts = [shard.n_rows for shard in shards]
    np.testing.assert_array_equal(concat_bits([p.true for p in parts], counts), whole.true)
    np.testing.assert_array_equal(concat_bits([p.false for p in parts], counts), whole.false)


# ---------------------------------------------------------------------------
# Synthetic tables


SYNTHETIC_KINDS = {
    "flag": "boolean",
    "all_set": "boolean",
    "all_missing_flag": "boolean",
    "color": "categorical",
    "one_label": "categorical",
    "all_missing_label": "categorical",
    "x": "numeric",
    "all_missing_x": "numeric",
}
TRUE_SPELLINGS = ("true", "True", "t", "YES", "y", "1")
FALSE_SPELLINGS = ("false", "F", "no", "N", "n", "0")
COLORS = ("red", "blue", "dark blue", "007", "7", "1.50", "-0", "0")


def synthetic_cells(rng: np.random.Generator, n_rows: int, missing: bool) -> list[list[str]]:
    """Draw the cells of a synthetic table, one list per row in SYNTHETIC_KINDS order.

    Without `missing`, only the all-missing columns have missing cells.
    """
    rows = []
    for _ in range(n_rows):
        truth = rng.random() < 0.5
        spellings = TRUE_SPELLINGS if truth else FALSE_SPELLINGS
        row = [
            spellings[int(rng.integers(len(spellings)))],
            TRUE_SPELLINGS[int(rng.integers(len(TRUE_SPELLINGS)))],
            "",
            COLORS[int(rng.integers(len(COLORS)))],
            "only",
            "?",
            format_number(float(rng.integers(-5, 15)) / (1 if rng.random() < 0.7 else 4)),
            "",
        ]
        if missing:
            for position in (0, 1, 3, 4, 6):
                if rng.random() < 0.2:
                    row[position] = MISSING_CELLS[int(rng.integers(2))]
        rows.append(row)
    return rows


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.mark.parametrize("missing", [False, True], ids=["complete", "missing"])
@pytest.mark.parametrize("n_rows", SYNTHETIC_ROWS, ids=str)
def test_evaluate_synthetic_matches_oracle(
    tmp_path: Path, rng: np.random.Generator, n_rows: int, missing: bool
) -> None:
    header = list(SYNTHETIC_KINDS)
    rows = synthetic_cells(rng, n_rows, missing)
    path = tmp_path / "synthetic.csv"
    write_rows(path, header, rows)
    with pytest.warns(ConstantFeatureWarning, match="'all_set'"):
        table = BitTable.from_csv(path, kinds=SYNTHETIC_KINDS)
    header_read, rows_read = read_cells(path)
    assert header_read == header
    oracle = Oracle(header_read, rows_read, SYNTHETIC_KINDS)
    generator = ConstraintGenerator(rng, feature_values(table, oracle))

    counts = CheckCounts()
    for _ in range(MIN_CHECKED):
        check_constraint(generator.constraint(), table, oracle, counts)

    assert counts.undecided == 0
    assert counts.checked == MIN_CHECKED
    expected = EXPECTED_TAGS | BOOLEAN_TAGS | NUMERIC_TAGS
    if n_rows == 0:
        expected -= {"categorical =", "categorical !=", "categorical in"}
    assert expected <= set(counts.tags), sorted(expected - set(counts.tags))


@pytest.mark.parametrize(
    ("text", "name", "expected_true", "expected_false"),
    [
        ("all_set", "all_set", "present", "none"),
        ("not all_set", "all_set", "none", "present"),
        ("all_missing_flag", "all_missing_flag", "none", "none"),
        ("not all_missing_flag", "all_missing_flag", "none", "none"),
        ("all_missing_x <= 3", "all_missing_x", "none", "none"),
        ("one_label = only", "one_label", "present", "none"),
        ("one_label != only", "one_label", "none", "present"),
        ("atleast(0: all_missing_flag)", "all_missing_flag", "all", "none"),
        ("atmost(0: all_missing_flag)", "all_missing_flag", "none", "none"),
        ("exactly(0: all_missing_flag, false)", "all_missing_flag", "none", "none"),
    ],
    ids=[
        "all-set",
        "not-all-set",
        "all-missing",
        "not-all-missing",
        "all-missing-numeric",
        "one-label",
        "not-one-label",
        "atleast-zero",
        "atmost-zero-unknown",
        "exactly-zero-unknown",
    ],
)
def test_evaluate_constant_features(
    tmp_path: Path,
    rng: np.random.Generator,
    text: str,
    name: str,
    expected_true: str,
    expected_false: str,
) -> None:
    rows = synthetic_cells(rng, 130, missing=True)
    path = tmp_path / "synthetic.csv"
    write_rows(path, list(SYNTHETIC_KINDS), rows)
    with pytest.warns(ConstantFeatureWarning, match="'one_label'"):
        table = BitTable.from_csv(path, kinds=SYNTHETIC_KINDS)
    position = list(SYNTHETIC_KINDS).index(name)
    present = [row[position] not in MISSING_CELLS for row in rows]
    patterns = {"present": present, "none": [False] * 130, "all": [True] * 130}
    true, false = evaluate_unpacked(loom.parse(text), table)
    assert true == patterns[expected_true]
    assert false == patterns[expected_false]


# ---------------------------------------------------------------------------
# Errors


@pytest.fixture
def small_table() -> BitTable:
    frame = pd.DataFrame(
        {
            "color": ["red", "blue", "dark blue", None],
            "age": [20.0, 30.0, 40.0, 50.0],
            "smoker": [True, False, True, None],
        }
    )
    return BitTable.from_frame(frame, n_thresholds=1)


def test_evaluate_unknown_feature_lists_known(small_table: BitTable) -> None:
    with pytest.raises(
        UnknownFeatureError,
        match=r"unknown feature 'weight'; the features are 'color', 'age', 'smoker'",
    ):
        loom.evaluate(And((BooleanAtom("smoker"), Compare("weight", ">", 3))), small_table)


def test_evaluate_unknown_feature_is_key_error(small_table: BitTable) -> None:
    with pytest.raises(KeyError, match="unknown feature 'colour'"):
        loom.evaluate("colour = red", small_table)


def test_evaluate_impossible_value_lists_values(small_table: BitTable) -> None:
    with pytest.raises(
        ConstraintError,
        match=r"'color = purple': feature 'color' has no value purple; its values are "
        r"blue, \"dark blue\", red\. Fix the value, or pass allow_unseen=True",
    ):
        loom.evaluate(Compare("color", "=", "purple"), small_table)


def test_evaluate_impossible_member_raises(small_table: BitTable) -> None:
    with pytest.raises(ConstraintError, match="feature 'color' has no value purple"):
        loom.evaluate(Membership("color", ("red", "purple")), small_table)


@pytest.mark.parametrize(
    ("node", "expected_true", "expected_false"),
    [
        (Compare("color", "=", "purple"), [0, 0, 0, 0], [1, 1, 1, 0]),
        (Compare("color", "!=", "purple"), [1, 1, 1, 0], [0, 0, 0, 0]),
        (Membership("color", ("red", "purple")), [1, 0, 0, 0], [0, 1, 1, 0]),
    ],
    ids=["equal", "not-equal", "member"],
)
def test_evaluate_allow_unseen_matches_nothing(
    small_table: BitTable, node: Constraint, expected_true: list, expected_false: list
) -> None:
    true, false = evaluate_unpacked(node, small_table, allow_unseen=True)
    assert true == [bool(v) for v in expected_true]
    assert false == [bool(v) for v in expected_false]


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (BooleanAtom("color"), r"'color': feature 'color' is categorical, not boolean"),
        (BooleanAtom("age"), r"feature 'age' is numeric, not boolean; .* e\.g\. age <= "),
        (Compare("color", "<", "red"), r"'<' needs a numeric feature, but 'color' is categorical"),
        (Compare("age", "=", "old"), r"feature 'age' is numeric, so it is compared with numbers"),
        (Compare("smoker", "=", "maybe"), r"feature 'smoker' is boolean; write smoker or not smoker"),
        (Compare("smoker", ">", 0), r"'>' needs a numeric feature, but 'smoker' is boolean"),
    ],
    ids=[
        "categorical-as-boolean",
        "numeric-as-boolean",
        "order-on-categorical",
        "text-on-numeric",
        "other-boolean-value",
        "order-on-boolean",
    ],
)
def test_evaluate_kind_mismatch_raises(
    small_table: BitTable, node: Constraint, message: str
) -> None:
    with pytest.raises(ConstraintError, match=message):
        loom.evaluate(node, small_table)


def test_evaluate_undecided_value_advises_threshold(small_table: BitTable) -> None:
    threshold = small_table.schema.feature("age").thresholds[0]
    assert threshold == 35.0
    with pytest.raises(
        ConstraintError,
        match=r"rows of 'age' between the thresholds -inf and 35 lie on both sides of 25"
        r", so the bits do not decide it\. .*thresholds=\{'age': \[25\]\}",
    ):
        loom.evaluate(Compare("age", "<=", 25), small_table)


def test_evaluate_accepts_text(small_table: BitTable) -> None:
    from_text = loom.evaluate("smoker and color = red", small_table)
    node = And((BooleanAtom("smoker"), Compare("color", "=", "red")))
    from_node = loom.evaluate(node, small_table)
    np.testing.assert_array_equal(from_text.true, from_node.true)
    np.testing.assert_array_equal(from_text.false, from_node.false)
