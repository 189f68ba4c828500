"""BinaryNetwork: training, determinism, early stopping, monitoring, warnings,
checkpoints and the input forms it takes."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import loom.bnn.training as training
from loom import BitTable
from loom.bnn import BinaryNetwork
from loom.exceptions import (
    CheckpointError,
    DataFileNotFoundError,
    GradientWarning,
    InvalidParameterError,
    MissingDependencyError,
    TargetError,
)

# One thread: BLAS threads on small matrices only contend on a busy 2-core machine.
SMALL = {"hidden_layers": (48, 32), "max_epochs": 6, "batch_size": 64, "n_jobs": 1}


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


def same_parameters(first: BinaryNetwork, second: BinaryNetwork) -> bool:
    return first.parameters_.keys() == second.parameters_.keys() and all(
        np.array_equal(first.parameters_[name], second.parameters_[name])
        for name in first.parameters_
    )


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"input_layer": "real"},
        {"binary": False},
        {"optimizer": "sgd", "learning_rate": 1.0},
    ],
    ids=["binary_input", "real_input", "float", "sgd"],
)
def test_fit_learns_digits(digits, options: dict[str, object]) -> None:
    X_train, X_test, y_train, y_test = digits
    model = BinaryNetwork(hidden_layers=(128,), max_epochs=10, n_jobs=1, **options)
    model.fit(X_train, y_train)
    assert model.score(X_test, y_test) > 0.88
    assert list(model.classes_) == list(range(10))


def test_same_seed_gives_same_weights(digits) -> None:
    X_train, _, y_train, _ = digits
    first = BinaryNetwork(**SMALL, random_state=4).fit(X_train, y_train)
    second = BinaryNetwork(**SMALL, random_state=4).fit(X_train, y_train)
    other = BinaryNetwork(**SMALL, random_state=5).fit(X_train, y_train)
    assert same_parameters(first, second)
    assert first.fingerprint == second.fingerprint
    assert not same_parameters(first, other)


def test_stochastic_training_is_seeded(digits) -> None:
    X_train, X_test, y_train, _ = digits
    options = {**SMALL, "binarization": "stochastic"}
    first = BinaryNetwork(**options, random_state=1).fit(X_train, y_train)
    second = BinaryNetwork(**options, random_state=1).fit(X_train, y_train)
    deterministic = BinaryNetwork(**SMALL, random_state=1).fit(X_train, y_train)
    assert same_parameters(first, second)
    assert not same_parameters(first, deterministic)
    assert np.array_equal(first.predict(X_test), first.predict(X_test))


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_backends_train_identical_networks(digits, backend: str) -> None:
    X_train, _, y_train, _ = digits
    options = {**SMALL, "max_epochs": 2}
    default = BinaryNetwork(**options).fit(X_train[:400], y_train[:400])
    other = BinaryNetwork(**options, backend=backend).fit(X_train[:400], y_train[:400])
    assert same_parameters(default, other)


def test_history_records_every_epoch(digits) -> None:
    X_train, _, y_train, _ = digits
    model = BinaryNetwork(**{**SMALL, "max_epochs": 4}, patience=None).fit(
        X_train, y_train
    )
    assert [record.epoch for record in model.history_] == [1, 2, 3, 4]
    assert model.n_iter_ == 4
    assert model.stop_reason_ == "max_epochs"
    rates = [record.learning_rate for record in model.history_]
    assert rates[0] == pytest.approx(0.01)
    assert rates[-1] == pytest.approx(0.0001)
    for record in model.history_:
        assert len(record.gradient_norms) == 3
        assert len(record.update_norms) == 3
        assert len(record.flip_shares) == 2
        assert all(norm > 0 for norm in record.gradient_norms)
        assert all(0 <= share <= 1 for share in record.flip_shares)
        assert 0 <= record.validation_accuracy <= 1
        assert record.seconds > 0
    lines = model.history_table().splitlines()
    assert len(lines) == 5
    assert lines[0].split()[:2] == ["epoch", "lr"]


def test_early_stopping_keeps_best_epoch(digits) -> None:
    X_train, _, y_train, _ = digits
    options = {**SMALL, "schedule": "constant", "learning_rate": 0.05}
    stopped = BinaryNetwork(**{**options, "max_epochs": 40}, patience=2)
    stopped.fit(X_train, y_train)
    assert stopped.stop_reason_ == "early_stopping"
    assert stopped.n_iter_ < 40
    losses = [record.validation_loss for record in stopped.history_]
    assert stopped.best_epoch_ == int(np.argmin(losses)) + 1
    assert stopped.n_iter_ == stopped.best_epoch_ + 2
    # The same run cut at the best epoch ends with the weights early stopping kept.
    cut = BinaryNetwork(
        **{**options, "max_epochs": stopped.best_epoch_},
        patience=None,
        restore_best=False,
    )
    cut.fit(X_train, y_train)
    assert same_parameters(stopped, cut)


def test_restore_best_false_keeps_last_weights(digits) -> None:
    X_train, _, y_train, _ = digits
    options = {**SMALL, "schedule": "constant", "learning_rate": 0.05, "patience": 2}
    last = BinaryNetwork(**{**options, "max_epochs": 40}, restore_best=False)
    last.fit(X_train, y_train)
    cut = BinaryNetwork(**{**options, "max_epochs": last.n_iter_}, restore_best=False)
    cut.fit(X_train, y_train)
    assert same_parameters(last, cut)


def test_validation_data_drives_monitoring(digits) -> None:
    X_train, X_test, y_train, y_test = digits
    model = BinaryNetwork(**SMALL).fit(
        X_train, y_train, validation_data=(X_test, y_test)
    )
    best = model.history_[model.best_epoch_ - 1]
    assert best.validation_accuracy == pytest.approx(model.score(X_test, y_test))


def test_small_data_trains_without_validation() -> None:
    X = np.arange(40, dtype=float).reshape(20, 2)
    y = np.array([0, 1] * 10)
    model = BinaryNetwork(hidden_layers=(8,), max_epochs=3).fit(X, y)
    assert model.best_epoch_ == 0
    assert all(np.isnan(record.validation_loss) for record in model.history_)
    assert model.n_iter_ == 3


def test_gradient_warnings_once_per_layer(digits, monkeypatch) -> None:
    X_train, _, y_train, _ = digits
    monkeypatch.setattr(training, "EXPLODING_GRADIENT_RATIO", 0.0)
    with pytest.warns(GradientWarning, match="exploding gradients") as caught:
        BinaryNetwork(**{**SMALL, "max_epochs": 3}).fit(X_train, y_train)
    messages = [str(item.message) for item in caught]
    assert len(messages) == 2
    layers = {message.split(" in layer ")[1].split()[0] for message in messages}
    assert layers == {"h1", "h2"}
    assert "times the output layer's, above 0;" in messages[0]


def test_vanishing_gradient_warning(digits, monkeypatch) -> None:
    X_train, _, y_train, _ = digits
    monkeypatch.setattr(training, "EXPLODING_GRADIENT_RATIO", float("inf"))
    monkeypatch.setattr(training, "VANISHING_GRADIENT_RATIO", float("inf"))
    with pytest.warns(GradientWarning) as caught:
        BinaryNetwork(**{**SMALL, "max_epochs": 2}).fit(X_train, y_train)
    messages = sorted(str(item.message)[:40] for item in caught)
    assert messages == [
        "vanishing gradients in layer h1 at epoch",
        "vanishing gradients in layer h2 at epoch",
    ]


def test_saturated_layer_warns_vanishing(rng: np.random.Generator) -> None:
    from loom.bnn.engine import Architecture, init_parameters
    from loom.bnn.optim import Adam

    architecture = Architecture(
        n_inputs=20,
        hidden=(16, 8),
        n_classes=2,
        binary=True,
        real_input=True,
        binarization="deterministic",
        epsilon=1e-5,
        norm_momentum=0.9,
    )
    parameters, buffers = init_parameters(architecture, rng)
    # Pre-activations of 5 + 1e6 * (normalized product) lie outside [-1, 1]: the
    # straight-through estimator passes no gradient into the second layer's
    # weights, nor back to the first layer.
    parameters["hidden2.gamma"][:] = 1e6
    parameters["hidden2.beta"][:] = 5.0
    state = training.TrainingState(parameters, buffers, Adam(), rng)
    inputs = rng.normal(size=(200, 20)).astype(np.float32)
    data = training.TrainingData(inputs, None, (inputs[:, 0] > 0).astype(np.intp))
    options = training.TrainingOptions(
        architecture,
        max_epochs=2,
        batch_size=50,
        schedule="constant",
        learning_rate=0.001,
        final_learning_rate=0.001,
        patience=None,
        min_delta=0.0,
        restore_best=True,
    )
    with pytest.warns(GradientWarning) as caught:
        training.train(state, data, options)
    messages = sorted(str(item.message) for item in caught)
    assert len(messages) == 2
    assert messages[0].startswith("vanishing gradients in layer h1 at epoch 1: ")
    assert messages[1].startswith("vanishing gradients in layer h2 at epoch 1: ")


def test_default_training_gives_no_gradient_warning(digits) -> None:
    X_train, _, y_train, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradientWarning)
        BinaryNetwork(**SMALL).fit(X_train, y_train)


def test_diverging_training_stops_with_warning(digits) -> None:
    X_train, X_test, y_train, _ = digits
    model = BinaryNetwork(
        **SMALL,
        optimizer="sgd",
        learning_rate=1e38,
        schedule="constant",
        validation_fraction=0.0,
    )
    with pytest.warns(GradientWarning, match="loss or a gradient is not finite"):
        model.fit(X_train, y_train)
    assert model.stop_reason_ == "diverged"
    assert all(np.isfinite(value).all() for value in model.parameters_.values())
    assert model.predict(X_test).shape == (len(X_test),)


class Interrupted(Exception):
    pass


def interrupt_at(epoch: int):
    def callback(record) -> None:
        if record.epoch == epoch:
            raise Interrupted

    return callback


def test_resume_matches_uninterrupted_run(digits, tmp_path: Path) -> None:
    X_train, _, y_train, _ = digits
    options = {**SMALL, "binarization": "stochastic", "patience": None}
    whole = BinaryNetwork(**options).fit(X_train, y_train)
    path = tmp_path / "run.npz"
    with pytest.raises(Interrupted):
        BinaryNetwork(**options).fit(
            X_train, y_train, checkpoint=path, callback=interrupt_at(3)
        )
    assert BinaryNetwork.load(path).n_iter_ == 3
    resumed = BinaryNetwork(**options).fit(
        X_train, y_train, checkpoint=path, resume=True
    )
    assert same_parameters(whole, resumed)
    assert [r.train_loss for r in resumed.history_] == [
        r.train_loss for r in whole.history_
    ]
    assert resumed.fingerprint == whole.fingerprint


def test_resume_without_seed_keeps_split(digits, tmp_path: Path) -> None:
    X_train, _, y_train, _ = digits
    path = tmp_path / "run.npz"
    options = {**SMALL, "random_state": None}
    with pytest.raises(Interrupted):
        BinaryNetwork(**options).fit(
            X_train, y_train, checkpoint=path, callback=interrupt_at(2)
        )
    resumed = BinaryNetwork(**options).fit(
        X_train, y_train, checkpoint=path, resume=True
    )
    assert resumed.n_iter_ == SMALL["max_epochs"]


def test_resume_rejects_other_options(digits, tmp_path: Path) -> None:
    X_train, _, y_train, _ = digits
    path = tmp_path / "run.npz"
    BinaryNetwork(**SMALL).fit(X_train, y_train, checkpoint=path)
    with pytest.raises(CheckpointError, match=r"other options \(batch_size=64 there"):
        BinaryNetwork(**{**SMALL, "batch_size": 32}).fit(
            X_train, y_train, checkpoint=path, resume=True
        )


def test_resume_rejects_other_data(digits, tmp_path: Path) -> None:
    X_train, _, y_train, _ = digits
    path = tmp_path / "run.npz"
    BinaryNetwork(**SMALL).fit(X_train, y_train, checkpoint=path)
    with pytest.raises(CheckpointError, match="other training data"):
        BinaryNetwork(**SMALL).fit(
            X_train[1:], y_train[1:], checkpoint=path, resume=True
        )


def test_saved_network_predicts_same_in_fresh_process(digits, tmp_path: Path) -> None:
    X_train, X_test, y_train, _ = digits
    model = BinaryNetwork(**SMALL).fit(X_train, y_train)
    model.save(tmp_path / "model.npz")
    np.save(tmp_path / "rows.npy", X_test)
    script = (
        "import json, sys, numpy as np\n"
        "from loom.bnn import BinaryNetwork\n"
        "model = BinaryNetwork.load(sys.argv[1])\n"
        "rows = np.load(sys.argv[2])\n"
        "print(json.dumps({'labels': model.predict(rows).tolist(),\n"
        "                  'proba': model.predict_proba(rows).tolist(),\n"
        "                  'fingerprint': model.fingerprint}))\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            str(tmp_path / "model.npz"),
            str(tmp_path / "rows.npy"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = json.loads(result.stdout)
    assert loaded["labels"] == model.predict(X_test).tolist()
    assert loaded["proba"] == model.predict_proba(X_test).tolist()
    assert loaded["fingerprint"] == model.fingerprint


def test_load_keeps_classes_and_names(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"size": rng.normal(size=90), "color": ["red", "blue", "green"] * 30}
    )
    labels = np.where(frame["size"] > 0, "big", "small").astype(object)
    model = BinaryNetwork(hidden_layers=(8,), max_epochs=2).fit(frame, labels)
    model.save(tmp_path / "model.npz")
    loaded = BinaryNetwork.load(tmp_path / "model.npz")
    assert loaded.classes_.tolist() == ["big", "small"]
    assert loaded.feature_names_in_.tolist() == ["size", "color"]
    assert loaded.schema_ == model.schema_
    assert loaded.get_params() == model.get_params()
    assert loaded.predict(frame).tolist() == model.predict(frame).tolist()


def test_load_rejects_edited_weights(digits, tmp_path: Path) -> None:
    X_train, _, y_train, _ = digits
    model = BinaryNetwork(**SMALL).fit(X_train, y_train)
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path) as stored:
        arrays = {key: stored[key] for key in stored.files}
    arrays["binary/1/thresholds"] = arrays["binary/1/thresholds"] + 1
    np.savez(path, **arrays)
    with pytest.raises(CheckpointError, match="damaged: the binary weights of hidden"):
        BinaryNetwork.load(path)


def test_load_rejects_other_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    with pytest.raises(CheckpointError, match="not a saved network"):
        BinaryNetwork.load(text)
    archive = tmp_path / "other.npz"
    np.savez(archive, values=np.arange(3))
    with pytest.raises(CheckpointError, match="no 'meta' header"):
        BinaryNetwork.load(archive)
    with pytest.raises(DataFileNotFoundError, match="network file not found"):
        BinaryNetwork.load(tmp_path / "missing.npz")


def test_binary_input_takes_text_and_missing_values() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "size": rng.normal(size=200),
            "color": rng.choice(["red", "blue", "green"], 200),
        }
    )
    labels = np.where((frame["size"] > 0) & (frame["color"] == "red"), "yes", "no")
    frame.loc[::9, "size"] = np.nan
    frame.loc[::11, "color"] = None
    model = BinaryNetwork(hidden_layers=(32,), max_epochs=15).fit(frame, labels)
    assert model.score(frame, labels) > 0.85
    assert "color = red" in model.schema_.columns


def test_real_input_rejects_missing_values() -> None:
    X = np.array([[0.0, 1.0], [np.nan, 2.0]] * 10)
    with pytest.raises(ValueError, match="NaN"):
        BinaryNetwork(input_layer="real", max_epochs=1).fit(X, [0, 1] * 10)


def test_bittable_target_serves_as_labels() -> None:
    from loom.demo import tic_tac_toe

    table = BitTable.from_frame(tic_tac_toe(), "y")
    model = BinaryNetwork(hidden_layers=(64,), max_epochs=30, n_jobs=1).fit(table)
    assert model.classes_.tolist() == ["n", "p"]
    assert "y" not in model.schema_
    assert model.score(table, model.predict(table)) == 1.0
    assert model.score(tic_tac_toe().drop(columns="y"), tic_tac_toe()["y"]) > 0.8


def test_one_class_raises() -> None:
    with pytest.raises(TargetError, match="one class"):
        BinaryNetwork(max_epochs=1).fit(np.zeros((5, 2)), [1] * 5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hidden_layers": ()}, "hidden_layers must be a non-empty"),
        ({"hidden_layers": (8, 0)}, "hidden_layers must be a non-empty"),
        ({"input_layer": "float"}, "input_layer must be one of binary, real"),
        ({"binarization": "random"}, "binarization must be one of"),
        ({"optimizer": "rmsprop"}, "optimizer must be one of adam, sgd"),
        ({"schedule": "step"}, "schedule must be one of"),
        ({"binary": "yes"}, "binary must be True or False"),
        ({"batch_size": 0}, "batch_size must be an int >= 1"),
        ({"max_epochs": 1.5}, "max_epochs must be an int >= 1"),
        ({"patience": 0}, "patience must be an int >= 1"),
        ({"learning_rate": 0.0}, r"learning_rate must be a number in \(0, inf\]"),
        ({"momentum": 1.0}, r"momentum must be a number in \[0, 1\)"),
        ({"validation_fraction": 1.0}, r"validation_fraction must be a number in"),
        ({"epsilon": -1.0}, "epsilon must be a number"),
        ({"random_state": -1}, "random_state must be None, an int >= 0"),
        ({"backend": "gpu"}, "backend must be one of"),
    ],
    ids=lambda value: str(value) if isinstance(value, dict) else "",
)
def test_invalid_options_raise(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        BinaryNetwork(**options).fit(np.zeros((4, 2)), [0, 1, 0, 1])


def test_plot_history_writes_png(digits, tmp_path: Path) -> None:
    X_train, _, y_train, _ = digits
    model = BinaryNetwork(**SMALL).fit(X_train, y_train)
    path = tmp_path / "history.png"
    figure = model.plot_history(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(figure.axes) == 3
    assert figure.axes[2].get_yscale() == "log"


def test_plot_history_without_matplotlib_raises(digits, monkeypatch) -> None:
    X_train, _, y_train, _ = digits
    model = BinaryNetwork(**{**SMALL, "max_epochs": 1}).fit(X_train, y_train)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(
        MissingDependencyError, match=r'pip install "loom-rules\[plot\]"'
    ):
        model.plot_history()


def test_float_network_has_no_binary_activations(digits) -> None:
    X_train, _, y_train, _ = digits
    model = BinaryNetwork(**SMALL, binary=False).fit(X_train, y_train)
    with pytest.raises(
        InvalidParameterError, match="binary_activations needs a binary"
    ):
        model.binary_activations(X_train)
    with pytest.raises(InvalidParameterError, match="needs a binary network"):
        _ = model.fingerprint


def test_binary_layers_are_the_packed_hidden_layers(digits) -> None:
    X_train, _, y_train, _ = digits
    model = BinaryNetwork(**SMALL).fit(X_train, y_train)
    layers = model.binary_layers()
    assert [layer.n_outputs for layer in layers] == [48, 32]
    assert layers[0].n_inputs == model.schema_.n_columns
    real = BinaryNetwork(**SMALL, input_layer="real").fit(X_train, y_train)
    assert [layer.n_outputs for layer in real.binary_layers()] == [32]
