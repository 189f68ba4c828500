"""The ``loom discover`` and ``loom demo`` commands: outputs, files and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loom
from loom.cli import main
from loom.evolve.commands import format_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Few generations: the concept below is found by the seeds already.
QUICK = ["--generations", "30"]


@pytest.fixture
def csv_path(tmp_path: Path, rng: np.random.Generator) -> Path:
    """A CSV file whose target is 'yes' exactly when color is red and size > 5."""
    n_rows = 200
    color = rng.choice(["red", "green", "blue"], n_rows)
    size = rng.integers(0, 11, n_rows)
    noise = rng.choice(["a", "b"], n_rows)
    target = np.where((color == "red") & (size > 5), "yes", "no")
    frame = pd.DataFrame({"color": color, "size": size, "noise": noise, "y": target})
    path = tmp_path / "shapes.csv"
    frame.to_csv(path, index=False)
    return path


def run(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    status = main(arguments)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_discover_prints_rules_and_holdout(
    csv_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(["discover", str(csv_path), "--target", "y", *QUICK], capsys)
    assert status == 0, err
    assert out.startswith("Rules for y = ")
    assert "name     support  confidence  lift  rule" in out
    assert "default" in out
    assert "Hold-out accuracy: 1.000 on 40 rows of shapes.csv" in out
    assert "(20% of each class, seed 0) that the search did not see" in out
    assert "search took" in err


def test_discover_output_is_deterministic(
    csv_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["discover", str(csv_path), "--target", "y", "--seed", "3", *QUICK]
    first = run(arguments, capsys)
    second = run(arguments, capsys)
    assert first[0] == second[0] == 0
    assert first[1] == second[1]


def test_discover_holdout_zero_reports_validation(
    csv_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(
        ["discover", str(csv_path), "--target", "y", "--holdout", "0", *QUICK], capsys
    )
    assert status == 0
    assert "Validation accuracy: " in out
    assert "over the inner folds of 200 rows" in out
    assert "Hold-out" not in out


def test_discover_json_output_reads_back(
    csv_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(
        ["discover", str(csv_path), "--target", "y", "--json", *QUICK], capsys
    )
    assert status == 0
    model = loom.RuleSet.from_json(out)
    assert model.target == "y"
    assert model.info["accuracy"]["kind"] == "hold-out"
    assert model.info["accuracy"]["rows"] == 40
    assert json.loads(out)["format"] == 1


def test_discover_out_file_parses(
    csv_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules_path = tmp_path / "rules.loom"
    status, out, err = run(
        ["discover", str(csv_path), "--target", "y", "--out", str(rules_path), *QUICK],
        capsys,
    )
    assert status == 0
    assert f"rules written to {rules_path}" in err
    text = rules_path.read_text(encoding="utf-8")
    statements = loom.parse_rules(text)
    model = loom.RuleSet.load(rules_path)
    assert len(statements) == len(model.rules) + 1
    assert statements[-1].name == "default"
    assert format_report(model, source="shapes.csv") == out.rstrip("\n")
    frame = pd.read_csv(csv_path)
    # Fitted on 80% of the rows, the rules may miss a size the fit never saw.
    assert model.score(frame) >= 0.98


def test_discover_positive_sets_rule_class(
    csv_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(
        ["discover", str(csv_path), "--target", "y", "--positive", "no", *QUICK], capsys
    )
    assert status == 0
    assert out.startswith("Rules for y = no (rows no rule matches: y = yes)")


def test_discover_plot_writes_pngs(
    csv_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "plots" / "run1"
    status, _, err = run(
        ["discover", str(csv_path), "--target", "y", "--plot", str(folder), *QUICK],
        capsys,
    )
    assert status == 0, err
    for name in ("front.png", "progress.png"):
        assert (folder / name).read_bytes().startswith(PNG_SIGNATURE)


def test_discover_plot_without_matplotlib(
    csv_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import raises ImportError
    status, out, err = run(
        ["discover", str(csv_path), "--target", "y", "--plot", str(tmp_path), *QUICK],
        capsys,
    )
    assert status == 1
    assert out == ""
    assert err == (
        "loom: error: plotting needs matplotlib, which is not installed; install it "
        'with pip install "loom-rules[plot]".\n'
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["missing.csv", "--target", "y"], "data file not found: 'missing.csv'"),
        (["{csv}", "--target", "colour"], "target column 'colour' is not in"),
        (
            ["{csv}", "--target", "y", "--positive", "maybe"],
            "positive='maybe' is not a class of 'y'",
        ),
        (["{dir}", "--target", "y"], "is a directory; pass the path of a CSV file"),
        (
            ["{bad}", "--target", "y"],
            "line 3: the row has 1 cell(s) but the header has 2",
        ),
        (
            ["{csv}", "--target", "y", "--out", "{dir}/no/such/rules.loom"],
            "cannot write the rules to",
        ),
    ],
    ids=[
        "missing-file",
        "unknown-target",
        "unknown-positive",
        "directory",
        "malformed-csv",
        "unwritable-out",
    ],
)
def test_discover_error_is_one_line(
    arguments: list[str],
    message: str,
    csv_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,y\n1,x\n3\n", encoding="utf-8")
    paths = {"csv": str(csv_path), "dir": str(tmp_path), "bad": str(bad)}
    filled = [argument.format(**paths) for argument in arguments]
    status, out, err = run(["discover", *filled, *QUICK], capsys)
    assert status == 1
    assert out == ""
    assert err.startswith("loom: error: ")
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["{csv}"], "the following arguments are required: --target"),
        (
            ["{csv}", "--target", "y", "--generations", "-1"],
            "argument --generations: must be an int >= 0, got -1",
        ),
        (
            ["{csv}", "--target", "y", "--max-rules", "many"],
            "argument --max-rules: invalid int value: 'many'",
        ),
        (
            ["{csv}", "--target", "y", "--holdout", "0.7"],
            "argument --holdout: must be a fraction between 0 and 0.5, got 0.7",
        ),
        (
            ["{csv}", "--target", "y", "--time-budget", "0"],
            "argument --time-budget: must be a number of seconds > 0, got 0",
        ),
        (["{csv}", "--target", "y", "--colour"], "unrecognized arguments: --colour"),
    ],
    ids=[
        "no-target",
        "negative-generations",
        "text-max-rules",
        "large-holdout",
        "zero-budget",
        "unknown-option",
    ],
)
def test_discover_usage_error_exits_two(
    arguments: list[str],
    message: str,
    csv_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    filled = [argument.format(csv=csv_path) for argument in arguments]
    status, out, err = run(["discover", *filled], capsys)
    assert status == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err


def test_loom_script_runs_in_subprocess(csv_path: Path, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("loom")
    if not script.exists():
        pytest.skip(f"the loom script is not installed beside {sys.executable}")
    ok = subprocess.run(
        [str(script), "discover", str(csv_path), "--target", "y", *QUICK],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stderr
    assert "Hold-out accuracy: 1.000" in ok.stdout
    assert "generation" not in ok.stderr  # no progress bar when stderr is a pipe

    failed = subprocess.run(
        [str(script), "discover", "missing.csv", "--target", "y"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert failed.returncode == 1
    assert failed.stderr.startswith("loom: error: data file not found")
    assert "Traceback" not in failed.stderr

    usage = subprocess.run(
        [str(script), "discover"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert usage.returncode == 2
    assert "usage: loom discover" in usage.stderr


def test_demo_prints_rules(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["demo"], capsys)
    assert status == 0, err
    assert out.startswith("Tic-tac-toe endgames: 958 final boards")
    assert "# rules for y = p; rows no rule matches: y = n" in out
    assert "accuracy 1.000 on all 958 boards." in out
    assert "demo took" in err
