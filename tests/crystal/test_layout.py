"""Tests of opening store files: a file that is not a store, a newer format, a damaged
file or a missing one gives a clear error and leaves every file as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from loom.crystal import CrystalStore
from loom.crystal.layout import (
    APPLICATION_ID,
    FORMAT_VERSION,
    INDEXES,
    TABLES,
    TRIGGERS,
)
from loom.exceptions import (
    NotAStoreError,
    StoreCorruptError,
    StoreError,
    StoreNotFoundError,
    StoreVersionError,
)
from tests.crystal.conftest import build_store


def snapshot(folder: Path) -> dict[str, bytes]:
    """Return the name and bytes of every file in `folder`."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def assert_open_fails(
    path: Path, error: type[StoreError], match: str, **options: object
) -> None:
    """Opening `path` raises `error` and changes no file in its folder."""
    before = snapshot(path.parent)
    with pytest.raises(error, match=match):
        CrystalStore(path, **options)  # type: ignore[arg-type]
    assert snapshot(path.parent) == before


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A closed store with a few crystals, alone in its folder."""
    folder = tmp_path / "store"
    folder.mkdir()
    build_store(folder / "crystals.db").close()
    return folder / "crystals.db"


def rewrite(path: Path, change: Callable[[bytearray], None]) -> None:
    data = bytearray(path.read_bytes())
    change(data)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"a,b\n1,2\n", r"is not a Loom crystal store: it is not an SQLite database"),
        (b"", r"is not a Loom crystal store: it is an empty file"),
        (
            b"SQLite format 3\x00" + b"\x00" * 20,
            r"is corrupt: its SQLite header is cut",
        ),
    ],
    ids=["csv", "empty", "short-header"],
)
def test_open_rejects_other_files(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "data.db"
    path.write_bytes(content)
    error = StoreCorruptError if b"SQLite" in content else NotAStoreError
    assert_open_fails(path, error, match)


def test_open_rejects_other_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE crystals (x)")
    connection.commit()
    connection.close()
    assert_open_fails(
        path, NotAStoreError, r"SQLite database of another application .*id 0x0\)"
    )


def test_open_rejects_folder(tmp_path: Path) -> None:
    folder = tmp_path / "folder.db"
    folder.mkdir()
    with pytest.raises(NotAStoreError, match=r"is not a file"):
        CrystalStore(folder)


def test_open_rejects_newer_format(store_path: Path) -> None:
    connection = sqlite3.connect(store_path)
    connection.execute(f"PRAGMA user_version = {FORMAT_VERSION + 1}")
    connection.commit()
    connection.close()
    assert_open_fails(
        store_path,
        StoreVersionError,
        rf"crystal store of format {FORMAT_VERSION + 1}; this Loom reads format "
        rf"{FORMAT_VERSION}\. Upgrade Loom",
    )


def test_open_rejects_truncated_file(store_path: Path) -> None:
    def cut_pages(data: bytearray) -> None:
        del data[len(data) // 8192 * 4096 :]  # keep half of the 4096-byte pages

    rewrite(store_path, cut_pages)
    assert_open_fails(
        store_path, StoreCorruptError, r"is corrupt: it has \d+ bytes but"
    )


def test_open_rejects_partial_page(store_path: Path) -> None:
    rewrite(store_path, lambda data: data.extend(b"\x00" * 100))
    assert_open_fails(store_path, StoreCorruptError, r"not a whole number of pages")


def test_open_rejects_garbled_schema_page(store_path: Path) -> None:
    def garble(data: bytearray) -> None:
        data[100:4096] = (bytes(range(256)) * 16)[: 4096 - 100]

    rewrite(store_path, garble)
    assert_open_fails(store_path, StoreCorruptError, r"is corrupt: SQLite reports")


def test_open_rejects_missing_table(store_path: Path) -> None:
    connection = sqlite3.connect(store_path)
    connection.execute("DROP TABLE evidence_totals")
    connection.commit()
    connection.close()
    assert_open_fails(
        store_path, StoreCorruptError, r"lacks the tables \['evidence_totals'\]"
    )


def test_open_missing_without_create(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFoundError, match=r"crystal store not found"):
        CrystalStore(tmp_path / "absent.db", create=False)
    assert list(tmp_path.iterdir()) == []


def test_create_in_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFoundError, match=r"the folder .*missing' does not"):
        CrystalStore(tmp_path / "missing" / "c.db")
    assert list(tmp_path.iterdir()) == []


def test_not_found_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        CrystalStore(tmp_path / "absent.db", create=False)


def test_new_store_layout(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    CrystalStore(path).close()
    connection = sqlite3.connect(path)
    try:
        assert (
            connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        )
        assert connection.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        stored = dict(
            connection.execute(
                "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"
            )
        )
    finally:
        connection.close()
    assert stored == {**TABLES, **INDEXES, **TRIGGERS}


def test_open_valid_store_keeps_file(store_path: Path) -> None:
    before = snapshot(store_path.parent)
    with CrystalStore(store_path, create=False) as store:
        assert store.summary().n_events == 8
    assert snapshot(store_path.parent) == before
