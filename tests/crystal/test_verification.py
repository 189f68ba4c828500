"""Tests of `verify`: an intact store passes, and every edit made behind the store's
back through a raw SQLite connection or to the file's bytes is caught.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from loom.constraints.serialize import canonical_json
from loom.crystal import CrystalStore
from loom.crystal.records import event_hash
from loom.crystal.verification import MAX_PROBLEMS, Verification, verify
from tests.crystal.conftest import build_store


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A closed store built by `build_store`: 4 crystals, 8 events."""
    path = tmp_path / "crystals.db"
    build_store(path).close()
    return path


def check(path: Path, expected_head: str | None = None) -> Verification:
    with CrystalStore(path, create=False) as store:
        return verify(store, expected_head=expected_head)


class RawConnection:
    """A raw SQLite connection with the store's triggers dropped."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        triggers = self.connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        ).fetchall()
        for (name,) in triggers:
            self.connection.execute(f"DROP TRIGGER {name}")

    def run(self, sql: str, parameters: tuple[object, ...] = ()) -> None:
        self.connection.execute(sql, parameters)

    def body(self, seq: int) -> dict:
        (text,) = self.connection.execute(
            "SELECT body FROM events WHERE seq = ?", (seq,)
        ).fetchone()
        return json.loads(text)

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def raw(store_path: Path) -> Iterator[RawConnection]:
    connection = RawConnection(store_path)
    yield connection
    connection.close()


def test_intact_store_passes(store_path: Path) -> None:
    result = check(store_path)
    assert result.ok
    assert (result.n_crystals, result.n_events, result.n_evidence) == (4, 8, 12)
    assert result.first_bad_event is None
    assert result.summary().startswith(f"{store_path}: intact: 4 crystals, 8 events")
    assert result.summary().endswith(result.head)


def test_empty_store_passes(tmp_path: Path) -> None:
    with CrystalStore(tmp_path / "c.db") as store:
        result = store.verify()
    assert result.ok
    assert result.head == "0" * 64


def test_dropped_triggers_caught(store_path: Path, raw: RawConnection) -> None:
    result = check(store_path)
    assert not result.ok
    messages = [problem.message for problem in result.problems]
    assert "the trigger events_reject_update is missing" in messages
    assert "the trigger crystals_reject_delete is missing" in messages
    assert result.first_bad_event is None


def first_event_problem(result: Verification) -> str:
    problems = [p for p in result.problems if p.seq == result.first_bad_event]
    return problems[0].message


def test_changed_crystal_text_caught(store_path: Path, raw: RawConnection) -> None:
    raw.run("UPDATE crystals SET text = replace(text, 'wet', 'wat') WHERE seq = 1")
    result = check(store_path)
    assert result.first_bad_event == 1
    assert first_event_problem(result) == (
        "the crystal row's text is 'if rain then wat' but the event's is "
        "'if rain then wet'"
    )


def test_changed_byte_in_body_caught(store_path: Path, raw: RawConnection) -> None:
    raw.run(
        "UPDATE events SET body = replace(body, 'fold 2/2', 'fold 2/3') WHERE seq = 3"
    )
    result = check(store_path)
    assert result.first_bad_event == 3
    assert first_event_problem(result).startswith("hash mismatch: stored ")


def test_changed_evidence_total_caught(store_path: Path, raw: RawConnection) -> None:
    raw.run("UPDATE evidence_totals SET n_holds = n_holds - 1 WHERE event_seq = 2")
    result = check(store_path)
    assert result.first_bad_event == 2
    assert first_event_problem(result) == (
        "the evidence totals (crystal seq, scenarios, applies, holds) are "
        "(2, 2, 92, 90), but the event's evidence gives (2, 2, 92, 91)"
    )


def test_changed_evidence_count_caught(store_path: Path, raw: RawConnection) -> None:
    raw.run(
        "UPDATE events SET body = replace(body, '\"n_holds\":39', '\"n_holds\":40') "
        "WHERE seq = 1"
    )
    result = check(store_path)
    assert result.first_bad_event == 1
    messages = [p.message for p in result.problems if p.seq == 1]
    assert messages[0].startswith("hash mismatch")
    assert any(m.startswith("the crystal row's record differs") for m in messages)


def test_rehashed_evidence_breaks_chain(store_path: Path, raw: RawConnection) -> None:
    # A careful forger changes a count in the body and stores the body's new hash:
    # the event itself checks out, but the next event's link does not.
    content = raw.body(2)
    content["data"]["evidence"][0]["n_holds"] = 40
    content["data"]["evidence"][0]["confidence"] = 1.0
    body = canonical_json(content)
    raw.run(
        "UPDATE events SET body = ?, hash = ? WHERE seq = 2", (body, event_hash(body))
    )
    result = check(store_path)
    messages = [str(problem) for problem in result.problems]
    assert any(m.startswith("event 3") and "broken chain" in m for m in messages)
    assert result.first_bad_event == 2  # its lower bound no longer fits its counts


def test_malformed_evidence_caught(store_path: Path, raw: RawConnection) -> None:
    content = raw.body(5)
    del content["data"]["evidence"][1]["n_holds"]
    body = canonical_json(content)
    raw.run(
        "UPDATE events SET body = ?, hash = ? WHERE seq = 5", (body, event_hash(body))
    )
    result = check(store_path)
    messages = [p.message for p in result.problems if p.seq == 5]
    assert messages == [
        "evidence 1 is invalid: evidence needs exactly the keys ['n_applies', "
        "'n_conclusion', 'n_conclusion_true', 'n_holds', 'n_rows', 'scenario', 'z'], "
        "got ['n_applies', 'n_conclusion', 'n_conclusion_true', 'n_rows', "
        "'scenario', 'z']."
    ]


def test_deleted_event_caught(store_path: Path, raw: RawConnection) -> None:
    raw.run("DELETE FROM events WHERE seq = 6")
    result = check(store_path)
    assert result.first_bad_event == 6
    assert "event 6 is missing or out of order" in first_event_problem(result)


def test_deleted_last_event_needs_head(store_path: Path) -> None:
    head = check(store_path).head
    with_triggers_dropped = RawConnection(store_path)
    with_triggers_dropped.run("DELETE FROM events WHERE seq = 8")
    with_triggers_dropped.close()
    result = check(store_path, expected_head=head)
    assert any("events were cut from the end" in p.message for p in result.problems)


def test_reordered_events_caught(store_path: Path, raw: RawConnection) -> None:
    raw.run("UPDATE events SET seq = -1 WHERE seq = 3")
    raw.run("UPDATE events SET seq = 3 WHERE seq = 4")
    raw.run("UPDATE events SET seq = 4 WHERE seq = -1")
    result = check(store_path)
    assert result.first_bad_event == 3
    messages = [p.message for p in result.problems if p.seq == 3]
    assert "the body's seq is 4 but the row's is 3" in messages


def test_changed_id_caught(store_path: Path, raw: RawConnection) -> None:
    content = raw.body(1)
    content["data"]["crystal"]["text"] = "if rain then cold"
    body = canonical_json(content)
    raw.run(
        "UPDATE events SET body = ?, hash = ? WHERE seq = 1", (body, event_hash(body))
    )
    raw.run(
        "UPDATE crystals SET text = 'if rain then cold', record = ? WHERE seq = 1",
        (canonical_json(content["data"]),),
    )
    result = check(store_path)
    messages = [p.message for p in result.problems if p.seq == 1]
    assert any(m.startswith("the id does not match the text") for m in messages)
    assert any("is not the print of its tree" in m for m in messages)


def test_deleted_crystal_row_caught(store_path: Path, raw: RawConnection) -> None:
    raw.run("DELETE FROM crystals WHERE seq = 2")
    result = check(store_path)
    assert result.first_bad_event == 2
    assert first_event_problem(result) == "the crystallized event has no crystal row"


def test_extra_crystal_row_caught(store_path: Path, raw: RawConnection) -> None:
    raw.run(
        "INSERT INTO crystals (id, event_seq, text, target, schema_fingerprint, "
        "dataset_fingerprint, backbone_fingerprint, record) "
        "SELECT 'f' || substr(id, 2), 99, text, target, schema_fingerprint, "
        "dataset_fingerprint, backbone_fingerprint, record FROM crystals WHERE seq = 1"
    )
    result = check(store_path)
    orphans = [p for p in result.problems if "trigger" not in p.message]
    assert [p.message for p in orphans] == [
        "the crystal row points to event 99, which does not crystallize it"
    ]
    assert orphans[0].crystal_id is not None
    assert orphans[0].crystal_id.startswith("f")


def test_orphan_evidence_caught(store_path: Path, raw: RawConnection) -> None:
    raw.run("DELETE FROM events WHERE seq = 5")
    result = check(store_path)
    messages = [str(problem) for problem in result.problems]
    orphan = "event 5: the evidence totals of crystal seq 1 have no event"
    assert orphan in messages


def test_changed_schema_caught(store_path: Path, raw: RawConnection) -> None:
    raw.run("UPDATE schemas SET json = replace(json, 'winter', 'autumn')")
    result = check(store_path)
    assert any("does not hash to its fingerprint" in p.message for p in result.problems)


def test_changed_meta_caught(store_path: Path, raw: RawConnection) -> None:
    raw.run("UPDATE meta SET value = '2' WHERE key = 'format'")
    result = check(store_path)
    assert any(p.message.startswith("the meta table contains") for p in result.problems)


def test_extra_trigger_caught(store_path: Path, raw: RawConnection) -> None:
    raw.run("CREATE TRIGGER sneaky AFTER INSERT ON events BEGIN SELECT 1; END")
    result = check(store_path)
    assert any(
        p.message.startswith("unexpected schema object sneaky") for p in result.problems
    )


def test_changed_file_byte_caught(store_path: Path) -> None:
    data = bytearray(store_path.read_bytes())
    position = data.find(b"contradicted by new data")
    assert position > 0
    data[position] = ord("C")
    store_path.write_bytes(bytes(data))
    result = check(store_path)
    assert result.first_bad_event == 8
    assert first_event_problem(result).startswith("hash mismatch")


def test_garbled_index_page_caught(store_path: Path) -> None:
    # Opening reads the tables it needs but not this index, so only verify reads it.
    connection = sqlite3.connect(store_path)
    (root,) = connection.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'crystals_by_target'"
    ).fetchone()
    (page_size,) = connection.execute("PRAGMA page_size").fetchone()
    connection.close()
    data = bytearray(store_path.read_bytes())
    start = (root - 1) * page_size
    data[start : start + page_size] = b"\xff" * page_size
    store_path.write_bytes(bytes(data))
    result = check(store_path)
    assert not result.ok
    assert any("SQLite" in problem.message for problem in result.problems)


def test_problems_capped(store_path: Path, raw: RawConnection) -> None:
    raw.run("UPDATE events SET hash = 'x'")
    result = check(store_path)
    assert len(result.problems) == MAX_PROBLEMS
    assert "more problems" in result.summary()
