"""Tests of audit exports and the view of one crystal: content, determinism, one
crystal's part, and atomic files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest

from loom.constraints.serialize import canonical_json
from loom.crystal import CrystalStore
from loom.crystal.audit import CSV_COLUMNS, EXPORT_FORMATS, export, export_file, show
from loom.exceptions import CrystalLookupError, InvalidParameterError
from tests.crystal.conftest import RULES, build_store


def exported(store: CrystalStore, format: str, crystal: str | None = None) -> str:
    out = io.StringIO()
    export(store, out, format=format, crystal=crystal)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("format", EXPORT_FORMATS)
def test_export_identical_for_identical_stores(tmp_path: Path, format: str) -> None:
    paths = [tmp_path / "first.db", tmp_path / "second.db"]
    texts = []
    for path in paths:
        with build_store(path) as store:
            texts.append(exported(store, format))
            assert exported(store, format) == texts[-1]
    assert texts[0] == texts[1]
    assert "first" not in texts[0]


def test_jsonl_lines_check_independently(filled_store: CrystalStore) -> None:
    lines = exported(filled_store, "jsonl").splitlines()
    assert len(lines) == 8
    previous = "0" * 64
    for number, line in enumerate(lines, start=1):
        record = json.loads(line)
        assert canonical_json(record) == line
        body = canonical_json(record["event"])
        assert hashlib.sha256(body.encode()).hexdigest() == record["hash"]
        assert record["event"]["prev"] == previous
        assert record["event"]["seq"] == number
        previous = record["hash"]


def test_jsonl_one_crystal(filled_store: CrystalStore) -> None:
    crystal = filled_store.crystals()[0]
    lines = exported(filled_store, "jsonl", crystal.id[:8]).splitlines()
    events = [json.loads(line)["event"] for line in lines]
    assert [event["kind"] for event in events] == ["crystallized", "evidence_added"]
    assert {event["crystal"] for event in events} == {crystal.id}


def test_csv_rows_per_evidence(filled_store: CrystalStore) -> None:
    rows = list(csv.DictReader(io.StringIO(exported(filled_store, "csv"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    # 12 evidence records, plus one row for each of the 2 events without evidence.
    assert len(rows) == 14
    first = rows[0]
    assert first["constraint"] == RULES[0]
    assert (first["scenario"], first["n_applies"], first["n_holds"]) == (
        "fold 1/2",
        "40",
        "39",
    )
    assert float(first["confidence"]) == 39 / 40
    superseded = [row for row in rows if row["kind"] == "superseded"]
    assert superseded[0]["detail"].startswith("superseded by ")
    assert superseded[0]["detail"].endswith(": more general")
    assert superseded[0]["scenario"] == ""


def test_markdown_report_per_crystal(filled_store: CrystalStore) -> None:
    text = exported(filled_store, "md")
    assert text.startswith("# Loom audit trail\n")
    assert "| crystals | 4 (2 active, 1 superseded, 1 retired) |" in text
    assert text.count("\n## ") == 4
    assert "## 1. `if rain then wet`" in text
    assert "| 1 | fold 1/2 | 100 | 40 | 39 | 0.975 | 1.625 |" in text
    # The code span's fence is longer than the longest run of backticks inside.
    assert "## 4. ```atmost(1: rain, cold, `odd | name \\`x\\``)```" in text
    assert "| 8 | 2026-01-02T03:04:" in text


def test_markdown_one_crystal(filled_store: CrystalStore) -> None:
    crystal = filled_store.crystals()[1]
    text = exported(filled_store, "md", crystal.id)
    assert text.count("\n## ") == 1
    assert f"- id: `{crystal.id}`" in text
    assert "- status: retired" in text
    assert "contradicted by new data" in text


def test_export_rejects_bad_format(filled_store: CrystalStore) -> None:
    with pytest.raises(
        InvalidParameterError, match=r"one of jsonl, csv, md; got 'xml'"
    ):
        exported(filled_store, "xml")


def test_export_rejects_unknown_crystal(filled_store: CrystalStore) -> None:
    with pytest.raises(CrystalLookupError, match=r"no crystal with id 'abcdef'"):
        exported(filled_store, "csv", "abcdef")


def test_export_file_writes_and_replaces(
    filled_store: CrystalStore, tmp_path: Path
) -> None:
    target = tmp_path / "audit.csv"
    target.write_text("old")
    count = export_file(filled_store, target, format="csv")
    assert count == 8
    assert target.read_text(encoding="utf-8") == exported(filled_store, "csv")
    assert b"\r\n" not in target.read_bytes()


def test_export_file_keeps_old_on_error(
    filled_store: CrystalStore, tmp_path: Path
) -> None:
    target = tmp_path / "audit.md"
    target.write_text("old")
    with pytest.raises(CrystalLookupError, match="no crystal"):
        export_file(filled_store, target, format="md", crystal="ffff")
    assert target.read_text() == "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "audit.md",
        "filled.db",
        "filled.db-shm",
        "filled.db-wal",
    ]


def test_show_lists_evidence_and_events(filled_store: CrystalStore) -> None:
    crystal = filled_store.crystals()[2]
    text = show(filled_store, crystal.id[:6])
    lines = text.splitlines()
    assert lines[0] == f"crystal {crystal.id}"
    assert lines[1].split() == ["constraint", *RULES[2].split()]
    assert "  status       superseded" in lines
    assert any(line.split()[:4] == ["3", "fold", "1/2", "100"] for line in lines)
    assert lines[-1].split()[2] == "superseded"
    assert lines[-1].endswith(": more general")
