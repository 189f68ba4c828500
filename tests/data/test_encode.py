"""Tests of the encoder: kind inference, categorical and threshold columns, missing
values, schemas to follow, warnings and the memory limit.
"""

from __future__ import annotations

import csv
import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loom
from loom.data import BitTable, Schema, cut_points, unpack_bits
from loom.data.encode import bin_ranges
from loom.exceptions import (
    ConstantFeatureWarning,
    DataError,
    InvalidParameterError,
    MemoryLimitError,
    TargetError,
    UnseenValueWarning,
)
from tests.conftest import dataset_index
from tests.constraints.strategies import AWKWARD_NAMES, AWKWARD_STRINGS
from tests.data.invariants import assert_table_layout

MISSING_CELLS = ("", "?")


def write_csv(directory: Path, text: str, name: str = "data.csv") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def column_values(table: BitTable, text: str) -> list[bool]:
    return table.column_values(text).tolist()


def valid_values(table: BitTable, name: str) -> list[bool]:
    return unpack_bits(table.feature_valid(name), table.n_rows).tolist()


def feature_bits(table: BitTable, name: str) -> np.ndarray:
    columns = table.schema.columns_of(name)
    return unpack_bits(table.bits[columns.start : columns.stop], table.n_rows)


# ---------------------------------------------------------------------------
# Categorical features


def test_encode_categorical_column_per_value(tmp_path: Path) -> None:
    cells = ["red", "blue", "red", "dark blue", "10", "9"]
    path = write_csv(tmp_path, "color\n" + "\n".join(cells) + "\n")
    table = BitTable.from_csv(path)
    assert table.columns == (
        "color = 9",
        "color = 10",
        "color = blue",
        'color = "dark blue"',
        "color = red",
    )
    for column, label in enumerate(table.schema.feature("color").values):
        assert column_values(table, column) == [cell == label for cell in cells]


def test_encode_labels_sort_numbers_first(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "c\nb\n10\na\n9\n-1\n")
    table = BitTable.from_csv(path)
    assert table.schema.feature("c").values == ("-1", "9", "10", "a", "b")


def test_encode_numeric_labels_stay_labels(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "code,y\n007,a\n7,b\n007,b\n12,a\n")
    table = BitTable.from_csv(path, "y")
    assert table.schema.feature("code").kind == "categorical"
    assert table.schema.feature("code").values == ("7", "12", "007")
    assert column_values(table, 'code = "007"') == [True, False, True, False]
    assert column_values(table, "code = 7") == [False, True, False, False]


def test_encode_numeric_looking_target_classes(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "x,y\na,007\nb,7\na,7\n")
    table = BitTable.from_csv(path, "y")
    assert table.schema.feature("y").values == ("7", "007")
    assert table.columns[-2:] == ("y = 7", 'y = "007"')


def test_encode_declared_numeric_merges_spellings(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "code\n007\n7\n12\n")
    table = BitTable.from_csv(path, kinds={"code": "numeric"})
    assert table.columns == ("code <= 10",)
    assert column_values(table, "code <= 10") == [True, True, False]


def test_encode_equal_numbers_share_label() -> None:
    frame = pd.DataFrame({"x": [0.0, -0.0, 1.0]})
    table = BitTable.from_frame(frame, kinds={"x": "categorical"})
    assert table.schema.feature("x").values == ("0", "1")
    assert column_values(table, "x = 0") == [True, True, False]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([3, 1, 3], ("1", "3")),
        ([2.0, 0.5, 2.0], ("0.5", "2")),
        ([True, False, True], ("false", "true")),
    ],
    ids=["int", "float", "bool-objects"],
)
def test_encode_object_cells_become_labels(values: list, expected: tuple) -> None:
    frame = pd.DataFrame({"x": pd.Series([*values, "word"], dtype=object)})
    table = BitTable.from_frame(frame)
    assert table.schema.feature("x").values == (*expected, "word")


# ---------------------------------------------------------------------------
# Boolean features


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["true", "false"], [True, False]),
        (["TRUE", "False"], [True, False]),
        (["t", "F"], [True, False]),
        (["yes", "NO"], [True, False]),
        (["Y", "n"], [True, False]),
        (["1", "0"], [True, False]),
    ],
    ids=["true-false", "mixed-case", "t-f", "yes-no", "y-n", "one-zero"],
)
def test_encode_boolean_texts(tmp_path: Path, cells: list[str], expected: list) -> None:
    path = write_csv(tmp_path, "flag\n" + "\n".join(cells) + "\n")
    table = BitTable.from_csv(path, kinds={"flag": "boolean"})
    assert table.columns == ("flag",)
    assert column_values(table, "flag") == expected


def test_encode_boolean_rejects_other_text(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "flag,other\nyes,1\nmaybe,2\n")
    with pytest.raises(
        DataError, match=r"line 3, column 'flag': 'maybe' is not a boolean \(true/false"
    ):
        BitTable.from_csv(path, kinds={"flag": "boolean"})


def test_encode_boolean_rejects_other_number() -> None:
    frame = pd.DataFrame({"flag": [1.0, 0.0, 2.0]})
    with pytest.raises(DataError, match=r"the frame, row 2, column 'flag': 2.0 is not a boolean"):
        BitTable.from_frame(frame, kinds={"flag": "boolean"})


# ---------------------------------------------------------------------------
# Kind inference


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["true", "false", "true"], "boolean"),
        (["True", "FALSE", "true"], "boolean"),
        (["yes", "no", "yes"], "categorical"),
        (["1.5", "2", "3"], "numeric"),
        (["1e3", "2", "3"], "numeric"),
        (["-1", "2", "3"], "categorical"),
        (["1", "2", "x"], "categorical"),
        (["007", "2.5", "3"], "categorical"),
        ([str(i) for i in range(20)], "categorical"),
        ([str(i) for i in range(21)], "numeric"),
        (["0" + str(i) for i in range(30)], "categorical"),
    ],
    ids=[
        "true-false",
        "true-false-any-case",
        "yes-no",
        "fraction",
        "exponent",
        "few-integers",
        "word",
        "leading-zero",
        "integers-at-limit",
        "integers-above-limit",
        "many-leading-zeros",
    ],
)
def test_infer_kind_of_text(tmp_path: Path, values: list[str], expected: str) -> None:
    path = write_csv(tmp_path, "x\n" + "\n".join(values) + "\n")
    table = BitTable.from_csv(path)
    assert table.schema.feature("x").kind == expected


@pytest.mark.parametrize(
    ("limit", "expected"), [(4, "numeric"), (5, "categorical")], ids=["4", "5"]
)
def test_infer_kind_follows_integer_limit(
    tmp_path: Path, limit: int, expected: str
) -> None:
    path = write_csv(tmp_path, "x\n1\n2\n3\n4\n5\n")
    table = BitTable.from_csv(path, max_integer_categories=limit)
    assert table.schema.feature("x").kind == expected


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (pd.Series([True, False, True]), "boolean"),
        (pd.Series([True, None, False], dtype="boolean"), "boolean"),
        (pd.Series([1.5, 2.0, np.nan]), "numeric"),
        (pd.Series([1, 2, 3]), "numeric"),
        (pd.Series([1, 2, None], dtype="Int64"), "numeric"),
        (pd.Series(["a", "b", "a"], dtype="category"), "categorical"),
        (pd.Series(["a", pd.NA, "b"], dtype="string"), "categorical"),
    ],
    ids=["bool", "nullable-bool", "float", "int", "nullable-int", "category", "string"],
)
def test_infer_kind_of_dtype(column: pd.Series, expected: str) -> None:
    table = BitTable.from_frame(pd.DataFrame({"x": column}))
    assert table.schema.feature("x").kind == expected


def test_infer_kind_numeric_target_categorical() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [1, 2, 1]})
    table = BitTable.from_frame(frame, "y")
    assert table.schema.feature("y").kind == "categorical"
    assert table.schema.feature("y").values == ("1", "2")


@pytest.mark.parametrize(
    ("values", "kind", "expected_columns"),
    [
        (["1.5", "2", "3"], "categorical", ("x = 1.5", "x = 2", "x = 3")),
        (["yes", "no", "yes"], "boolean", ("x",)),
        (["1", "2", "3"], "numeric", ("x <= 1.5", "x <= 2.5")),
    ],
    ids=["categorical", "boolean", "numeric"],
)
def test_encode_kinds_override_inference(
    tmp_path: Path, values: list[str], kind: str, expected_columns: tuple
) -> None:
    path = write_csv(tmp_path, "x\n" + "\n".join(values) + "\n")
    table = BitTable.from_csv(path, kinds={"x": kind})
    assert table.columns == expected_columns


def test_encode_kinds_rejects_unknown_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "x\n1\n2\n")
    with pytest.raises(InvalidParameterError, match=r"does not have: \['z'\]"):
        BitTable.from_csv(path, kinds={"z": "numeric"})


def test_encode_kinds_rejects_unknown_kind(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "x\n1\n2\n")
    with pytest.raises(InvalidParameterError, match=r"kinds\['x'\] must be one of"):
        BitTable.from_csv(path, kinds={"x": "ordinal"})


def test_encode_declared_numeric_rejects_text(tmp_path: Path) -> None:
    path = write_csv(tmp_path, 'name,x\n"a\nb",1\n\nc,2.5\nd,ten\n')
    with pytest.raises(
        DataError,
        match=r"data.csv', line 6, column 'x': 'ten' is not a number; .*"
        r"kinds=\{'x': 'categorical'\}",
    ):
        BitTable.from_csv(path, kinds={"x": "numeric"})


# ---------------------------------------------------------------------------
# Numeric thresholds


@settings(max_examples=500, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.integers(-5, 5).map(float),
        ),
        min_size=0,
        max_size=60,
    ),
    n_thresholds=st.integers(0, 12),
)
def test_cut_points_separate_neighbours(values: list[float], n_thresholds: int) -> None:
    data = np.array(values, dtype=np.float64)
    cuts = cut_points(data, n_thresholds)
    distinct = np.unique(data)
    assert list(cuts) == sorted(set(cuts))
    assert len(cuts) <= n_thresholds
    if len(distinct) - 1 <= n_thresholds:
        assert len(cuts) == max(len(distinct) - 1, 0)
    for cut in cuts:
        low = distinct[distinct <= cut].max()
        high = distinct[distinct > cut].min()
        assert low <= cut < high


@pytest.mark.parametrize(
    ("values", "n_thresholds", "expected"),
    [
        ([1.0, 2.0, 2.0, 4.0], 8, (1.5, 3.0)),
        ([1.0, 2.0, 2.0, 4.0], 2, (1.5, 3.0)),
        ([5.0, 5.0], 8, ()),
        ([], 8, ()),
        (list(range(100)), 3, (24.5, 49.5, 74.5)),
        ([0.1 + 0.2, 0.5], 1, (0.4,)),
        ([-3.0, -1.0], 4, (-2.0,)),
        ([1.0, 2.0, 3.0], 0, ()),
    ],
    ids=[
        "every-gap",
        "gaps-equal-limit",
        "one-value",
        "no-values",
        "quartiles",
        "short-text",
        "negative",
        "no-thresholds",
    ],
)
def test_cut_points_known_cases(values: list, n_thresholds: int, expected: tuple) -> None:
    assert cut_points(np.array(values, dtype=np.float64), n_thresholds) == expected


@pytest.mark.parametrize("n_thresholds", [1, 3, 9, 32], ids=["1", "3", "9", "32"])
def test_cut_points_at_quantiles(rng: np.random.Generator, n_thresholds: int) -> None:
    data = rng.permutation(np.arange(1000.0))
    cuts = cut_points(data, n_thresholds)
    assert len(cuts) == n_thresholds
    for position, cut in enumerate(cuts, start=1):
        share = np.mean(data <= cut)
        assert abs(share - position / (n_thresholds + 1)) <= 1 / 1000


def test_encode_thresholds_limit_per_feature(rng: np.random.Generator) -> None:
    frame = pd.DataFrame({"x": rng.normal(size=500), "z": rng.normal(size=500)})
    table = BitTable.from_frame(frame, n_thresholds=5)
    assert len(table.schema.feature("x").thresholds) == 5
    assert len(table.schema.feature("z").thresholds) == 5
    assert table.n_columns == 10


def test_encode_numeric_bits_match_comparison(rng: np.random.Generator) -> None:
    values = np.round(rng.normal(size=300), 2)
    table = BitTable.from_frame(pd.DataFrame({"x": values}), n_thresholds=16)
    thresholds = table.schema.feature("x").thresholds
    for column, threshold in enumerate(thresholds):
        np.testing.assert_array_equal(table.column_values(column), values <= threshold)
    assert_table_layout(table)


def test_encode_explicit_thresholds_added(rng: np.random.Generator) -> None:
    frame = pd.DataFrame({"age": rng.integers(0, 100, size=400).astype(float)})
    table = BitTable.from_frame(frame, n_thresholds=4, thresholds={"age": [18, 65]})
    thresholds = table.schema.feature("age").thresholds
    assert 18.0 in thresholds
    assert 65.0 in thresholds
    assert len(thresholds) == 6
    assert column_values(table, "age <= 18") == (frame["age"] <= 18).tolist()


def test_encode_explicit_thresholds_only() -> None:
    frame = pd.DataFrame({"age": [1.0, 20.0, 70.0, 40.0]})
    table = BitTable.from_frame(frame, n_thresholds=0, thresholds={"age": [65, 18]})
    assert table.columns == ("age <= 18", "age <= 65")
    assert column_values(table, "age <= 65") == [True, True, False, True]


@pytest.mark.parametrize(
    "cuts", [[float("nan")], [1.0, float("inf")]], ids=["nan", "infinite"]
)
def test_encode_thresholds_rejects_non_finite(cuts: list[float]) -> None:
    frame = pd.DataFrame({"age": [1.0, 2.0]})
    with pytest.raises(InvalidParameterError, match=r"thresholds\['age'\] must be finite"):
        BitTable.from_frame(frame, thresholds={"age": cuts})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_thresholds": -1}, "n_thresholds must be an int >= 0, got -1"),
        ({"n_thresholds": True}, "n_thresholds must be an int >= 0, got True"),
        ({"n_thresholds": 2.5}, "n_thresholds must be an int >= 0, got 2.5"),
        ({"max_integer_categories": -2}, "max_integer_categories must be an int >= 0"),
        ({"memory_limit": 0}, "memory_limit must be an int >= 1, got 0"),
        ({"missing_values": "?"}, "missing_values must be a sequence of strings"),
    ],
    ids=[
        "negative-thresholds",
        "bool-thresholds",
        "float-thresholds",
        "negative-categories",
        "zero-memory",
        "missing-as-string",
    ],
)
def test_encode_rejects_invalid_options(options: dict, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        BitTable.from_frame(pd.DataFrame({"x": [1.0, 2.0]}), **options)


def test_encode_schema_places_unseen_range(rng: np.random.Generator) -> None:
    train = BitTable.from_frame(pd.DataFrame({"x": rng.uniform(10, 20, size=200)}))
    outside = np.array([-5.0, 0.0, 9.999, 20.001, 25.0, 1e9, -1e300, 15.0])
    test = BitTable.from_frame(pd.DataFrame({"x": outside}), schema=train.schema)
    assert test.schema == train.schema
    for column, threshold in enumerate(train.schema.feature("x").thresholds):
        np.testing.assert_array_equal(test.column_values(column), outside <= threshold)
    assert all(valid_values(test, "x"))
    assert_table_layout(test)


@pytest.mark.parametrize(
    ("values", "thresholds", "expected"),
    [
        ([1.0, 2.0, 5.0, 7.0], [3.0], [[1.0, 2.0], [5.0, 7.0]]),
        (
            [3.0, 4.0],
            [3.0, 3.5, 9.0],
            [[3.0, 3.0], [np.inf, -np.inf], [4.0, 4.0], [np.inf, -np.inf]],
        ),
        ([], [1.0], [[np.inf, -np.inf], [np.inf, -np.inf]]),
    ],
    ids=["two-bins", "empty-bins", "no-values"],
)
def test_bin_ranges_bound_each_bin(values: list, thresholds: list, expected: list) -> None:
    ranges = bin_ranges(np.array(values), np.array(thresholds))
    np.testing.assert_array_equal(ranges, np.array(expected))


def test_encode_records_numeric_ranges() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 2.0, 4.0, np.nan]})
    table = BitTable.from_frame(frame)
    np.testing.assert_array_equal(table.ranges["x"], [[1, 1], [2, 2], [4, 4]])


# ---------------------------------------------------------------------------
# Missing values


@pytest.mark.parametrize("cell", MISSING_CELLS, ids=["empty", "question-mark"])
@pytest.mark.parametrize(
    ("kind", "present"),
    [("categorical", ("a", "b")), ("numeric", ("1.5", "2.5")), ("boolean", ("y", "n"))],
    ids=["categorical", "numeric", "boolean"],
)
def test_encode_missing_cell_sets_no_bit(
    tmp_path: Path, cell: str, kind: str, present: tuple[str, str]
) -> None:
    path = write_csv(tmp_path, f"x,k\n{present[0]},1\n{cell},2\n{present[1]},3\n")
    table = BitTable.from_csv(path, kinds={"x": kind})
    assert valid_values(table, "x") == [True, False, True]
    assert not feature_bits(table, "x")[:, 1].any()
    assert feature_bits(table, "x")[:, [0, 2]].any()
    assert table.schema.feature("x").allows_missing
    assert_table_layout(table)


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["a", None, "b"], dtype=object),
        pd.Series(["a", np.nan, "b"], dtype=object),
        pd.Series(["a", pd.NA, "b"], dtype=object),
        pd.Series(["a", pd.NA, "b"], dtype="string"),
        pd.Series(["a", "?", "b"]),
        pd.Series([1.5, np.nan, 2.5]),
        pd.Series([1.5, None, 2.5], dtype=object),
        pd.Series([1.5, pd.NA, 2.5], dtype=object),
        pd.Series([1, pd.NA, 3], dtype="Int64"),
        pd.Series([True, pd.NA, False], dtype="boolean"),
        pd.Series([True, None, False], dtype=object),
        pd.Series(["yes", pd.NA, "no"], dtype="string"),
        pd.Series(["a", "b", "c"], dtype="category").where([True, False, True]),
    ],
    ids=[
        "text-none",
        "text-nan",
        "text-na",
        "string-na",
        "text-question-mark",
        "float-nan",
        "float-none",
        "float-na",
        "nullable-int-na",
        "nullable-bool-na",
        "bool-none",
        "yes-no-na",
        "category-nan",
    ],
)
def test_encode_missing_object_sets_no_bit(column: pd.Series) -> None:
    table = BitTable.from_frame(pd.DataFrame({"x": column}))
    assert valid_values(table, "x") == [True, False, True]
    assert not feature_bits(table, "x")[:, 1].any()
    assert_table_layout(table)


def test_encode_custom_missing_values(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "x\na\nNA\n?\nb\n")
    table = BitTable.from_csv(path, missing_values=("NA",))
    assert valid_values(table, "x") == [True, False, True, True]
    assert column_values(table, 'x = "?"') == [False, False, True, False]


# ---------------------------------------------------------------------------
# Constant features


@pytest.mark.parametrize(
    ("cells", "kind"),
    [
        (["red", "red", "red"], "categorical"),
        (["true", "true", "true"], "boolean"),
        (["false", "", "false"], "boolean"),
        (["2.5", "2.5", "?"], "numeric"),
        (["", "", "?"], "categorical"),
        (["", "", ""], "numeric"),
    ],
    ids=[
        "one-label",
        "all-true",
        "all-false",
        "one-number",
        "all-missing",
        "numeric-all-missing",
    ],
)
def test_encode_constant_feature_warns(
    tmp_path: Path, cells: list[str], kind: str
) -> None:
    rows = "".join(f"{cell},{value}\n" for cell, value in zip(cells, "abc", strict=True))
    path = write_csv(tmp_path, "c,other\n" + rows)
    with pytest.warns(
        ConstantFeatureWarning, match=r"1 feature\(s\) of file .* give no bit columns: 'c'"
    ):
        table = BitTable.from_csv(path, kinds={"c": kind})
    assert "c" in table.schema
    assert table.schema.feature("c").kind == kind
    assert len(table.schema.columns_of("c")) == 0
    assert table.columns == ("other = a", "other = b", "other = c")
    assert_table_layout(table)


def test_encode_constant_feature_keeps_validity(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "c,other\nred,a\n,b\nred,c\n")
    with pytest.warns(ConstantFeatureWarning, match="'c'"):
        table = BitTable.from_csv(path)
    assert valid_values(table, "c") == [True, False, True]


def test_encode_constant_target_not_warned(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "x,y\na,p\nb,p\n")
    with pytest.raises(TargetError, match="its only value is 'p'"):
        BitTable.from_csv(path, "y")


# ---------------------------------------------------------------------------
# Encoding with a given schema


def test_encode_unseen_label_warns(tmp_path: Path) -> None:
    train = BitTable.from_csv(write_csv(tmp_path, "c\nred\nblue\n", "train.csv"))
    path = write_csv(tmp_path, "c\nred\npurple\nblue\npurple\n", "test.csv")
    with pytest.warns(
        UnseenValueWarning,
        match=r"feature 'c': 2 row\(s\) of file .*test.csv' hold values the schema "
        r"does not know \('purple'\)",
    ):
        table = BitTable.from_csv(path, schema=train.schema)
    assert table.schema == train.schema
    assert not feature_bits(table, "c")[:, [1, 3]].any()
    assert valid_values(table, "c") == [True, True, True, True]
    assert_table_layout(table)


def test_encode_unseen_value_of_constant(tmp_path: Path) -> None:
    with pytest.warns(ConstantFeatureWarning, match="'c'"):
        train = BitTable.from_csv(write_csv(tmp_path, "c,k\nred,1\nred,2\n", "a.csv"))
    path = write_csv(tmp_path, "c,k\nred,1\nblue,2\n", "b.csv")
    with pytest.warns(UnseenValueWarning, match=r"1 row\(s\) of file .* treated as missing"):
        table = BitTable.from_csv(path, schema=train.schema)
    assert valid_values(table, "c") == [True, False]


def test_encode_unseen_boolean_of_constant() -> None:
    with pytest.warns(ConstantFeatureWarning, match="'flag'"):
        train = BitTable.from_frame(pd.DataFrame({"flag": [True, True], "k": [1.0, 2.0]}))
    frame = pd.DataFrame({"flag": [True, False], "k": [1.0, 2.0]})
    with pytest.warns(UnseenValueWarning, match="feature 'flag' is constant in the schema"):
        table = BitTable.from_frame(frame, schema=train.schema)
    assert valid_values(table, "flag") == [True, False]


def test_encode_schema_without_target_column() -> None:
    train = BitTable.from_frame(pd.DataFrame({"x": ["a", "b"], "y": ["p", "q"]}), "y")
    table = BitTable.from_frame(pd.DataFrame({"x": ["b", "a", "b"]}), schema=train.schema)
    assert valid_values(table, "y") == [False, False, False]
    assert column_values(table, "x = b") == [True, False, True]


def test_encode_schema_rejects_missing_column() -> None:
    train = BitTable.from_frame(pd.DataFrame({"x": ["a", "b"], "z": ["c", "d"]}))
    with pytest.raises(DataError, match=r"lacks column\(s\) 'z' of the schema"):
        BitTable.from_frame(pd.DataFrame({"x": ["a"]}), schema=train.schema)


def test_encode_schema_rejects_extra_column() -> None:
    train = BitTable.from_frame(pd.DataFrame({"x": ["a", "b"]}))
    frame = pd.DataFrame({"x": ["a"], "w": ["b"]})
    with pytest.raises(DataError, match=r"has column\(s\) 'w' that the schema does not have"):
        BitTable.from_frame(frame, schema=train.schema)


# ---------------------------------------------------------------------------
# Literal texts, sizes and the memory limit


def arrow_storable(text: str) -> bool:
    """Whether pandas can hold `text`: with pyarrow installed, pandas keeps strings
    and column names in Arrow, which takes valid UTF-8 only (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return importlib.util.find_spec("pyarrow") is None
    return True


def test_encode_columns_parse_to_literals() -> None:
    labels = [
        text for text in AWKWARD_STRINGS if text not in MISSING_CELLS and arrow_storable(text)
    ]
    names = [name for name in AWKWARD_NAMES if name.strip() and arrow_storable(name)]
    names = names[: len(labels)]
    column_labels = np.array(labels, dtype=object)
    frame = pd.DataFrame(
        {name: np.roll(column_labels, shift) for shift, name in enumerate(names)}
    )
    frame["-0 and 0"] = ["-0", "0"] * (len(labels) // 2) + ["1"] * (len(labels) % 2)
    frame["age (years)"] = np.linspace(0.1, 99.9, len(labels))
    table = BitTable.from_frame(frame)
    assert len(set(table.columns)) == table.n_columns
    for column, text in enumerate(table.columns):
        assert loom.parse(text) == table.literals[column]
        assert table.schema.column_of(text) == column


@pytest.mark.parametrize("n_rows", [0, 1, 63, 64, 65, 1000], ids=str)
def test_table_nbytes_equals_estimate(n_rows: int, rng: np.random.Generator) -> None:
    frame = pd.DataFrame(
        {
            "c": pd.Series(rng.choice(["a", "b", "c"], size=n_rows), dtype=object),
            "x": rng.normal(size=n_rows),
            "flag": rng.random(n_rows) < 0.5,
        }
    )
    if n_rows >= 2:
        table = BitTable.from_frame(frame)
    else:
        with pytest.warns(ConstantFeatureWarning, match="give no bit columns"):
            table = BitTable.from_frame(frame)
    assert table.nbytes == table.schema.estimate_nbytes(n_rows)
    assert table.nbytes == BitTable.estimate_nbytes(table.schema, n_rows)


def test_encode_memory_limit_raises_first(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("bits were packed before the memory check")

    monkeypatch.setattr("loom.data.encode.pack_bits", fail)
    frame = pd.DataFrame({"x": np.arange(1000.0), "c": ["a", "b"] * 500})
    with pytest.raises(
        MemoryLimitError,
        match=r"encoding 1000 rows into 34 bit columns needs about 4.5 KiB, more than "
        r"the memory_limit given \(100 bytes\)\. Pass a larger memory_limit",
    ):
        BitTable.from_frame(frame, memory_limit=100)


def test_encode_memory_limit_is_memory_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "x\na\nb\n")
    with pytest.raises(MemoryError, match="more than the memory_limit given"):
        BitTable.from_csv(path, memory_limit=8)


def test_encode_memory_limit_at_estimate() -> None:
    frame = pd.DataFrame({"c": ["a", "b", "a"]})
    estimate = 8 * (2 + 1)
    table = BitTable.from_frame(frame, memory_limit=estimate)
    assert table.nbytes == estimate


# ---------------------------------------------------------------------------
# Real data sets


def read_cells(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        records = [record for record in csv.reader(handle) if record]
    return records[0], records[1:]


@pytest.mark.parametrize(
    "entry", dataset_index(), ids=[str(entry["file"]) for entry in dataset_index()]
)
def test_encode_real_data_matches_cells(datasets_dir: Path, entry: dict) -> None:
    path = datasets_dir / str(entry["file"])
    header, rows = read_cells(path)
    numeric = set(entry["numeric_features"])
    kinds = {name: "numeric" if name in numeric else "categorical" for name in header}
    table = BitTable.from_csv(path, str(entry["target"]), kinds=kinds)
    assert table.n_rows == len(rows) == entry["rows"]
    assert table.schema.feature_names == tuple(header)
    assert_table_layout(table)

    for position, name in enumerate(header):
        cells = [row[position] for row in rows]
        known = [cell not in MISSING_CELLS for cell in cells]
        assert valid_values(table, name) == known
        spec = table.schema.feature(name)
        bits = feature_bits(table, name)
        if name in numeric:
            numbers = [float(cell) if ok else math.nan for cell, ok in zip(cells, known)]
            for column, threshold in enumerate(spec.thresholds):
                assert bits[column].tolist() == [n <= threshold for n in numbers]
        else:
            labels = {cell for cell, ok in zip(cells, known) if ok}
            assert set(spec.values) == labels
            assert len(spec.values) == len(labels)
            for column, label in enumerate(spec.values):
                assert bits[column].tolist() == [cell == label for cell in cells]
