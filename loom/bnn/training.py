"""The training loop of `BinaryNetwork`: epochs of mini-batches, the learning-rate
schedule, validation, early stopping, monitoring per epoch and gradient warnings.

Monitoring records, per epoch:

- the training loss and accuracy, over the epoch's batches in training mode;
- the validation loss and accuracy, on the inference path;
- the gradient norm of each layer's weights, as a mean over batches;
- the root mean square change of each layer's weights over the epoch;
- the share of each hidden layer's latent weights whose sign flipped.

Gradient warnings compare, per epoch, each hidden layer's root mean square weight
gradient with the output layer's. The root mean square gradient is the mean gradient
norm divided by the square root of the number of weights. A ratio above
`EXPLODING_GRADIENT_RATIO` means the gradient grows on its way back, and one below
`VANISHING_GRADIENT_RATIO` that it dies out. The
output layer is the reference because its gradient is bounded by construction (each
entry is at most the output scale, 1 / sqrt(width)). Each layer warns at most once per
kind and fit; later epochs past a limit are logged at DEBUG level. A loss or gradient
that is not finite stops training with a warning, and the best weights so far are
kept.
"""

from __future__ import annotations

import copy
import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from loom.bnn.engine import (
    Architecture,
    Arrays,
    backward,
    cross_entropy,
    forward_train,
    inference_layers,
    predict_logits,
    predict_logits_float,
)
from loom.bnn.optim import Optimizer, Schedule, learning_rate_at
from loom.exceptions import GradientWarning

__all__ = [
    "EXPLODING_GRADIENT_RATIO",
    "VANISHING_GRADIENT_RATIO",
    "EpochRecord",
    "TrainingData",
    "TrainingOptions",
    "TrainingState",
    "evaluate_logits",
    "format_history",
    "train",
]

logger = logging.getLogger(__name__)

EXPLODING_GRADIENT_RATIO = 1e3
"""A hidden layer whose root mean square gradient is more than this many times the
output layer's warns of exploding gradients. In healthy runs the ratio stayed between
0.01 and 3, on digits and tic-tac-toe with binary and float networks of up to three
layers of 1,024 neurons. It reached 240 where batch normalization divided by a
near-zero batch deviation (two real features, 21 rows)."""

VANISHING_GRADIENT_RATIO = 1e-4
"""A hidden layer whose root mean square gradient is less than this share of the
output layer's warns of vanishing gradients: almost every pre-activation lies outside
[-1, 1], where the straight-through estimator passes nothing, so the layer has
stopped learning."""

Floats = NDArray[np.float32]


@dataclass(frozen=True)
class EpochRecord:
    """The figures of one training epoch.

    Attributes
    ----------
    epoch : int
        1-based.
    learning_rate : float
    train_loss, train_accuracy : float
        Mean cross-entropy and accuracy over the epoch's batches, in training mode
        (batch statistics, stochastic binarization when enabled).
    validation_loss, validation_accuracy : float
        On the validation rows through the inference path; NaN without validation.
    gradient_norms : tuple of float
        Mean L2 norm of the weight gradient per batch, for each hidden layer then the
        output layer.
    update_norms : tuple of float
        Root mean square change of each layer's weights over the epoch.
    flip_shares : tuple of float
        Share of each hidden layer's latent weights whose sign changed over the
        epoch.
    seconds : float
        Wall time of the epoch, validation included.
    """

    epoch: int
    learning_rate: float
    train_loss: float
    train_accuracy: float
    validation_loss: float
    validation_accuracy: float
    gradient_norms: tuple[float, ...]
    update_norms: tuple[float, ...]
    flip_shares: tuple[float, ...]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (NaN stays NaN: `json` writes it as ``NaN``)."""
        data = asdict(self)
        for key in ("gradient_norms", "update_norms", "flip_shares"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EpochRecord:
        """Build a record from `to_dict` output."""
        values = dict(data)
        for key in ("gradient_norms", "update_norms", "flip_shares"):
            values[key] = tuple(float(item) for item in values[key])
        return cls(**values)


def format_history(
    records: list[EpochRecord], layer_names: tuple[str, ...], *, header: bool = True
) -> str:
    """Return the monitoring table of `records`, one line per epoch.

    Columns: epoch, learning rate, training loss and accuracy, validation loss and
    accuracy, then per layer the gradient norm (``grad``), the root mean square
    weight change (``upd``), and per hidden layer the share of flipped signs
    (``flip``), and the epoch's seconds.

    Parameters
    ----------
    records : list of EpochRecord
    layer_names : tuple of str
        Names of the hidden layers then the output layer, e.g. ``("h1", "out")``.
    header : bool, default=True
        Start with the column names.

    Examples
    --------
    >>> record = EpochRecord(1, 0.01, 0.5, 0.9, 0.4, 0.95, (0.2, 0.1), (0.01, 0.02),
    ...                      (0.05,), 0.3)
    >>> print(format_history([record], ("h1", "out")))
    epoch      lr    loss    acc  val_loss  val_acc   grad h1  grad out    upd h1   upd out  flip h1  seconds
        1  0.0100  0.5000  0.900    0.4000    0.950   2.0e-01   1.0e-01   1.0e-02   2.0e-02     5.0%     0.30
    """  # noqa: E501 - the table is wider than a line of code
    lines = []
    if header:
        columns = [f"{'grad ' + name:>9}" for name in layer_names]
        columns += [f"{'upd ' + name:>9}" for name in layer_names]
        columns += [f"{'flip ' + name:>8}" for name in layer_names[:-1]]
        lines.append(
            f"epoch {'lr':>7} {'loss':>7} {'acc':>6} {'val_loss':>9} {'val_acc':>8} "
            + " ".join(columns)
            + f" {'seconds':>8}"
        )
    for record in records:
        values = [f"{value:9.1e}" for value in record.gradient_norms]
        values += [f"{value:9.1e}" for value in record.update_norms]
        values += [f"{100 * value:7.1f}%" for value in record.flip_shares]
        lines.append(
            f"{record.epoch:5d} {record.learning_rate:7.4f} {record.train_loss:7.4f} "
            f"{record.train_accuracy:6.3f} {record.validation_loss:9.4f} "
            f"{record.validation_accuracy:8.3f} "
            + " ".join(values)
            + f" {record.seconds:8.2f}"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class TrainingData:
    """Rows to fit and to validate on, already encoded.

    ``inputs`` are float32 (+1/-1 bits, or standardized features); ``bits`` the same
    bits row-packed (binary input layer) or None; ``labels`` class positions.
    """

    inputs: Floats
    bits: NDArray[np.uint64] | None
    labels: NDArray[np.intp]
    validation_inputs: Floats | None = None
    validation_bits: NDArray[np.uint64] | None = None
    validation_labels: NDArray[np.intp] | None = None

    @property
    def has_validation(self) -> bool:
        return self.validation_labels is not None and len(self.validation_labels) > 0


@dataclass(frozen=True)
class TrainingOptions:
    """The options of a training run that do not change the architecture."""

    architecture: Architecture
    max_epochs: int
    batch_size: int
    schedule: Schedule
    learning_rate: float
    final_learning_rate: float
    patience: int | None
    min_delta: float
    restore_best: bool


@dataclass
class TrainingState:
    """Everything a checkpoint stores to resume training exactly where it stopped."""

    parameters: Arrays
    buffers: Arrays
    optimizer: Optimizer
    rng: np.random.Generator
    epoch: int = 0
    history: list[EpochRecord] = field(default_factory=list)
    best_loss: float = math.inf
    best_epoch: int = 0
    best_parameters: Arrays | None = None
    best_buffers: Arrays | None = None
    wait: int = 0
    stop_reason: str | None = None
    warned: set[str] = field(default_factory=set)


def evaluate_logits(
    architecture: Architecture, parameters: Arrays, buffers: Arrays, inputs: Any
) -> Floats:
    """Return the logits of the inference path: packed bits for a binary network,
    running statistics for the float one."""
    if architecture.binary:
        layers = inference_layers(architecture, parameters, buffers)
        logits, _ = predict_logits(layers, inputs, backend=architecture.backend)
        return logits
    return predict_logits_float(architecture, parameters, buffers, inputs)


def train(
    state: TrainingState,
    data: TrainingData,
    options: TrainingOptions,
    *,
    save: Callable[[TrainingState], None] | None = None,
    on_epoch: Callable[[EpochRecord], Any] | None = None,
) -> None:
    """Run epochs from ``state.epoch`` until `max_epochs`, early stopping or a loss
    that is not finite; update `state` in place.

    `save` is called with the state after each epoch (the checkpoint), then
    `on_epoch` with the epoch's record. On exit the best weights are restored when
    `restore_best` is set and validation ran.
    """
    architecture = options.architecture
    layer_names = _layer_names(architecture)
    while state.stop_reason is None and state.epoch < options.max_epochs:
        started = time.perf_counter()
        rate = learning_rate_at(
            state.epoch,
            options.max_epochs,
            schedule=options.schedule,
            initial=options.learning_rate,
            final=options.final_learning_rate,
        )
        start = (copy.deepcopy(state.parameters), copy.deepcopy(state.buffers))
        figures = _run_epoch(state, data, options, rate)
        if figures is None:
            _diverged(state, start)
            break
        loss, accuracy, gradient_norms = figures
        validation_loss, validation_accuracy = _validate(state, data, architecture)
        updates, flips = _changes(state, start[0], architecture)
        state.epoch += 1
        record = EpochRecord(
            epoch=state.epoch,
            learning_rate=rate,
            train_loss=loss,
            train_accuracy=accuracy,
            validation_loss=validation_loss,
            validation_accuracy=validation_accuracy,
            gradient_norms=gradient_norms,
            update_norms=updates,
            flip_shares=flips,
            seconds=time.perf_counter() - started,
        )
        state.history.append(record)
        _check_gradients(state, record, layer_names, architecture)
        _early_stopping(state, record, data, options)
        if state.stop_reason is None and state.epoch >= options.max_epochs:
            state.stop_reason = "max_epochs"
        if state.stop_reason is not None:
            _finish(state, data, options)
        logger.info(
            "epoch %s: loss %.4f, validation loss %.4f, validation accuracy %.3f",
            record.epoch,
            record.train_loss,
            record.validation_loss,
            record.validation_accuracy,
        )
        if save is not None:
            save(state)
        if on_epoch is not None:
            on_epoch(record)
    if state.stop_reason is None:
        state.stop_reason = "max_epochs"


def _layer_names(architecture: Architecture) -> tuple[str, ...]:
    hidden = tuple(f"h{index}" for index in range(1, len(architecture.hidden) + 1))
    return (*hidden, "out")


def _weighted(architecture: Architecture) -> list[str]:
    """Prefixes of the parameters named ``<prefix>.weight``, in layer order."""
    hidden = [f"hidden{index}" for index in range(1, len(architecture.hidden) + 1)]
    return [*hidden, "output"]


def _run_epoch(
    state: TrainingState, data: TrainingData, options: TrainingOptions, rate: float
) -> tuple[float, float, tuple[float, ...]] | None:
    """Train one epoch; return loss, accuracy and mean gradient norms, or None when
    the loss or a gradient stopped being finite."""
    architecture = options.architecture
    n_rows = len(data.labels)
    order = state.rng.permutation(n_rows)
    n_batches = max(1, -(-n_rows // options.batch_size))
    prefixes = _weighted(architecture)
    norms = np.zeros(len(prefixes))
    total_loss = 0.0
    total_correct = 0

    for batch in np.array_split(order, n_batches):
        inputs = data.inputs[batch]
        bits = data.bits[batch] if data.bits is not None else None
        labels = data.labels[batch]

        # Overflow and NaN are found below from the loss and the gradient norms, so
        # NumPy's floating-point warnings would only repeat them.
        with np.errstate(all="ignore"):
            forward = forward_train(
                architecture, state.parameters, state.buffers, inputs, bits, state.rng
            )
            loss, probabilities, correct = cross_entropy(forward.logits, labels)
            if not math.isfinite(loss):
                return None

            gradients = backward(
                architecture, state.parameters, forward, probabilities, labels
            )
            batch_norms = [
                float(np.linalg.norm(gradients[f"{prefix}.weight"]))
                for prefix in prefixes
            ]
            if not all(math.isfinite(norm) for norm in batch_norms):
                return None
            norms += batch_norms
            state.optimizer.step(state.parameters, gradients, rate)

        if architecture.binary:
            for prefix in prefixes[:-1]:
                weights = state.parameters[f"{prefix}.weight"]
                np.clip(weights, -1.0, 1.0, out=weights)
        total_loss += loss * len(batch)
        total_correct += correct

    gradient_norms = tuple(float(value) for value in norms / n_batches)
    return total_loss / n_rows, total_correct / n_rows, gradient_norms


def _validate(
    state: TrainingState, data: TrainingData, architecture: Architecture
) -> tuple[float, float]:
    if not data.has_validation:
        return math.nan, math.nan
    assert data.validation_labels is not None
    inputs: Any = data.validation_inputs
    if architecture.binary and data.validation_bits is not None:
        inputs = data.validation_bits
    logits = evaluate_logits(architecture, state.parameters, state.buffers, inputs)
    loss, _, correct = cross_entropy(logits, data.validation_labels)
    return loss, correct / len(data.validation_labels)


def _changes(
    state: TrainingState, before: Arrays, architecture: Architecture
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    updates = []
    flips = []
    for prefix in _weighted(architecture):
        old = before[f"{prefix}.weight"]
        new = state.parameters[f"{prefix}.weight"]
        updates.append(float(np.sqrt(np.mean(np.square(new - old)))))
        if prefix != "output":
            flips.append(float(np.mean((new >= 0) != (old >= 0))))
    return tuple(updates), tuple(flips)


def _check_gradients(
    state: TrainingState,
    record: EpochRecord,
    layer_names: tuple[str, ...],
    architecture: Architecture,
) -> None:
    rms = [
        norm / math.sqrt(state.parameters[f"{prefix}.weight"].size)
        for prefix, norm in zip(
            _weighted(architecture), record.gradient_norms, strict=True
        )
    ]
    reference = rms[-1]
    if reference == 0:
        return  # the output layer fits every batch exactly: nothing flows back
    for name, value in zip(layer_names[:-1], rms[:-1], strict=True):
        ratio = value / reference
        if ratio > EXPLODING_GRADIENT_RATIO:
            kind, limit = "exploding", f"above {EXPLODING_GRADIENT_RATIO:g}"
            advice = (
                "lower learning_rate, or check for features that barely vary within "
                "a batch"
            )
        elif ratio < VANISHING_GRADIENT_RATIO:
            kind, limit = "vanishing", f"below {VANISHING_GRADIENT_RATIO:g}"
            advice = (
                "check that the inputs vary, or raise learning_rate; pre-activations "
                "outside [-1, 1] pass no gradient"
            )
        else:
            continue
        key = f"{kind}:{name}"
        if key in state.warned:
            logger.debug("epoch %s: %s gradients in layer %s", record.epoch, kind, name)
            continue
        state.warned.add(key)
        msg = (
            f"{kind} gradients in layer {name} at epoch {record.epoch}: its root mean "
            f"square gradient is {ratio:.3g} times the output layer's, {limit}; "
            f"{advice}."
        )
        warnings.warn(msg, GradientWarning, stacklevel=5)


def _early_stopping(
    state: TrainingState,
    record: EpochRecord,
    data: TrainingData,
    options: TrainingOptions,
) -> None:
    if not data.has_validation:
        return
    if record.validation_loss < state.best_loss - options.min_delta:
        state.best_loss = record.validation_loss
        state.best_epoch = record.epoch
        state.best_parameters = copy.deepcopy(state.parameters)
        state.best_buffers = copy.deepcopy(state.buffers)
        state.wait = 0
        return
    state.wait += 1
    if options.patience is not None and state.wait >= options.patience:
        state.stop_reason = "early_stopping"


def _finish(state: TrainingState, data: TrainingData, options: TrainingOptions) -> None:
    if not options.restore_best or not data.has_validation:
        return
    if state.best_parameters is not None and state.best_buffers is not None:
        state.parameters = copy.deepcopy(state.best_parameters)
        state.buffers = copy.deepcopy(state.best_buffers)


def _diverged(state: TrainingState, start: tuple[Arrays, Arrays]) -> None:
    """Stop, and go back to the best weights (or those at the start of the epoch)."""
    state.stop_reason = "diverged"
    msg = (
        f"the training loss or a gradient is not finite in epoch {state.epoch + 1}; "
        "training stopped and the best weights so far are kept. Lower learning_rate."
    )
    warnings.warn(msg, GradientWarning, stacklevel=5)
    if state.best_parameters is not None and state.best_buffers is not None:
        state.parameters = copy.deepcopy(state.best_parameters)
        state.buffers = copy.deepcopy(state.best_buffers)
    else:
        state.parameters, state.buffers = start
