"""The generated tic-tac-toe endgame boards, and the rules the demo finds on them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from loom.constraints.ast import And, Compare
from loom.demo import SQUARES, WINNING_LINES, tic_tac_toe
from loom.evolve.commands import run_demo


@pytest.fixture(scope="module")
def boards() -> pd.DataFrame:
    return tic_tac_toe()


@pytest.fixture(scope="module")
def demo_model():
    model, accuracy = run_demo(seed=0)
    return model, accuracy


def has_line(row: pd.Series, player: str) -> bool:
    return any(all(row[square] == player for square in line) for line in WINNING_LINES)


def test_boards_match_uci_file_as_multiset(
    boards: pd.DataFrame, datasets_dir: Path
) -> None:
    expected = pd.read_csv(
        datasets_dir / "tic_tac_toe.csv", dtype=str, keep_default_na=False
    )
    assert list(expected.columns) == list(boards.columns)
    generated = Counter(map(tuple, boards.to_numpy().tolist()))
    assert generated == Counter(map(tuple, expected.to_numpy().tolist()))


def test_boards_columns_and_counts(boards: pd.DataFrame) -> None:
    assert list(boards.columns) == [*SQUARES, "y"]
    assert boards.shape == (958, 10)
    assert boards["y"].value_counts().to_dict() == {"p": 626, "n": 332}
    assert not boards.duplicated().any()
    assert set(boards[list(SQUARES)].to_numpy().ravel()) == {"x", "o", "b"}


def test_every_board_is_final_and_legal(boards: pd.DataFrame) -> None:
    for _, row in boards.iterrows():
        marks = row[list(SQUARES)].tolist()
        x_won, o_won = has_line(row, "x"), has_line(row, "o")
        assert x_won or o_won or "b" not in marks
        assert not (x_won and o_won)
        # x moves first, so x has one mark more after its own move (a win of x or
        # a full board) and as many as o after o's winning move.
        difference = marks.count("x") - marks.count("o")
        assert difference == (0 if o_won else 1)
        assert row["y"] == ("p" if x_won else "n")


def test_boards_are_in_fixed_order() -> None:
    assert tic_tac_toe().equals(tic_tac_toe())


def test_demo_finds_eight_rules_of_three(demo_model) -> None:
    model, accuracy = demo_model
    assert accuracy == 1.0
    assert model.positive == "p"
    assert len(model.rules) == 8
    assert [rule.n_literals for rule in model.rules] == [3] * 8


def rule_line(condition) -> frozenset[str] | None:
    """Return the squares of `condition` when it reads 'x on these three squares',
    else None."""
    if not isinstance(condition, And) or len(condition.operands) != 3:
        return None
    squares = set()
    for operand in condition.operands:
        if not (
            isinstance(operand, Compare) and operand.op == "=" and operand.value == "x"
        ):
            return None
        squares.add(operand.feature)
    return frozenset(squares)


def test_demo_rules_are_winning_lines(demo_model) -> None:
    model, _ = demo_model
    lines = {rule_line(rule.condition) for rule in model.rules}
    assert lines == {frozenset(line) for line in WINNING_LINES}
