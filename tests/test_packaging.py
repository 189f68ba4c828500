"""The built wheel carries every module and the grammar, and works outside the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter: drop the editable install's finder so that only the
# unpacked wheel can provide `loom`.
PROBE = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path
                    if not type(f).__module__.startswith("__editable__")]
sys.path.insert(0, sys.argv[1])
import loom
assert loom.__file__.startswith(sys.argv[1]), loom.__file__
from loom.constraints.parser import build_parser
build_parser(strict=True)
print(loom.parse("if a and `b c` >= 2.5e-3 then atmost(1: x, y)"))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "--wheel-dir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("*.whl")
    return built


@pytest.mark.slow
def test_wheel_contains_every_module(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    modules = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "loom").rglob("*.py")
    }
    assert modules <= names, sorted(modules - names)
    assert "loom/grammar/constraint.lark" in names
    assert "loom/py.typed" in names


@pytest.mark.slow
def test_wheel_parses_outside_checkout(wheel: Path, tmp_path: Path) -> None:
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(unpacked)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "if a and `b c` >= 0.0025 then atmost(1: x, y)"
