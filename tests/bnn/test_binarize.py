"""Binarization: the sign convention shared with the packed path, stochastic draws and
the straight-through estimator."""

from __future__ import annotations

import numpy as np
import pytest

from loom.bnn import binarize, hard_sigmoid, sign, straight_through
from loom.bnn.binarize import signs_of
from loom.data.bits import unpack_bits
from loom.exceptions import InvalidParameterError
from loom.kernels import pack_signs


def test_sign_zero_and_negative_zero_are_plus_one() -> None:
    values = np.array([-0.0, 0.0, -1e-30, 1e-30], dtype=np.float32)
    assert sign(values).tolist() == [1.0, 1.0, -1.0, 1.0]


def test_sign_matches_packed_bits(rng: np.random.Generator) -> None:
    values = rng.standard_normal((7, 130)).astype(np.float32)
    values[0, :10] = 0.0
    values[1, :10] = -0.0
    packed = unpack_bits(pack_signs(values), 130)
    assert np.array_equal(packed, sign(values) > 0)


def test_signs_of_maps_booleans() -> None:
    result = signs_of(np.array([[True, False], [False, True]]))
    assert result.dtype == np.float32
    assert result.tolist() == [[1.0, -1.0], [-1.0, 1.0]]


def test_hard_sigmoid_clips_to_unit_interval() -> None:
    result = hard_sigmoid([-5.0, -1.0, -0.5, 0.0, 0.5, 1.0, 5.0])
    assert result.tolist() == [0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0]


def test_stochastic_saturates_outside_unit_interval(rng: np.random.Generator) -> None:
    values = np.array([-3.0, -1.0, 1.0, 3.0] * 250, dtype=np.float32)
    result = binarize(values, "stochastic", rng)
    assert np.all(result[values <= -1] == -1)
    assert np.all(result[values >= 1] == 1)


@pytest.mark.parametrize("value", [-0.6, 0.0, 0.4], ids=["minus", "zero", "plus"])
def test_stochastic_frequency_follows_hard_sigmoid(value: float) -> None:
    rng = np.random.default_rng(3)
    draws = binarize(np.full(200_000, value, dtype=np.float32), "stochastic", rng)
    share = float(np.mean(draws > 0))
    expected = (value + 1) / 2
    # Binomial standard error at n = 200,000 is at most 0.0012; 5 of them.
    assert abs(share - expected) < 0.006


def test_stochastic_same_seed_same_draws() -> None:
    values = np.linspace(-1, 1, 1000, dtype=np.float32)
    first = binarize(values, "stochastic", np.random.default_rng(11))
    second = binarize(values, "stochastic", np.random.default_rng(11))
    other = binarize(values, "stochastic", np.random.default_rng(12))
    assert np.array_equal(first, second)
    assert not np.array_equal(first, other)


def test_deterministic_ignores_generator() -> None:
    values = np.array([0.2, -0.2], dtype=np.float32)
    assert binarize(values).tolist() == [1.0, -1.0]


def test_stochastic_without_generator_raises() -> None:
    with pytest.raises(InvalidParameterError, match="needs rng"):
        binarize([0.5], "stochastic")


def test_unknown_mode_raises() -> None:
    with pytest.raises(InvalidParameterError, match="mode must be one of"):
        binarize([0.5], "random")  # type: ignore[arg-type]


def test_straight_through_passes_unit_interval() -> None:
    mask = straight_through([-2.0, -1.0, -0.999, 0.0, 1.0, 1.0001])
    assert mask.tolist() == [False, True, True, True, True, False]
