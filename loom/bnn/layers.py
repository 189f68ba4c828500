"""Binary layers on packed bits: `BinaryLayer`, the folding of batch normalization into
integer thresholds, and the transposition between row-packed and column-packed bits.

A row-packed matrix has one row per sample and packs its features along the last
axis (bit ``j % 64`` of word ``j // 64`` is feature ``j``, bit 1 for +1), as
`loom.kernels.xnor_matmul` takes it. A `BitTable` is column-packed: one row of words
per bit column, packed along the samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from loom.data.bits import last_word_mask, n_words, pack_bits, unpack_bits
from loom.exceptions import InvalidParameterError
from loom.kernels import xnor_matmul, xnor_threshold

__all__ = ["BinaryLayer", "fold_batch_norm", "transpose_bits"]

Words = NDArray[np.uint64]


def transpose_bits(words: Words, n_columns: int) -> Words:
    """Transpose a packed bit matrix.

    Parameters
    ----------
    words : ndarray of shape (n_rows, n_words(n_columns)), dtype=uint64
        Row ``i`` packs the bits of columns ``0 .. n_columns - 1``.
    n_columns : int

    Returns
    -------
    ndarray of shape (n_columns, n_words(n_rows)), dtype=uint64
        Row ``j`` packs the bits of column ``j`` over the rows, padding bits zero.

    Examples
    --------
    >>> rows = pack_bits([[True, False, True], [False, False, True]])
    >>> transpose_bits(rows, 3).ravel().tolist()
    [1, 0, 3]
    """
    matrix = unpack_bits(np.ascontiguousarray(words), n_columns)
    return np.ascontiguousarray(pack_bits(matrix.T))


def _check_packed(array: Any, n_bits: int, name: str) -> Words:
    if not isinstance(array, np.ndarray) or array.dtype != np.uint64 or array.ndim != 2:
        found = getattr(array, "dtype", type(array).__name__)
        shape = getattr(array, "shape", "")
        msg = (
            f"{name} must be a 2-D uint64 array of packed bits, got {found} {shape}; "
            "pack signs with loom.kernels.pack_signs."
        )
        raise InvalidParameterError(msg)
    if array.shape[1] != n_words(n_bits):
        msg = (
            f"{name} must have {n_words(n_bits)} words per row for {n_bits} bits, got "
            f"shape {array.shape}."
        )
        raise InvalidParameterError(msg)
    if array.size and np.any(array[:, -1] & ~last_word_mask(n_bits)):
        msg = f"{name} has padding bits set past bit {n_bits - 1}; clear them."
        raise InvalidParameterError(msg)
    return np.ascontiguousarray(array)


@dataclass(frozen=True, eq=False)
class BinaryLayer:
    """A layer of binary neurons that runs on packed bits with XNOR and popcount.

    Inputs and weights are signs stored as bits (1 for +1, 0 for -1). Neuron ``j``
    outputs +1 when the dot product of its weights and the inputs, taken over the
    inputs its mask selects, is at least ``thresholds[j]``::

        dot[i, j] = sum over k in mask[j] of weight[j, k] * input[i, k]

    A conjunction of k required inputs is a neuron with those k inputs in its mask,
    weight +1 on each and threshold k. An OR of the same inputs has threshold
    ``2 - k``, because one agreeing input gives a dot product of ``1 - (k - 1)``.

    Parameters
    ----------
    weights : ndarray of shape (n_outputs, n_words(n_inputs)), dtype=uint64
        Row-packed weight signs, padding bits zero.
    thresholds : array_like of int, shape (n_outputs,)
    n_inputs : int
    mask : ndarray of shape (n_outputs, n_words(n_inputs)), dtype=uint64, optional
        Row-packed input selection per neuron (bit 1: the input counts). None: every
        input counts.

    Notes
    -----
    Without a mask, ``dot = n_inputs - 2 * popcount(input xor weight)``: `dots` is
    one call of `loom.kernels.xnor_matmul`, and `forward` one call of
    `loom.kernels.xnor_threshold`, which compares and packs inside the kernel.

    With a mask, each input row is repeated twice and each weight row becomes
    ``[weight & mask, weight | ~mask]``. An input outside the mask then disagrees
    with exactly one of its two copies, whatever its sign, so it adds the same
    constant to every popcount. The same unmasked product then returns twice the
    masked dot product.

    Examples
    --------
    >>> from loom.kernels import pack_signs
    >>> layer = BinaryLayer.from_signs([[1, 1, -1], [1, -1, 1]], [3, -1])
    >>> inputs = pack_signs([[1, 1, -1], [-1, -1, -1]])
    >>> layer.dots(inputs)
    array([[ 3, -1],
           [-1, -1]], dtype=int32)
    >>> unpack_bits(layer.forward(inputs), 2).tolist()
    [[True, True], [False, True]]
    """

    weights: Words
    thresholds: NDArray[np.int64]
    n_inputs: int
    mask: Words | None = None
    _doubled: Words | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        n_inputs = self.n_inputs
        is_int = isinstance(n_inputs, int | np.integer) and not isinstance(
            n_inputs, bool
        )
        if not is_int or n_inputs < 0:
            msg = f"n_inputs must be an int >= 0, got {n_inputs!r}."
            raise InvalidParameterError(msg)
        object.__setattr__(self, "n_inputs", int(n_inputs))

        weights = _check_packed(self.weights, self.n_inputs, "weights")
        thresholds = np.asarray(self.thresholds)
        if thresholds.dtype.kind not in "iu" or thresholds.shape != weights.shape[:1]:
            msg = (
                f"thresholds must be {weights.shape[0]} integers, one per neuron, got "
                f"{thresholds.dtype} of shape {thresholds.shape}."
            )
            raise InvalidParameterError(msg)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "thresholds", thresholds.astype(np.int64))

        if self.mask is None:
            return
        mask = _check_packed(self.mask, self.n_inputs, "mask")
        if mask.shape != weights.shape:
            msg = (
                f"mask must have the shape of weights {weights.shape}, got "
                f"{mask.shape}."
            )
            raise InvalidParameterError(msg)
        object.__setattr__(self, "mask", mask)
        doubled = np.concatenate([weights & mask, weights | ~mask], axis=1)
        object.__setattr__(self, "_doubled", np.ascontiguousarray(doubled))

    @classmethod
    def from_signs(
        cls,
        weights: ArrayLike,
        thresholds: ArrayLike,
        mask: ArrayLike | None = None,
    ) -> BinaryLayer:
        """Build a layer from a matrix of signs (``>= 0`` is +1) and a boolean mask.

        Parameters
        ----------
        weights : array_like of shape (n_outputs, n_inputs)
        thresholds : array_like of int, shape (n_outputs,)
        mask : array_like of bool, shape (n_outputs, n_inputs), optional
        """
        signs = np.asarray(weights)
        if signs.ndim != 2:
            msg = f"weights must be 2-D (n_outputs, n_inputs), got shape {signs.shape}."
            raise InvalidParameterError(msg)
        packed_mask = None
        if mask is not None:
            selected = np.asarray(mask, dtype=bool)
            if selected.shape != signs.shape:
                msg = (
                    f"mask must have the shape of weights {signs.shape}, got "
                    f"{selected.shape}."
                )
                raise InvalidParameterError(msg)
            packed_mask = pack_bits(selected)
        return cls(
            pack_bits(signs >= 0), np.asarray(thresholds), signs.shape[1], packed_mask
        )

    @property
    def n_outputs(self) -> int:
        """The number of neurons."""
        return int(self.weights.shape[0])

    def dots(self, inputs: Words, backend: str | None = None) -> NDArray[np.int32]:
        """Return the dot product of every input row with every neuron's weights.

        Parameters
        ----------
        inputs : ndarray of shape (n_samples, n_words(n_inputs)), dtype=uint64
            Row-packed input signs, padding bits zero.
        backend : {'c', 'numba', 'numpy'}, optional
            Kernel backend; see `loom.kernels.backend`.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs), dtype=int32
        """
        rows = _check_packed(inputs, self.n_inputs, "inputs")
        if self._doubled is None:
            return xnor_matmul(rows, self.weights, self.n_inputs, backend=backend)
        doubled_rows = np.ascontiguousarray(np.concatenate([rows, rows], axis=1))
        n_bits = 64 * doubled_rows.shape[1]
        twice = xnor_matmul(doubled_rows, self._doubled, n_bits, backend=backend)
        return twice // 2

    def forward(self, inputs: Words, backend: str | None = None) -> Words:
        """Return the neurons' outputs as row-packed signs.

        Returns
        -------
        ndarray of shape (n_samples, n_words(n_outputs)), dtype=uint64
        """
        rows = _check_packed(inputs, self.n_inputs, "inputs")
        if self._doubled is None:
            return xnor_threshold(
                rows, self.weights, self.n_inputs, self.thresholds, backend=backend
            )
        # The doubled product is twice the masked dot product: compare with twice
        # the thresholds.
        doubled_rows = np.ascontiguousarray(np.concatenate([rows, rows], axis=1))
        n_bits = 64 * doubled_rows.shape[1]
        return xnor_threshold(
            doubled_rows, self._doubled, n_bits, 2 * self.thresholds, backend=backend
        )


def fold_batch_norm(
    signs: NDArray[np.bool_],
    gamma: NDArray[np.floating[Any]],
    beta: NDArray[np.floating[Any]],
    mean: NDArray[np.floating[Any]],
    variance: NDArray[np.floating[Any]],
    epsilon: float,
) -> BinaryLayer:
    """Fold batch normalization and the sign activation into a `BinaryLayer`.

    The float path computes ``y = gamma * (z - mean) / sqrt(variance + epsilon) +
    beta`` on the dot product ``z`` and outputs +1 where ``y >= 0``. With
    ``t = mean - beta * sqrt(variance + epsilon) / gamma`` (in float64) that is
    ``z >= ceil(t)`` for ``gamma > 0``, and ``z <= floor(t)`` for ``gamma < 0``,
    which becomes ``-z >= -floor(t)`` by flipping the neuron's weights. A neuron with
    ``gamma == 0`` outputs the sign of ``beta`` on every input. Thresholds are
    clipped to ``[-(n_inputs + 1), n_inputs + 1]``, where a neuron always or never
    fires.

    Parameters
    ----------
    signs : ndarray of bool, shape (n_outputs, n_inputs)
        True where a weight is +1.
    gamma, beta, mean, variance : ndarray of shape (n_outputs,)
    epsilon : float

    Examples
    --------
    >>> signs = np.array([[True, True], [True, False]])
    >>> layer = fold_batch_norm(signs, np.array([1.0, -1.0]), np.array([0.5, 0.0]),
    ...                         np.array([1.0, 0.0]), np.array([1.0, 1.0]), 0.0)
    >>> layer.thresholds.tolist()
    [1, 0]
    """
    n_inputs = signs.shape[1]
    gamma64 = np.asarray(gamma, dtype=np.float64)
    scale = np.sqrt(np.asarray(variance, dtype=np.float64) + float(epsilon))
    limit = n_inputs + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        cut = np.asarray(mean, dtype=np.float64) - np.asarray(beta, np.float64) * (
            scale / gamma64
        )
    thresholds = np.where(gamma64 > 0, np.ceil(cut), -np.floor(cut))
    always = np.asarray(beta) >= 0
    thresholds = np.where(gamma64 == 0, np.where(always, -limit, limit), thresholds)
    thresholds = np.clip(np.nan_to_num(thresholds, nan=limit), -limit, limit)
    flipped = np.where((gamma64 < 0)[:, None], ~signs, signs)
    return BinaryLayer(pack_bits(flipped), thresholds.astype(np.int64), n_inputs)
