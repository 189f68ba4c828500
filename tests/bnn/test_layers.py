"""BinaryLayer on packed bits against dot products of sign matrices, on every kernel
backend; batch normalization folded into thresholds against the float path."""

from __future__ import annotations

import numpy as np
import pytest

from loom.bnn import BinaryLayer, fold_batch_norm, transpose_bits
from loom.data.bits import pack_bits, unpack_bits
from loom.exceptions import InvalidParameterError
from loom.kernels import available_backends, pack_signs

BACKENDS = available_backends()
WIDTHS = [0, 1, 63, 64, 65, 130]


def random_signs(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.where(rng.random(shape) < 0.5, 1, -1).astype(np.int64)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_inputs", WIDTHS, ids=[f"in{w}" for w in WIDTHS])
def test_dots_match_sign_products(
    rng: np.random.Generator, backend: str, n_inputs: int
) -> None:
    inputs = random_signs(rng, (9, n_inputs))
    weights = random_signs(rng, (5, n_inputs))
    layer = BinaryLayer.from_signs(weights, np.zeros(5, dtype=np.int64))
    dots = layer.dots(pack_signs(inputs), backend)
    assert np.array_equal(dots, inputs @ weights.T)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_inputs", WIDTHS, ids=[f"in{w}" for w in WIDTHS])
def test_masked_dots_count_only_masked_inputs(
    rng: np.random.Generator, backend: str, n_inputs: int
) -> None:
    inputs = random_signs(rng, (11, n_inputs))
    weights = random_signs(rng, (6, n_inputs))
    mask = rng.random((6, n_inputs)) < 0.3
    if n_inputs:
        mask[0] = True  # a full mask
        mask[1] = False  # an empty mask
    layer = BinaryLayer.from_signs(weights, np.zeros(6, dtype=np.int64), mask)
    dots = layer.dots(pack_signs(inputs), backend)
    assert np.array_equal(dots, inputs @ (weights * mask).T)


@pytest.mark.parametrize("backend", BACKENDS)
def test_forward_fires_at_threshold(rng: np.random.Generator, backend: str) -> None:
    inputs = random_signs(rng, (40, 70))
    weights = random_signs(rng, (8, 70))
    thresholds = rng.integers(-20, 20, 8)
    layer = BinaryLayer.from_signs(weights, thresholds)
    fired = unpack_bits(layer.forward(pack_signs(inputs), backend), 8)
    assert np.array_equal(fired, inputs @ weights.T >= thresholds)


def test_conjunction_neuron_needs_every_input() -> None:
    # Inputs 0 and 2 required, input 1 ignored: threshold = number of inputs.
    layer = BinaryLayer.from_signs([[1, 1, 1]], [2], [[True, False, True]])
    rows = pack_signs([[1, -1, 1], [1, 1, -1], [-1, 1, 1], [1, 1, 1]])
    assert unpack_bits(layer.forward(rows), 1)[:, 0].tolist() == [
        True,
        False,
        False,
        True,
    ]


def test_layer_reports_shape() -> None:
    layer = BinaryLayer.from_signs(np.ones((3, 70)), np.zeros(3, dtype=np.int64))
    assert layer.n_outputs == 3
    assert layer.n_inputs == 70
    assert layer.weights.shape == (3, 2)


def test_inputs_with_padding_bits_raise() -> None:
    layer = BinaryLayer.from_signs(np.ones((1, 3)), [0])
    bad = np.array([[0b1111]], dtype=np.uint64)
    with pytest.raises(InvalidParameterError, match="padding bits"):
        layer.dots(bad)


def test_inputs_of_wrong_width_raise() -> None:
    layer = BinaryLayer.from_signs(np.ones((1, 70)), [0])
    with pytest.raises(InvalidParameterError, match="2 words per row"):
        layer.dots(np.zeros((4, 1), dtype=np.uint64))


def test_thresholds_of_wrong_length_raise() -> None:
    with pytest.raises(InvalidParameterError, match="thresholds must be 2 integers"):
        BinaryLayer.from_signs(np.ones((2, 4)), [1, 2, 3])


def test_float_thresholds_raise() -> None:
    with pytest.raises(InvalidParameterError, match="thresholds must be"):
        BinaryLayer.from_signs(np.ones((1, 4)), [0.5])


def test_mask_of_wrong_shape_raises() -> None:
    with pytest.raises(InvalidParameterError, match="mask must have the shape"):
        BinaryLayer.from_signs(np.ones((2, 4)), [0, 0], np.ones((2, 5), dtype=bool))


@pytest.mark.parametrize("n_rows", [0, 1, 63, 64, 65, 200])
def test_transpose_bits_round_trip(rng: np.random.Generator, n_rows: int) -> None:
    matrix = rng.random((n_rows, 77)) < 0.5
    rows = pack_bits(matrix)
    columns = transpose_bits(rows, 77)
    assert columns.shape == (77, (n_rows + 63) // 64)
    assert np.array_equal(unpack_bits(columns, n_rows), matrix.T)
    assert np.array_equal(transpose_bits(columns, n_rows), rows)


def float_batch_norm_signs(
    products: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    mean: np.ndarray,
    variance: np.ndarray,
    epsilon: float,
) -> np.ndarray:
    normalized = (products - mean) / np.sqrt(variance + epsilon)
    return gamma * normalized + beta >= 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_folded_thresholds_match_float_path(
    rng: np.random.Generator, backend: str
) -> None:
    n_inputs, n_outputs = 90, 40
    signs = rng.random((n_outputs, n_inputs)) < 0.5
    gamma = rng.normal(0, 1, n_outputs)
    gamma[:4] = [0.0, 0.0, -1e-9, 1e-9]
    beta = rng.normal(0, 1, n_outputs)
    beta[:2] = [0.5, -0.5]
    mean = rng.normal(0, 5, n_outputs)
    variance = rng.uniform(1, 50, n_outputs)
    layer = fold_batch_norm(signs, gamma, beta, mean, variance, 1e-5)
    inputs = random_signs(rng, (500, n_inputs))
    products = inputs @ np.where(signs, 1, -1).T
    expected = float_batch_norm_signs(products, gamma, beta, mean, variance, 1e-5)
    fired = unpack_bits(layer.forward(pack_signs(inputs), backend), n_outputs)
    assert np.array_equal(fired, expected)


def test_folding_zero_scale_outputs_sign_of_shift() -> None:
    signs = np.ones((2, 5), dtype=bool)
    layer = fold_batch_norm(
        signs, np.zeros(2), np.array([0.0, -0.1]), np.zeros(2), np.ones(2), 1e-5
    )
    inputs = pack_signs(random_signs(np.random.default_rng(0), (16, 5)))
    fired = unpack_bits(layer.forward(inputs), 2)
    assert fired[:, 0].all()
    assert not fired[:, 1].any()


def test_folding_negative_scale_flips_weights() -> None:
    signs = np.array([[True, False, True]])
    layer = fold_batch_norm(
        signs, np.array([-2.0]), np.array([0.0]), np.array([0.0]), np.array([1.0]), 0.0
    )
    assert unpack_bits(layer.weights, 3).tolist() == [[False, True, False]]
    assert layer.thresholds.tolist() == [0]
