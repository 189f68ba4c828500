"""Optimizers against their textbook update rules, and the learning-rate schedules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from loom.bnn import SGD, Adam, learning_rate_at
from loom.bnn.optim import make_optimizer
from loom.exceptions import InvalidParameterError


def textbook_adam(
    start: np.ndarray, gradients: list[np.ndarray], rate: float
) -> np.ndarray:
    """Kingma and Ba's Algorithm 1, in float64."""
    weights = start.astype(np.float64)
    first = np.zeros_like(weights)
    second = np.zeros_like(weights)
    for step, gradient in enumerate(gradients, start=1):
        first = 0.9 * first + 0.1 * gradient
        second = 0.999 * second + 0.001 * gradient**2
        corrected_first = first / (1 - 0.9**step)
        corrected_second = second / (1 - 0.999**step)
        weights = weights - rate * corrected_first / (np.sqrt(corrected_second) + 1e-8)
    return weights


def test_adam_matches_textbook_update(rng: np.random.Generator) -> None:
    start = rng.normal(size=(4, 5)).astype(np.float32)
    gradients = [rng.normal(size=(4, 5)).astype(np.float32) for _ in range(30)]
    weights = start.copy()
    adam = Adam()
    for gradient in gradients:
        adam.step({"w": weights}, {"w": gradient}, 0.01)
    expected = textbook_adam(start, gradients, 0.01)
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-5)
    assert adam.steps == 30
    assert set(adam.state) == {"m/w", "v/w"}


def test_sgd_momentum_matches_textbook(rng: np.random.Generator) -> None:
    start = rng.normal(size=6).astype(np.float32)
    gradients = [rng.normal(size=6).astype(np.float32) for _ in range(10)]
    weights = start.copy()
    sgd = SGD(momentum=0.8)
    for gradient in gradients:
        sgd.step({"w": weights}, {"w": gradient}, 0.05)
    expected = start.astype(np.float64)
    velocity = np.zeros(6)
    for gradient in gradients:
        velocity = 0.8 * velocity + gradient
        expected = expected - 0.05 * velocity
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-5)


def test_sgd_nesterov_looks_ahead() -> None:
    weights = np.array([0.0], dtype=np.float32)
    sgd = SGD(momentum=0.5, nesterov=True)
    for _ in range(2):
        sgd.step({"w": weights}, {"w": np.array([1.0], dtype=np.float32)}, 1.0)
    # Step 1: v = 1, update 1 + 0.5 * 1; step 2: v = 1.5, update 1 + 0.75.
    assert weights.tolist() == [-3.25]


def test_optimizer_skips_parameters_without_gradient() -> None:
    untouched = np.array([1.0], dtype=np.float32)
    moved = np.array([1.0], dtype=np.float32)
    Adam().step(
        {"untouched": untouched, "moved": moved}, {"moved": np.ones(1, np.float32)}, 0.1
    )
    assert untouched.tolist() == [1.0]
    assert moved[0] < 1.0


def test_make_optimizer_unknown_name_raises() -> None:
    with pytest.raises(InvalidParameterError, match="optimizer must be one of"):
        make_optimizer("rmsprop")


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("constant", [0.1, 0.1, 0.1, 0.1, 0.1]),
        ("exponential", [0.1, 0.1 * 0.1**0.25, 0.1 * 0.1**0.5, 0.1 * 0.1**0.75, 0.01]),
        (
            "cosine",
            [0.01 + 0.09 * 0.5 * (1 + math.cos(math.pi * e / 4)) for e in range(5)],
        ),
    ],
    ids=["constant", "exponential", "cosine"],
)
def test_schedule_values(schedule: str, expected: list[float]) -> None:
    rates = [
        learning_rate_at(e, 5, schedule=schedule, initial=0.1, final=0.01)  # type: ignore[arg-type]
        for e in range(5)
    ]
    np.testing.assert_allclose(rates, expected, rtol=1e-12)


def test_schedule_single_epoch_keeps_initial() -> None:
    rate = learning_rate_at(0, 1, schedule="cosine", initial=0.3, final=0.0)
    assert rate == 0.3


def test_unknown_schedule_raises() -> None:
    with pytest.raises(InvalidParameterError, match="schedule must be one of"):
        learning_rate_at(0, 5, schedule="step", initial=0.1, final=0.01)  # type: ignore[arg-type]
