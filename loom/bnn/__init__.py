"""Binary neural networks on the bit kernels, tied to the rules.

`BinaryNetwork` trains binary dense layers with latent float32 weights and runs them
on packed bits with XNOR and popcount. `binary_activations` turns its neurons into a
`BitTable` that `loom.discover` explains, and `compile_rules` turns a rule set into
binary layers on the same kernels.
"""

from __future__ import annotations

from loom.bnn.activations import (
    PREDICTION,
    FidelityReport,
    apply_crystals,
    backbone_fingerprint,
    binary_activations,
    crystallize_rules,
    fidelity,
    neuron_name,
)
from loom.bnn.binarize import binarize, hard_sigmoid, sign, straight_through
from loom.bnn.compile import CompiledRules, compile_rules
from loom.bnn.layers import BinaryLayer, fold_batch_norm, transpose_bits
from loom.bnn.network import BinaryNetwork
from loom.bnn.optim import SGD, Adam, learning_rate_at
from loom.bnn.training import (
    EXPLODING_GRADIENT_RATIO,
    VANISHING_GRADIENT_RATIO,
    EpochRecord,
    format_history,
)

__all__ = [
    "EXPLODING_GRADIENT_RATIO",
    "PREDICTION",
    "SGD",
    "VANISHING_GRADIENT_RATIO",
    "Adam",
    "BinaryLayer",
    "BinaryNetwork",
    "CompiledRules",
    "EpochRecord",
    "FidelityReport",
    "apply_crystals",
    "backbone_fingerprint",
    "binarize",
    "binary_activations",
    "compile_rules",
    "crystallize_rules",
    "fidelity",
    "fold_batch_norm",
    "format_history",
    "hard_sigmoid",
    "learning_rate_at",
    "neuron_name",
    "sign",
    "straight_through",
    "transpose_bits",
]
