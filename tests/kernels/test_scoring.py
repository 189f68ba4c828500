"""Every kernel backend gives exactly the counts of the NumPy reference.

Tables are drawn at the row counts where word boundaries and blocks change (0, 1, 63,
64, 65, 127, 128, 129, and past one 512-word block), with missing values, an
all-missing feature, negated and duplicate literals, padding, masks and cardinality
conditions used inside rules.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from numba import config as numba_config

import loom
from loom.constraints.ast import Cardinality, Not
from loom.data import FeatureSpec, Schema, pack_bits, row_mask, unpack_bits
from loom.exceptions import ConstraintError, InvalidParameterError
from loom.kernels import (
    Conditions,
    available_backends,
    cardinality_rows,
    encode_literal,
    encode_rules,
    pack_signs,
    score_decision_lists,
    score_rule_sets,
    score_rules,
    scoring,
    xnor_matmul,
    xnor_threshold,
)
from tests.data.invariants import assert_padding_zero

# Without the JIT the Numba kernels run as Python, one word at a time.
INTERPRETED = bool(numba_config.DISABLE_JIT)
EDGE_ROWS = [0, 1, 63, 64, 65, 127, 128, 129]
LARGE_ROWS = 2_000 if INTERPRETED else 40_000  # past one block of 512 words
N_RULES = 12 if INTERPRETED else 60

FAST_BACKENDS = [name for name in available_backends() if name != "numpy"]


def _native_isas() -> list[str]:
    if "c" not in available_backends():
        return []
    from loom.kernels import _native

    return list(_native.isas())


BACKEND_CASES = [("numba", None)] + [("c", isa) for isa in _native_isas()]


@pytest.fixture(
    params=BACKEND_CASES, ids=[f"{b}-{i}" if i else b for b, i in BACKEND_CASES]
)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each compiled backend, and each instruction set of the C backend."""
    name, isa = request.param
    if isa is None:
        yield name
        return
    from loom.kernels import _native

    before = _native.isa()
    _native.set_isa(isa)
    try:
        yield name
    finally:
        _native.set_isa(before)


def random_table(
    rng: np.random.Generator, n_rows: int, *, missing: float = 0.15
) -> loom.BitTable:
    """A table of categorical and boolean features with random bits.

    Bits are set only where the feature is known, and feature 1 is missing on every
    row. The bits need not be one-hot: the kernels count literals, whatever they mean.
    """
    specs = [FeatureSpec("flag", "boolean", values=("false", "true"))]
    for index, width in enumerate([3, 2, 4, 3]):
        values = tuple(f"v{value}" for value in range(width))
        specs.append(FeatureSpec(f"f{index}", "categorical", values=values))
    schema = Schema(tuple(specs))
    known = rng.random((schema.n_features, n_rows)) >= missing
    known[1] = False
    valid = pack_bits(known)
    column_feature = schema.column_feature
    raw = pack_bits(rng.random((schema.n_columns, n_rows)) < 0.5)
    bits = raw & valid[column_feature]
    return loom.BitTable(schema, bits, valid, n_rows)


def random_conditions(
    rng: np.random.Generator, table: loom.BitTable, count: int
) -> Conditions:
    items = []
    for _ in range(count):
        width = int(rng.integers(1, 6))
        codes = rng.integers(0, 2 * table.n_columns, size=width).tolist()
        if width > 1 and rng.random() < 0.3:
            codes[-1] = codes[0]  # a duplicate literal counts twice
        kind = ["atleast", "atmost", "exactly"][int(rng.integers(3))]
        bound = int(rng.integers(-1, width + 3))
        items.append((kind, codes, bound))
    return Conditions.build(items)


def random_rules(
    rng: np.random.Generator, n_codes: int, n_rules: int, width: int = 5
) -> np.ndarray:
    rules = rng.integers(0, n_codes, size=(n_rules, width)).astype(np.int32)
    lengths = rng.integers(0, width + 1, size=n_rules)
    for r, length in enumerate(lengths):
        rules[r, length:] = -1
    rules[0] = -1  # the empty rule is true on every row of the mask
    if n_rules > 2:
        rules[1, :2] = rules[1, 0]  # duplicate literal
        rules[2, 1] = -1  # padding inside a rule
    return rules


def random_mask(rng: np.random.Generator, n_rows: int) -> np.ndarray:
    return pack_bits(rng.random(n_rows) < 0.7)


ROWS = EDGE_ROWS + [LARGE_ROWS]


@pytest.mark.parametrize("n_rows", ROWS)
def test_score_rules_matches_reference(
    backend: str, rng: np.random.Generator, n_rows: int
) -> None:
    table = random_table(rng, n_rows)
    conditions = random_conditions(rng, table, 3)
    rules = random_rules(rng, 2 * (table.n_columns + len(conditions)), N_RULES)
    mask = random_mask(rng, n_rows)
    for target in (None, 3):
        for row_mask_ in (None, mask):
            options = {"target": target, "mask": row_mask_, "conditions": conditions}
            expected = score_rules(table, rules, backend="numpy", **options)
            found = score_rules(table, rules, backend=backend, **options)
            np.testing.assert_array_equal(found, expected)


def test_score_rules_counts_by_hand() -> None:
    frame_rows = [(True, "p"), (True, "n"), (False, "p"), (None, "p"), (False, "n")]
    import pandas as pd

    table = loom.BitTable.from_frame(
        pd.DataFrame(frame_rows, columns=["a", "y"]), target="y"
    )
    rules = encode_rules(table, [["a"], ["not a"], []])
    counts = score_rules(table, rules, target=table.schema.column_of("y = p"))
    # `not a` is false on the row where a is missing, so it covers 2 rows, not 3.
    assert counts.tolist() == [[2, 1], [2, 1], [5, 3]]


def test_score_rules_all_negated_on_missing(
    backend: str, rng: np.random.Generator
) -> None:
    table = random_table(rng, 129)
    missing_columns = list(table.schema.columns_of("f0"))
    rules = np.array([[2 * c + 1 for c in missing_columns]], dtype=np.int32)
    counts = score_rules(table, rules, backend=backend)
    assert counts.tolist() == [[0, 0]]


@pytest.mark.parametrize("n_rows", ROWS)
def test_score_rule_sets_matches_reference(
    backend: str, rng: np.random.Generator, n_rows: int
) -> None:
    table = random_table(rng, n_rows)
    conditions = random_conditions(rng, table, 2)
    rules = random_rules(rng, 2 * (table.n_columns + len(conditions)), N_RULES)
    sets = rng.integers(-1, N_RULES, size=(25, 6)).astype(np.int32)
    sets[0] = -1  # an empty rule set covers nothing
    options = {"target": 4, "mask": random_mask(rng, n_rows), "conditions": conditions}
    expected = score_rule_sets(table, rules, sets, backend="numpy", **options)
    found = score_rule_sets(table, rules, sets, backend=backend, **options)
    np.testing.assert_array_equal(found[0], expected[0])
    np.testing.assert_array_equal(found[1], expected[1])
    assert expected[1][0].tolist() == [0, 0]


def test_score_rule_sets_union_by_hand(rng: np.random.Generator) -> None:
    table = random_table(rng, 200)
    rules = random_rules(rng, 2 * table.n_columns, 4)
    rule_counts, set_counts = score_rule_sets(table, rules, [[1, 3, -1]], target=0)
    vectors = []
    for r in (1, 3):
        vector = row_mask(table.n_rows)
        for code in rules[r]:
            if code >= 0:
                literal = table.literals[code >> 1]
                node = Not(literal) if code & 1 else literal
                vector = vector & loom.evaluate(node, table).true
        vectors.append(vector)
    union = unpack_bits(vectors[0] | vectors[1], table.n_rows)
    target = table.column_values(0)
    assert set_counts.tolist() == [[int(union.sum()), int((union & target).sum())]]
    assert rule_counts.shape == (4, 2)


@pytest.mark.parametrize("n_rows", ROWS)
def test_decision_lists_match_reference(
    backend: str, rng: np.random.Generator, n_rows: int
) -> None:
    table = random_table(rng, n_rows)
    conditions = random_conditions(rng, table, 2)
    rules = random_rules(rng, 2 * (table.n_columns + len(conditions)), N_RULES)
    lists = rng.integers(-1, N_RULES, size=(20, 5)).astype(np.int32)
    classes = [1, 2, 3]
    options = {"mask": random_mask(rng, n_rows), "conditions": conditions}
    expected = score_decision_lists(
        table, rules, lists, classes, backend="numpy", **options
    )
    found = score_decision_lists(
        table, rules, lists, classes, backend=backend, **options
    )
    np.testing.assert_array_equal(found, expected)


def test_decision_list_first_match_partitions_rows(rng: np.random.Generator) -> None:
    table = random_table(rng, 300)
    rules = random_rules(rng, 2 * table.n_columns, 8)
    lists = np.array([[3, 5, 1, 7], [2, -1, 4, -1]], dtype=np.int32)
    mask = random_mask(rng, 300)
    counts = score_decision_lists(table, rules, lists, [0, 5], mask=mask)
    # Every masked row is decided by exactly one position, the default included.
    assert (
        counts[:, :, 0].sum(axis=1).tolist() == [int(unpack_bits(mask, 300).sum())] * 2
    )
    assert counts[1, 1].tolist() == [0, 0, 0]  # padding matches nothing


@pytest.mark.parametrize("n_rows", ROWS)
def test_cardinality_rows_match_reference(
    backend: str, rng: np.random.Generator, n_rows: int
) -> None:
    table = random_table(rng, n_rows)
    conditions = random_conditions(rng, table, 12)
    expected = cardinality_rows(table, conditions, backend="numpy")
    found = cardinality_rows(table, conditions, backend=backend)
    np.testing.assert_array_equal(found[0], expected[0])
    np.testing.assert_array_equal(found[1], expected[1])
    assert_padding_zero(found[0], n_rows)
    assert_padding_zero(found[1], n_rows)


@pytest.mark.parametrize("n_rows", [0, 1, 65, 300])
def test_cardinality_rows_match_evaluate(rng: np.random.Generator, n_rows: int) -> None:
    """The kernels' three-valued counts agree with evaluating the cardinality node."""
    table = random_table(rng, n_rows, missing=0.3)
    conditions = random_conditions(rng, table, 30)
    true, false = cardinality_rows(table, conditions)
    kinds = ["atleast", "atmost", "exactly"]
    for j in range(len(conditions)):
        operands = []
        for code in conditions.literals[j]:
            if code >= 0:
                literal = table.literals[code >> 1]
                operands.append(Not(literal) if code & 1 else literal)
        node = Cardinality(
            kinds[conditions.kinds[j]], int(conditions.bounds[j]), tuple(operands)
        )
        expected = loom.evaluate(node, table)
        np.testing.assert_array_equal(true[j], expected.true, err_msg=str(node))
        np.testing.assert_array_equal(false[j], expected.false, err_msg=str(node))


@pytest.mark.parametrize("n_bits", [0, 1, 63, 64, 65, 130, 700])
def test_xnor_matmul_matches_float_product(
    backend: str, rng: np.random.Generator, n_bits: int
) -> None:
    a = np.where(rng.random((9, n_bits)) < 0.5, -1.0, 1.0)
    b = np.where(rng.random((6, n_bits)) < 0.5, -1.0, 1.0)
    expected = (a @ b.T).astype(np.int32)
    found = xnor_matmul(pack_signs(a), pack_signs(b), n_bits, backend=backend)
    np.testing.assert_array_equal(found, expected)
    reference = xnor_matmul(pack_signs(a), pack_signs(b), n_bits, backend="numpy")
    np.testing.assert_array_equal(reference, expected)


@pytest.mark.parametrize("n_bits", [0, 1, 64, 65, 700])
@pytest.mark.parametrize("n_columns", [0, 1, 15, 16, 17, 64, 65, 130])
def test_xnor_threshold_matches_compared_product(
    backend: str, rng: np.random.Generator, n_bits: int, n_columns: int
) -> None:
    # 13 rows: two full tiles of six rows of the AVX-512 kernel and a partial one.
    a = pack_signs(np.where(rng.random((13, n_bits)) < 0.5, -1.0, 1.0))
    b = pack_signs(np.where(rng.random((n_columns, n_bits)) < 0.5, -1.0, 1.0))
    thresholds = rng.integers(-n_bits - 2, n_bits + 3, n_columns)
    product = xnor_matmul(a, b, n_bits, backend="numpy")
    expected = pack_bits(product >= thresholds).reshape(13, -1)
    found = xnor_threshold(a, b, n_bits, thresholds, backend=backend)
    assert found.shape == (13, (n_columns + 63) // 64)
    np.testing.assert_array_equal(found, expected)
    assert_padding_zero(found, n_columns)
    reference = xnor_threshold(a, b, n_bits, thresholds, backend="numpy")
    np.testing.assert_array_equal(reference, expected)


def test_xnor_threshold_threads_split_rows(
    backend: str, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = pack_signs(np.where(rng.random((100, 300)) < 0.5, -1.0, 1.0))
    b = pack_signs(np.where(rng.random((70, 300)) < 0.5, -1.0, 1.0))
    thresholds = rng.integers(-40, 40, 70)
    single = xnor_threshold(a, b, 300, thresholds, backend=backend)
    monkeypatch.setattr(scoring, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setenv("LOOM_NUM_THREADS", "3")
    np.testing.assert_array_equal(
        xnor_threshold(a, b, 300, thresholds, backend=backend), single
    )


def test_xnor_threshold_rejects_bad_thresholds() -> None:
    a = np.zeros((2, 1), dtype=np.uint64)
    b = np.zeros((3, 1), dtype=np.uint64)
    with pytest.raises(InvalidParameterError, match="thresholds must be 3 integers"):
        xnor_threshold(a, b, 10, [0, 1])
    with pytest.raises(InvalidParameterError, match="thresholds must be 3 integers"):
        xnor_threshold(a, b, 10, [0.5, 1.0, 2.0])


def test_pack_signs_zero_is_positive() -> None:
    packed = pack_signs(np.array([[0.0, -0.0, -1e-30, 2.0]]))
    assert unpack_bits(packed, 4).tolist() == [[True, True, False, True]]


def test_threads_give_same_counts(
    backend: str, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Splitting the words over threads changes nothing in the counts."""
    table = random_table(rng, LARGE_ROWS)
    conditions = random_conditions(rng, table, 2)
    rules = random_rules(rng, 2 * (table.n_columns + len(conditions)), N_RULES)
    sets = rng.integers(-1, N_RULES, size=(10, 4)).astype(np.int32)
    single = score_rules(table, rules, 2, conditions=conditions, backend=backend)
    set_single = score_rule_sets(
        table, rules, sets, 2, conditions=conditions, backend=backend
    )
    lists_single = score_decision_lists(
        table, rules, sets, [0, 2], conditions=conditions, backend=backend
    )
    monkeypatch.setattr(scoring, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(scoring, "BLOCK_WORDS", 8)  # ranges aligned to 8 words
    monkeypatch.setenv("LOOM_NUM_THREADS", "3")
    assert len(scoring._ranges(table.n_words, 1, 8, scoring.load_backend(backend))) > 1
    np.testing.assert_array_equal(
        score_rules(table, rules, 2, conditions=conditions, backend=backend), single
    )
    threaded = score_rule_sets(
        table, rules, sets, 2, conditions=conditions, backend=backend
    )
    np.testing.assert_array_equal(threaded[1], set_single[1])
    np.testing.assert_array_equal(
        score_decision_lists(
            table, rules, sets, [0, 2], conditions=conditions, backend=backend
        ),
        lists_single,
    )


# ---------------------------------------------------------------------------
# Literal codes and argument checks


def test_encode_literal_complements() -> None:
    schema = Schema(
        (
            FeatureSpec("age", "numeric", thresholds=(30.0, 50.0)),
            FeatureSpec("color", "categorical", values=("blue", "red")),
            FeatureSpec("smoker", "boolean", values=("false", "true")),
        )
    )
    assert encode_literal(schema, "age <= 30") == 0
    assert encode_literal(schema, "age > 50") == 3
    assert encode_literal(schema, "not age <= 50") == 3
    assert encode_literal(schema, "color != red") == 7
    assert encode_literal(schema, "color in {blue}") == 4
    assert encode_literal(schema, "not smoker") == 9


def test_encode_literal_unknown_column() -> None:
    schema = Schema((FeatureSpec("age", "numeric", thresholds=(30.0,)),))
    with pytest.raises(ConstraintError, match=r"no bit column stands for 'age <= 31'"):
        encode_literal(schema, "age <= 31")


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (np.array([[0, 1]], dtype=np.int64), "rules must be an int32 array, got int64"),
        (np.array([0, 1], dtype=np.int32), r"rules must be 2-D \(n, width\)"),
        (
            np.array([[0, 99]], dtype=np.int32),
            r"rules\[0, 1\] = 99 is not a literal code",
        ),
        (np.array([[-2]], dtype=np.int32), r"rules\[0, 0\] = -2 is not a literal code"),
        (np.zeros((4, 2), dtype=np.int32)[:, :1], "rules must be C-contiguous"),
    ],
    ids=["dtype", "ndim", "too-large", "negative", "strided"],
)
def test_score_rules_rejects_bad_rules(
    rng: np.random.Generator, rules: np.ndarray, message: str
) -> None:
    table = random_table(rng, 70)
    with pytest.raises(InvalidParameterError, match=message):
        score_rules(table, rules)


def test_score_rules_rejects_bad_mask_and_target(rng: np.random.Generator) -> None:
    table = random_table(rng, 70)
    rules = np.zeros((1, 1), dtype=np.int32)
    with pytest.raises(InvalidParameterError, match="mask must have 2 words per row"):
        score_rules(table, rules, mask=np.zeros(3, dtype=np.uint64))
    padded = row_mask(70)
    padded[-1] |= np.uint64(1 << 63)
    with pytest.raises(
        InvalidParameterError, match="mask has padding bits set past row 69"
    ):
        score_rules(table, rules, mask=padded)
    with pytest.raises(InvalidParameterError, match="target column 99 is out of range"):
        score_rules(table, rules, target=99)
    with pytest.raises(InvalidParameterError, match="table must be a BitTable"):
        score_rules("table", rules)  # type: ignore[arg-type]


def test_rule_sets_reject_bad_index(rng: np.random.Generator) -> None:
    table = random_table(rng, 70)
    rules = np.zeros((2, 1), dtype=np.int32)
    with pytest.raises(
        InvalidParameterError, match=r"rule_sets\[0, 1\] = 2 is not a rule index"
    ):
        score_rule_sets(table, rules, [[0, 2]])


def test_xnor_rejects_mismatched_words() -> None:
    a = np.zeros((2, 2), dtype=np.uint64)
    b = np.zeros((2, 1), dtype=np.uint64)
    with pytest.raises(InvalidParameterError, match="b must have 2 words per row"):
        xnor_matmul(a, b, 100)


def test_conditions_reject_unknown_kind() -> None:
    with pytest.raises(InvalidParameterError, match="kind must be one of"):
        Conditions.build([("most", [0], 1)])  # type: ignore[list-item]


def test_backend_rejects_unknown_name(rng: np.random.Generator) -> None:
    table = random_table(rng, 10)
    with pytest.raises(
        InvalidParameterError, match="backend must be one of c, numba, numpy"
    ):
        score_rules(table, np.zeros((1, 1), dtype=np.int32), backend="cuda")


def test_backend_variable_picks_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOM_KERNEL_BACKEND", "numpy")
    assert loom.kernels.backend() == "numpy"
    monkeypatch.setenv("LOOM_KERNEL_BACKEND", "fortran")
    with pytest.raises(
        InvalidParameterError, match="LOOM_KERNEL_BACKEND must be one of"
    ):
        loom.kernels.backend()


@pytest.mark.parametrize("name", ["c", "numba", "numpy"])
def test_xnor_rejects_padding_bits(name: str) -> None:
    if name not in available_backends():
        pytest.skip(f"the {name} backend is not available")
    a = pack_signs(np.ones((3, 70)))
    b = pack_signs(np.ones((2, 70)))
    a[1, -1] |= np.uint64(1 << 40)  # bit 104 of row 1, past bit 69
    with pytest.raises(InvalidParameterError, match="a has padding bits set past"):
        xnor_matmul(a, b, 70, backend=name)
