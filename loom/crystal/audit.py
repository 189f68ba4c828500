"""The audit trail of a crystal store: export, verification and a view of one crystal.

Exports stream the store in event or crystallization order, so their memory does not
grow with the store, and contain nothing but stored data: the same store gives
byte-identical files. Each JSONL line is ``{"event": <body>, "hash": <hash>}``, where
``<body>`` is the stored canonical JSON, so anyone can check a line by hashing the
canonical JSON of its ``event`` with SHA-256.

`verify` (from `loom.crystal.verification`) recomputes every hash and every id from
the stored text.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TextIO

from loom.constraints.serialize import canonical_json
from loom.crystal.evidence import Evidence
from loom.crystal.records import (
    EVIDENCE_COLUMNS,
    Crystal,
    Event,
)
from loom.crystal.store import CrystalStore
from loom.crystal.verification import Problem, Verification, verify
from loom.exceptions import InvalidParameterError, OutputError

__all__ = [
    "CSV_COLUMNS",
    "EXPORT_FORMATS",
    "Problem",
    "Verification",
    "export",
    "export_file",
    "show",
    "verify",
]

logger = logging.getLogger(__name__)

ExportFormat = Literal["jsonl", "csv", "md"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("jsonl", "csv", "md")

CSV_COLUMNS = (
    "seq",
    "time",
    "kind",
    "crystal_id",
    "constraint",
    "target",
    *EVIDENCE_COLUMNS,
    "confidence",
    "lift",
    "lower_bound",
    "detail",
    "prev_hash",
    "hash",
)

# ---------------------------------------------------------------------------
# Export


def export(
    store: CrystalStore,
    out: TextIO,
    *,
    format: ExportFormat = "jsonl",
    crystal: str | None = None,
) -> int:
    """Write the audit trail, or one crystal's part of it, to a text stream.

    Parameters
    ----------
    store : CrystalStore
    out : text stream
        Open it with ``newline=""`` or ``newline="\\n"`` so that line ends stay
        ``\\n`` on every platform.
    format : {'jsonl', 'csv', 'md'}, default='jsonl'
        ``jsonl``: one event per line. ``csv``: one row per evidence record, and
        one per event without evidence. ``md``: a report with, for each crystal,
        its provenance, a table of evidence per scenario and a table of events.
    crystal : str, optional
        Id or unique id prefix: export only this crystal's events.

    Returns
    -------
    int
        Events written.

    Raises
    ------
    InvalidParameterError
        If `format` is not one of `EXPORT_FORMATS`.
    CrystalLookupError
        If `crystal` matches no crystal, or several.
    """
    if format not in EXPORT_FORMATS:
        allowed = ", ".join(EXPORT_FORMATS)
        msg = f"export format must be one of {allowed}; got {format!r}."
        raise InvalidParameterError(msg)
    identity = None if crystal is None else store.resolve_id(crystal)
    if format == "jsonl":
        return _export_jsonl(store, out, identity)
    if format == "csv":
        return _export_csv(store, out, identity)
    return _export_markdown(store, out, identity)


def export_file(
    store: CrystalStore,
    path: str | os.PathLike[str],
    *,
    format: ExportFormat = "jsonl",
    crystal: str | None = None,
) -> int:
    """Export to a file, replacing it only once the export is complete.

    The file is UTF-8 with ``\\n`` line ends. See `export` for the parameters.
    """
    target = Path(os.fspath(path))
    try:
        handle, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".partial", dir=target.parent
        )
    except OSError as err:
        msg = f"cannot write the export to {str(target)!r}: {err.strerror or err}."
        raise OutputError(msg) from err
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            count = export(store, stream, format=format, crystal=crystal)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    logger.info("exported %s events of %s to %s", count, store.path, target)
    return count


def _event_rows(store: CrystalStore, identity: str | None) -> Iterator[Any]:
    """Yield (seq, kind, crystal id, time, prev, hash, body, text, target) rows."""
    query = (
        "SELECT e.seq, e.kind, e.crystal_id, e.time, e.prev_hash, e.hash, e.body, "
        "c.text, c.target FROM events e LEFT JOIN crystals c ON c.id = e.crystal_id"
    )
    parameters: tuple[str, ...] = ()
    if identity is not None:
        query += " WHERE e.crystal_id = ?"
        parameters = (identity,)
    return store._stream(f"{query} ORDER BY e.seq", parameters)


def _export_jsonl(store: CrystalStore, out: TextIO, identity: str | None) -> int:
    count = 0
    for row in _event_rows(store, identity):
        # The body is canonical JSON and "event" sorts before "hash", so the line
        # is itself canonical JSON.
        out.write(f'{{"event":{row[6]},"hash":"{row[5]}"}}\n')
        count += 1
    return count


def _export_csv(store: CrystalStore, out: TextIO, identity: str | None) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for seq, kind, crystal, time, prev, digest, body, text, target in _event_rows(
        store, identity
    ):
        data = json.loads(body)["data"]
        leading = [seq, time, kind, crystal, text, target]
        trailing = [_detail(kind, data), prev, digest]
        evidence = data.get("evidence") or [None]
        for entry in evidence:
            values: list[Any] = [None] * (len(EVIDENCE_COLUMNS) + 3)
            if entry is not None:
                item = Evidence.from_dict(entry)
                values = [entry[column] for column in EVIDENCE_COLUMNS]
                values += [item.confidence, item.lift, item.lower_bound]
            writer.writerow(_csv_cells([*leading, *values, *trailing]))
        count += 1
    return count


def _csv_cells(values: Sequence[Any]) -> list[str]:
    return ["" if value is None else str(value) for value in values]


def _detail(kind: str, data: dict[str, Any]) -> str:
    """Return a one-line description of what an event records besides evidence."""
    if kind == "superseded":
        return _join(f"superseded by {data['by']}", data["reason"])
    if kind == "retired":
        return data["reason"] or ""
    if kind == "evidence_added":
        return f"data set {data['dataset_fingerprint']}" + _backbone(
            data["backbone_fingerprint"]
        )
    return ""


def _join(first: str, second: str) -> str:
    return f"{first}: {second}" if second else first


def _backbone(fingerprint: str | None) -> str:
    return f", backbone {fingerprint}" if fingerprint else ""


# ---------------------------------------------------------------------------
# Markdown


def _export_markdown(store: CrystalStore, out: TextIO, identity: str | None) -> int:
    summary = store.summary()
    out.write("# Loom audit trail\n\n")
    out.write("| record | count |\n| --- | ---: |\n")
    out.write(
        f"| crystals | {summary.n_crystals} ({summary.n_active} active, "
        f"{summary.n_superseded} superseded, {summary.n_retired} retired) |\n"
    )
    out.write(f"| events | {summary.n_events} |\n")
    out.write(f"| evidence records | {summary.n_evidence} |\n\n")
    out.write(f"Head of the hash chain: `{summary.head}`.\n")
    if identity is not None:
        crystals: Iterator[Crystal] = iter([store.get(identity)])
    else:
        crystals = store.iter_crystals()
    count = 0
    for crystal in crystals:
        events = list(store.events(crystal=crystal.id))
        out.write("\n")
        out.write(_markdown_crystal(crystal, events))
        count += len(events)
    return count


def _markdown_crystal(crystal: Crystal, events: Sequence[Event]) -> str:
    lines = [
        f"## {crystal.seq}. {_code(crystal.text)}",
        "",
        f"- id: `{crystal.id}`",
        f"- status: {crystal.status}",
        f"- target: {_code(crystal.target) if crystal.target else 'none (invariant)'}",
        f"- crystallized: {crystal.time}",
        f"- schema: `{crystal.schema_fingerprint}`",
        f"- data set: `{crystal.dataset_fingerprint}`",
        f"- backbone: {_optional_code(crystal.backbone_fingerprint)}",
        f"- seed: {'none' if crystal.seed is None else crystal.seed}",
        f"- options: {_code(canonical_json(crystal.options))}",
        f"- parents: {', '.join(_code(p) for p in crystal.parents) or 'none'}",
        "",
        "Evidence per scenario (lower bound: Wilson score interval):",
        "",
        "| event | scenario | rows | applies | holds | confidence | lift | "
        "lower bound | z |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for event in events:
        for item in event.evidence:
            lines.append(
                f"| {event.seq} | {_cell(item.scenario)} | {item.n_rows} | "
                f"{item.n_applies} | {item.n_holds} | {_number(item.confidence)} | "
                f"{_number(item.lift)} | {_number(item.lower_bound)} | "
                f"{item.z:.3f} |"
            )
    lines += [
        "",
        "Events:",
        "",
        "| seq | time | kind | detail | hash |",
        "| ---: | --- | --- | --- | --- |",
    ]
    for event in events:
        detail = _cell(_detail(event.kind, event.data))
        lines.append(
            f"| {event.seq} | {event.time} | {event.kind} | {detail} | "
            f"`{event.hash[:16]}` |"
        )
    return "\n".join(lines) + "\n"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _optional_code(text: str | None) -> str:
    return "none" if text is None else _code(text)


def _code(text: str) -> str:
    """Return `text` as a Markdown code span, fenced by more backticks than it contains.

    Not for table cells: a bar inside would still split the cell.
    """
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def _cell(text: str) -> str:
    """Return text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


# ---------------------------------------------------------------------------
# Show


def show(store: CrystalStore, crystal: str) -> str:
    """Return a plain-text view of one crystal: provenance, evidence and events.

    Parameters
    ----------
    store : CrystalStore
    crystal : str
        Id or unique id prefix.

    Raises
    ------
    CrystalLookupError
        If `crystal` matches no crystal, or several.
    """
    found = store.get(crystal)
    events = list(store.events(crystal=found.id))
    fields = [
        ("constraint", found.text),
        ("status", found.status),
        ("target", found.target or "none (invariant)"),
        ("crystallized", found.time),
        ("schema", found.schema_fingerprint),
        ("data set", found.dataset_fingerprint),
        ("backbone", found.backbone_fingerprint or "none"),
        ("seed", "none" if found.seed is None else str(found.seed)),
        ("options", canonical_json(found.options)),
        ("parents", "; ".join(found.parents) or "none"),
    ]
    lines = [f"crystal {found.id}"]
    lines += [f"  {name:<13}{value}" for name, value in fields]
    evidence_rows = [
        (
            str(event.seq),
            item.scenario,
            str(item.n_rows),
            str(item.n_applies),
            str(item.n_holds),
            _number(item.confidence),
            _number(item.lift),
            _number(item.lower_bound),
        )
        for event in events
        for item in event.evidence
    ]
    header = (
        "event",
        "scenario",
        "rows",
        "applies",
        "holds",
        "confidence",
        "lift",
        "lower bound",
    )
    lines += ["", "evidence", *_aligned([header, *evidence_rows])]
    event_rows = [
        (str(event.seq), event.time, event.kind, _detail(event.kind, event.data))
        for event in events
    ]
    lines += ["", "events", *_aligned([("seq", "time", "kind", "detail"), *event_rows])]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
        for row in rows
    ]
