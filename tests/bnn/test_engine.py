"""The arithmetic of training and inference: gradients against finite differences and
against a plain reference of the straight-through estimator; packed inference against
the float path."""

from __future__ import annotations

import numpy as np
import pytest

from loom.bnn.engine import (
    Architecture,
    backward,
    cross_entropy,
    forward_train,
    inference_layers,
    init_parameters,
    predict_logits,
)
from loom.data.bits import pack_bits
from loom.kernels import available_backends


def architecture(**changes: object) -> Architecture:
    options: dict[str, object] = {
        "n_inputs": 7,
        "hidden": (6, 5),
        "n_classes": 3,
        "binary": True,
        "real_input": False,
        "binarization": "deterministic",
        "epsilon": 1e-5,
        "norm_momentum": 0.9,
    }
    options.update(changes)
    return Architecture(**options)  # type: ignore[arg-type]


def loss_of(
    arch: Architecture,
    parameters: dict[str, np.ndarray],
    buffers: dict[str, np.ndarray],
    inputs: np.ndarray,
    labels: np.ndarray,
) -> float:
    """The training loss, leaving `buffers` as they were."""
    copies = {key: value.copy() for key, value in buffers.items()}
    generator = np.random.default_rng(0)
    forward = forward_train(arch, parameters, copies, inputs, None, generator)
    loss, _, _ = cross_entropy(forward.logits, labels)
    return loss


def test_float_gradients_match_finite_differences(rng: np.random.Generator) -> None:
    arch = architecture(binary=False, real_input=True)
    parameters, buffers = init_parameters(arch, rng)
    parameters = {k: v.astype(np.float64) for k, v in parameters.items()}
    parameters["hidden1.gamma"] += rng.normal(0, 0.2, 6)
    parameters["hidden2.beta"] += rng.normal(0, 0.2, 5)
    buffers = {k: v.astype(np.float64) for k, v in buffers.items()}
    inputs = rng.normal(size=(12, 7))
    labels = rng.integers(0, 3, 12)
    copies = {k: v.copy() for k, v in buffers.items()}
    forward = forward_train(
        arch, parameters, copies, inputs, None, np.random.default_rng(0)
    )
    _, probabilities, _ = cross_entropy(forward.logits, labels)
    gradients = backward(arch, parameters, forward, probabilities, labels)
    step = 1e-6
    for name, value in parameters.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            original = value[index]
            value[index] = original + step
            upper = loss_of(arch, parameters, buffers, inputs, labels)
            value[index] = original - step
            lower = loss_of(arch, parameters, buffers, inputs, labels)
            value[index] = original
            numeric[index] = (upper - lower) / (2 * step)
        np.testing.assert_allclose(
            gradients[name], numeric, rtol=1e-4, atol=1e-7, err_msg=name
        )


def reference_binary_gradients(
    parameters: dict, inputs: np.ndarray, labels: np.ndarray, epsilon: float
) -> dict[str, np.ndarray]:
    """One hidden binary layer, written out step by step in float64."""
    weights = np.where(parameters["hidden1.weight"] >= 0, 1.0, -1.0)
    products = inputs @ weights.T
    mean = products.mean(0)
    variance = products.var(0)
    normalized = (products - mean) / np.sqrt(variance + epsilon)
    pre = parameters["hidden1.gamma"] * normalized + parameters["hidden1.beta"]
    hidden = np.where(pre >= 0, 1.0, -1.0)

    scale = 1 / np.sqrt(hidden.shape[1])
    logits = hidden @ parameters["output.weight"].T * scale + parameters["output.bias"]
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)

    delta = probabilities.copy()
    delta[np.arange(len(labels)), labels] -= 1
    delta /= len(labels)
    upstream = delta @ parameters["output.weight"] * scale
    upstream = upstream * (np.abs(pre) <= 1)  # the straight-through estimator

    n = len(labels)
    d_normalized = upstream * parameters["hidden1.gamma"]
    d_products = (
        n * d_normalized
        - d_normalized.sum(0)
        - normalized * (d_normalized * normalized).sum(0)
    ) / (n * np.sqrt(variance + epsilon))

    return {
        "output.weight": delta.T @ hidden * scale,
        "output.bias": delta.sum(0),
        "hidden1.gamma": (upstream * normalized).sum(0),
        "hidden1.beta": upstream.sum(0),
        "hidden1.weight": d_products.T @ inputs,
    }


@pytest.mark.parametrize("backend", available_backends())
def test_binary_gradients_match_reference(
    rng: np.random.Generator, backend: str
) -> None:
    arch = architecture(hidden=(9,), n_inputs=70, backend=backend)
    parameters, buffers = init_parameters(arch, rng)
    parameters["hidden1.gamma"] = rng.uniform(0.2, 2, 9).astype(np.float32)
    inputs = np.where(rng.random((32, 70)) < 0.5, 1.0, -1.0).astype(np.float32)
    labels = rng.integers(0, 3, 32)
    forward = forward_train(
        arch,
        parameters,
        buffers,
        inputs,
        pack_bits(inputs > 0),
        np.random.default_rng(0),
    )
    _, probabilities, _ = cross_entropy(forward.logits, labels)
    gradients = backward(arch, parameters, forward, probabilities, labels)
    expected = reference_binary_gradients(
        {k: v.astype(np.float64) for k, v in parameters.items()},
        inputs.astype(np.float64),
        labels,
        1e-5,
    )
    for name, value in expected.items():
        np.testing.assert_allclose(
            gradients[name], value, rtol=2e-3, atol=2e-5, err_msg=name
        )


def test_training_updates_running_statistics(rng: np.random.Generator) -> None:
    arch = architecture(hidden=(4,), n_inputs=10, binary=False, real_input=True)
    parameters, buffers = init_parameters(arch, rng)
    inputs = rng.normal(size=(50, 10)).astype(np.float32)
    forward_train(arch, parameters, buffers, inputs, None, rng)
    products = inputs @ parameters["hidden1.weight"].T
    np.testing.assert_allclose(
        buffers["hidden1.mean"], 0.1 * products.mean(0), rtol=1e-5
    )
    np.testing.assert_allclose(
        buffers["hidden1.variance"], 0.9 + 0.1 * products.var(0), rtol=1e-5
    )


def test_stochastic_forward_depends_on_generator(rng: np.random.Generator) -> None:
    arch = architecture(hidden=(16,), n_inputs=20, binarization="stochastic")
    parameters, buffers = init_parameters(arch, rng)
    inputs = np.where(rng.random((30, 20)) < 0.5, 1.0, -1.0).astype(np.float32)
    bits = pack_bits(inputs > 0)

    def logits(seed: int) -> np.ndarray:
        copies = {k: v.copy() for k, v in buffers.items()}
        generator = np.random.default_rng(seed)
        return forward_train(arch, parameters, copies, inputs, bits, generator).logits

    assert np.array_equal(logits(1), logits(1))
    assert not np.array_equal(logits(1), logits(2))


def float_evaluation(arch: Architecture, parameters, buffers, inputs) -> np.ndarray:
    """The eval-mode float path: running statistics, sign, output layer."""
    activations = inputs.astype(np.float64)
    for layer in range(1, len(arch.hidden) + 1):
        weights = np.where(parameters[f"hidden{layer}.weight"] >= 0, 1.0, -1.0)
        products = activations @ weights.T
        normalized = (products - buffers[f"hidden{layer}.mean"]) / np.sqrt(
            buffers[f"hidden{layer}.variance"].astype(np.float64) + arch.epsilon
        )
        pre = parameters[f"hidden{layer}.gamma"] * normalized
        pre = pre + parameters[f"hidden{layer}.beta"]
        activations = np.where(pre >= 0, 1.0, -1.0)
    scale = 1 / np.sqrt(arch.hidden[-1])
    return (
        activations @ parameters["output.weight"].T * scale + parameters["output.bias"]
    )


@pytest.mark.parametrize(
    "real_input", [False, True], ids=["binary_input", "real_input"]
)
def test_packed_inference_matches_float_path(
    rng: np.random.Generator, real_input: bool
) -> None:
    arch = architecture(n_inputs=100, hidden=(40, 30), real_input=real_input)
    parameters, buffers = init_parameters(arch, rng)
    for layer, width in ((1, 40), (2, 30)):
        parameters[f"hidden{layer}.gamma"] = rng.normal(0, 1, width).astype(np.float32)
        parameters[f"hidden{layer}.beta"] = rng.normal(0, 1, width).astype(np.float32)
        buffers[f"hidden{layer}.mean"] = rng.normal(0, 3, width).astype(np.float32)
        buffers[f"hidden{layer}.variance"] = rng.uniform(5, 60, width).astype(
            np.float32
        )
    if real_input:
        inputs = rng.normal(size=(300, 100)).astype(np.float32)
        packed_inputs = inputs
    else:
        inputs = np.where(rng.random((300, 100)) < 0.5, 1.0, -1.0).astype(np.float32)
        packed_inputs = pack_bits(inputs > 0)
    layers = inference_layers(arch, parameters, buffers)
    logits, hidden = predict_logits(layers, packed_inputs, keep_hidden=True)
    expected = float_evaluation(arch, parameters, buffers, inputs)
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)
    assert len(hidden) == 2
    assert hidden[0].shape == (300, 1)
