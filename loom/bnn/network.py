"""`BinaryNetwork`: a binary neural network classifier with the scikit-learn estimator
interface, trained with latent float32 weights and run on packed XNOR-popcount bits.

The estimator checks its options when `fit` runs and its input with scikit-learn's
`validate_data`. Training arithmetic is in `loom.bnn.engine`, the loop in
`loom.bnn.training`, the file format in `loom.bnn.checkpoint`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import numbers
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from loom.bnn.binarize import BINARIZATIONS, signs_of
from loom.bnn.engine import (
    Architecture,
    Arrays,
    InferenceLayers,
    inference_layers,
    init_parameters,
    predict_logits,
    predict_logits_float,
    softmax,
)
from loom.bnn.layers import BinaryLayer, transpose_bits
from loom.bnn.optim import OPTIMIZERS, SCHEDULES, make_optimizer
from loom.bnn.training import (
    EpochRecord,
    TrainingData,
    TrainingOptions,
    TrainingState,
    format_history,
    train,
)
from loom.data.bits import unpack_bits
from loom.data.encode import DEFAULT_MISSING_VALUES, label_text
from loom.data.schema import Schema
from loom.data.table import BitTable
from loom.exceptions import (
    ConstantFeatureWarning,
    DataError,
    InvalidParameterError,
    TargetError,
    UnseenValueWarning,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from loom.bnn.activations import FidelityReport
    from loom.crystal.evidence import Evidence
    from loom.crystal.records import Crystal, Provenance
    from loom.evolve.model import RuleSet

__all__ = ["INPUT_LAYERS", "BinaryNetwork"]

logger = logging.getLogger(__name__)

INPUT_LAYERS: tuple[str, ...] = ("binary", "real")

# Fewer rows than this leave no validation split: every row trains.
MIN_ROWS_FOR_VALIDATION = 30

Floats = NDArray[np.float32]


@dataclass(frozen=True)
class _Encoded:
    """Rows encoded for the network: float32 inputs, packed bits, class positions."""

    inputs: Floats
    bits: NDArray[np.uint64] | None
    labels: NDArray[np.intp] | None
    table: BitTable | None


class BinaryNetwork(ClassifierMixin, BaseEstimator):
    """A binary neural network: binary dense layers with batch normalization and a
    real-valued softmax output layer.

    Each hidden layer computes the dot products of its inputs with binary weights
    (+1 or -1), normalizes them (batch normalization) and outputs their signs. At
    inference the normalization and sign fold into one integer threshold per
    neuron, and every layer whose inputs are bits runs on packed bits with XNOR and
    popcount (`loom.kernels.xnor_threshold`). Training keeps latent float32
    weights, clipped to [-1, 1], and updates them with full-precision gradients. The
    sign's gradient is the straight-through estimator: it passes where the
    pre-activation is in [-1, 1]. A value binarizes to +1 when it is ``>= 0``, so 0
    and -0.0 give +1.

    Parameters
    ----------
    hidden_layers : tuple of int, default=(256, 256)
        Neurons per hidden layer.
    input_layer : {'binary', 'real'}, default='binary'
        ``binary``: the features are encoded as bits (`BitTable`: one bit per
        boolean, per category, and per numeric threshold ``x <= t``), which the first
        layer reads as +1/-1 on the XNOR-popcount path. A missing value sets no bit
        of its feature, so all of its bits read -1. ``real``: the first layer
        multiplies standardized real features by binary weights (float matmul);
        missing values are rejected. With few real features that layer is coarse:
        its weights are +1 or -1 on every feature, so on two features each neuron
        cuts along a diagonal.
    binary : bool, default=True
        False trains the float network of the same shape in the same code (float
        weights, hard tanh activations), the baseline for accuracy and time.
    binarization : {'deterministic', 'stochastic'}, default='deterministic'
        How weights and activations binarize in training. ``stochastic`` draws +1
        with probability ``clip((x + 1) / 2, 0, 1)`` from the seeded generator;
        evaluation is always deterministic.
    n_thresholds : int, default=8
        Maximum number of quantile thresholds per numeric feature when features are
        encoded as bits (the binary input layer, and the input features of
        `binary_activations`).
    optimizer : {'adam', 'sgd'}, default='adam'
        Adam, or SGD with `momentum`.
    learning_rate : float, default=0.01
        Learning rate of the first epoch. SGD needs a far larger rate than Adam to
        flip latent binary weights: on the digits data, 1.0 reached about the
        accuracy Adam reaches at 0.01, and 0.1 stayed near 70 %.
    final_learning_rate : float, optional
        Learning rate of the last epoch for the ``exponential`` and ``cosine``
        schedules; default ``learning_rate / 100``.
    schedule : {'cosine', 'exponential', 'constant'}, default='cosine'
        How the learning rate moves from `learning_rate` to `final_learning_rate`
        over `max_epochs`.
    momentum : float, default=0.9
        Momentum of SGD.
    batch_size : int, default=64
    max_epochs : int, default=30
    patience : int or None, default=5
        Epochs without a validation loss lower than the best by `min_delta` before
        training stops; None never stops early.
    min_delta : float, default=1e-4
    validation_fraction : float, default=0.1
        Share of the training rows held out (stratified) for validation, early
        stopping and monitoring, when `fit` gets no `validation_data`. 0, or fewer
        than 30 rows, trains on every row without validation.
    restore_best : bool, default=True
        End with the weights of the epoch with the lowest validation loss.
    norm_momentum : float, default=0.9
        Weight of the old running statistics at each batch-normalization update.
    epsilon : float, default=1e-5
        Added to the variance in batch normalization.
    random_state : int, numpy.random.Generator or None, default=0
        Seed of the initial weights, the validation split, the batch order and the
        stochastic draws: the same data, options and seed give the same weights.
    n_jobs : int, optional
        Threads for the kernels and for BLAS during `fit` and prediction (default:
        their own defaults).
    backend : {'c', 'numba', 'numpy'}, optional
        Kernel backend of the XNOR-popcount products; all give the same results.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    class_labels_ : tuple of str
        The text of each class in rules and activation tables.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,), dtype=object
        When X was a DataFrame with string column names.
    schema_ : Schema
        The encoding of the input features as bits.
    parameters_ : dict of str to ndarray of float32
        Latent weights, batch-normalization scales and shifts, output layer.
    buffers_ : dict of str to ndarray of float32
        Running means and variances of batch normalization; for a real-valued
        input layer also the features' center and scale.
    history_ : list of EpochRecord
        The monitoring figures of every epoch.
    n_iter_ : int
        Epochs trained.
    best_epoch_ : int
        The epoch whose weights the network ends with (0 without validation).
    stop_reason_ : {'max_epochs', 'early_stopping', 'diverged'}

    See Also
    --------
    loom.bnn.compile_rules : Rules compiled into binary layers.
    loom.discover : Rules that explain neurons, from `binary_activations`.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(n_samples=200, n_features=6, random_state=0)
    >>> model = BinaryNetwork(hidden_layers=(32,), max_epochs=5).fit(X, y)
    >>> model.score(X, y) > 0.7
    True
    >>> len(model.fingerprint)
    64
    """

    def __init__(
        self,
        *,
        hidden_layers: Sequence[int] = (256, 256),
        input_layer: str = "binary",
        binary: bool = True,
        binarization: str = "deterministic",
        n_thresholds: int = 8,
        optimizer: str = "adam",
        learning_rate: float = 0.01,
        final_learning_rate: float | None = None,
        schedule: str = "cosine",
        momentum: float = 0.9,
        batch_size: int = 64,
        max_epochs: int = 30,
        patience: int | None = 5,
        min_delta: float = 1e-4,
        validation_fraction: float = 0.1,
        restore_best: bool = True,
        norm_momentum: float = 0.9,
        epsilon: float = 1e-5,
        random_state: int | np.random.Generator | None = 0,
        n_jobs: int | None = None,
        backend: str | None = None,
    ) -> None:
        self.hidden_layers = hidden_layers
        self.input_layer = input_layer
        self.binary = binary
        self.binarization = binarization
        self.n_thresholds = n_thresholds
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.final_learning_rate = final_learning_rate
        self.schedule = schedule
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.min_delta = min_delta
        self.validation_fraction = validation_fraction
        self.restore_best = restore_best
        self.norm_momentum = norm_momentum
        self.epsilon = epsilon
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.backend = backend

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # The binary input layer encodes through BitTable: missing values clear
        # their feature's bits, and text and categorical columns become one bit
        # per value.
        binary_input = self.input_layer == "binary"
        tags.input_tags.allow_nan = binary_input
        tags.input_tags.string = binary_input
        tags.input_tags.categorical = binary_input
        return tags

    # -- fitting -------------------------------------------------------------------

    def fit(
        self,
        X: Any,
        y: ArrayLike | None = None,
        *,
        validation_data: tuple[Any, ArrayLike] | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        resume: bool = False,
        callback: Callable[[EpochRecord], Any] | None = None,
    ) -> BinaryNetwork:
        """Train the network.

        Parameters
        ----------
        X : array-like, DataFrame or BitTable of shape (n_samples, n_features)
            A BitTable (binary input layer only) may carry its target, which then
            serves as `y`.
        y : array-like of shape (n_samples,), optional
            Class labels, at least two different ones.
        validation_data : (X_val, y_val), optional
            Rows for validation, early stopping and monitoring, instead of a share
            of the training rows.
        checkpoint : str or path-like, optional
            Write the whole training state there after every epoch (replacing the
            file once complete).
        resume : bool, default=False
            Continue from `checkpoint` when it exists: the run then ends with the
            same weights as one that was never interrupted.
        callback : callable, optional
            Called with each epoch's `EpochRecord`, after the checkpoint is written;
            the network predicts with that epoch's weights while it runs.

        Returns
        -------
        self : BinaryNetwork

        Raises
        ------
        InvalidParameterError
            For an option outside its allowed values.
        TargetError
            If `y` has fewer than two classes or is missing.
        CheckpointError
            If `resume` finds a checkpoint of other data or options.
        """
        self._check_options()
        stored = None
        if resume and checkpoint is not None and os.path.exists(checkpoint):
            from loom.bnn.checkpoint import read_checkpoint

            stored = read_checkpoint(checkpoint)
        encoded = self._encode_training(X, y)
        assert encoded.labels is not None
        if stored is not None:
            # The stored seed, so that the validation split is the one the
            # interrupted run used even when random_state is None or a Generator.
            self._entropy = int(stored[0]["entropy"])
        data = self._training_data(encoded, validation_data)
        architecture = self._make_architecture(encoded.inputs.shape[1])
        options = self._training_options(architecture)
        digest = _data_digest(data)
        state = None
        if stored is not None and checkpoint is not None:
            from loom.bnn.persistence import resume_state

            state = resume_state(self, stored, checkpoint, digest, architecture)
        if state is None:
            state = self._fresh_state(architecture)

        save = None
        if checkpoint is not None:
            from loom.bnn.persistence import save_state

            def save(current: TrainingState) -> None:
                self._adopt(current, architecture)
                save_state(self, current, checkpoint, digest)

        logger.info(
            "training a %s network %s on %s rows",
            "binary" if self.binary else "float",
            list(architecture.hidden),
            len(encoded.labels),
        )
        on_epoch = None
        if callback is not None:
            user_callback = callback

            def on_epoch(record: EpochRecord) -> Any:
                # The callback may predict with the weights of the epoch just ended.
                self._adopt(state, architecture)
                return user_callback(record)

        with _ThreadLimits(self.n_jobs):
            train(state, data, options, save=save, on_epoch=on_epoch)
        self._adopt(state, architecture)
        if save is not None:
            save(state)
        logger.info(
            "trained %s epochs, stopped by %s; the weights are those of epoch %s",
            self.n_iter_,
            self.stop_reason_,
            self.best_epoch_ or self.n_iter_,
        )
        return self

    def _check_options(self) -> None:
        hidden = self.hidden_layers
        if (
            isinstance(hidden, str | bytes)
            or not isinstance(hidden, Sequence)
            or not hidden
            or not all(_is_int(size) and size >= 1 for size in hidden)
        ):
            msg = (
                f"hidden_layers must be a non-empty sequence of ints >= 1, got "
                f"{hidden!r}; for example (256, 256)."
            )
            raise InvalidParameterError(msg)
        _choice("input_layer", self.input_layer, INPUT_LAYERS)
        _choice("binarization", self.binarization, BINARIZATIONS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("schedule", self.schedule, SCHEDULES)
        if not isinstance(self.binary, bool | np.bool_):
            msg = f"binary must be True or False, got {self.binary!r}."
            raise InvalidParameterError(msg)
        _integer("n_thresholds", self.n_thresholds, 1)
        _integer("batch_size", self.batch_size, 1)
        _integer("max_epochs", self.max_epochs, 1)
        if self.patience is not None:
            _integer("patience", self.patience, 1)
        _number("learning_rate", self.learning_rate, low=0.0, low_open=True)
        if self.final_learning_rate is not None:
            _number(
                "final_learning_rate", self.final_learning_rate, low=0.0, low_open=True
            )
        _number("momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        _number("min_delta", self.min_delta, low=0.0)
        _number(
            "validation_fraction",
            self.validation_fraction,
            low=0.0,
            high=1.0,
            high_open=True,
        )
        _number("norm_momentum", self.norm_momentum, low=0.0, high=1.0, high_open=True)
        _number("epsilon", self.epsilon, low=0.0, low_open=True)
        if self.n_jobs is not None:
            _integer("n_jobs", self.n_jobs, 1)
        _check_random_state(self.random_state)
        if self.backend is not None:
            from loom.kernels import backend

            backend(self.backend)

    def _make_architecture(self, n_inputs: int) -> Architecture:
        return Architecture(
            n_inputs=n_inputs,
            hidden=tuple(int(size) for size in self.hidden_layers),
            n_classes=len(self.classes_),
            binary=bool(self.binary),
            real_input=self.input_layer == "real",
            binarization=self.binarization,  # type: ignore[arg-type]
            epsilon=float(self.epsilon),
            norm_momentum=float(self.norm_momentum),
            backend=self.backend,
        )

    def _training_options(self, architecture: Architecture) -> TrainingOptions:
        final = self.final_learning_rate
        return TrainingOptions(
            architecture=architecture,
            max_epochs=int(self.max_epochs),
            batch_size=int(self.batch_size),
            schedule=self.schedule,  # type: ignore[arg-type]
            learning_rate=float(self.learning_rate),
            final_learning_rate=float(
                final if final is not None else self.learning_rate / 100
            ),
            patience=None if self.patience is None else int(self.patience),
            min_delta=float(self.min_delta),
            restore_best=bool(self.restore_best),
        )

    def _fresh_state(self, architecture: Architecture) -> TrainingState:
        seeds = np.random.SeedSequence(self._entropy).spawn(2)
        parameters, buffers = init_parameters(
            architecture, np.random.default_rng(seeds[0])
        )
        buffers.update(self._input_buffers)
        return TrainingState(
            parameters=parameters,
            buffers=buffers,
            optimizer=make_optimizer(self.optimizer, float(self.momentum)),
            rng=np.random.default_rng(seeds[1]),
        )

    def _adopt(self, state: TrainingState, architecture: Architecture) -> None:
        """Take the training state's weights and figures as the fitted model."""
        self._architecture = architecture
        self._training = state
        self.parameters_ = state.parameters
        self.buffers_ = state.buffers
        self.history_ = list(state.history)
        self.n_iter_ = state.epoch
        self.best_epoch_ = state.best_epoch
        self.stop_reason_ = state.stop_reason or "max_epochs"
        self._layers: InferenceLayers | None = None
        if architecture.binary:
            self._layers = inference_layers(
                architecture, state.parameters, state.buffers
            )

    # -- encoding ------------------------------------------------------------------

    def _encode_training(self, X: Any, y: ArrayLike | None) -> _Encoded:
        """Encode the training rows and fix the classes, schema and seed."""
        self._entropy = _entropy(self.random_state)
        if isinstance(X, BitTable):
            table, labels = self._split_table(X, y)
            self.n_features_in_ = table.schema.n_features
            # A DataFrame with these columns can then be passed to predict.
            self.feature_names_in_ = np.array(table.schema.feature_names, dtype=object)
            self._set_classes(labels)
            self.schema_ = table.schema
            self._input_buffers: Arrays = {}
            return self._encode_table(table, self._label_positions(labels))
        if y is None:
            msg = (
                "BinaryNetwork requires y to be passed, but the target y is None; pass "
                "the class labels, or a BitTable with a target."
            )
            raise TargetError(msg)
        if self.input_layer == "binary":
            checked, labels = validate_data(
                self, X, y, dtype=None, ensure_all_finite="allow-nan"
            )
            self._set_classes(labels)
            table = self._new_table(self._feature_frame(X, checked))
            self.schema_ = table.schema
            self._input_buffers = {}
            return self._encode_table(table, self._label_positions(labels))

        checked, labels = validate_data(self, X, y, dtype=[np.float64, np.float32])
        self._set_classes(labels)
        self.schema_ = self._new_table(self._feature_frame(X, checked)).schema
        center = checked.mean(axis=0)
        scale = checked.std(axis=0)
        scale[~(scale > 0)] = 1.0
        self._input_buffers = {
            "input.center": center.astype(np.float32),
            "input.scale": scale.astype(np.float32),
        }
        inputs = self._standardize(checked, self._input_buffers)
        return _Encoded(inputs, None, self._label_positions(labels), None)

    def _encode_rows(self, X: Any, *, with_table: bool = False) -> _Encoded:
        """Encode rows for prediction with the fitted encoding."""
        if isinstance(X, BitTable):
            if self.input_layer != "binary":
                msg = (
                    "a BitTable feeds a network with input_layer='binary'; this one "
                    "takes real features: pass an array or DataFrame."
                )
                raise InvalidParameterError(msg)
            return self._encode_table(self._select_inputs(X), None)
        if self.input_layer == "binary":
            checked = validate_data(
                self, X, dtype=None, ensure_all_finite="allow-nan", reset=False
            )
            return self._encode_table(self._input_table(X, checked), None)
        checked = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        inputs = self._standardize(checked, self.buffers_)
        table = self._input_table(X, checked) if with_table else None
        return _Encoded(inputs, None, None, table)

    def _new_table(self, frame: pd.DataFrame) -> BitTable:
        """Encode training features as bits and fix the encoding (the schema)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConstantFeatureWarning)
            table = BitTable.from_frame(frame, n_thresholds=self.n_thresholds)
        for warning in caught:
            if issubclass(warning.category, ConstantFeatureWarning):
                # A constant feature only drops out of the input layer, where it
                # would add the same value to every neuron's sum.
                logger.info("%s", warning.message)
            else:
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        return table

    def _input_table(self, X: Any, checked: NDArray[Any]) -> BitTable:
        frame = self._feature_frame(X, checked)
        with warnings.catch_warnings():
            # A category the training rows lacked sets no bit of its feature,
            # which is how the network reads it; no warning is due.
            warnings.simplefilter("ignore", UnseenValueWarning)
            return BitTable.from_frame(frame, schema=self.schema_)

    def _encode_table(
        self, table: BitTable, labels: NDArray[np.intp] | None
    ) -> _Encoded:
        if table.n_columns == 0:
            msg = (
                "the features give no input bits: every feature is constant. Pass "
                "features that vary."
            )
            raise DataError(msg)
        bits = transpose_bits(table.bits, table.n_rows)
        signs = unpack_bits(bits, table.n_columns)
        inputs = signs_of(signs)
        return _Encoded(inputs, bits, labels, table)

    def _standardize(self, checked: NDArray[Any], buffers: Arrays) -> Floats:
        center = buffers["input.center"].astype(np.float64)
        scale = buffers["input.scale"].astype(np.float64)
        return ((checked.astype(np.float64) - center) / scale).astype(np.float32)

    def _feature_frame(self, X: Any, checked: NDArray[Any]) -> pd.DataFrame:
        """Return the features as a DataFrame named as in `fit`; a DataFrame fitted
        with feature names keeps its column dtypes."""
        names = getattr(self, "feature_names_in_", None)
        if names is not None and isinstance(X, pd.DataFrame):
            return X.loc[:, list(names)].reset_index(drop=True)
        if names is None:
            names = [f"x{i}" for i in range(checked.shape[1])]
        return pd.DataFrame({str(name): checked[:, i] for i, name in enumerate(names)})

    def _split_table(
        self, table: BitTable, y: ArrayLike | None
    ) -> tuple[BitTable, NDArray[Any]]:
        """Return a BitTable's input features and the labels (its target, or y)."""
        if self.input_layer != "binary":
            msg = (
                "a BitTable feeds a network with input_layer='binary'; pass an array "
                "or DataFrame of real features for input_layer='real'."
            )
            raise InvalidParameterError(msg)
        if y is not None:
            labels = np.asarray(y)
            if labels.shape != (table.n_rows,):
                msg = f"y must have shape ({table.n_rows},), got {labels.shape}."
                raise TargetError(msg)
            inputs = (
                table if table.target is None else _drop_feature(table, table.target)
            )
            return inputs, labels
        if table.target is None:
            msg = "y is missing and the BitTable has no target; pass y or a target."
            raise TargetError(msg)
        from loom.evolve.model import _labels_of

        spec = table.schema.feature(table.target)
        labels = _labels_of(table, table.target, spec.values)
        if any(label is None for label in labels):
            row = next(i for i, label in enumerate(labels) if label is None)
            msg = (
                f"row {row} has no value for the target {table.target!r}; drop the "
                "rows with a missing target before training."
            )
            raise TargetError(msg)
        return _drop_feature(table, table.target), labels.astype(str)

    def _select_inputs(self, table: BitTable) -> BitTable:
        """Return the columns of `table` that the fitted schema's features own."""
        if table.schema == self.schema_:
            return table
        rows: list[int] = []
        valid: list[int] = []
        for spec in self.schema_.features:
            if spec.name not in table.schema or table.schema.feature(spec.name) != spec:
                msg = (
                    f"the BitTable encodes feature {spec.name!r} differently from the "
                    "training data, or lacks it; encode it with schema=model.schema_."
                )
                raise DataError(msg)
            rows.extend(table.schema.columns_of(spec.name))
            valid.append(table.schema.index(spec.name))
        return BitTable(
            self.schema_,
            table.bits[rows],
            table.valid[valid],
            table.n_rows,
            {
                name: table.ranges[name]
                for name in self.schema_.feature_names
                if name in table.ranges
            },
        )

    def _set_classes(self, labels: NDArray[Any]) -> None:
        check_classification_targets(labels)
        classes = np.unique(labels)
        if len(classes) < 2:
            msg = (
                f"y has one class ({classes[0]!r}); a classifier needs at least two "
                "classes."
            )
            raise TargetError(msg)
        self.classes_ = classes
        self.class_labels_ = _class_labels(classes)

    def _label_positions(self, labels: NDArray[Any]) -> NDArray[np.intp]:
        positions = np.searchsorted(self.classes_, labels)
        positions = np.clip(positions, 0, len(self.classes_) - 1)
        unknown = self.classes_[positions] != labels
        if np.any(unknown):
            row = int(np.flatnonzero(unknown)[0])
            known = ", ".join(repr(value) for value in self.classes_.tolist())
            msg = (
                f"label {labels[row]!r} in row {row} is not a class of the training "
                f"data ({known})."
            )
            raise TargetError(msg)
        return positions.astype(np.intp)

    def _training_data(
        self, encoded: _Encoded, validation_data: tuple[Any, ArrayLike] | None
    ) -> TrainingData:
        assert encoded.labels is not None
        if validation_data is not None:
            if not isinstance(validation_data, tuple) or len(validation_data) != 2:
                msg = "validation_data must be a tuple (X_val, y_val)."
                raise InvalidParameterError(msg)
            rows = self._encode_rows(validation_data[0])
            labels = self._label_positions(np.asarray(validation_data[1]))
            if len(labels) != len(rows.inputs):
                msg = (
                    f"y_val has {len(labels)} labels for {len(rows.inputs)} rows of "
                    "X_val."
                )
                raise InvalidParameterError(msg)
            return TrainingData(
                encoded.inputs,
                encoded.bits,
                encoded.labels,
                rows.inputs,
                rows.bits,
                labels,
            )
        n_rows = len(encoded.labels)
        if self.validation_fraction == 0 or n_rows < MIN_ROWS_FOR_VALIDATION:
            return TrainingData(encoded.inputs, encoded.bits, encoded.labels)
        split = np.random.default_rng(np.random.SeedSequence(self._entropy).spawn(3)[2])
        held_out = _stratified_rows(encoded.labels, self.validation_fraction, split)
        training_rows = np.setdiff1d(np.arange(n_rows), held_out)
        bits = encoded.bits
        return TrainingData(
            encoded.inputs[training_rows],
            None if bits is None else bits[training_rows],
            encoded.labels[training_rows],
            encoded.inputs[held_out],
            None if bits is None else bits[held_out],
            encoded.labels[held_out],
        )

    # -- prediction ----------------------------------------------------------------

    def _inference_layers(self) -> InferenceLayers:
        check_is_fitted(self)
        self._require_binary("inference on packed bits")
        assert self._layers is not None
        return self._layers

    def _logits(
        self, encoded: _Encoded, *, keep_hidden: bool = False
    ) -> tuple[Floats, list[NDArray[np.uint64]]]:
        with _ThreadLimits(self.n_jobs):
            if not self.binary:
                logits = predict_logits_float(
                    self._architecture, self.parameters_, self.buffers_, encoded.inputs
                )
                return logits, []
            inputs = encoded.bits if encoded.bits is not None else encoded.inputs
            return predict_logits(
                self._inference_layers(),
                inputs,
                backend=self.backend,
                keep_hidden=keep_hidden,
            )

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Return the softmax class probabilities of each row.

        Parameters
        ----------
        X : array-like, DataFrame or BitTable of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes), dtype=float64
            Columns in the order of `classes_`.
        """
        check_is_fitted(self)
        logits, _ = self._logits(self._encode_rows(X))
        return softmax(logits)

    def predict(self, X: Any) -> NDArray[Any]:
        """Return the predicted class of each row (the most probable one, the first
        in `classes_` order on a tie).

        Returns
        -------
        ndarray of shape (n_samples,)
            Values from `classes_`.
        """
        probabilities = self.predict_proba(X)
        labels: NDArray[Any] = self.classes_[np.argmax(probabilities, axis=1)]
        return labels

    def binary_layers(self) -> list[BinaryLayer]:
        """Return the hidden layers that run on packed bits, in order, with batch
        normalization folded into their thresholds (a real-valued input layer is not
        among them)."""
        return list(self._inference_layers().binary)

    # -- rules and crystals ----------------------------------------------------------

    @property
    def fingerprint(self) -> str:
        """SHA-256 hex digest of what the network computes; see
        `loom.bnn.activations.backbone_fingerprint`."""
        from loom.bnn.activations import backbone_fingerprint

        check_is_fitted(self)
        self._require_binary("a backbone fingerprint")
        return backbone_fingerprint(self)

    def binary_activations(
        self,
        X: Any,
        *,
        target: str = "prediction",
        layers: Sequence[int] | None = None,
        inputs: bool = True,
        target_class: Any = None,
    ) -> BitTable:
        """Return a table of the input bits, hidden neurons and predictions of rows.

        See `loom.bnn.activations.binary_activations`.
        """
        from loom.bnn.activations import binary_activations

        return binary_activations(
            self,
            X,
            target=target,
            layers=layers,
            inputs=inputs,
            target_class=target_class,
        )

    def provenance(
        self,
        table: BitTable,
        *,
        options: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Provenance:
        """Return the `Provenance` of crystals found on an activation table of this
        network: the table's fingerprint and this network's `fingerprint`."""
        from loom.crystal.records import Provenance

        return Provenance.of_table(
            table, backbone_fingerprint=self.fingerprint, options=options, seed=seed
        )

    def apply_crystals(
        self, crystals: Sequence[Crystal], X: Any, **activation_options: Any
    ) -> dict[str, tuple[Evidence, ...]]:
        """Measure crystals on this network's activations of `X`.

        See `loom.bnn.activations.apply_crystals`.
        """
        from loom.bnn.activations import apply_crystals

        return apply_crystals(self, crystals, X, **activation_options)

    def fidelity(
        self, rules: RuleSet, X: Any, **activation_options: Any
    ) -> FidelityReport:
        """Return how often `rules` agree with this network on the rows of `X`.

        See `loom.bnn.activations.fidelity`.
        """
        from loom.bnn.activations import fidelity

        options = {"target": rules.target, **activation_options}
        return fidelity(rules, self.binary_activations(X, **options))

    # -- monitoring ------------------------------------------------------------------

    @property
    def layer_names(self) -> tuple[str, ...]:
        """Names of the hidden layers (``h1``, ``h2``, ...) then ``out``."""
        check_is_fitted(self)
        count = len(self._architecture.hidden)
        return (*(f"h{index}" for index in range(1, count + 1)), "out")

    def history_table(self) -> str:
        """Return the monitoring table of every epoch, one line each."""
        check_is_fitted(self)
        return format_history(self.history_, self.layer_names)

    def plot_history(self, path: str | os.PathLike[str] | None = None) -> Figure:
        """Draw the training and validation loss, the accuracy and the gradient norms
        per epoch, and write the figure as PNG to `path` when given.

        See `loom.bnn.plots.plot_history`.
        """
        from loom.bnn.plots import plot_history

        return plot_history(self, path)

    # -- files -----------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted network with its training state to a ``.npz`` file.

        The file contains the latent and binary weights, the schema, the options and
        the optimizer's state, so `load` restores a network that predicts the same
        and `fit(..., checkpoint=path, resume=True)` can continue its training.
        """
        from loom.bnn.persistence import save_state

        check_is_fitted(self)
        save_state(self, self._training, path, None)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BinaryNetwork:
        """Read a network written by `save` or a training checkpoint.

        Raises
        ------
        DataFileNotFoundError
            If the file does not exist.
        CheckpointError
            If it is not a saved network or is damaged.
        """
        from loom.bnn.persistence import load_network

        return load_network(cls, path)

    def _require_binary(self, purpose: str) -> None:
        if not self.binary:
            msg = (
                f"{purpose} needs a binary network; this one was trained with "
                "binary=False. Train with binary=True."
            )
            raise InvalidParameterError(msg)


# ---------------------------------------------------------------------------
# Helpers


def _drop_feature(table: BitTable, name: str) -> BitTable:
    """Return `table` without feature `name` (its columns and validity)."""
    schema = table.schema
    features = [spec for spec in schema.features if spec.name != name]
    dropped = set(schema.columns_of(name))
    columns = [c for c in range(schema.n_columns) if c not in dropped]
    position = schema.index(name)
    valid = [f for f in range(schema.n_features) if f != position]
    ranges = {key: value for key, value in table.ranges.items() if key != name}
    return BitTable(
        Schema(tuple(features)),
        table.bits[columns],
        table.valid[valid],
        table.n_rows,
        ranges,
    )


def _stratified_rows(
    labels: NDArray[np.intp], fraction: float, rng: np.random.Generator
) -> NDArray[np.intp]:
    """Return sorted rows holding out about `fraction` of each class, at least one
    row in all, and leaving each class at least one training row."""
    held_out = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        count = min(int(round(fraction * len(rows))), len(rows) - 1)
        held_out.append(rng.permutation(rows)[:count])
    chosen = np.sort(np.concatenate(held_out)).astype(np.intp)
    if chosen.size == 0:
        chosen = np.array([int(rng.integers(len(labels)))], dtype=np.intp)
    return chosen


def _data_digest(data: TrainingData) -> str:
    """SHA-256 of the encoded training and validation rows."""
    digest = hashlib.sha256()
    for array in (
        data.inputs,
        data.bits,
        data.labels,
        data.validation_inputs,
        data.validation_bits,
        data.validation_labels,
    ):
        if array is None:
            digest.update(b"none")
            continue
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _class_labels(classes: NDArray[Any]) -> tuple[str, ...]:
    """Return the text of each class in activation tables: the value's own text, or
    ``class0``, ``class1``, ... when two texts collide or one reads as missing."""
    labels = [label_text(value) for value in classes.tolist()]
    unusable = set(DEFAULT_MISSING_VALUES) | {"nan"}
    if len(set(labels)) < len(labels) or unusable & {label.strip() for label in labels}:
        labels = [f"class{index}" for index in range(len(classes))]
    return tuple(labels)


def _entropy(random_state: Any) -> int:
    if random_state is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63))
    return int(random_state)


def _check_random_state(value: object) -> None:
    if value is None or isinstance(value, np.random.Generator):
        return
    if _is_int(value) and value >= 0:  # type: ignore[operator]
        return
    msg = (
        f"random_state must be None, an int >= 0 or a numpy.random.Generator, got "
        f"{value!r}."
    )
    raise InvalidParameterError(msg)


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _integer(name: str, value: object, low: int) -> None:
    if not _is_int(value) or value < low:  # type: ignore[operator]
        msg = f"{name} must be an int >= {low}, got {value!r}."
        raise InvalidParameterError(msg)


def _number(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    ok = False
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        ok = math.isfinite(number)
        if ok and low is not None:
            ok = number > low if low_open else number >= low
        if ok and high is not None:
            ok = number < high if high_open else number <= high
    if ok:
        return
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    lower = "-inf" if low is None else f"{low:g}"
    upper = "inf" if high is None else f"{high:g}"
    bounds = f"{left}{lower}, {upper}{right}"
    msg = f"{name} must be a number in {bounds}, got {value!r}."
    raise InvalidParameterError(msg)


def _choice(name: str, value: object, allowed: Sequence[str]) -> None:
    if value not in allowed:
        msg = f"{name} must be one of {', '.join(allowed)}; got {value!r}."
        raise InvalidParameterError(msg)


class _ThreadLimits:
    """Cap BLAS and kernel threads at `n_jobs` inside the block (None: no cap)."""

    def __init__(self, n_jobs: int | None) -> None:
        self.n_jobs = n_jobs
        self._contexts: list[Any] = []

    def __enter__(self) -> None:
        if self.n_jobs is None:
            return
        from threadpoolctl import threadpool_limits

        from loom.kernels.config import thread_limit

        blas = threadpool_limits(limits=self.n_jobs, user_api="blas")
        kernels = thread_limit(self.n_jobs)
        kernels.__enter__()
        self._contexts = [blas, kernels]

    def __exit__(self, *exc_info: object) -> None:
        for context in reversed(self._contexts):
            context.__exit__(*exc_info)
        self._contexts = []


def _json_default(value: object) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    msg = f"cannot store {value!r} as JSON"
    raise TypeError(msg)


def options_json(model: BinaryNetwork) -> str:
    """Return the model's options as canonical JSON (a Generator seed as null)."""
    params = model.get_params()
    params["hidden_layers"] = [int(size) for size in params["hidden_layers"]]
    if isinstance(params["random_state"], np.random.Generator):
        params["random_state"] = None
    return json.dumps(params, sort_keys=True, default=_json_default)
