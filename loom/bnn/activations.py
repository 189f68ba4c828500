"""The network tied to the rules: its binary activations as a `BitTable`, the fidelity
of rules that explain it, its fingerprint, and crystals found on its activations.

An activation table has one boolean feature per hidden neuron, named
``h<layer>_<index>`` (layers from 1, neurons from 0), the input features as the
network's schema encodes them, and the predicted class as the categorical feature
``prediction``. Its schema depends only on the network, never on the rows, so rules
found on one activation table apply to another of the same network.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from loom.bnn.engine import Architecture, Arrays, InferenceLayers, softmax
from loom.bnn.layers import transpose_bits
from loom.data.bits import pack_bits, row_mask
from loom.data.schema import FeatureSpec, Schema
from loom.data.table import BitTable
from loom.exceptions import DataError, InvalidParameterError, TargetError

if TYPE_CHECKING:
    from loom.bnn.network import BinaryNetwork
    from loom.crystal.evidence import CrystallizationPolicy, Evidence
    from loom.crystal.records import Crystal, Event
    from loom.crystal.store import CrystalStore
    from loom.evolve.model import RuleSet

__all__ = [
    "PREDICTION",
    "FidelityReport",
    "apply_crystals",
    "backbone_fingerprint",
    "binary_activations",
    "crystallize_rules",
    "fidelity",
    "neuron_name",
]

PREDICTION = "prediction"
"""Name of the predicted-class feature of an activation table."""

FINGERPRINT_FORMAT = 1
_NEURON = re.compile(r"h([1-9][0-9]*)_(0|[1-9][0-9]*)\Z")


def neuron_name(layer: int, index: int) -> str:
    """Return the feature name of neuron `index` (from 0) of hidden layer `layer`
    (from 1).

    Examples
    --------
    >>> neuron_name(1, 17)
    'h1_17'
    """
    return f"h{layer}_{index}"


# ---------------------------------------------------------------------------
# Fingerprint


def backbone_fingerprint(model: BinaryNetwork) -> str:
    """Return the SHA-256 hex digest of what a fitted binary network computes.

    The digest covers these parts, in order, with every array hashed little-endian:

    1. a header in canonical JSON: the format number, the input schema's dict, the
       class labels, the input layer kind and the layer widths;
    2. for a real-valued input layer, its packed weight signs, its cuts (float64),
       their directions (int8), and the features' center and scale (float32);
    3. for every layer on packed bits, its weight words (uint64) and integer
       thresholds (int64), with batch normalization folded in;
    4. the output layer's weights and bias (float32).

    Two networks with the same digest give the same activations and predictions on
    the same rows.
    """
    layers = model._inference_layers()
    return fingerprint_of(
        model._architecture, layers, model.schema_, model.class_labels_, model.buffers_
    )


def fingerprint_of(
    architecture: Architecture,
    layers: InferenceLayers,
    schema: Schema,
    class_labels: Sequence[str],
    buffers: Arrays,
) -> str:
    """Return the digest `backbone_fingerprint` describes, from its parts."""
    digest = hashlib.sha256()
    header = {
        "format": FINGERPRINT_FORMAT,
        "schema": schema.to_dict(),
        "classes": list(class_labels),
        "input_layer": "real" if architecture.real_input else "binary",
        "widths": [architecture.n_inputs, *architecture.hidden],
    }
    digest.update(json.dumps(header, sort_keys=True, separators=(",", ":")).encode())
    if layers.first is not None:
        digest.update(pack_bits(layers.first.signs >= 0).astype("<u8").tobytes())
        digest.update(layers.first.cut.astype("<f8").tobytes())
        digest.update(layers.first.direction.astype("i1").tobytes())
        digest.update(buffers["input.center"].astype("<f4").tobytes())
        digest.update(buffers["input.scale"].astype("<f4").tobytes())
    for layer in layers.binary:
        digest.update(layer.weights.astype("<u8").tobytes())
        digest.update(layer.thresholds.astype("<i8").tobytes())
    digest.update(layers.output_weight.astype("<f4").tobytes())
    digest.update(layers.output_bias.astype("<f4").tobytes())
    return digest.hexdigest()


# ---------------------------------------------------------------------------
# Activation tables


def binary_activations(
    model: BinaryNetwork,
    X: Any,
    *,
    target: str = PREDICTION,
    layers: Sequence[int] | None = None,
    inputs: bool = True,
    target_class: Any = None,
) -> BitTable:
    """Return a table of the input bits, hidden neurons and predictions of rows.

    Parameters
    ----------
    model : BinaryNetwork
        A fitted network with ``binary=True``.
    X : array-like, DataFrame or BitTable
        Rows in the form `model.fit` took.
    target : str, default='prediction'
        The table's target: ``prediction``, the predicted class, or a neuron name
        such as ``h2_5``, for rules that explain that neuron.
    layers : sequence of int, optional
        Hidden layers (from 1) whose neurons become features. Default: every layer
        for the target ``prediction``; the layers before the target neuron's layer
        otherwise, so that nothing computed from the neuron explains it.
    inputs : bool, default=True
        Include the input features, as `model.schema_` encodes them: a feature's
        bits are those the network reads (binary input layer), or its numeric
        thresholds (real-valued input layer).
    target_class : object, optional
        A class of `model.classes_`: the ``prediction`` feature then takes two
        values, the class's label and ``not <label>``, for rules about one class.

    Returns
    -------
    BitTable
        Features in the order: inputs, hidden neurons layer by layer, the target.
        The ``prediction`` feature is present only as the target.

    Raises
    ------
    InvalidParameterError
        For an unknown target, layer or class, or an input feature whose name an
        activation feature also takes.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from loom.bnn import BinaryNetwork
    >>> X, y = make_classification(n_samples=120, n_features=4, random_state=1)
    >>> model = BinaryNetwork(hidden_layers=(8,), max_epochs=2).fit(X, y)
    >>> table = model.binary_activations(X[:5])
    >>> table.n_rows, table.target, table.columns[-3:]
    (5, 'prediction', ('h1_7', 'prediction = 0', 'prediction = 1'))
    """
    model._require_binary("binary_activations")
    architecture = model._architecture
    n_layers = len(architecture.hidden)
    target_layer, target_index = _parse_target(target, architecture)
    chosen = _chosen_layers(layers, target_layer, n_layers)
    if target_class is not None and target_layer:
        msg = "target_class applies to the target 'prediction', not to a neuron."
        raise InvalidParameterError(msg)

    encoded = model._encode_rows(X, with_table=True)
    logits, hidden = model._logits(encoded, keep_hidden=True)
    predicted = np.argmax(softmax(logits), axis=1)
    n_rows = len(predicted)
    everywhere = row_mask(n_rows)

    features: list[FeatureSpec] = []
    bits: list[NDArray[np.uint64]] = []
    valid: list[NDArray[np.uint64]] = []
    ranges: dict[str, NDArray[np.float64]] = {}
    if inputs:
        assert encoded.table is not None
        table = encoded.table
        features.extend(table.schema.features)
        bits.append(table.bits)
        valid.append(table.valid)
        ranges.update(table.ranges)

    boolean = ("false", "true")
    for layer in chosen:
        width = architecture.hidden[layer - 1]
        columns = transpose_bits(hidden[layer - 1], width)
        for index in range(width):
            features.append(FeatureSpec(neuron_name(layer, index), "boolean", boolean))
        bits.append(columns)
        valid.append(np.tile(everywhere, (len(columns), 1)))

    if target_layer:
        width = architecture.hidden[target_layer - 1]
        column = transpose_bits(hidden[target_layer - 1], width)[target_index]
        features.append(FeatureSpec(target, "boolean", boolean))
        bits.append(column[None, :])
    else:
        spec, class_bits = _prediction_columns(model, predicted, target_class)
        features.append(spec)
        bits.append(class_bits)
    valid.append(everywhere[None, :])

    _check_names(features)
    schema = Schema(tuple(features), target=target)
    n_words = everywhere.size
    return BitTable(
        schema,
        np.concatenate(bits).reshape(-1, n_words),
        np.concatenate(valid).reshape(-1, n_words),
        n_rows,
        ranges,
        copy=False,
    )


def _parse_target(target: object, architecture: Architecture) -> tuple[int, int]:
    """Return (layer, neuron) of a neuron target, or (0, 0) for the prediction."""
    if target == PREDICTION:
        return 0, 0
    match = _NEURON.match(target) if isinstance(target, str) else None
    if match is not None:
        layer, index = int(match.group(1)), int(match.group(2))
        if layer <= len(architecture.hidden) and index < architecture.hidden[layer - 1]:
            return layer, index
    widths = ", ".join(
        f"h{layer}_0 to h{layer}_{width - 1}"
        for layer, width in enumerate(architecture.hidden, start=1)
    )
    msg = f"target must be {PREDICTION!r} or a neuron ({widths}); got {target!r}."
    raise InvalidParameterError(msg)


def _chosen_layers(
    layers: Sequence[int] | None, target_layer: int, n_layers: int
) -> list[int]:
    if layers is None:
        return list(range(1, (target_layer or n_layers + 1)))
    if isinstance(layers, str | bytes) or not isinstance(layers, Sequence):
        msg = f"layers must be a sequence of layer numbers, got {layers!r}."
        raise InvalidParameterError(msg)
    chosen = []
    for layer in layers:
        if isinstance(layer, bool) or not isinstance(layer, int | np.integer):
            msg = f"layers must hold layer numbers 1 to {n_layers}, got {layer!r}."
            raise InvalidParameterError(msg)
        if not 1 <= layer <= n_layers:
            msg = (
                f"layer {layer} does not exist; the hidden layers are 1 to {n_layers}."
            )
            raise InvalidParameterError(msg)
        if int(layer) not in chosen:
            chosen.append(int(layer))
    if target_layer in chosen:
        msg = (
            f"layer {target_layer} holds the target neuron; its other neurons are "
            "computed side by side with it, so leave that layer out of layers."
        )
        raise InvalidParameterError(msg)
    return sorted(chosen)


def _prediction_columns(
    model: BinaryNetwork, predicted: NDArray[np.intp], target_class: Any
) -> tuple[FeatureSpec, NDArray[np.uint64]]:
    labels = model.class_labels_
    if target_class is None:
        spec = FeatureSpec(PREDICTION, "categorical", labels)
        one_hot = predicted[None, :] == np.arange(len(labels))[:, None]
        return spec, pack_bits(one_hot)
    positions = [
        i for i, value in enumerate(model.classes_.tolist()) if value == target_class
    ]
    if len(positions) != 1:
        known = ", ".join(repr(value) for value in model.classes_.tolist())
        msg = f"target_class={target_class!r} is not a class; the classes are {known}."
        raise InvalidParameterError(msg)
    label = labels[positions[0]]
    other = f"not {label}"
    if other in labels:
        msg = f"the class label {other!r} leaves no name for the other classes."
        raise InvalidParameterError(msg)
    chosen = predicted == positions[0]
    return FeatureSpec(PREDICTION, "categorical", (label, other)), pack_bits(
        np.stack([chosen, ~chosen])
    )


def _check_names(features: list[FeatureSpec]) -> None:
    seen: set[str] = set()
    for spec in features:
        if spec.name in seen:
            msg = (
                f"the input feature {spec.name!r} has the name of an activation "
                "feature; rename the input feature, or pass inputs=False."
            )
            raise InvalidParameterError(msg)
        seen.add(spec.name)


# ---------------------------------------------------------------------------
# Fidelity


@dataclass(frozen=True)
class FidelityReport:
    """How often rules agree with the network they explain.

    Attributes
    ----------
    target : str
        The feature the rules predict: ``prediction`` or a neuron.
    n_rows : int
    n_agree : int
        Rows where the rules' prediction equals the network's value.
    fidelity : float
        ``n_agree / n_rows``; NaN for no rows.
    per_value : dict of str to (int, float)
        For each value of the target, the rows where the network takes it and the
        share of them on which the rules agree.
    coverage : float
        Share of rows that a rule (not the default) decides.
    """

    target: str
    n_rows: int
    n_agree: int
    fidelity: float
    per_value: Mapping[str, tuple[int, float]]
    coverage: float

    def __str__(self) -> str:
        lines = [
            f"fidelity to {self.target}: {self.fidelity:.3f} ({self.n_agree} of "
            f"{self.n_rows} rows); a rule decides {self.coverage:.1%} of the rows"
        ]
        for value, (count, share) in self.per_value.items():
            lines.append(f"  {self.target} = {value}: {share:.3f} of {count} rows")
        return "\n".join(lines)


def fidelity(rules: RuleSet, table: BitTable) -> FidelityReport:
    """Return how often `rules` predict the network's own value on a table's rows.

    Parameters
    ----------
    rules : RuleSet
        Rules found by `loom.discover` on an activation table.
    table : BitTable
        An activation table of the same network (usually of held-out rows) whose
        target is the rules' target. Its target column contains the network's
        values.

    Raises
    ------
    TargetError
        If the table's target is not the rules' target.
    """
    if table.target != rules.target:
        msg = (
            f"the table's target is {table.target!r} but the rules predict "
            f"{rules.target!r}; build the table with target={rules.target!r}."
        )
        raise TargetError(msg)
    network = _values_of(table, rules.target)
    predicted = rules.predict(table).astype(str)
    agree = predicted == network
    n_rows = table.n_rows
    per_value = {}
    for value in table.schema.feature(rules.target).values:
        rows = network == value
        count = int(rows.sum())
        per_value[value] = (count, float(agree[rows].mean()) if count else float("nan"))
    decided = rules.decisions(table) >= 0
    return FidelityReport(
        target=rules.target,
        n_rows=n_rows,
        n_agree=int(agree.sum()),
        fidelity=float(agree.mean()) if n_rows else float("nan"),
        per_value=per_value,
        coverage=float(decided.mean()) if n_rows else float("nan"),
    )


def _values_of(table: BitTable, name: str) -> NDArray[np.str_]:
    """Return each row's value of a boolean or categorical feature, as text."""
    spec = table.schema.feature(name)
    columns = table.schema.columns_of(name)
    if spec.kind == "boolean":
        if spec.is_constant:
            msg = f"the feature {name!r} is constant; there is nothing to explain."
            raise DataError(msg)
        return np.where(table.column_values(columns[0]), "true", "false")
    values = np.full(table.n_rows, "", dtype=object)
    for position, column in enumerate(columns):
        values[table.column_values(column)] = spec.values[position]
    return values.astype(str)


# ---------------------------------------------------------------------------
# Crystals


def crystallize_rules(
    model: BinaryNetwork,
    store: CrystalStore,
    rules: RuleSet,
    table: BitTable,
    *,
    scenarios: Mapping[str, NDArray[np.uint64]] | None = None,
    policy: CrystallizationPolicy | None = None,
    seed: int | None = 0,
) -> list[Event]:
    """Measure rules found on an activation table and store the reliable ones, with
    this network's fingerprint in their provenance.

    Parameters
    ----------
    model : BinaryNetwork
        The network whose activations `table` holds.
    store : CrystalStore
    rules : RuleSet
        Found by `loom.discover` on an activation table of `model`.
    table : BitTable
        The activation table to measure the rules on.
    scenarios : mapping of str to packed row masks, optional
        Default: 5 folds of the rows (`loom.crystal.fold_scenarios`, seeded).
    policy : CrystallizationPolicy, optional
        Default: `CrystallizationPolicy()`.
    seed : int, optional, default=0
        Seed of the default folds, recorded in the provenance.

    Returns
    -------
    list of Event
        One per stored rule.
    """
    from loom.crystal.evidence import (
        CrystallizationPolicy,
        evidence_for,
        fold_scenarios,
    )
    from loom.crystal.records import Candidate

    if scenarios is None:
        scenarios = fold_scenarios(
            table, min(5, max(table.n_rows, 2)), random_state=seed
        )
    policy = policy or CrystallizationPolicy()
    constraints = [item[1] for item in rules.constraint_items()]
    evidence = evidence_for(constraints, table, scenarios, target=rules.target)
    chosen = policy.select(evidence)
    candidates = [
        Candidate(node, evidence[node], target=rules.target) for node in chosen
    ]
    options = {"target": rules.target, "n_scenarios": len(scenarios)}
    return store.add(candidates, model.provenance(table, options=options, seed=seed))


def apply_crystals(
    model: BinaryNetwork,
    crystals: Sequence[Crystal],
    X: Any,
    **activation_options: Any,
) -> dict[str, tuple[Evidence, ...]]:
    """Measure crystals on this network's activations of the rows `X`.

    Before measuring, one `ForeignCrystalWarning` is issued when any crystal was
    recorded on another activation table or with another backbone (see
    `loom.crystal.warn_foreign_crystals`).

    Parameters
    ----------
    model : BinaryNetwork
    crystals : sequence of Crystal
    X : array-like, DataFrame or BitTable
    **activation_options
        Passed to `binary_activations` (``target``, ``layers``, ``inputs``,
        ``target_class``).

    Returns
    -------
    dict of str to tuple of Evidence
        Per crystal id, its evidence on all rows (scenario ``all``).
    """
    from loom.crystal.evidence import evidence_for
    from loom.crystal.store import warn_foreign_crystals

    items = list(crystals)
    table = binary_activations(model, X, **activation_options)
    warn_foreign_crystals(
        items,
        dataset_fingerprint=table.fingerprint,
        backbone_fingerprint=model.fingerprint,
        stacklevel=4,
    )
    measured = evidence_for(
        [crystal.constraint for crystal in items],
        table,
        {"all": row_mask(table.n_rows)},
    )
    return {crystal.id: measured[crystal.constraint] for crystal in items}
