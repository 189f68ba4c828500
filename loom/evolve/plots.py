"""Figures of a discovery run: the final Pareto front and the progress per generation.

matplotlib is optional (``pip install "loom-rules[plot]"``) and is imported only when
a figure is drawn. Figures are built without pyplot, so drawing opens no window and
leaves pyplot's current figure alone.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.exceptions import MissingDependencyError, OutputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from loom.evolve.model import RuleSet

__all__ = ["plot_front", "plot_progress", "require_matplotlib", "write_plots"]

_DPI = 120
_FIT_COLOR = "tab:blue"
_VALIDATION_COLOR = "tab:orange"
_CHOSEN_COLOR = "tab:red"
_STOP_REASONS = {
    "generations": "stopped after the last generation",
    "converged": "stopped early: the front had stopped changing",
    "time budget": "stopped by the time budget",
}


def require_matplotlib() -> Any:
    """Return the `matplotlib` module, or raise `MissingDependencyError` with the
    install command when it is missing."""
    try:
        return importlib.import_module("matplotlib")
    except ImportError as err:
        msg = (
            "plotting needs matplotlib, which is not installed; install it with "
            'pip install "loom-rules[plot]".'
        )
        raise MissingDependencyError(msg) from err


def plot_front(model: RuleSet, path: str | os.PathLike[str] | None = None) -> Figure:
    """Draw the final Pareto front: error rate against the number of literals.

    Each member of the front is a rule set that no other member beats on both
    training error and size. The error on the fitting rows is drawn as a staircase,
    the error on the validation rows (which chose the model) as separate markers,
    and the chosen model as a star.

    Parameters
    ----------
    model : RuleSet
        A model returned by `loom.discover` (its `front` and `info`).
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

    figure = Figure(figsize=(7.5, 5.2), layout="constrained")
    axes = figure.add_subplot()
    front = sorted(model.front, key=lambda item: (item["literals"], item["fit_errors"]))
    # Inner folds hold out every training row once, so both counts are over them.
    fit_rows = int(model.info.get("train_rows") or 0)
    validation_rows = fit_rows
    fit_scale = _scale(fit_rows)
    validation_scale = _scale(validation_rows)

    axes.set_title(
        f"Pareto front for {model.target!r}: error against size of the rule sets",
        loc="left",
    )
    axes.set_xlabel("literals in the rule set (size)")
    axes.set_ylabel("error rate" if fit_scale else "misclassified rows")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    _format_rate_axis(axes.yaxis, bool(fit_scale))
    axes.grid(True, alpha=0.3)
    if not front:
        _write_empty(axes, "no Pareto front was recorded")
        return _saved(figure, path)

    literals = [item["literals"] for item in front]
    fit = [item["fit_errors"] * (fit_scale or 1.0) for item in front]
    axes.step(literals, fit, where="post", color=_FIT_COLOR, alpha=0.5)
    axes.plot(
        literals,
        fit,
        "o",
        color=_FIT_COLOR,
        label=f"error on the {fit_rows} training rows",
    )
    checked = [item for item in front if item.get("validation_errors") is not None]
    if checked and validation_scale:
        axes.plot(
            [item["literals"] for item in checked],
            [item["validation_errors"] * validation_scale for item in checked],
            "s",
            mfc="none",
            color=_VALIDATION_COLOR,
            label=f"held-out error of the inner folds ({validation_rows} rows)",
        )
    chosen = [item for item in front if item.get("chosen")]
    if chosen:
        item = chosen[0]
        label = f"chosen: {item['literals']} literals"
        if item.get("validation_errors") is not None and validation_scale:
            y = item["validation_errors"] * validation_scale
            label += f", {y:.1%} validation error"
        else:
            y = item["fit_errors"] * (fit_scale or 1.0)
        axes.plot(
            item["literals"],
            y,
            "*",
            ms=16,
            color=_CHOSEN_COLOR,
            mec="black",
            mew=0.6,
            label=label,
            zorder=3,
        )
    validation = [
        item["validation_errors"] * (validation_scale or 0) for item in checked
    ]
    _set_floor_limits(axes, [*fit, *validation], empty_top=0.01 if fit_scale else 1.0)
    figure.legend(loc="outside lower center", ncols=2, frameon=False)
    return _saved(figure, path)


def plot_progress(model: RuleSet, path: str | os.PathLike[str] | None = None) -> Figure:
    """Draw the search's progress: the best training error and the size of the
    Pareto front after each generation.

    Parameters
    ----------
    model : RuleSet
        A model returned by `loom.discover` (its `history` and `info`).
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

    figure = Figure(figsize=(7.5, 6.4), layout="constrained")
    error_axes, size_axes, front_axes = figure.subplots(3, 1, sharex=True)
    # The history holds every search (inner folds, then the final one on all
    # training rows); only the final search's errors are on the training rows.
    history = model.history
    starts = [i for i, record in enumerate(history) if record["number"] == 1]
    if starts:
        history = history[starts[-1] :]
    fit_rows = int(model.info.get("train_rows") or 0)
    scale = _scale(fit_rows)
    title = (
        f"Search progress for {model.target!r}\nfinal search: "
        f"{len(history)} generations"
    )
    reason = _STOP_REASONS.get(str(model.info.get("stopped")))
    if reason:
        title += f", {reason}"
    figure.suptitle(title, x=0.02, ha="left", linespacing=1.4)

    error_axes.set_ylabel("best error rate" if scale else "best error (rows)")
    _format_rate_axis(error_axes.yaxis, bool(scale))
    size_axes.set_ylabel("literals of the\nbest rule set")
    front_axes.set_ylabel("rule sets on\nthe front")
    front_axes.set_xlabel("generation")
    for axes in (error_axes, size_axes, front_axes):
        axes.grid(True, alpha=0.3)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    for axes in (size_axes, front_axes):
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if not history:
        _write_empty(error_axes, "no generation was recorded")
        return _saved(figure, path)

    numbers = [record["number"] for record in history]
    errors = [record["best_error"] * (scale or 1.0) for record in history]
    error_axes.plot(
        numbers,
        errors,
        color=_FIT_COLOR,
        drawstyle="steps-post",
        label=f"fewest errors on the {fit_rows} training rows",
    )
    _set_floor_limits(error_axes, errors, empty_top=0.01 if scale else 1.0)
    error_axes.legend(loc="upper right")
    sizes = [record["best_literals"] for record in history]
    size_axes.plot(numbers, sizes, color=_CHOSEN_COLOR, drawstyle="steps-post")
    _set_floor_limits(size_axes, sizes)
    fronts = [record["front_size"] for record in history]
    front_axes.plot(numbers, fronts, color=_VALIDATION_COLOR, drawstyle="steps-post")
    _set_floor_limits(front_axes, fronts)
    return _saved(figure, path)


def write_plots(model: RuleSet, directory: str | os.PathLike[str]) -> list[Path]:
    """Write ``front.png`` and ``progress.png`` into `directory` (created when
    missing) and return their paths."""
    folder = Path(os.fspath(directory))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        msg = f"cannot create the plot directory {str(folder)!r}: {err.strerror}."
        raise OutputError(msg) from err
    paths = [folder / "front.png", folder / "progress.png"]
    plot_front(model, paths[0])
    plot_progress(model, paths[1])
    return paths


def _scale(n_rows: int) -> float | None:
    """Factor from a count of rows to a rate, or None when the row count is unknown."""
    return 1.0 / n_rows if n_rows > 0 else None


def _set_floor_limits(
    axes: Any, values: list[float], *, empty_top: float = 1.0
) -> None:
    """Start the y axis a little below 0, so that points at 0 are drawn whole; the
    axis reaches `empty_top` when every value is 0."""
    top = max(values, default=0.0) or empty_top
    axes.set_ylim(-0.04 * top, 1.06 * top)


def _format_rate_axis(axis: Any, as_rate: bool) -> None:
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    if as_rate:
        axis.set_major_formatter(PercentFormatter(xmax=1.0))
    else:
        axis.set_major_locator(MaxNLocator(integer=True))


def _write_empty(axes: Any, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes)


def _saved(figure: Figure, path: str | os.PathLike[str] | None) -> Figure:
    if path is not None:
        try:
            figure.savefig(os.fspath(path), dpi=_DPI, format="png")
        except OSError as err:
            msg = f"cannot write the figure to {os.fspath(path)!r}: {err.strerror}."
            raise OutputError(msg) from err
    return figure
