"""Figures of a run: the Pareto front and the progress per generation."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loom
from loom.evolve.plots import write_plots
from loom.exceptions import MissingDependencyError, OutputError

pytest.importorskip("matplotlib")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def model() -> loom.RuleSet:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {"a": rng.integers(0, 10, 120), "b": rng.choice(["u", "v", "w"], 120)}
    )
    frame["y"] = np.where((frame["a"] > 4) & (frame["b"] != "w"), "yes", "no")
    return loom.discover(frame, "y", n_generations=8, random_state=0)


def texts(figure) -> list[str]:
    """Every piece of text drawn on the figure: titles, labels, legend entries."""
    found = [
        text.get_text() for text in figure.findobj(lambda a: hasattr(a, "get_text"))
    ]
    return [text for text in found if text]


def test_plot_front_marks_chosen_model(model: loom.RuleSet, tmp_path: Path) -> None:
    path = tmp_path / "front.png"
    figure = model.plot_front(path)
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    (axes,) = figure.axes
    assert axes.get_xlabel() == "literals in the rule set (size)"
    assert axes.get_ylabel() == "error rate"
    assert axes.get_title(loc="left").startswith("Pareto front for 'y'")
    chosen = [item for item in model.front if item["chosen"]][0]
    rate = chosen["validation_errors"] / model.info["train_rows"]
    legend = {text for text in texts(figure) if text.startswith("chosen:")}
    assert legend == {
        f"chosen: {chosen['literals']} literals, {rate:.1%} validation error"
    }


def test_plot_front_draws_every_member(model: loom.RuleSet) -> None:
    figure = model.plot_front()
    (axes,) = figure.axes
    points = [line for line in axes.get_lines() if line.get_marker() == "o"]
    assert len(points) == 1
    assert len(points[0].get_xdata()) == len(model.front)


def test_plot_progress_has_three_panels(model: loom.RuleSet, tmp_path: Path) -> None:
    path = tmp_path / "progress.png"
    figure = model.plot_progress(path)
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    labels = [axes.get_ylabel() for axes in figure.axes]
    assert labels == [
        "best error rate",
        "literals of the\nbest rule set",
        "rule sets on\nthe front",
    ]
    assert figure.axes[-1].get_xlabel() == "generation"
    front_sizes = figure.axes[2].get_lines()[0].get_ydata()
    # Only the final search is drawn: the records after the last restart at 1.
    starts = [i for i, record in enumerate(model.history) if record["number"] == 1]
    final = model.history[starts[-1] :]
    assert len(starts) > 1
    assert list(front_sizes) == [record["front_size"] for record in final]


def test_plots_of_model_without_history(model: loom.RuleSet) -> None:
    bare = dataclasses.replace(model, front=[], history=[])
    assert "no Pareto front was recorded" in texts(bare.plot_front())
    assert "no generation was recorded" in texts(bare.plot_progress())


def test_write_plots_creates_directory(model: loom.RuleSet, tmp_path: Path) -> None:
    folder = tmp_path / "new" / "plots"
    paths = write_plots(model, folder)
    assert [path.name for path in paths] == ["front.png", "progress.png"]
    for path in paths:
        assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_unwritable_plot_path_raises(model: loom.RuleSet, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot write the figure to"):
        model.plot_front(tmp_path / "missing" / "front.png")


def test_missing_matplotlib_names_extra(
    model: loom.RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(
        MissingDependencyError, match=r'pip install "loom-rules\[plot\]"'
    ):
        model.plot_progress()
