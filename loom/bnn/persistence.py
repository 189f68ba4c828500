"""Saving, loading and resuming `BinaryNetwork`: the header and arrays of a checkpoint
(`loom.bnn.checkpoint`) built from, and turned back into, a model and its training
state.

Loading checks that the stored binary weights and thresholds equal those folded from
the stored latent parameters, and that the stored fingerprint matches, so a damaged
or edited file is rejected instead of predicting differently.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from loom.bnn.checkpoint import read_checkpoint, write_checkpoint
from loom.bnn.engine import Architecture, Arrays, inference_layers
from loom.bnn.optim import SGD, make_optimizer
from loom.bnn.training import EpochRecord, TrainingState
from loom.data.schema import Schema
from loom.exceptions import CheckpointError

if TYPE_CHECKING:
    from loom.bnn.network import BinaryNetwork

__all__ = ["load_network", "resume_state", "save_state"]

# Options that change nothing the run computes, so a resumed run may differ in them.
_FREE_OPTIONS = ("n_jobs", "backend")


def save_state(
    model: BinaryNetwork,
    state: TrainingState,
    path: str | os.PathLike[str],
    digest: str | None,
) -> None:
    """Write `model` (fitted or being fitted) and `state` to `path`."""
    from loom.bnn.network import options_json

    architecture = model._architecture
    classes = model.classes_
    meta: dict[str, Any] = {
        "options": json.loads(options_json(model)),
        "entropy": int(model._entropy),
        "classes": [_plain(value) for value in classes.tolist()],
        "classes_dtype": "object" if classes.dtype == object else classes.dtype.str,
        "class_labels": list(model.class_labels_),
        "schema": model.schema_.to_dict(),
        "n_features_in": int(model.n_features_in_),
        "feature_names_in": _names(model),
        "architecture": asdict(architecture),
        "data_digest": digest,
        "training": _training_meta(state),
    }
    arrays: dict[str, NDArray[Any]] = {}
    _put(arrays, "parameter", state.parameters)
    _put(arrays, "buffer", state.buffers)
    if state.best_parameters is not None and state.best_buffers is not None:
        _put(arrays, "best_parameter", state.best_parameters)
        _put(arrays, "best_buffer", state.best_buffers)
    _put(arrays, "optimizer", state.optimizer.state)
    if architecture.binary:
        layers = inference_layers(architecture, state.parameters, state.buffers)
        for index, layer in enumerate(layers.binary):
            arrays[f"binary/{index}/weights"] = layer.weights
            arrays[f"binary/{index}/thresholds"] = layer.thresholds
        from loom.bnn.activations import fingerprint_of

        meta["fingerprint"] = fingerprint_of(
            architecture, layers, model.schema_, model.class_labels_, state.buffers
        )
    write_checkpoint(path, meta, arrays)


def resume_state(
    model: BinaryNetwork,
    stored: tuple[dict[str, Any], dict[str, NDArray[Any]]],
    path: str | os.PathLike[str],
    digest: str,
    architecture: Architecture,
) -> TrainingState:
    """Return the training state of a checkpoint, after checking that it was written
    for the same data and options as the run that resumes from it."""
    from loom.bnn.network import options_json

    meta, arrays = stored
    where = f"the checkpoint {os.fspath(path)!r}"
    advice = "pass resume=False to start over, or another checkpoint path"
    saved = {k: v for k, v in meta["options"].items() if k not in _FREE_OPTIONS}
    current = {
        k: v
        for k, v in json.loads(options_json(model)).items()
        if k not in _FREE_OPTIONS
    }
    changed = sorted(key for key in current if saved.get(key) != current[key])
    if changed:
        details = ", ".join(
            f"{key}={saved.get(key)!r} there, {current[key]!r} now" for key in changed
        )
        msg = f"{where} was written with other options ({details}); {advice}."
        raise CheckpointError(msg)
    if meta.get("data_digest") != digest:
        msg = f"{where} was written for other training data; {advice}."
        raise CheckpointError(msg)
    if json.loads(json.dumps(asdict(architecture))) != meta["architecture"]:
        msg = f"{where} holds a network of another shape; {advice}."
        raise CheckpointError(msg)
    return _state_from(meta, arrays, where)


def load_network(
    cls: type[BinaryNetwork], path: str | os.PathLike[str]
) -> BinaryNetwork:
    """Return the fitted network stored at `path`."""
    meta, arrays = read_checkpoint(path)
    where = repr(os.fspath(path))
    try:
        options = dict(meta["options"])
        model = cls(**{**options, "hidden_layers": tuple(options["hidden_layers"])})
        architecture = Architecture(
            **{**meta["architecture"], "hidden": tuple(meta["architecture"]["hidden"])}
        )
        dtype = object if meta["classes_dtype"] == "object" else meta["classes_dtype"]
        model.classes_ = np.array(meta["classes"], dtype=dtype)
        model.class_labels_ = tuple(meta["class_labels"])
        model.schema_ = Schema.from_dict(meta["schema"])
        model.n_features_in_ = int(meta["n_features_in"])
        if meta["feature_names_in"] is not None:
            model.feature_names_in_ = np.array(meta["feature_names_in"], dtype=object)
        model._entropy = int(meta["entropy"])
        state = _state_from(meta, arrays, where)
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, CheckpointError):
            raise
        msg = f"{where} is not a complete saved network: {err!r}."
        raise CheckpointError(msg) from err
    model._adopt(state, architecture)
    if architecture.binary:
        _verify(model, meta, arrays, where)
    return model


# ---------------------------------------------------------------------------
# Helpers


def _training_meta(state: TrainingState) -> dict[str, Any]:
    optimizer = state.optimizer
    settings: dict[str, Any]
    if isinstance(optimizer, SGD):
        settings = {"name": "sgd", "momentum": float(optimizer.momentum)}
    else:
        settings = {"name": "adam"}
    settings["steps"] = optimizer.steps
    return {
        "epoch": state.epoch,
        "history": [record.to_dict() for record in state.history],
        "best_loss": state.best_loss if math.isfinite(state.best_loss) else None,
        "best_epoch": state.best_epoch,
        "wait": state.wait,
        "stop_reason": state.stop_reason,
        "warned": sorted(state.warned),
        "optimizer": settings,
        "rng": state.rng.bit_generator.state,
    }


def _state_from(
    meta: dict[str, Any], arrays: dict[str, NDArray[Any]], where: str
) -> TrainingState:
    training = meta["training"]
    settings = training["optimizer"]
    optimizer = make_optimizer(settings["name"], settings.get("momentum", 0.9))
    optimizer.steps = int(settings["steps"])
    optimizer.state = _take(arrays, "optimizer")
    rng_state = training["rng"]
    if rng_state.get("bit_generator") != "PCG64":
        msg = f"{where}: unknown random generator {rng_state.get('bit_generator')!r}."
        raise CheckpointError(msg)
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = rng_state
    best_parameters = _take(arrays, "best_parameter") or None
    best_buffers = _take(arrays, "best_buffer") or None
    best_loss = training["best_loss"]
    return TrainingState(
        parameters=_take(arrays, "parameter"),
        buffers=_take(arrays, "buffer"),
        optimizer=optimizer,
        rng=rng,
        epoch=int(training["epoch"]),
        history=[EpochRecord.from_dict(item) for item in training["history"]],
        best_loss=math.inf if best_loss is None else float(best_loss),
        best_epoch=int(training["best_epoch"]),
        best_parameters=best_parameters,
        best_buffers=best_buffers,
        wait=int(training["wait"]),
        stop_reason=training["stop_reason"],
        warned=set(training["warned"]),
    )


def _verify(
    model: BinaryNetwork,
    meta: dict[str, Any],
    arrays: dict[str, NDArray[Any]],
    where: str,
) -> None:
    layers = model._inference_layers()
    for index, layer in enumerate(layers.binary):
        weights = arrays.get(f"binary/{index}/weights")
        thresholds = arrays.get(f"binary/{index}/thresholds")
        if (
            weights is None
            or thresholds is None
            or not np.array_equal(weights, layer.weights)
            or not np.array_equal(thresholds, layer.thresholds)
        ):
            msg = (
                f"{where} is damaged: the binary weights of hidden layer {index + 1} "
                "do not match its latent weights."
            )
            raise CheckpointError(msg)
    if meta.get("fingerprint") != model.fingerprint:
        msg = f"{where} is damaged: its fingerprint does not match its weights."
        raise CheckpointError(msg)


def _put(arrays: dict[str, NDArray[Any]], prefix: str, named: Arrays) -> None:
    for name, array in named.items():
        arrays[f"{prefix}/{name}"] = array


def _take(arrays: dict[str, NDArray[Any]], prefix: str) -> Arrays:
    start = f"{prefix}/"
    return {
        key[len(start) :]: np.array(value, dtype=np.float32)
        for key, value in arrays.items()
        if key.startswith(start)
    }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _names(model: BinaryNetwork) -> list[str] | None:
    names = getattr(model, "feature_names_in_", None)
    return None if names is None else [str(name) for name in names]
