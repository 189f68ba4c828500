"""Activation tables, fidelity of the rules found on them, the backbone fingerprint,
and crystals recorded with it."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

import loom
from loom import BitTable
from loom.bnn import BinaryNetwork, crystallize_rules, fidelity
from loom.crystal import CrystalStore, evidence_for
from loom.data.bits import pack_bits, row_mask, unpack_bits
from loom.demo import tic_tac_toe
from loom.exceptions import ForeignCrystalWarning, InvalidParameterError, TargetError

FAST = {"max_epochs": 8, "n_jobs": 1}


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600]


@pytest.fixture(scope="module")
def digits_model(digits) -> BinaryNetwork:
    X, y = digits
    return BinaryNetwork(hidden_layers=(24, 16), **FAST).fit(X, y)


@pytest.fixture(scope="module")
def boards() -> tuple[pd.DataFrame, pd.Series]:
    frame = tic_tac_toe()
    return frame.drop(columns="y"), frame["y"]


@pytest.fixture(scope="module")
def board_model(boards) -> BinaryNetwork:
    X, y = boards
    return BinaryNetwork(hidden_layers=(64,), max_epochs=30, n_jobs=1).fit(X, y)


def float_neurons(model: BinaryNetwork, inputs: np.ndarray) -> list[np.ndarray]:
    """Each hidden layer's signs through the float path (float64, running stats)."""
    layers = []
    activations = inputs.astype(np.float64)
    for layer in range(1, len(model.hidden_layers) + 1):
        weights = np.where(model.parameters_[f"hidden{layer}.weight"] >= 0, 1.0, -1.0)
        products = activations @ weights.T
        variance = model.buffers_[f"hidden{layer}.variance"].astype(np.float64)
        normalized = (products - model.buffers_[f"hidden{layer}.mean"]) / np.sqrt(
            variance + model.epsilon
        )
        pre = model.parameters_[f"hidden{layer}.gamma"] * normalized
        pre = pre + model.parameters_[f"hidden{layer}.beta"]
        layers.append(pre >= 0)
        activations = np.where(pre >= 0, 1.0, -1.0)
    return layers


def test_table_holds_inputs_neurons_and_prediction(digits, digits_model) -> None:
    X, _ = digits
    table = digits_model.binary_activations(X)
    names = table.schema.feature_names
    n_inputs = digits_model.schema_.n_features
    assert names[:n_inputs] == digits_model.schema_.feature_names
    assert names[n_inputs : n_inputs + 3] == ("h1_0", "h1_1", "h1_2")
    assert names[-2:] == ("h2_15", "prediction")
    assert table.target == "prediction"
    assert table.n_columns == digits_model.schema_.n_columns + 24 + 16 + 10
    assert table.n_rows == len(X)


def test_neurons_match_float_path(digits, digits_model) -> None:
    X, _ = digits
    table = digits_model.binary_activations(X)
    inputs = BitTable.from_frame(
        pd.DataFrame({f"x{i}": X[:, i] for i in range(64)}), schema=digits_model.schema_
    )
    signs = np.vstack([inputs.column_values(c) for c in range(inputs.n_columns)]).T
    expected = float_neurons(digits_model, np.where(signs, 1.0, -1.0))
    for layer, fired in enumerate(expected, start=1):
        for index in range(fired.shape[1]):
            column = table.column_values(f"h{layer}_{index}")
            assert np.array_equal(column, fired[:, index]), f"h{layer}_{index}"


def test_input_bits_are_the_schema_encoding(digits, digits_model) -> None:
    X, _ = digits
    table = digits_model.binary_activations(X)
    encoded = BitTable.from_array(X, schema=digits_model.schema_)
    n_columns = digits_model.schema_.n_columns
    assert np.array_equal(table.bits[:n_columns], encoded.bits)
    assert np.array_equal(table.valid[: encoded.valid.shape[0]], encoded.valid)


def test_prediction_column_matches_predict(digits, digits_model) -> None:
    X, _ = digits
    table = digits_model.binary_activations(X)
    predicted = digits_model.predict(X)
    for label in range(10):
        assert np.array_equal(
            table.column_values(f"prediction = {label}"), predicted == label
        )


def test_neuron_target_uses_earlier_layers(digits, digits_model) -> None:
    X, _ = digits
    table = digits_model.binary_activations(X[:50], target="h2_3")
    names = table.schema.feature_names
    assert table.target == "h2_3"
    assert "h1_23" in names
    assert "h2_0" not in names
    assert "prediction" not in names
    full = digits_model.binary_activations(X[:50])
    assert np.array_equal(table.column_values("h2_3"), full.column_values("h2_3"))


def test_layers_and_inputs_select_features(digits, digits_model) -> None:
    X, _ = digits
    table = digits_model.binary_activations(X[:30], layers=[2], inputs=False)
    assert table.schema.feature_names == (*(f"h2_{i}" for i in range(16)), "prediction")
    assert np.array_equal(table.valid, np.tile(row_mask(30), (17, 1)))


def test_target_class_gives_two_values(digits, digits_model) -> None:
    X, _ = digits
    table = digits_model.binary_activations(X, target_class=3, layers=[])
    spec = table.schema.feature("prediction")
    assert spec.values == ("3", "not 3")
    assert np.array_equal(
        table.column_values("prediction = 3"), digits_model.predict(X) == 3
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"target": "h3_0"},
            r"target must be 'prediction' or a neuron \(h1_0 to h1_23",
        ),
        ({"target": "h1_24"}, "target must be 'prediction' or a neuron"),
        ({"target": "x3"}, "target must be 'prediction' or a neuron"),
        ({"layers": [0]}, "layer 0 does not exist; the hidden layers are 1 to 2"),
        ({"layers": "12"}, "layers must be a sequence of layer numbers"),
        ({"target": "h2_1", "layers": [2]}, "layer 2 holds the target neuron"),
        ({"target_class": 11}, "target_class=11 is not a class"),
        ({"target": "h1_0", "target_class": 1}, "target_class applies to the target"),
    ],
    ids=[
        "layer",
        "index",
        "name",
        "layer_zero",
        "layers_text",
        "target_layer",
        "class",
        "class_of_neuron",
    ],
)
def test_invalid_activation_options_raise(
    digits, digits_model, options: dict[str, object], message: str
) -> None:
    X, _ = digits
    with pytest.raises(InvalidParameterError, match=message):
        digits_model.binary_activations(X[:5], **options)


def test_input_named_like_neuron_raises() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"h1_0": rng.normal(size=60), "b": rng.normal(size=60)})
    labels = (frame["h1_0"] > 0).astype(int)
    model = BinaryNetwork(hidden_layers=(4,), **FAST).fit(frame, labels)
    with pytest.raises(
        InvalidParameterError, match="input feature 'h1_0' has the name"
    ):
        model.binary_activations(frame)
    assert model.binary_activations(frame, inputs=False).n_rows == 60


def test_missing_value_reads_as_minus_one(boards, board_model) -> None:
    X, _ = boards
    rows = X.head(3).copy()
    rows.loc[0, "tl"] = None
    table = board_model.binary_activations(rows)
    for value in ("b", "o", "x"):
        assert not table.column_values(f"tl = {value}")[0]
    assert not unpack_bits(table.valid[table.schema.index("tl")], 3)[0]
    # The other rows keep every bit, inputs and neurons alike.
    reference = board_model.binary_activations(X.head(3))
    for column in range(table.n_columns):
        found = table.column_values(column)[1:]
        expected = reference.column_values(column)[1:]
        assert np.array_equal(found, expected), table.columns[column]


def test_real_input_table_uses_thresholds(digits) -> None:
    X, y = digits
    model = BinaryNetwork(hidden_layers=(12,), input_layer="real", **FAST).fit(X, y)
    table = model.binary_activations(X[:20])
    assert table.schema.feature("x10").kind == "numeric"
    assert table.schema.feature("h1_11").kind == "boolean"
    standardized = (X[:20] - model.buffers_["input.center"]) / model.buffers_[
        "input.scale"
    ]
    products = standardized.astype(np.float32) @ np.where(
        model.parameters_["hidden1.weight"] >= 0, 1, -1
    ).T.astype(np.float32)
    normalized = (products - model.buffers_["hidden1.mean"]) / np.sqrt(
        model.buffers_["hidden1.variance"] + model.epsilon
    )
    fired = (
        model.parameters_["hidden1.gamma"] * normalized
        + model.parameters_["hidden1.beta"]
        >= 0
    )
    agree = np.mean(
        [np.array_equal(table.column_values(f"h1_{j}"), fired[:, j]) for j in range(12)]
    )
    assert agree == 1.0


# -- fingerprint -------------------------------------------------------------------


def test_fingerprint_follows_documented_layout(digits_model) -> None:
    digest = hashlib.sha256()
    header = {
        "format": 1,
        "schema": digits_model.schema_.to_dict(),
        "classes": list(digits_model.class_labels_),
        "input_layer": "binary",
        "widths": [digits_model.schema_.n_columns, 24, 16],
    }
    digest.update(json.dumps(header, sort_keys=True, separators=(",", ":")).encode())
    for layer in digits_model.binary_layers():
        digest.update(layer.weights.astype("<u8").tobytes())
        digest.update(layer.thresholds.astype("<i8").tobytes())
    digest.update(digits_model.parameters_["output.weight"].astype("<f4").tobytes())
    digest.update(digits_model.parameters_["output.bias"].astype("<f4").tobytes())
    assert digits_model.fingerprint == digest.hexdigest()


def test_fingerprint_changes_with_weights(digits) -> None:
    X, y = digits
    first = BinaryNetwork(hidden_layers=(8,), **FAST, random_state=1).fit(X, y)
    second = BinaryNetwork(hidden_layers=(8,), **FAST, random_state=2).fit(X, y)
    assert first.fingerprint != second.fingerprint
    assert len(first.fingerprint) == 64


# -- rules, fidelity, crystals -------------------------------------------------------


@pytest.fixture(scope="module")
def board_rules(boards, board_model) -> loom.RuleSet:
    X, _ = boards
    table = board_model.binary_activations(X.iloc[::2], layers=[])
    return loom.discover(table, n_generations=20, inner_folds=0, random_state=0)


def test_rules_explain_prediction_faithfully(boards, board_model, board_rules) -> None:
    X, _ = boards
    held_out = board_model.binary_activations(X.iloc[1::2], layers=[])
    report = fidelity(board_rules, held_out)
    predicted = board_rules.predict(held_out)
    network = board_model.predict(X.iloc[1::2])
    assert report.n_rows == len(network)
    assert report.n_agree == int(np.sum(predicted == network))
    assert report.fidelity == pytest.approx(report.n_agree / report.n_rows)
    assert report.fidelity > 0.8
    counts = {value: count for value, (count, _) in report.per_value.items()}
    assert counts == {
        "n": int(np.sum(network == "n")),
        "p": int(np.sum(network == "p")),
    }
    assert 0 < report.coverage <= 1
    assert str(report).startswith("fidelity to prediction: ")
    assert report == board_model.fidelity(board_rules, X.iloc[1::2], layers=[])


def test_fidelity_rejects_other_target(boards, board_model, board_rules) -> None:
    X, _ = boards
    table = board_model.binary_activations(X.head(10), target="h1_0")
    with pytest.raises(TargetError, match="build the table with target='prediction'"):
        fidelity(board_rules, table)


def test_crystals_record_backbone(
    boards, board_model, board_rules, tmp_path: Path
) -> None:
    X, _ = boards
    table = board_model.binary_activations(X.iloc[::2], layers=[])
    with CrystalStore(tmp_path / "crystals.db") as store:
        events = crystallize_rules(board_model, store, board_rules, table)
        crystals = store.active()
    assert events
    assert len(crystals) == len(events)
    for crystal in crystals:
        assert crystal.backbone_fingerprint == board_model.fingerprint
        assert crystal.dataset_fingerprint == table.fingerprint
        assert crystal.target == "prediction"


def test_crystals_on_another_backbone_warn_once(
    boards, board_model, board_rules, tmp_path: Path
) -> None:
    X, y = boards
    rows = X.iloc[::2]
    table = board_model.binary_activations(rows, layers=[])
    with CrystalStore(tmp_path / "crystals.db") as store:
        crystallize_rules(board_model, store, board_rules, table)
        crystals = store.active()
    assert len(crystals) >= 2

    with warnings.catch_warnings():
        warnings.simplefilter("error", ForeignCrystalWarning)
        own = board_model.apply_crystals(crystals, rows, layers=[])

    other = BinaryNetwork(hidden_layers=(64,), max_epochs=30, n_jobs=1, random_state=7)
    other.fit(X, y)
    with pytest.warns(ForeignCrystalWarning) as caught:
        foreign = other.apply_crystals(crystals, rows, layers=[])
    assert len(caught) == 1
    message = str(caught[0].message)
    assert (
        f"{len(crystals)} crystal(s) recorded on another data set or backbone"
        in message
    )
    assert f"with backbone {other.fingerprint}" in message
    assert f"with backbone {board_model.fingerprint}" in message

    expected = evidence_for(
        [c.constraint for c in crystals], table, {"all": row_mask(len(rows))}
    )
    for crystal in crystals:
        assert own[crystal.id] == expected[crystal.constraint]
    assert foreign.keys() == own.keys()


def test_rules_found_on_activations_compile(boards, board_model, board_rules) -> None:
    from loom.bnn.compile import compile_rules

    X, _ = boards
    table = board_model.binary_activations(X, layers=[])
    compiled = compile_rules(board_rules)
    assert np.array_equal(compiled.predict(table), board_rules.predict(table))


def test_pack_bits_of_predictions(digits, digits_model) -> None:
    X, _ = digits
    table = digits_model.binary_activations(X[:70], layers=[], inputs=False)
    predicted = digits_model.predict(X[:70])
    assert np.array_equal(table.bits[7], pack_bits(predicted == 7))
