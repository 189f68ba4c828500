"""The arithmetic of `BinaryNetwork`: parameters, the training forward and backward
pass, and inference on packed bits.

Parameters live in a dict of named float32 arrays: ``hidden1.weight``,
``hidden1.gamma``, ``hidden1.beta``, ..., ``output.weight`` and ``output.bias``. The
batch-normalization statistics live in a dict of buffers: ``hidden1.mean``,
``hidden1.variance``, ..., and ``input.center``, ``input.scale`` for a real-valued
input layer. Checkpoints store both dicts as they are. Inputs are checked by the
caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from loom.bnn.binarize import Binarization, hard_sigmoid, signs_of
from loom.bnn.layers import BinaryLayer, fold_batch_norm
from loom.data.bits import pack_bits, unpack_bits
from loom.kernels import xnor_matmul

__all__ = [
    "Architecture",
    "Forward",
    "InferenceLayers",
    "RealInputLayer",
    "backward",
    "cross_entropy",
    "forward_train",
    "inference_layers",
    "init_parameters",
    "predict_logits",
    "predict_logits_float",
    "softmax",
]

Floats = NDArray[np.float32]
Words = NDArray[np.uint64]
Arrays = dict[str, Floats]


@dataclass(frozen=True)
class Architecture:
    """Sizes and switches that fix the shape and arithmetic of a network.

    Attributes
    ----------
    n_inputs : int
        Input bits (binary input layer) or real features (real-valued input layer).
    hidden : tuple of int
        Neurons per hidden layer.
    n_classes : int
    binary : bool
        Binary weights and activations; False gives the float network of the same
        shape, with hard tanh activations.
    real_input : bool
        The first layer takes real-valued features instead of bits.
    binarization : {'deterministic', 'stochastic'}
        How weights and activations binarize during training.
    epsilon : float
        Added to the batch variance before its root.
    norm_momentum : float
        Weight of the old running statistics at each batch-normalization update.
    backend : str or None
        Kernel backend of the XNOR-popcount products.
    """

    n_inputs: int
    hidden: tuple[int, ...]
    n_classes: int
    binary: bool
    real_input: bool
    binarization: Binarization
    epsilon: float
    norm_momentum: float
    backend: str | None = None

    @property
    def sizes(self) -> tuple[int, ...]:
        """Input width of each hidden layer followed by the last hidden width."""
        return (self.n_inputs, *self.hidden)

    @property
    def output_scale(self) -> np.float32:
        """The factor ``1 / sqrt(last hidden width)`` applied to the output layer's
        product, so that logits of +1/-1 activations start near unit scale."""
        return np.float32(1.0 / np.sqrt(self.hidden[-1]))


def init_parameters(
    architecture: Architecture, rng: np.random.Generator
) -> tuple[Arrays, Arrays]:
    """Return fresh parameters and buffers.

    Weights, latent binary ones included, are uniform in Glorot's range
    ``+-sqrt(6 / (fan_in + fan_out))``. Latent weights that start this close to 0 flip
    sign within the first epochs: on the digits data the network reached 95 % test
    accuracy after 2 epochs, against 6 when they started uniform in [-1, 1]. Batch
    normalization starts as the identity (gamma 1, beta 0), the output weights are
    standard normal and the output bias zero.
    """
    parameters: Arrays = {}
    buffers: Arrays = {}
    sizes = architecture.sizes
    shapes = zip(sizes[:-1], sizes[1:], strict=True)
    for layer, (fan_in, fan_out) in enumerate(shapes, start=1):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights = rng.uniform(-limit, limit, (fan_out, fan_in)).astype(np.float32)
        parameters[f"hidden{layer}.weight"] = weights
        parameters[f"hidden{layer}.gamma"] = np.ones(fan_out, np.float32)
        parameters[f"hidden{layer}.beta"] = np.zeros(fan_out, np.float32)
        buffers[f"hidden{layer}.mean"] = np.zeros(fan_out, np.float32)
        buffers[f"hidden{layer}.variance"] = np.ones(fan_out, np.float32)
    shape = (architecture.n_classes, sizes[-1])
    parameters["output.weight"] = rng.standard_normal(shape).astype(np.float32)
    parameters["output.bias"] = np.zeros(architecture.n_classes, np.float32)
    return parameters, buffers


# ---------------------------------------------------------------------------
# Training


@dataclass
class _LayerCache:
    inputs: Floats
    # The weights the product used: +1/-1 signs, or the latent weights of a first
    # layer on input bits, which `backward` does not read.
    weights: Floats
    normalized: Floats
    inverse_std: Floats
    passes: NDArray[np.bool_]


@dataclass
class Forward:
    """The values of a training forward pass that the backward pass reads."""

    logits: Floats
    last: Floats
    caches: list[_LayerCache]


def _binary_weights(
    latent: Floats, architecture: Architecture, rng: np.random.Generator
) -> NDArray[np.bool_]:
    if architecture.binarization == "stochastic":
        draws = rng.random(latent.shape, dtype=np.float32)
        return draws < hard_sigmoid(latent)
    return latent >= 0


def forward_train(
    architecture: Architecture,
    parameters: Arrays,
    buffers: Arrays,
    inputs: Floats,
    input_bits: Words | None,
    rng: np.random.Generator,
) -> Forward:
    """Run a training batch forward: batch statistics, binarized weights and
    activations (drawn from `rng` when stochastic), XNOR-popcount products wherever
    both sides are binary. Updates the running statistics in `buffers`.

    Parameters
    ----------
    inputs : ndarray of shape (batch, n_inputs), dtype=float32
        +1/-1 input bits, or the standardized real features.
    input_bits : ndarray of shape (batch, n_words(n_inputs)), dtype=uint64 or None
        The input bits row-packed (binary input layer only).
    """
    caches = []
    activations, bits = inputs, input_bits
    momentum = np.float32(architecture.norm_momentum)
    for layer in range(1, len(architecture.hidden) + 1):
        latent = parameters[f"hidden{layer}.weight"]
        if architecture.binary:
            positive = _binary_weights(latent, architecture, rng)
            # The first layer passes no gradient back, so on input bits it needs no
            # float copy of its weight signs.
            weights = signs_of(positive) if layer > 1 or bits is None else latent
            if bits is not None:
                dots = xnor_matmul(
                    bits,
                    pack_bits(positive),
                    latent.shape[1],
                    backend=architecture.backend,
                )
                products = dots.astype(np.float32)
            else:
                products = activations @ weights.T
        else:
            weights = latent
            products = activations @ weights.T

        mean = products.mean(axis=0)
        variance = products.var(axis=0)
        running_mean = buffers[f"hidden{layer}.mean"]
        running_variance = buffers[f"hidden{layer}.variance"]
        running_mean *= momentum
        running_mean += (1 - momentum) * mean
        running_variance *= momentum
        running_variance += (1 - momentum) * variance
        inverse_std = 1.0 / np.sqrt(variance + np.float32(architecture.epsilon))
        normalized = (products - mean) * inverse_std
        outputs = normalized * parameters[f"hidden{layer}.gamma"]
        outputs += parameters[f"hidden{layer}.beta"]

        passes = np.abs(outputs) <= 1
        caches.append(
            _LayerCache(activations, weights, normalized, inverse_std, passes)
        )
        if architecture.binary:
            if architecture.binarization == "stochastic":
                draws = rng.random(outputs.shape, dtype=np.float32)
                positive = draws < hard_sigmoid(outputs)
            else:
                positive = outputs >= 0
            activations = signs_of(positive)
            bits = pack_bits(positive)
        else:
            activations = np.clip(outputs, -1.0, 1.0)
            bits = None
    logits = activations @ parameters["output.weight"].T
    logits *= architecture.output_scale
    logits += parameters["output.bias"]
    return Forward(logits, activations, caches)


def softmax(logits: Floats) -> NDArray[np.float64]:
    """Return the softmax of each row of `logits`, in float64."""
    shifted = logits.astype(np.float64)
    shifted -= shifted.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return probabilities


def cross_entropy(
    logits: Floats, labels: NDArray[np.intp]
) -> tuple[float, Floats, int]:
    """Return the mean softmax cross-entropy, the softmax probabilities and the
    number of rows whose largest logit is their label."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exponentials = np.exp(shifted)
    sums = exponentials.sum(axis=1, keepdims=True)
    probabilities = exponentials / sums
    rows = np.arange(len(labels))
    log_likelihood = shifted[rows, labels] - np.log(sums[:, 0])
    correct = int(np.count_nonzero(np.argmax(logits, axis=1) == labels))
    return float(-log_likelihood.mean()), probabilities, correct


def backward(
    architecture: Architecture,
    parameters: Arrays,
    forward: Forward,
    probabilities: Floats,
    labels: NDArray[np.intp],
) -> Arrays:
    """Return the gradient of the mean cross-entropy for every parameter.

    The sign's gradient is the straight-through estimator: passed where the
    pre-activation lies in [-1, 1], zero elsewhere (for the float network, the
    derivative of hard tanh, the same mask). The gradient with respect to a binary
    weight is applied to its latent weight unchanged.
    """
    batch = len(labels)
    delta = probabilities.copy()
    delta[np.arange(batch), labels] -= 1.0
    delta /= np.float32(batch)
    gradients: Arrays = {}
    scale = architecture.output_scale
    gradients["output.weight"] = (delta.T @ forward.last) * scale
    gradients["output.bias"] = delta.sum(axis=0)
    upstream = (delta @ parameters["output.weight"]) * scale
    for layer in range(len(architecture.hidden), 0, -1):
        cache = forward.caches[layer - 1]
        upstream *= cache.passes
        gradients[f"hidden{layer}.gamma"] = (upstream * cache.normalized).sum(axis=0)
        gradients[f"hidden{layer}.beta"] = upstream.sum(axis=0)
        scaled = upstream * parameters[f"hidden{layer}.gamma"]
        centered = scaled - scaled.mean(axis=0)
        centered -= cache.normalized * (scaled * cache.normalized).mean(axis=0)
        products = centered * cache.inverse_std
        gradients[f"hidden{layer}.weight"] = products.T @ cache.inputs
        if layer > 1:
            upstream = products @ cache.weights
    return gradients


# ---------------------------------------------------------------------------
# Inference


@dataclass(frozen=True, eq=False)
class RealInputLayer:
    """A first layer of binary weights on real-valued features, with batch
    normalization and the sign folded into one cut per neuron.

    Neuron ``j`` outputs +1 where ``z >= cut[j]`` (``direction[j] = 1``), where
    ``z <= cut[j]`` (``direction[j] = -1``), or always or never for a neuron whose
    batch-normalization scale is 0 (``direction[j] = 0``, ``cut[j]`` -inf or +inf),
    with ``z`` the float32 product of the standardized features and the weight signs.
    """

    signs: Floats
    cut: NDArray[np.float64]
    direction: NDArray[np.int8]

    def forward(self, features: Floats) -> Words:
        """Return the row-packed outputs for standardized float32 features."""
        # NOTE: BLAS may sum in another order for another batch shape or thread
        # count, so a product within rounding of its cut can flip. The binary input
        # layer has no such case.
        products = (features @ self.signs.T).astype(np.float64)
        fired = np.where(
            self.direction > 0,
            products >= self.cut,
            np.where(self.direction < 0, products <= self.cut, self.cut < 0),
        )
        return np.ascontiguousarray(pack_bits(fired))


@dataclass(frozen=True, eq=False)
class InferenceLayers:
    """The hidden layers of a binary network in inference form, and its output
    layer."""

    first: RealInputLayer | None
    binary: tuple[BinaryLayer, ...]
    output_weight: Floats
    output_bias: Floats
    output_scale: np.float32


def inference_layers(
    architecture: Architecture, parameters: Arrays, buffers: Arrays
) -> InferenceLayers:
    """Fold batch normalization and the sign into thresholds, layer by layer."""
    first = None
    binary: list[BinaryLayer] = []
    for layer in range(1, len(architecture.hidden) + 1):
        signs = parameters[f"hidden{layer}.weight"] >= 0
        gamma = parameters[f"hidden{layer}.gamma"]
        beta = parameters[f"hidden{layer}.beta"]
        mean = buffers[f"hidden{layer}.mean"]
        variance = buffers[f"hidden{layer}.variance"]
        if layer == 1 and architecture.real_input:
            first = _real_input_layer(
                signs, gamma, beta, mean, variance, architecture.epsilon
            )
        else:
            binary.append(
                fold_batch_norm(
                    signs, gamma, beta, mean, variance, architecture.epsilon
                )
            )
    return InferenceLayers(
        first,
        tuple(binary),
        parameters["output.weight"],
        parameters["output.bias"],
        architecture.output_scale,
    )


def _real_input_layer(
    signs: NDArray[np.bool_],
    gamma: Floats,
    beta: Floats,
    mean: Floats,
    variance: Floats,
    epsilon: float,
) -> RealInputLayer:
    gamma64 = gamma.astype(np.float64)
    scale = np.sqrt(variance.astype(np.float64) + epsilon)
    with np.errstate(divide="ignore", invalid="ignore"):
        cut = mean.astype(np.float64) - beta.astype(np.float64) * (scale / gamma64)
    direction = np.sign(gamma64).astype(np.int8)
    constant = np.where(beta >= 0, -np.inf, np.inf)
    cut = np.where(direction == 0, constant, cut)
    return RealInputLayer(
        signs_of(signs),
        cut,
        direction,
    )


def predict_logits(
    layers: InferenceLayers,
    inputs: Any,
    *,
    backend: str | None = None,
    keep_hidden: bool = False,
) -> tuple[Floats, list[Words]]:
    """Run a binary network on packed bits and return its logits.

    Parameters
    ----------
    inputs : ndarray
        Row-packed input bits (uint64) for a binary input layer, or standardized
        float32 features for a real-valued one.
    keep_hidden : bool, default=False
        Also return every hidden layer's row-packed outputs.

    Returns
    -------
    logits : ndarray of shape (n_samples, n_classes), dtype=float32
    hidden : list of ndarray of dtype uint64
        Empty unless `keep_hidden`.
    """
    hidden: list[Words] = []
    bits = layers.first.forward(inputs) if layers.first is not None else inputs
    if layers.first is not None and keep_hidden:
        hidden.append(bits)
    for layer in layers.binary:
        bits = layer.forward(bits, backend)
        if keep_hidden:
            hidden.append(bits)
    width = layers.output_weight.shape[1]
    signs = signs_of(unpack_bits(bits, width))
    logits = signs @ layers.output_weight.T
    logits *= layers.output_scale
    logits += layers.output_bias
    return logits, hidden


def predict_logits_float(
    architecture: Architecture, parameters: Arrays, buffers: Arrays, inputs: Floats
) -> Floats:
    """Run the float network (``binary=False``) with its running statistics."""
    activations = inputs
    for layer in range(1, len(architecture.hidden) + 1):
        products = activations @ parameters[f"hidden{layer}.weight"].T
        variance = buffers[f"hidden{layer}.variance"] + np.float32(architecture.epsilon)
        normalized = (products - buffers[f"hidden{layer}.mean"]) / np.sqrt(variance)
        outputs = normalized * parameters[f"hidden{layer}.gamma"]
        outputs += parameters[f"hidden{layer}.beta"]
        activations = np.clip(outputs, -1.0, 1.0)
    logits = activations @ parameters["output.weight"].T
    logits *= architecture.output_scale
    logits += parameters["output.bias"]
    return logits
