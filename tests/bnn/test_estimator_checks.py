"""BinaryNetwork passes scikit-learn's estimator checks."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from loom.bnn import BinaryNetwork

# Small networks and few epochs keep each of the checks' many fits fast.
FAST = {"hidden_layers": (32,), "max_epochs": 15, "batch_size": 16, "patience": None}


@parametrize_with_checks(
    [
        BinaryNetwork(**FAST),
        # On two real features a first-layer neuron can only cut along a diagonal
        # (its weights are +1 or -1 on each), so it takes a second layer to reach
        # the accuracy the checks ask of the three blobs.
        BinaryNetwork(**{**FAST, "hidden_layers": (32, 32)}, input_layer="real"),
    ]
)
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)
