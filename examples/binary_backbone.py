"""Train a binary neural network on the digits and explain one class with rules.

Usage: python examples/binary_backbone.py

The network reads each 8x8 image as bits (``x10 <= 4.5``: pixel 10 is at most 4.5)
and runs its binary layers on packed bits with XNOR and popcount. Its activations on
the training images become a table that `loom.discover` searches for rules that tell
when the network predicts a 3; the rules' fidelity is the share of test images on
which they agree with the network. The rules then compile back into binary layers.
"""

from __future__ import annotations

from pathlib import Path

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import loom
from loom.bnn import (
    BinaryNetwork,
    EpochRecord,
    compile_rules,
    fidelity,
    format_history,
)
from loom.exceptions import MissingDependencyError

EXPLAINED_CLASS = 3


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )

    # Train, printing the monitoring figures after every epoch.
    model = BinaryNetwork(hidden_layers=(256, 256), max_epochs=20, random_state=0)
    layer_names = ("h1", "h2", "out")
    print(format_history([], layer_names))

    def show(record: EpochRecord) -> None:
        print(format_history([record], layer_names, header=False))

    model.fit(X_train, y_train, callback=show)
    print(
        f"\nstopped by {model.stop_reason_} after {model.n_iter_} epochs, weights of "
        f"epoch {model.best_epoch_}; test accuracy {model.score(X_test, y_test):.3f}"
    )
    print(f"backbone fingerprint {model.fingerprint}")
    try:
        model.plot_history(Path("bnn_history.png"))
        print("training history drawn to bnn_history.png")
    except MissingDependencyError as error:
        print(f"no figure: {error}")

    # Rules in terms of the input bits that tell when the network predicts a 3.
    table = model.binary_activations(X_train, target_class=EXPLAINED_CLASS, layers=[])
    rules = loom.discover(
        table,
        positive=str(EXPLAINED_CLASS),
        n_generations=60,
        inner_folds=0,
        random_state=0,
    )
    print(f"\n{rules}")
    held_out = model.binary_activations(X_test, target_class=EXPLAINED_CLASS, layers=[])
    print(fidelity(rules, held_out))

    # The rules as binary layers on the same kernels give the same prediction on
    # every row.
    compiled = compile_rules(rules)
    sizes = " -> ".join(str(layer.n_outputs) for layer in compiled.layers)
    same = (compiled.predict(held_out) == rules.predict(held_out)).mean()
    print(
        f"\ncompiled rules: {compiled.n_inputs} input bits -> {sizes} neurons; "
        f"they agree with the rules on {same:.0%} of the test images"
    )


if __name__ == "__main__":
    main()
