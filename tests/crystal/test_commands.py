"""Tests of ``loom audit``: exit statuses, output streams, and files left alone."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from loom.cli import main
from tests.crystal.conftest import build_store


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "crystals.db"
    build_store(path).close()
    return path


def test_verify_intact_prints_one_line(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify", str(store_path)]) == 0
    output = capsys.readouterr()
    lines = output.out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{store_path}: intact: 4 crystals, 8 events")
    assert output.err == ""


def test_verify_tampered_names_first_bad_event(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    connection = sqlite3.connect(store_path, isolation_level=None)
    connection.execute("DROP TRIGGER events_reject_update")
    connection.execute(
        "UPDATE events SET body = replace(body, 'fold 1/2', 'fold 1/3') WHERE seq = 5"
    )
    connection.close()
    assert main(["audit", "verify", str(store_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "NOT intact: event 5 (crystal " in lines[0]
    assert "hash mismatch" in lines[0]
    assert lines[1].startswith("  event 5 ")
    assert lines[-1] == "  store: the trigger events_reject_update is missing"


def test_verify_with_head(store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", str(store_path), "--head", "0" * 64]) == 1
    assert "events were cut from the end" in capsys.readouterr().out


@pytest.mark.parametrize("format", ["jsonl", "csv", "md"])
def test_export_to_stdout_and_file(
    store_path: Path, tmp_path: Path, format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "export", str(store_path), "--format", format]) == 0
    printed = capsys.readouterr().out
    target = tmp_path / f"audit.{format}"
    arguments = ["audit", "export", str(store_path), "--format", format]
    assert main([*arguments, "--out", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == printed
    assert printed


def test_export_one_crystal(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["audit", "export", str(store_path)])
    first = capsys.readouterr().out.splitlines()[0]
    crystal = first.split('"crystal":"')[1][:10]
    assert main(["audit", "export", str(store_path), "--id", crystal]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert all(f'"crystal":"{crystal}' in line for line in lines)


def test_show_prints_crystal(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["audit", "export", str(store_path), "--format", "csv"])
    crystal = capsys.readouterr().out.splitlines()[1].split(",")[3]
    assert main(["audit", "show", str(store_path), crystal[:6]]) == 0
    output = capsys.readouterr().out
    assert output.startswith(f"crystal {crystal}\n")
    assert "evidence" in output.splitlines()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["audit", "show", "{store}", "ffff"], "no crystal with id 'ffff'"),
        (["audit", "verify", "{missing}"], "crystal store not found"),
        (["audit", "export", "{csv}"], "is not a Loom crystal store"),
    ],
    ids=["unknown-id", "missing-store", "not-a-store"],
)
def test_errors_exit_one(
    store_path: Path,
    tmp_path: Path,
    arguments: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    csv_file = tmp_path / "data.csv"
    csv_file.write_text("a,b\n1,2\n")
    paths = {
        "store": str(store_path),
        "missing": str(tmp_path / "absent.db"),
        "csv": str(csv_file),
    }
    before = sorted(path.name for path in tmp_path.iterdir())
    assert main([argument.format(**paths) for argument in arguments]) == 1
    output = capsys.readouterr()
    assert output.out == ""
    assert output.err.startswith("loom: error: ")
    assert message in output.err
    assert sorted(path.name for path in tmp_path.iterdir()) == before
    assert csv_file.read_text() == "a,b\n1,2\n"


@pytest.mark.parametrize(
    "arguments",
    [["audit"], ["audit", "export", "x.db", "--format", "xml"], ["audit", "show", "x"]],
    ids=["no-action", "bad-format", "missing-id"],
)
def test_usage_errors_exit_two(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(arguments) == 2
    assert capsys.readouterr().err


def test_loom_script_runs_audit(store_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from loom.cli import run; run()",
            "audit",
            "verify",
            str(store_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert ": intact: " in result.stdout
