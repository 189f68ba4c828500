"""Tests of `CrystalStore` on real SQLite files: round trips, evidence on re-adding,
retiring and superseding, batches, triggers, a writer killed mid-batch and two
writers at once.
"""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loom import parse
from loom.crystal import (
    Candidate,
    CrystalStore,
    Provenance,
    crystal_id,
    warn_foreign_crystals,
)
from loom.crystal.audit import export
from loom.crystal.layout import TABLES
from loom.crystal.records import GENESIS_HASH, event_hash
from loom.exceptions import (
    CrystalLookupError,
    CrystalStateError,
    ForeignCrystalWarning,
    InvalidParameterError,
    StoreError,
    UnknownFeatureError,
)
from tests.crystal.conftest import (
    DATASET,
    OTHER_DATASET,
    RULES,
    SCHEMA,
    candidates,
    make_evidence,
)

StoreFactory = Callable[..., CrystalStore]
ROOT = Path(__file__).resolve().parents[2]


def jsonl(store: CrystalStore) -> str:
    out = io.StringIO()
    export(store, out, format="jsonl")
    return out.getvalue()


# ---------------------------------------------------------------------------
# Round trips


def test_add_then_reopen_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "crystals.db"
    provenance = Provenance(SCHEMA, DATASET, "b" * 8, {"depth": [1, 2]}, seed=11)
    offered = candidates()
    offered[0] = Candidate(
        offered[0].constraint,
        offered[0].evidence,
        parents=("rain", "if rain then cold"),
    )
    with CrystalStore(path) as store:
        events = store.add(offered, provenance)
        before = store.crystals()
    with CrystalStore(path, create=False) as store:
        after = store.crystals()
        logged = list(store.events())
    assert after == before
    assert [event.kind for event in events] == ["crystallized"] * len(RULES)
    assert logged == events
    for crystal, candidate in zip(after, offered, strict=True):
        assert crystal.constraint == candidate.constraint
        assert crystal.text == str(candidate.constraint)
        assert crystal.id == crystal_id(crystal.text, SCHEMA.fingerprint)
        assert crystal.evidence == candidate.evidence
        assert crystal.target == candidate.target
        assert crystal.options == {"depth": [1, 2]}
        assert crystal.seed == 11
        assert crystal.backbone_fingerprint == "b" * 8
        assert crystal.status == "active"
    assert after[0].parents == ("rain", "if rain then cold")
    assert [crystal.seq for crystal in after] == [1, 2, 3, 4]


def test_events_form_hash_chain(filled_store: CrystalStore) -> None:
    previous = GENESIS_HASH
    events = list(filled_store.events())
    assert [event.seq for event in events] == list(range(1, 9))
    for event in events:
        assert event.prev_hash == previous
        assert event.hash == event_hash(event.body)
        previous = event.hash
    assert filled_store.summary().head == previous


def test_readding_adds_evidence_not_crystal(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.add(candidates(), Provenance(SCHEMA, DATASET))
    more = [Candidate(RULES[0], (make_evidence(10, 9, "window 3"),))]
    (event,) = store.add(more, Provenance(SCHEMA, OTHER_DATASET, seed=2))
    assert event.kind == "evidence_added"
    assert event.data["dataset_fingerprint"] == OTHER_DATASET
    assert event.data["seed"] == 2
    assert store.summary().n_crystals == len(RULES)
    records = store.evidence(event.crystal_id)
    assert [seq for seq, _ in records] == [1, 1, event.seq]
    assert records[-1][1] == make_evidence(10, 9, "window 3")


def test_add_nothing_writes_nothing(store_factory: StoreFactory) -> None:
    store = store_factory()
    assert store.add([], Provenance(SCHEMA, DATASET)) == []
    summary = store.summary()
    assert summary.n_events == 0
    assert store._fetch_one("SELECT count(*) FROM schemas")[0] == 0


def test_repeat_within_batch_adds_evidence(store_factory: StoreFactory) -> None:
    store = store_factory()
    events = store.add(candidates(RULES[:1]) * 3, Provenance(SCHEMA, DATASET))
    kinds = [event.kind for event in events]
    assert kinds == ["crystallized", "evidence_added", "evidence_added"]
    assert len(store.crystals()) == 1


def test_same_text_other_schema_new_id(store_factory: StoreFactory) -> None:
    store = store_factory()
    other = SCHEMA.with_features(SCHEMA.features[:4] + SCHEMA.features[5:])
    (first,) = store.add(candidates(RULES[:1]), Provenance(SCHEMA, DATASET))
    (second,) = store.add(candidates(RULES[:1]), Provenance(other, DATASET))
    assert second.kind == "crystallized"
    assert first.crystal_id != second.crystal_id
    assert store.schema(other.fingerprint) == other
    assert len(store.active(schema_fingerprint=other.fingerprint)) == 1


def test_active_filters(filled_store: CrystalStore) -> None:
    texts = [crystal.text for crystal in filled_store.active()]
    assert texts == [RULES[0], RULES[3]]
    retired = filled_store.crystals(status="retired")
    assert [crystal.text for crystal in retired] == [RULES[1]]
    assert [c.text for c in filled_store.crystals(target="y")] == [RULES[1]]
    assert filled_store.active(target="y") == []
    assert filled_store.active(schema_fingerprint="0" * 64) == []
    with pytest.raises(InvalidParameterError, match=r"status must be 'active'"):
        filled_store.crystals(status="gone")  # type: ignore[arg-type]


def test_constraint_items_pool_active_evidence(filled_store: CrystalStore) -> None:
    items = filled_store.constraint_items()
    assert [text for _, text, _ in items] == [parse(RULES[0]), parse(RULES[3])]
    first_id, _, confidence = items[0]
    assert first_id == filled_store.active()[0].id
    # RULES[0] held on 39 of 40 and 50 of 50 rows, recorded twice (two events).
    assert confidence == pytest.approx((39 + 50) * 2 / ((40 + 50) * 2))
    _, _, last = items[1]
    assert last == pytest.approx((42 + 53) / (43 + 53))


def test_constraint_items_without_applying_rows(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.add([Candidate("rain")], Provenance(SCHEMA, DATASET))
    assert store.constraint_items() == [(store.active()[0].id, parse("rain"), None)]


def test_summary_counts(filled_store: CrystalStore) -> None:
    summary = filled_store.summary()
    assert summary.n_crystals == 4
    assert (summary.n_active, summary.n_superseded, summary.n_retired) == (2, 1, 1)
    assert summary.n_events == 8
    assert summary.n_evidence == 12


# ---------------------------------------------------------------------------
# Lookup


def test_get_by_prefix(filled_store: CrystalStore) -> None:
    crystal = filled_store.active()[0]
    assert filled_store.get(crystal.id[:4]) == crystal
    assert filled_store.get(crystal.id.upper()) == crystal


@pytest.mark.parametrize(
    ("reference", "match"),
    [
        ("abc", r"prefix 'abc' is too short; give at least 4 hex digits"),
        ("xyz12", r"a crystal id is up to 64 hex digits, got 'xyz12'"),
        ("0" * 65, r"a crystal id is up to 64 hex digits"),
        ("ffffffff", r"no crystal with id 'ffffffff' in"),
    ],
    ids=["short", "not-hex", "too-long", "unknown"],
)
def test_get_rejects_bad_reference(
    filled_store: CrystalStore, reference: str, match: str
) -> None:
    with pytest.raises(CrystalLookupError, match=match):
        filled_store.get(reference)


def test_get_ambiguous_prefix(store_factory: StoreFactory) -> None:
    # Find two constraints whose ids share their first four hex digits.
    seen: dict[str, str] = {}
    for bound in range(100_000):
        text = str(parse(f"atleast({bound}: rain, wet)"))
        prefix = crystal_id(text, SCHEMA.fingerprint)[:4]
        if prefix in seen:
            break
        seen[prefix] = text
    store = store_factory()
    store.add([Candidate(seen[prefix]), Candidate(text)], Provenance(SCHEMA, DATASET))
    with pytest.raises(CrystalLookupError, match=rf"'{prefix}' matches several"):
        store.get(prefix)


def test_lookup_error_is_key_error(filled_store: CrystalStore) -> None:
    with pytest.raises(KeyError, match="no crystal"):
        filled_store.get("ffff")


# ---------------------------------------------------------------------------
# Retire and supersede


def test_retire_and_supersede_states(filled_store: CrystalStore) -> None:
    statuses = [crystal.status for crystal in filled_store.crystals()]
    assert statuses == ["active", "retired", "superseded", "active"]
    events = list(filled_store.events())
    assert events[-2].kind == "superseded"
    assert events[-2].data["by"] == filled_store.crystals()[3].id
    assert events[-1].data == {"reason": "contradicted by new data"}


def test_retire_twice_rejected(filled_store: CrystalStore) -> None:
    retired = filled_store.crystals(status="retired")[0]
    with pytest.raises(CrystalStateError, match=r"cannot retire .* already retired"):
        filled_store.retire(retired.id)
    assert filled_store.summary().n_events == 8


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        (0, 0, r"cannot supersede itself"),
        (1, 0, r"cannot supersede crystal .* already retired"),
        (0, 2, r"cannot supersede another crystal with crystal .* already superseded"),
    ],
    ids=["itself", "retired", "by-superseded"],
)
def test_supersede_rejected(
    filled_store: CrystalStore, old: int, new: int, match: str
) -> None:
    crystals = filled_store.crystals()
    with pytest.raises(CrystalStateError, match=match):
        filled_store.supersede(crystals[old].id, crystals[new].id)
    assert filled_store.summary().n_events == 8


def test_readding_retired_keeps_it_retired(filled_store: CrystalStore) -> None:
    retired = filled_store.crystals(status="retired")[0]
    (event,) = filled_store.add([Candidate(retired.text)], Provenance(SCHEMA, DATASET))
    assert event.kind == "evidence_added"
    assert filled_store.get(retired.id).status == "retired"


# ---------------------------------------------------------------------------
# Input checks


def test_add_rejects_unknown_feature(store_factory: StoreFactory) -> None:
    store = store_factory()
    offered = [*candidates(), Candidate("if rain then umbrella")]
    with pytest.raises(UnknownFeatureError, match=r"names the feature 'umbrella'"):
        store.add(offered, Provenance(SCHEMA, DATASET))
    assert store.summary().n_events == 0
    with pytest.raises(UnknownFeatureError, match=r"the target 'z' of 'rain'"):
        store.add([Candidate("rain", target="z")], Provenance(SCHEMA, DATASET))


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"dataset_fingerprint": "abc"}, r"dataset_fingerprint must be 64 lowercase"),
        ({"backbone_fingerprint": ""}, r"backbone_fingerprint must be a non-empty"),
        ({"options": {"a": float("nan")}}, r"options must hold only JSON values"),
        ({"options": {1: "a"}}, r"options keys must be strings"),
        ({"options": {"f": print}}, r"options must hold only JSON values"),
        ({"seed": 1.5}, r"seed must be an int or None, got 1\.5"),
    ],
    ids=[
        "short-fingerprint",
        "empty-backbone",
        "nan",
        "int-key",
        "function",
        "float-seed",
    ],
)
def test_provenance_rejects_bad_fields(arguments: dict, match: str) -> None:
    fields = {"schema": SCHEMA, "dataset_fingerprint": DATASET, **arguments}
    with pytest.raises(InvalidParameterError, match=match):
        Provenance(**fields)


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"evidence": ("strong",)}, r"Candidate\.evidence must hold Evidence"),
        ({"target": ""}, r"Candidate\.target must be None or a feature name"),
        ({"parents": "rain"}, r"Candidate\.parents must be a sequence"),
    ],
    ids=["evidence", "target", "parents-string"],
)
def test_candidate_rejects_bad_fields(arguments: dict, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        Candidate("rain", **arguments)


def test_clock_must_be_aware(tmp_path: Path) -> None:
    from datetime import datetime

    with CrystalStore(tmp_path / "c.db", clock=datetime.now) as store:
        with pytest.raises(InvalidParameterError, match=r"aware datetime"):
            store.add(candidates(), Provenance(SCHEMA, DATASET))
        assert store.summary().n_events == 0


# ---------------------------------------------------------------------------
# Batches and lifecycle


def retire_first_then_fail(store: CrystalStore) -> None:
    """Add the later rules and retire the first one in a batch, then raise."""
    with store.batch():
        store.add(candidates(RULES[1:]), Provenance(SCHEMA, DATASET))
        store.retire(store.crystals()[0].id)
        msg = "stop after two changes"
        raise RuntimeError(msg)


def test_batch_failure_stores_nothing(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.add(candidates(RULES[:1]), Provenance(SCHEMA, DATASET))
    before = jsonl(store)
    with pytest.raises(RuntimeError, match="stop after two changes"):
        retire_first_then_fail(store)
    assert jsonl(store) == before
    (event,) = store.add(candidates(RULES[1:2]), Provenance(SCHEMA, DATASET))
    assert event.seq == 2


def retire_first_twice(store: CrystalStore) -> None:
    """Add a rule and retire the first crystal twice in one batch."""
    with store.batch():
        store.add(candidates(RULES[1:2]), Provenance(SCHEMA, DATASET))
        store.retire(store.crystals()[0].id)
        store.retire(store.crystals()[0].id)


def test_nested_batch_failure_keeps_outer(store_factory: StoreFactory) -> None:
    store = store_factory()
    with store.batch():
        store.add(candidates(RULES[:1]), Provenance(SCHEMA, DATASET))
        with pytest.raises(CrystalStateError, match="already retired"):
            retire_first_twice(store)
        store.add(candidates(RULES[2:3]), Provenance(SCHEMA, DATASET))
    texts = [crystal.text for crystal in store.crystals()]
    assert texts == [RULES[0], RULES[2]]
    assert [event.seq for event in store.events()] == [1, 2]
    assert store.verify().ok


def test_close_is_idempotent(tmp_path: Path) -> None:
    store = CrystalStore(tmp_path / "c.db")
    with store:
        assert not store.closed
    assert store.closed
    store.close()
    with pytest.raises(StoreError, match=r"is closed; open it again"):
        store.active()
    assert "closed" in repr(store)


def test_create_leaves_only_store_file(tmp_path: Path) -> None:
    CrystalStore(tmp_path / "c.db").close()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["c.db"]
    header = (tmp_path / "c.db").read_bytes()[:100]
    assert header[68:72] == b"LOOM"
    assert header[18:20] == b"\x02\x02"  # WAL mode


# ---------------------------------------------------------------------------
# Triggers


@pytest.mark.parametrize("table", sorted(TABLES))
@pytest.mark.parametrize("operation", ["UPDATE", "DELETE"])
def test_triggers_reject_changes(
    filled_store: CrystalStore, table: str, operation: str
) -> None:
    path = filled_store.path
    filled_store.close()
    connection = sqlite3.connect(path)
    try:
        column = connection.execute(f"SELECT * FROM {table}").description[0][0]
        sql = f"DELETE FROM {table}"
        if operation == "UPDATE":
            sql = f"UPDATE {table} SET {column} = {column}"
        with pytest.raises(sqlite3.IntegrityError, match=rf"append-only: {operation}"):
            connection.execute(sql)
    finally:
        connection.close()
    with CrystalStore(path) as store:
        assert store.verify().ok


# ---------------------------------------------------------------------------
# Foreign crystals


def test_warn_foreign_names_both_fingerprints(filled_store: CrystalStore) -> None:
    crystals = filled_store.active()
    with pytest.warns(ForeignCrystalWarning) as caught:
        foreign = warn_foreign_crystals(
            crystals, dataset_fingerprint=OTHER_DATASET, backbone_fingerprint="net1"
        )
    assert len(caught) == 1
    message = str(caught[0].message)
    assert f"applied to data set {OTHER_DATASET} with backbone net1" in message
    assert f"2 on data set {DATASET} with backbone none" in message
    assert foreign == crystals


def test_warn_foreign_silent_on_same_data(filled_store: CrystalStore) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        foreign = warn_foreign_crystals(
            filled_store.active(), dataset_fingerprint=DATASET
        )
    assert foreign == []


# ---------------------------------------------------------------------------
# Processes


WRITER = """
import sys, time
from loom.crystal import Candidate, CrystalStore, Provenance
from loom.data import FeatureSpec, Schema

path, name, count, size, pause = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
schema = Schema(tuple(
    FeatureSpec(f"f{i}", "boolean", values=("false", "true")) for i in range(8)
))
provenance = Provenance(schema, "d" * 64, seed=int(count))
store = CrystalStore(path, timeout=60)
print("ready", flush=True)
while not (pause or __import__("os").path.exists(path + ".go")):
    time.sleep(0.01)
for batch in range(count):
    offered = [
        Candidate(f"atleast({batch * size + i}: f{len(name)}, f{ord(name) % 8})")
        for i in range(size)
    ]
    if pause and batch == count - 1:
        with store.batch():
            store.add(offered, provenance)
            print("inside", flush=True)
            time.sleep(600)
    store.add(offered, provenance)
    print("committed", batch, flush=True)
"""


def start_writer(
    path: Path, name: str, count: int, size: int, pause: int
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            WRITER,
            str(path),
            name,
            str(count),
            str(size),
            str(pause),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def stop(process: subprocess.Popen[str]) -> None:
    """Kill the process if it still runs, reap it and close its pipes."""
    process.kill()
    process.wait(timeout=60)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def read_until(process: subprocess.Popen[str], word: str) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(word):
            return
    errors = process.stderr.read() if process.stderr else ""
    pytest.fail(f"the writer ended before printing {word!r}: {errors}")


def test_kill_inside_batch_leaves_store_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "crystals.db"
    writer = start_writer(path, "k", count=3, size=2000, pause=1)
    try:
        read_until(writer, "inside")
        with CrystalStore(path) as store:
            before = jsonl(store)
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        stop(writer)
    assert writer.returncode == -signal.SIGKILL
    with CrystalStore(path) as store:
        assert jsonl(store) == before
        summary = store.summary()
        result = store.verify()
    assert summary.n_events == 2 * 2000
    assert summary.n_crystals == 2 * 2000
    assert result.ok, result.summary()


def test_kill_during_writes_keeps_whole_batches(tmp_path: Path) -> None:
    path = tmp_path / "crystals.db"
    writer = start_writer(path, "w", count=10_000, size=300, pause=0)
    try:
        read_until(writer, "ready")
        path.with_name(path.name + ".go").touch()
        read_until(writer, "committed")
        time.sleep(0.05)
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        stop(writer)
    with CrystalStore(path) as store:
        summary = store.summary()
        result = store.verify()
    assert summary.n_events > 0
    assert summary.n_events % 300 == 0
    assert result.ok, result.summary()


def test_two_writers_extend_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "crystals.db"
    CrystalStore(path).close()
    writers = [start_writer(path, name, count=40, size=25, pause=0) for name in "ab"]
    try:
        for writer in writers:
            read_until(writer, "ready")
        path.with_name(path.name + ".go").touch()
        outputs = [writer.communicate(timeout=300) for writer in writers]
    finally:
        for writer in writers:
            stop(writer)
    for writer, (_, errors) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, errors
    with CrystalStore(path) as store:
        result = store.verify()
        events = list(store.events())
    assert result.ok, result.summary()
    assert len(events) == 2 * 40 * 25
    assert [event.seq for event in events] == list(range(1, 2001))
    kinds = {event.kind for event in events}
    assert kinds <= {"crystallized", "evidence_added"}


# ---------------------------------------------------------------------------
# A property: any sequence of changes verifies after reopening


@given(
    st.lists(
        st.tuples(st.sampled_from(["add", "retire", "supersede"]), st.integers(0, 3)),
        min_size=1,
        max_size=8,
    )
)
@settings(max_examples=25, deadline=None)
def test_chain_verifies_after_reopen(steps: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "crystals.db"
        with CrystalStore(path) as store:
            for action, index in steps:
                active = store.active()
                if action == "add":
                    store.add(candidates(RULES[index:]), Provenance(SCHEMA, DATASET))
                elif action == "retire" and active:
                    store.retire(active[index % len(active)].id, reason=str(index))
                elif action == "supersede" and len(active) > 1:
                    old, new = active[index % len(active)], active[-1]
                    if old.id != new.id:
                        store.supersede(old.id, new.id)
            n_events = store.summary().n_events
        with CrystalStore(path, create=False) as store:
            result = store.verify()
            assert result.ok, result.summary()
            assert result.n_events == n_events
