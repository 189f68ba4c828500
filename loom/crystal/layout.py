"""The file layout of a crystal store (format 1), and opening and creating the file.

The SQLite header carries the application id ``LOOM`` (0x4C4F4F4D) at offset 68 and
the format version in ``user_version``; the database is in WAL mode. Opening checks
the header bytes before SQLite touches the file, so a foreign, newer or damaged file
is rejected without being changed. Damage inside pages that opening does not read is
found by `loom.crystal.verification.verify`.

===============  ========================================================
table            rows
===============  ========================================================
meta             ``format`` and ``application``
schemas          fingerprint and canonical JSON of each schema in use
crystals         one per crystal: id, text, target, fingerprints, and
                 ``record``, the canonical JSON of its ``crystallized``
                 event's data
events           seq (1, 2, ...), kind, crystal id, time, previous hash,
                 hash, and ``body``, the canonical JSON that is hashed
evidence_totals  one per event with evidence: the crystal's ``seq``, the
                 number of scenarios, and ``n_applies`` and ``n_holds``
                 summed over them; the scenarios are in the event's body
===============  ========================================================

Every table has triggers that reject UPDATE and DELETE.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
from pathlib import Path

from loom.exceptions import (
    NotAStoreError,
    StoreCorruptError,
    StoreError,
    StoreNotFoundError,
    StoreVersionError,
)

__all__ = [
    "APPLICATION_ID",
    "FORMAT_VERSION",
    "INDEXES",
    "META",
    "TABLES",
    "TRIGGERS",
    "create_store_file",
    "open_store_file",
    "translate_error",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
APPLICATION_ID = 0x4C4F4F4D  # "LOOM" in ASCII

_SQLITE_MAGIC = b"SQLite format 3\x00"

# The verifier compares the stored definitions with these texts, so they must
# not change within a format version.

TABLES: dict[str, str] = {
    "meta": (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID"
    ),
    "schemas": (
        "CREATE TABLE schemas (fingerprint TEXT PRIMARY KEY, json TEXT NOT NULL) "
        "WITHOUT ROWID"
    ),
    "crystals": (
        "CREATE TABLE crystals (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
        "event_seq INTEGER NOT NULL UNIQUE, text TEXT NOT NULL, target TEXT, "
        "schema_fingerprint TEXT NOT NULL, dataset_fingerprint TEXT NOT NULL, "
        "backbone_fingerprint TEXT, record TEXT NOT NULL)"
    ),
    "events": (
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
        "crystal_id TEXT NOT NULL, time TEXT NOT NULL, prev_hash TEXT NOT NULL, "
        "hash TEXT NOT NULL, body TEXT NOT NULL)"
    ),
    "evidence_totals": (
        "CREATE TABLE evidence_totals (event_seq INTEGER PRIMARY KEY, "
        "crystal_seq INTEGER NOT NULL, n_scenarios INTEGER NOT NULL, "
        "n_applies INTEGER NOT NULL, n_holds INTEGER NOT NULL)"
    ),
}

INDEXES: dict[str, str] = {
    "events_by_crystal": "CREATE INDEX events_by_crystal ON events (crystal_id, kind)",
    "evidence_totals_by_crystal": (
        "CREATE INDEX evidence_totals_by_crystal ON evidence_totals (crystal_seq)"
    ),
    "crystals_by_target": "CREATE INDEX crystals_by_target ON crystals (target)",
    "crystals_by_schema": (
        "CREATE INDEX crystals_by_schema ON crystals (schema_fingerprint)"
    ),
}


def _trigger_sql(table: str, operation: str) -> str:
    return (
        f"CREATE TRIGGER {table}_reject_{operation.lower()} BEFORE {operation} ON "
        f"{table} BEGIN SELECT RAISE(ABORT, 'the {table} table of a Loom crystal "
        f"store is append-only: {operation} is rejected'); END"
    )


TRIGGERS: dict[str, str] = {
    f"{table}_reject_{operation.lower()}": _trigger_sql(table, operation)
    for table in TABLES
    for operation in ("UPDATE", "DELETE")
}

META: dict[str, str] = {
    "application": "loom crystal store",
    "format": str(FORMAT_VERSION),
}


def create_store_file(path: Path) -> None:
    """Create a store at `path` through a complete temporary file, then link it in.

    When another process creates the same path first, its store is kept.
    """
    folder = path.parent
    if not folder.is_dir():
        msg = (
            f"cannot create the crystal store {str(path)!r}: the folder "
            f"{str(folder)!r} does not exist."
        )
        raise StoreNotFoundError(msg)
    handle, name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".creating", dir=folder
    )
    os.close(handle)
    temporary = Path(name)
    try:
        connection = sqlite3.connect(temporary, isolation_level=None)
        try:
            statements = [
                "BEGIN",
                f"PRAGMA application_id = {APPLICATION_ID}",
                f"PRAGMA user_version = {FORMAT_VERSION}",
                *TABLES.values(),
                *INDEXES.values(),
            ]
            for statement in statements:
                connection.execute(statement)
            connection.executemany(
                "INSERT INTO meta VALUES (?, ?)", sorted(META.items())
            )
            for statement in TRIGGERS.values():
                connection.execute(statement)
            connection.execute("COMMIT")
            connection.execute("PRAGMA journal_mode = WAL")
        finally:
            connection.close()
        try:
            os.link(temporary, path)
        except FileExistsError:
            logger.debug("crystal store %s was created by another process", path)
        except OSError:
            # NOTE: without hard links a concurrent creator can lose its store here.
            if not path.exists():
                os.replace(temporary, path)
        else:
            logger.info("created crystal store %s", path)
    finally:
        temporary.unlink(missing_ok=True)


def open_store_file(path: Path, timeout: float) -> sqlite3.Connection:
    """Check the file's header, then open it and check its tables; change nothing."""
    _check_header(path)
    try:
        connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    except sqlite3.Error as err:
        raise translate_error(err, path, timeout) from err
    try:
        _check_database(connection, path)
        connection.execute("PRAGMA synchronous = FULL")
    except BaseException:
        connection.close()
        raise
    return connection


def _check_header(path: Path) -> None:
    """Read the SQLite header directly, so that a foreign file is never opened.

    Offsets are those of the database header in the SQLite file format: page size
    at 16, change counter at 24, page count at 28, ``user_version`` at 60,
    application id at 68 and the version-valid-for number at 92, all big-endian.
    """
    where = str(path)
    if not path.is_file():
        msg = f"{where!r} is not a file, so it is not a Loom crystal store."
        raise NotAStoreError(msg)
    size = path.stat().st_size
    with open(path, "rb") as stream:
        header = stream.read(100)

    if not header.startswith(_SQLITE_MAGIC):
        kind = "an empty file" if size == 0 else "not an SQLite database"
        msg = (
            f"{where!r} is not a Loom crystal store: it is {kind}. Pass the path of a "
            "store, or a path that does not exist yet to create one."
        )
        raise NotAStoreError(msg)
    if len(header) < 100:
        msg = f"{where!r} is corrupt: its SQLite header is cut off at {size} bytes."
        raise StoreCorruptError(msg)
    application = int.from_bytes(header[68:72], "big")
    if application != APPLICATION_ID:
        msg = (
            f"{where!r} is an SQLite database of another application (application id "
            f"{application:#x}), not a Loom crystal store. Pass the path of a store."
        )
        raise NotAStoreError(msg)
    _check_version(int.from_bytes(header[60:64], "big"), path)
    _check_size(header, size, path)


def _check_size(header: bytes, size: int, path: Path) -> None:
    """Check that the file has whole pages, and as many as its header counts."""
    where = str(path)
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        msg = f"{where!r} is corrupt: its header gives the page size {page_size}."
        raise StoreCorruptError(msg)
    if size % page_size:
        msg = f"{where!r} is corrupt: {size} bytes is not a whole number of pages."
        raise StoreCorruptError(msg)

    # The header's page count is valid when its version field matches the change
    # counter. A write-ahead log that is not yet copied back can make it run ahead.
    wal = Path(f"{path}-wal")
    has_log = wal.exists() and wal.stat().st_size > 0
    pages = int.from_bytes(header[28:32], "big")
    if header[92:96] == header[24:28] and not has_log and size < pages * page_size:
        msg = (
            f"{where!r} is corrupt: it has {size} bytes but its header counts "
            f"{pages} pages of {page_size} bytes. Restore it from a copy."
        )
        raise StoreCorruptError(msg)


def _check_version(version: int, path: Path) -> None:
    if version > FORMAT_VERSION:
        msg = (
            f"{str(path)!r} is a crystal store of format {version}; this Loom reads "
            f"format {FORMAT_VERSION}. Upgrade Loom to open it."
        )
        raise StoreVersionError(msg)
    if version < 1:
        msg = f"{str(path)!r} is corrupt: it has the store format {version}."
        raise StoreCorruptError(msg)


def _check_database(connection: sqlite3.Connection, path: Path) -> None:
    try:
        application = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        names = {
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        }
        # Reading the newest event walks the events tree, so a damaged one fails now.
        connection.execute("SELECT max(seq) FROM events").fetchone()
    except sqlite3.Error as err:
        raise translate_error(err, path, 0.0) from err
    if application != APPLICATION_ID:
        msg = (
            f"{str(path)!r} is not a Loom crystal store (application id "
            f"{application:#x})."
        )
        raise NotAStoreError(msg)
    _check_version(version, path)
    missing = sorted(set(TABLES) - names)
    if missing:
        msg = (
            f"{str(path)!r} is corrupt: it lacks the tables {missing}. Restore it "
            "from a copy."
        )
        raise StoreCorruptError(msg)


def translate_error(err: sqlite3.Error, path: Path, timeout: float) -> StoreError:
    """Return the store error for an sqlite3 error, with the path and what to do."""
    text = str(err)
    where = str(path)
    if isinstance(err, sqlite3.OperationalError) and (
        "locked" in text or "busy" in text
    ):
        msg = (
            f"timed out after {timeout:g} s waiting for another process to finish "
            f"writing {where!r}; retry, or pass a longer timeout."
        )
        return StoreError(msg)
    if type(err) is sqlite3.DatabaseError or "malformed" in text:
        msg = f"{where!r} is corrupt: SQLite reports {text!r}. Restore it from a copy."
        return StoreCorruptError(msg)
    msg = f"SQLite failed on {where!r}: {text}."
    return StoreError(msg)
