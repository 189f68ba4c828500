"""Shared fixtures: seeded random generators and the location of the real data sets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

# The real data sets: LOOM_DATASETS, else ../shared/datasets beside the checkout.
DATASETS = Path(
    os.environ.get("LOOM_DATASETS")
    or Path(__file__).resolve().parents[2] / "shared" / "datasets"
)


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator with a fixed seed, so every run draws the same data."""
    return np.random.default_rng(20261204)


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """The folder of real CSV data sets that sits beside the checkout."""
    if not (DATASETS / "index.json").exists():
        pytest.skip(f"the real data sets are not at {DATASETS}")
    return DATASETS


def dataset_index() -> list[dict[str, object]]:
    """Entries of the data sets' index.json (empty when the folder is absent)."""
    index = DATASETS / "index.json"
    if not index.exists():
        return []
    entries: list[dict[str, object]] = json.loads(index.read_text())
    return entries
