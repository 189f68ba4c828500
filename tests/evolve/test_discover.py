"""Tests of discovery on large tables: the greedy seeds fit a sample of the rows, the
search counts every row."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

import loom
from loom.data import BitTable, unpack_bits

discover_module = sys.modules["loom.evolve.discover"]


def planted_frame(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """Five boolean features and a target that is ``a and b``, 2% flipped."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.random((n_rows, 5)) < 0.5, columns=list("abcde"))
    target = (frame["a"] & frame["b"]).to_numpy() ^ (rng.random(n_rows) < 0.02)
    frame["y"] = np.where(target, "p", "n")
    return frame


@pytest.mark.parametrize(
    ("n_rows", "limit", "words", "sample_rows"),
    [(1000, 320, [0, 4, 8, 12], 256), (800, 256, [0, 4, 8, 12], 224)],
    ids=["full-words", "partial-last-word"],
)
def test_seed_sample_takes_every_kth_word(
    monkeypatch: pytest.MonkeyPatch, n_rows: int, limit: int, words: list[int],
    sample_rows: int,
) -> None:
    monkeypatch.setattr(discover_module, "SEED_SAMPLE_ROWS", limit)
    table = BitTable.from_frame(planted_frame(n_rows), "y")
    sample = discover_module.SeedSample.of(table, None)
    assert sample is not None
    assert sample.words.tolist() == words
    assert sample.scorer.n_rows == sample_rows
    rows = np.concatenate([np.arange(64 * w, min(64 * w + 64, n_rows)) for w in words])
    expected = unpack_bits(table.bits, n_rows)[:, rows]
    assert np.array_equal(unpack_bits(sample.scorer.table.bits, sample_rows), expected)


def test_seed_sample_none_for_small_table() -> None:
    table = BitTable.from_frame(planted_frame(500), "y")
    assert discover_module.SeedSample.of(table, None) is None


def test_discover_seeds_on_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discover_module, "SEED_SAMPLE_ROWS", 640)
    seeded: list[int] = []
    original = discover_module.SeedSample.task

    def record(self: Any, task: Any) -> Any:
        seeded.append(self.scorer.n_rows)
        return original(self, task)

    monkeypatch.setattr(discover_module.SeedSample, "task", record)
    model = loom.discover(
        planted_frame(4000), "y", positive="p", n_generations=8, random_state=1
    )
    # 4000 rows fill 63 words; every 7th word (9 of them) gives 576 rows.
    assert seeded
    assert set(seeded) == {576}
    assert [str(rule.condition) for rule in model.rules] == ["a and b"]
    assert model.info["train_rows"] == 4000
    assert model.rules[0].support == int(
        (planted_frame(4000)["a"] & planted_frame(4000)["b"]).sum()
    )
