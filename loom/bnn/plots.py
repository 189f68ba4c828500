"""The training history of a `BinaryNetwork` as a figure: loss, accuracy and gradient
norms per epoch.

matplotlib is optional (``pip install "loom-rules[plot]"``) and is imported only when a
figure is drawn. The figure is built without pyplot, so drawing opens no window.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from loom.evolve.plots import require_matplotlib
from loom.exceptions import OutputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from loom.bnn.network import BinaryNetwork

__all__ = ["plot_history"]

_DPI = 120
_TRAIN_COLOR = "tab:blue"
_VALIDATION_COLOR = "tab:orange"


def plot_history(
    model: BinaryNetwork, path: str | os.PathLike[str] | None = None
) -> Figure:
    """Draw the training history: three panels sharing the epoch axis.

    The panels show the training and validation loss, the training and validation
    accuracy, and the mean gradient norm of each layer's weights (log scale). A
    dotted line marks the epoch whose weights the network ended with.

    Parameters
    ----------
    model : BinaryNetwork
        A fitted network (its `history_`).
    path : str or path-like, optional
        Write the figure there as PNG.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    MissingDependencyError
        When matplotlib is not installed.
    OutputError
        When `path` cannot be written.
    """
    require_matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    history = model.history_
    epochs = [record.epoch for record in history]
    figure = Figure(figsize=(7.5, 8.0), layout="constrained")
    loss, accuracy, gradients = figure.subplots(3, 1, sharex=True)

    loss.plot(
        epochs,
        [r.train_loss for r in history],
        color=_TRAIN_COLOR,
        marker="o",
        markersize=3,
        label="training",
    )
    accuracy.plot(
        epochs,
        [r.train_accuracy for r in history],
        color=_TRAIN_COLOR,
        marker="o",
        markersize=3,
        label="training",
    )
    if any(not math.isnan(r.validation_loss) for r in history):
        loss.plot(
            epochs,
            [r.validation_loss for r in history],
            color=_VALIDATION_COLOR,
            marker="o",
            markersize=3,
            label="validation",
        )
        accuracy.plot(
            epochs,
            [r.validation_accuracy for r in history],
            color=_VALIDATION_COLOR,
            marker="o",
            markersize=3,
            label="validation",
        )
    loss.set_ylabel("cross-entropy")
    accuracy.set_ylabel("accuracy")

    for index, name in enumerate(model.layer_names):
        norms = [record.gradient_norms[index] for record in history]
        gradients.plot(epochs, norms, marker="o", markersize=3, label=name)
    if any(norm > 0 for record in history for norm in record.gradient_norms):
        gradients.set_yscale("log")
    gradients.set_ylabel("gradient norm")
    gradients.set_xlabel("epoch")
    gradients.xaxis.set_major_locator(MaxNLocator(integer=True))

    for axes in (loss, accuracy, gradients):
        if model.best_epoch_:
            axes.axvline(model.best_epoch_, color="grey", linestyle=":", linewidth=1)
        axes.grid(alpha=0.3)
        axes.legend(loc="best", fontsize="small")
    kind = "binary" if model.binary else "float"
    loss.set_title(
        f"{kind} network {list(model.hidden_layers)}: {len(history)} epochs, "
        f"stopped by {model.stop_reason_.replace('_', ' ')}"
    )
    if path is not None:
        _write(figure, path)
    return figure


def _write(figure: Figure, path: str | os.PathLike[str]) -> None:
    target = Path(os.fspath(path))
    try:
        figure.savefig(target, format="png", dpi=_DPI)
    except OSError as err:
        msg = f"cannot write the figure to {str(target)!r}: {err}."
        raise OutputError(msg) from err
