"""Reasoning over rules that discovery put in a crystal store: tic-tac-toe."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loom
from loom.cli import main
from loom.crystal import CrystalStore
from loom.demo import SQUARES
from loom.reason import KnowledgeBase, Status

TOP_ROW = "if tl = x and tm = x and tr = x then y = p"


@pytest.fixture(scope="module")
def store_path(datasets_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "tic_tac_toe.db"
    with CrystalStore(path) as store:
        loom.discover(
            datasets_dir / "tic_tac_toe.csv", "y", store=store, random_state=0
        )
    return path


def oracle(store: CrystalStore, facts: dict[str, str]) -> Status:
    """Decide `y = p` by enumerating every board and class the facts allow and
    keeping those on which every active crystal is true."""
    free = [square for square in SQUARES if square not in facts]
    rows = []
    for values in itertools.product("xob", repeat=len(free)):
        board = {**facts, **dict(zip(free, values, strict=True))}
        for label in ("n", "p"):
            rows.append({**{square: board[square] for square in SQUARES}, "y": label})
    frame = pd.DataFrame(rows)
    crystals = store.active()
    schema = store.schema(crystals[0].schema_fingerprint)
    table = loom.BitTable.from_frame(frame, schema=schema)
    allowed = np.ones(len(frame), dtype=bool)
    for crystal in crystals:
        true, _ = loom.evaluate(crystal.constraint, table)
        allowed &= loom.data.unpack_bits(true, table.n_rows)
    labels = set(frame["y"][allowed])
    if labels == {"p"}:
        return Status.TRUE
    if labels == {"n"}:
        return Status.FALSE
    return Status.UNKNOWN


def test_top_row_entails_win(store_path: Path) -> None:
    with CrystalStore(store_path) as store, KnowledgeBase(store) as kb:
        texts = [crystal.text for crystal in store.active()]
        answer = kb.entails("tl = x and tm = x and tr = x", "y = p")
    assert TOP_ROW in texts
    assert answer.status is Status.TRUE
    used = [str(step.constraint) for step in answer.explanation.steps]
    assert TOP_ROW in used


BOARDS = {
    "full, no line": {
        "tl": "x",
        "tm": "o",
        "tr": "x",
        "ml": "o",
        "mm": "o",
        "mr": "x",
        "bl": "x",
        "bm": "x",
        "br": "o",
    },
    "blanks, no line": {
        "tl": "x",
        "tm": "o",
        "tr": "b",
        "ml": "o",
        "mm": "x",
        "mr": "b",
        "bl": "b",
        "bm": "b",
        "br": "o",
    },
    "o has a line": {"tl": "o", "tm": "o", "tr": "o", "ml": "x", "mm": "x"},
    "diagonal": {"tl": "x", "mm": "x", "br": "x"},
}


@pytest.mark.parametrize("board", list(BOARDS.values()), ids=list(BOARDS))
def test_boards_match_enumeration(store_path: Path, board: dict[str, str]) -> None:
    facts = " and ".join(f"{square} = {value}" for square, value in board.items())
    with CrystalStore(store_path) as store, KnowledgeBase(store) as kb:
        answer = kb.entails(facts, "y = p")
        expected = oracle(store, board)
    assert answer.status is expected


def test_query_command_answers(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["query", str(store_path), "tl = x and tm = x and tr = x", "--entails", "y = p"]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "answer: true" in out
    assert TOP_ROW in out


def test_query_command_json(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    status = main(
        [
            "query",
            str(store_path),
            "tl = x and tm = x and tr = x",
            "--entails",
            "y = p",
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert status == 0
    assert data["status"] == "true"


def test_query_command_rules_file(
    datasets_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = loom.discover(datasets_dir / "monks-1_learn.csv", "y", random_state=0)
    path = tmp_path / "monks.loom"
    model.save(path)
    status = main(["query", str(path), "a = 1 and b = 1", "--classify", "y"])
    out = capsys.readouterr().out
    assert status == 0
    assert "forced: 1" in out


def test_query_command_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["query", str(tmp_path / "missing.db"), "a"]) == 1
    assert "not found" in capsys.readouterr().err
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    assert main(["query", str(text), "a"]) == 1
    assert "error" in capsys.readouterr().err
