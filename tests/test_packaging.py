"""The built wheel carries every module and the grammar, and works outside the checkout."""

from __future__ import annotations

import os
import shutil
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


# Scores one rule with the default backend, printing its name, in a fresh interpreter
# that sees only the unpacked wheel.
KERNEL_PROBE = """
import sys, warnings
sys.meta_path[:] = [f for f in sys.meta_path
                    if not type(f).__module__.startswith("__editable__")]
sys.path.insert(0, sys.argv[1])
import numpy as np
import pandas as pd
import loom
from loom.kernels import backend, score_rules
table = loom.BitTable.from_frame(pd.DataFrame({"a": [True, False, True]}))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    name = backend()
    counts = score_rules(table, np.array([[0]], dtype=np.int32))
    backend()
print(name, counts.tolist(), len(caught), *[str(w.message)[:40] for w in caught])
"""


def _unpack(wheel: Path, folder: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder)
    return folder


@pytest.mark.slow
def test_wheel_carries_c_kernels(wheel: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert any(name.startswith("loom/kernels/_native") for name in names), names
    site = _unpack(wheel, tmp_path / "site")
    result = subprocess.run(
        [sys.executable, "-c", KERNEL_PROBE, str(site)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:4] == ["c", "[[2,", "0]]", "0"], result.stdout


@pytest.mark.slow
def test_wheel_without_compiler_uses_numba(tmp_path: Path) -> None:
    """With no working C compiler the install succeeds and Numba serves, warning once."""
    out = tmp_path / "wheel"
    # A copy without the extension that an editable install builds in place.
    source = tmp_path / "source"
    shutil.copytree(
        ROOT, source,
        ignore=shutil.ignore_patterns("*.so", "build", "*.egg-info", "__pycache__", ".git"),
    )
    environment = {**os.environ, "CC": "false", "LDSHARED": "false"}
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "--wheel-dir", str(out), str(source)],
        capture_output=True, text=True, env=environment,
    )
    assert build.returncode == 0, build.stderr
    (built,) = out.glob("*.whl")
    with zipfile.ZipFile(built) as archive:
        assert not any("_native" in name for name in archive.namelist())
    site = _unpack(built, tmp_path / "site")
    result = subprocess.run(
        [sys.executable, "-c", KERNEL_PROBE, str(site)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    assert words[:4] == ["numba", "[[2,", "0]]", "1"], result.stdout
    assert "the C kernels are not available" in result.stdout
