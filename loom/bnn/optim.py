"""Optimizers (Adam, SGD with momentum) and learning-rate schedules for `BinaryNetwork`.

An optimizer updates named float32 arrays in place from gradients of the same names,
and keeps its state in named arrays too, so that a checkpoint can store and restore
it exactly. It does not check that gradients are finite; the training loop does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from loom.exceptions import InvalidParameterError

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD",
    "Adam",
    "Optimizer",
    "Schedule",
    "learning_rate_at",
    "make_optimizer",
]

Floats = NDArray[np.float32]
Schedule = Literal["constant", "exponential", "cosine"]
SCHEDULES: tuple[Schedule, ...] = ("constant", "exponential", "cosine")
OPTIMIZERS: tuple[str, ...] = ("adam", "sgd")


class Optimizer:
    """Base class of the optimizers: `step` applies one update, `state` contains the
    named arrays and `steps` counts the updates."""

    def __init__(self) -> None:
        self.state: dict[str, Floats] = {}
        self.steps = 0

    def step(
        self,
        parameters: Mapping[str, Floats],
        gradients: Mapping[str, Floats],
        learning_rate: float,
    ) -> None:
        """Update every parameter that has a gradient, in place."""
        raise NotImplementedError

    def _slot(self, kind: str, name: str, like: Floats) -> Floats:
        key = f"{kind}/{name}"
        slot = self.state.get(key)
        if slot is None:
            slot = np.zeros_like(like)
            self.state[key] = slot
        return slot


class Adam(Optimizer):
    """Adam with bias correction (Kingma and Ba, 2015, Algorithm 1).

    Parameters
    ----------
    beta1, beta2 : float, default=0.9, 0.999
        Decay rates of the first and second moment estimates.
    epsilon : float, default=1e-8
        Added to the root of the second moment.

    Examples
    --------
    >>> weight = np.array([0.5], dtype=np.float32)
    >>> adam = Adam()
    >>> adam.step({"w": weight}, {"w": np.array([2.0], dtype=np.float32)}, 0.1)
    >>> round(float(weight[0]), 4)
    0.4
    """

    def __init__(
        self, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8
    ) -> None:
        super().__init__()
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def step(
        self,
        parameters: Mapping[str, Floats],
        gradients: Mapping[str, Floats],
        learning_rate: float,
    ) -> None:
        self.steps += 1
        correction1 = 1.0 - self.beta1**self.steps
        correction2 = 1.0 - self.beta2**self.steps
        # The bias corrections fold into the step size and the epsilon, which saves
        # two passes over each array: m_hat / (sqrt(v_hat) + eps) equals
        # (m / c1) / (sqrt(v) / sqrt(c2) + eps).
        step_size = np.float32(learning_rate * math.sqrt(correction2) / correction1)
        epsilon = np.float32(self.epsilon * math.sqrt(correction2))
        for name, gradient in gradients.items():
            parameter = parameters[name]
            first = self._slot("m", name, parameter)
            second = self._slot("v", name, parameter)
            first *= np.float32(self.beta1)
            first += np.float32(1.0 - self.beta1) * gradient
            second *= np.float32(self.beta2)
            second += np.float32(1.0 - self.beta2) * np.square(gradient)
            denominator = np.sqrt(second)
            denominator += epsilon
            update = np.divide(first, denominator)
            update *= step_size
            parameter -= update


class SGD(Optimizer):
    """Stochastic gradient descent with momentum: ``v = momentum * v + g``, then
    ``w -= learning_rate * v`` (or ``g + momentum * v`` with Nesterov momentum).

    Parameters
    ----------
    momentum : float, default=0.9
        In [0, 1); 0 is plain SGD.
    nesterov : bool, default=False

    Examples
    --------
    >>> weight = np.array([1.0], dtype=np.float32)
    >>> sgd = SGD(momentum=0.5)
    >>> for _ in range(2):
    ...     sgd.step({"w": weight}, {"w": np.array([1.0], dtype=np.float32)}, 0.1)
    >>> round(float(weight[0]), 4)
    0.75
    """

    def __init__(self, momentum: float = 0.9, nesterov: bool = False) -> None:
        super().__init__()
        self.momentum = momentum
        self.nesterov = nesterov

    def step(
        self,
        parameters: Mapping[str, Floats],
        gradients: Mapping[str, Floats],
        learning_rate: float,
    ) -> None:
        self.steps += 1
        rate = np.float32(learning_rate)
        momentum = np.float32(self.momentum)
        for name, gradient in gradients.items():
            parameter = parameters[name]
            velocity = self._slot("velocity", name, parameter)
            velocity *= momentum
            velocity += gradient
            if self.nesterov:
                parameter -= rate * (gradient + momentum * velocity)
            else:
                parameter -= rate * velocity


def make_optimizer(name: str, momentum: float = 0.9) -> Optimizer:
    """Return a fresh optimizer: ``adam`` or ``sgd`` (with `momentum`)."""
    if name == "adam":
        return Adam()
    if name == "sgd":
        return SGD(momentum=momentum)
    msg = f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}."
    raise InvalidParameterError(msg)


def learning_rate_at(
    epoch: int,
    n_epochs: int,
    *,
    schedule: Schedule,
    initial: float,
    final: float,
) -> float:
    """Return the learning rate of epoch `epoch` (0-based) of `n_epochs`.

    ``constant`` keeps `initial`. ``exponential`` decays geometrically from `initial`
    at the first epoch to `final` at the last. ``cosine`` follows half a cosine from
    `initial` to `final`. A single epoch uses `initial`.

    Examples
    --------
    >>> [learning_rate_at(e, 3, schedule="exponential", initial=1.0, final=0.01)
    ...  for e in range(3)]
    [1.0, 0.1, 0.01]
    >>> [round(learning_rate_at(e, 3, schedule="cosine", initial=1.0, final=0.0), 3)
    ...  for e in range(3)]
    [1.0, 0.5, 0.0]
    """
    if schedule not in SCHEDULES:
        msg = f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}."
        raise InvalidParameterError(msg)
    if schedule == "constant" or n_epochs <= 1:
        return float(initial)
    progress = min(max(epoch / (n_epochs - 1), 0.0), 1.0)
    if schedule == "exponential":
        return float(initial * (final / initial) ** progress)
    return float(final + (initial - final) * 0.5 * (1.0 + math.cos(math.pi * progress)))
