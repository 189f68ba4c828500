"""Tests of feature specs and schemas: checks, bit columns and their literals, identity
and serialization.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import loom
from loom.constraints.ast import BooleanAtom, Compare
from loom.data.schema import FeatureSpec, Schema, label_value
from loom.exceptions import DataError, InvalidParameterError, UnknownFeatureError
from tests.constraints.strategies import feature_names, strings


def example_schema() -> Schema:
    return Schema(
        (
            FeatureSpec("smoker", "boolean", values=("false", "true")),
            FeatureSpec("color", "categorical", values=("dark blue", "red", "007", "7")),
            FeatureSpec("age", "numeric", thresholds=(18.0, 37.5)),
            FeatureSpec("id", "categorical", values=("only",)),
            FeatureSpec("y", "categorical", values=("no", "yes")),
        ),
        target="y",
    )


# ---------------------------------------------------------------------------
# Labels as constraint values


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("1", 1.0),
        ("2.5", 2.5),
        ("-3", -3.0),
        ("0", 0.0),
        ("1e20", 1e20),
        ("007", "007"),
        ("1.50", "1.50"),
        ("7.0", "7.0"),
        ("1e5", "1e5"),
        ("+1", "+1"),
        (".5", ".5"),
        ("-0", "-0"),
        ("9007199254740993", "9007199254740993"),
        ("red", "red"),
        ("true", "true"),
        ("nan", "nan"),
        ("inf", "inf"),
    ],
    ids=[
        "integer",
        "fraction",
        "negative",
        "zero",
        "exponent-canonical",
        "leading-zeros",
        "trailing-zero",
        "integral-fraction",
        "exponent-not-canonical",
        "plus-sign",
        "bare-fraction",
        "negative-zero",
        "beyond-float-precision",
        "word",
        "keyword",
        "nan-text",
        "inf-text",
    ],
)
def test_label_value_keeps_exact_text(label: str, expected: float | str) -> None:
    value = label_value(label)
    assert type(value) is type(expected)
    assert value == expected


@settings(max_examples=300)
@given(labels=st.lists(strings(), min_size=2, max_size=8, unique=True))
@example(labels=["0", "-0"])
def test_label_value_distinct_labels_distinct_literals(labels: list[str]) -> None:
    literals = {Compare("x", "=", label_value(label)) for label in labels}
    assert len(literals) == len(labels)


# ---------------------------------------------------------------------------
# Feature specs


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": "", "kind": "numeric"}, "feature name must be a non-empty string"),
        ({"name": 3, "kind": "numeric"}, "feature name must be a non-empty string"),
        ({"name": "a", "kind": "ordinal"}, "feature kind must be one of"),
        (
            {"name": "a", "kind": "categorical", "values": ("x", "y", "x")},
            "lists a value twice",
        ),
        (
            {"name": "a", "kind": "boolean", "values": ("no", "yes")},
            "values are 'false' and 'true'",
        ),
        (
            {"name": "a", "kind": "numeric", "thresholds": (1.0, 1.0)},
            "must increase strictly",
        ),
        (
            {"name": "a", "kind": "numeric", "thresholds": (2.0, 1.0)},
            "must increase strictly",
        ),
    ],
    ids=[
        "empty-name",
        "name-not-string",
        "unknown-kind",
        "duplicate-value",
        "boolean-other-values",
        "equal-thresholds",
        "decreasing-thresholds",
    ],
)
def test_feature_spec_rejects_invalid(arguments: dict, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        FeatureSpec(**arguments)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (FeatureSpec("s", "boolean", values=("false", "true")), ("s",)),
        (FeatureSpec("s", "boolean", values=("true",)), ()),
        (FeatureSpec("s", "boolean"), ()),
        (
            FeatureSpec("c", "categorical", values=("red", "007", "7", "dark blue")),
            ("c = red", 'c = "007"', "c = 7", 'c = "dark blue"'),
        ),
        (FeatureSpec("c", "categorical", values=("red",)), ()),
        (FeatureSpec("n", "numeric", thresholds=(-1, 2.5)), ("n <= -1", "n <= 2.5")),
        (FeatureSpec("n", "numeric"), ()),
    ],
    ids=[
        "boolean",
        "boolean-constant",
        "boolean-all-missing",
        "categorical",
        "categorical-constant",
        "numeric",
        "numeric-constant",
    ],
)
def test_feature_spec_literals_per_kind(spec: FeatureSpec, expected: tuple) -> None:
    assert tuple(str(literal) for literal in spec.literals) == expected
    assert spec.is_constant == (not expected)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (FeatureSpec("s", "boolean", values=("true",)), True),
        (FeatureSpec("s", "boolean", values=("false",)), False),
        (FeatureSpec("c", "categorical", values=("red",)), "red"),
        (FeatureSpec("c", "categorical", values=("red", "blue")), None),
        (FeatureSpec("c", "categorical"), None),
        (FeatureSpec("n", "numeric"), None),
    ],
    ids=["true", "false", "label", "two-labels", "no-labels", "numeric"],
)
def test_feature_spec_constant_value(spec: FeatureSpec, expected: object) -> None:
    assert spec.constant == expected


@pytest.mark.parametrize(
    "spec",
    [
        FeatureSpec("s", "boolean", values=("false", "true"), allows_missing=True),
        FeatureSpec("c", "categorical", values=("b", "a")),
        FeatureSpec("n", "numeric", thresholds=(0.1, 1e20)),
    ],
    ids=["boolean", "categorical", "numeric"],
)
def test_feature_spec_dict_round_trips(spec: FeatureSpec) -> None:
    assert FeatureSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


# ---------------------------------------------------------------------------
# Schema checks and lookup


def test_schema_rejects_duplicate_feature() -> None:
    specs = (FeatureSpec("a", "numeric"), FeatureSpec("a", "boolean"))
    with pytest.raises(InvalidParameterError, match="lists feature 'a' twice"):
        Schema(specs)


def test_schema_rejects_unknown_target() -> None:
    with pytest.raises(InvalidParameterError, match="target 'y' is not one of"):
        Schema((FeatureSpec("a", "numeric"),), target="y")


def test_schema_unknown_feature_lists_features() -> None:
    schema = example_schema()
    with pytest.raises(
        UnknownFeatureError, match="unknown feature 'weight'; the features are 'smoker'"
    ):
        schema.feature("weight")


def test_schema_unknown_feature_is_key_error() -> None:
    with pytest.raises(KeyError, match="'color', 'age'"):
        example_schema().index("weight")


def test_schema_columns_in_feature_order() -> None:
    assert example_schema().columns == (
        "smoker",
        'color = "dark blue"',
        "color = red",
        'color = "007"',
        "color = 7",
        "age <= 18",
        "age <= 37.5",
        "y = no",
        "y = yes",
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("smoker", range(0, 1)),
        ("color", range(1, 5)),
        ("age", range(5, 7)),
        ("id", range(7, 7)),
        ("y", range(7, 9)),
    ],
    ids=["boolean", "categorical", "numeric", "constant", "target"],
)
def test_schema_columns_of_feature(name: str, expected: range) -> None:
    assert example_schema().columns_of(name) == expected


def test_schema_column_feature_positions() -> None:
    assert example_schema().column_feature.tolist() == [0, 1, 1, 1, 1, 2, 2, 4, 4]


def test_schema_column_of_text_and_node() -> None:
    schema = example_schema()
    for column, literal in enumerate(schema.literals):
        assert schema.column_of(literal) == column
        assert schema.column_of(str(literal)) == column


def test_schema_column_of_unknown_literal() -> None:
    with pytest.raises(KeyError, match="no bit column stands for 'color = blue'"):
        example_schema().column_of("color = blue")


@pytest.mark.parametrize(
    ("n_rows", "expected"),
    [(0, 0), (1, 8 * 14), (64, 8 * 14), (65, 16 * 14), (10**6, 8 * 15625 * 14)],
    ids=["0", "1", "64", "65", "million"],
)
def test_schema_estimate_nbytes_counts_words(n_rows: int, expected: int) -> None:
    # 9 bit columns and 5 validity vectors, one uint64 word per 64 rows each.
    assert example_schema().estimate_nbytes(n_rows) == expected


# ---------------------------------------------------------------------------
# Literal texts


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(feature_names(), min_size=1, max_size=4, unique=True),
    data=st.data(),
)
def test_schema_columns_parse_to_literals(names: list[str], data: st.DataObject) -> None:
    specs = []
    for name in names:
        kind = data.draw(st.sampled_from(("boolean", "categorical", "numeric")))
        if kind == "boolean":
            specs.append(FeatureSpec(name, kind, values=("false", "true")))
        elif kind == "categorical":
            labels = data.draw(st.lists(strings(), min_size=2, max_size=6, unique=True))
            specs.append(FeatureSpec(name, kind, values=tuple(labels)))
        else:
            cuts = data.draw(
                st.lists(
                    st.floats(allow_nan=False, allow_infinity=False),
                    min_size=1,
                    max_size=5,
                    unique=True,
                )
            )
            cuts = sorted({cut + 0.0 for cut in cuts})
            specs.append(FeatureSpec(name, kind, thresholds=tuple(cuts)))
    schema = Schema(tuple(specs))
    assert len(set(schema.columns)) == schema.n_columns
    for column, (text, literal) in enumerate(
        zip(schema.columns, schema.literals, strict=True)
    ):
        assert loom.parse(text) == literal
        assert schema.column_of(text) == column


# ---------------------------------------------------------------------------
# Identity and serialization


def test_schema_json_round_trips() -> None:
    schema = example_schema()
    restored = Schema.from_json(schema.to_json())
    assert restored == schema
    assert restored.fingerprint == schema.fingerprint


def test_schema_json_is_canonical() -> None:
    text = example_schema().to_json()
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize(
    "change",
    [
        lambda specs: specs[:-1] + (dataclasses.replace(specs[-1], name="z"),),
        lambda specs: (dataclasses.replace(specs[0], allows_missing=True), *specs[1:]),
        lambda specs: (specs[1], specs[0], *specs[2:]),
        lambda specs: (
            *specs[:2],
            dataclasses.replace(specs[2], thresholds=(18.0, 37.25)),
            *specs[3:],
        ),
    ],
    ids=["name", "allows-missing", "order", "threshold"],
)
def test_schema_fingerprint_changes_with_content(change) -> None:
    schema = example_schema()
    changed = Schema(change(schema.features))
    assert changed.fingerprint != Schema(schema.features).fingerprint


def test_schema_fingerprint_changes_with_target() -> None:
    schema = example_schema()
    assert Schema(schema.features, target="color").fingerprint != schema.fingerprint


@pytest.mark.parametrize("version", [None, 0, 2], ids=["absent", "older", "newer"])
def test_schema_rejects_other_format(version: int | None) -> None:
    data = example_schema().to_dict()
    data["format"] = version
    with pytest.raises(DataError, match=f"schema format {version!r} is not supported"):
        Schema.from_dict(data)


def test_schema_with_features_keeps_target() -> None:
    schema = example_schema()
    narrowed = schema.with_features(schema.features[1:])
    assert narrowed.target == "y"
    assert narrowed.feature_names == ("color", "age", "id", "y")


def test_schema_boolean_literal_is_atom() -> None:
    assert example_schema().literals[0] == BooleanAtom("smoker")
