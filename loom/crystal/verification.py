"""Verification of a crystal store: every hash and id recomputed from stored text.

The verifier streams the event log once, in seq order, next to the crystal rows and
the evidence rows, so its memory grows only with the number of crystal ids. It cannot
see events cut from the end of the log: keep the head hash it reports somewhere else
and pass it back as ``expected_head`` to detect that.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loom.constraints.serialize import canonical_json, from_dict
from loom.crystal.evidence import Evidence
from loom.crystal.layout import (
    APPLICATION_ID,
    FORMAT_VERSION,
    INDEXES,
    META,
    TABLES,
    TRIGGERS,
)
from loom.crystal.records import (
    EVENT_KINDS,
    GENESIS_HASH,
    crystal_id,
    event_hash,
)
from loom.crystal.store import CrystalStore
from loom.data.schema import Schema
from loom.exceptions import LoomError, StoreCorruptError

__all__ = ["MAX_PROBLEMS", "Problem", "Verification", "verify"]

logger = logging.getLogger(__name__)

MAX_PROBLEMS = 20
"""`verify` stops after this many problems: past a broken link, more add little."""

_EVENT_KEYS = {"format", "seq", "kind", "crystal", "time", "prev", "data"}
_DATA_KEYS = {
    "crystallized": {"crystal", "evidence"},
    "evidence_added": {
        "evidence",
        "dataset_fingerprint",
        "backbone_fingerprint",
        "options",
        "seed",
    },
    "superseded": {"by", "reason"},
    "retired": {"reason"},
}
_PAGE = 5000  # rows fetched at a time while streaming the log

_CRYSTAL_KEYS = {
    "id",
    "text",
    "ast",
    "target",
    "schema_fingerprint",
    "dataset_fingerprint",
    "backbone_fingerprint",
    "options",
    "seed",
    "parents",
}
# Crystal row fields that must equal the same fields of the crystallized event.
_CRYSTAL_COLUMNS = (
    "id",
    "text",
    "target",
    "schema_fingerprint",
    "dataset_fingerprint",
    "backbone_fingerprint",
)


@dataclass(frozen=True)
class Problem:
    """One finding of `verify`.

    Attributes
    ----------
    message : str
    seq : int or None
        The event the problem is in; None for the file, a schema or a crystal row.
    crystal_id : str or None
    """

    message: str
    seq: int | None = None
    crystal_id: str | None = None

    def __str__(self) -> str:
        where = "store" if self.seq is None else f"event {self.seq}"
        if self.crystal_id is not None:
            where += f" (crystal {self.crystal_id[:16]})"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Verification:
    """The result of `verify`.

    Attributes
    ----------
    path : str
    n_crystals, n_events, n_evidence : int
        Rows checked.
    head : str
        Hash of the newest event (`GENESIS_HASH` when there is none).
    problems : tuple of Problem
        Empty when the store is intact; at most `MAX_PROBLEMS`.
    """

    path: str
    n_crystals: int
    n_events: int
    n_evidence: int
    head: str
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems

    @property
    def first_bad_event(self) -> int | None:
        """The lowest event seq with a problem, or None."""
        bad = [problem.seq for problem in self.problems if problem.seq is not None]
        return min(bad) if bad else None

    def summary(self) -> str:
        """Return one line: the counts and head when intact, else the first problem.

        The first problem is the one in the first bad event, or a problem of the
        file as a whole when no event is bad.
        """
        if self.ok:
            counts = ", ".join(
                _plural(count, noun)
                for count, noun in (
                    (self.n_crystals, "crystal"),
                    (self.n_events, "event"),
                    (self.n_evidence, "evidence record"),
                )
            )
            return f"{self.path}: intact: {counts}; head {self.head}"
        first = self.problems[0]
        if self.first_bad_event is not None:
            first = next(p for p in self.problems if p.seq == self.first_bad_event)
        more = len(self.problems) - 1
        extra = f" (and {_plural(more, 'more problem')})" if more else ""
        return f"{self.path}: NOT intact: {first}{extra}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def verify(store: CrystalStore, *, expected_head: str | None = None) -> Verification:
    """Recompute every hash and id in a store and check that all records agree.

    The checks run in this order. First SQLite's own ``quick_check``, then the
    application id, format, meta rows and the definitions of every table, index and
    trigger, so dropped triggers are found. Then each schema's fingerprint, and each
    event in log order.
    An event's seq must follow the one before, its hash must be the SHA-256 of its
    body, and the body must be canonical JSON whose fields match the row and whose
    ``prev`` is the hash of the event before. Its data must fit its kind, and the
    crystal's history must allow it (no retiring twice). For a ``crystallized``
    event, the crystal row must equal the event's data, the id must be the hash of
    the schema fingerprint and text, and the text the canonical print of the syntax
    tree. Evidence rows must equal the evidence in event bodies, and each confidence
    and lower bound must follow from its counts. Last, every crystal row must have
    its event.

    Parameters
    ----------
    store : CrystalStore
    expected_head : str, optional
        Head hash recorded earlier (`Verification.head`). Events cut from the end
        of the log are found only this way.

    Returns
    -------
    Verification
        Problems are returned, not raised.
    """
    checker = _Verifier(store)
    try:
        checker.run(expected_head)
    except _Stop:
        pass
    except StoreCorruptError as err:
        checker.problems.append(Problem(f"SQLite could not read the file: {err}"))
    result = Verification(
        path=str(store.path),
        n_crystals=checker.n_crystals,
        n_events=checker.n_events,
        n_evidence=checker.n_evidence,
        head=checker.head,
        problems=tuple(checker.problems),
    )
    logger.info("%s", result.summary())
    return result


class _Stop(Exception):
    """Raised inside the verifier once `MAX_PROBLEMS` problems are found."""


class _Verifier:
    def __init__(self, store: CrystalStore) -> None:
        self.store = store
        self.problems: list[Problem] = []
        self.n_crystals = 0
        self.n_events = 0
        self.n_evidence = 0
        self.head = GENESIS_HASH
        self.schemas: set[str] = set()
        # The seq of every crystal crystallized so far, by id (None without a row).
        self.seen: dict[str, int | None] = {}
        self.ended: set[str] = set()
        # The event being checked, named by `flag`.
        self.seq: int | None = None
        self.crystal: str | None = None

    def add(
        self, message: str, seq: int | None = None, crystal: str | None = None
    ) -> None:
        self.problems.append(Problem(message, seq, crystal))
        if len(self.problems) >= MAX_PROBLEMS:
            raise _Stop

    def flag(self, message: str) -> None:
        """Record a problem of the event being checked."""
        self.add(message, self.seq, self.crystal)

    def run(self, expected_head: str | None) -> None:
        self.check_file()
        self.check_definitions()
        self.check_schemas()
        self.check_events()
        self.check_orphan_crystals()
        if expected_head is not None and expected_head != self.head:
            self.add(
                f"the head hash is {self.head}, not the expected {expected_head}: "
                "events were cut from the end of the log, or this is another store"
            )

    # -- file and layout -----------------------------------------------------------

    def check_file(self) -> None:
        store = self.store
        results = [row[0] for row in store._fetch_all("PRAGMA quick_check")]
        if results != ["ok"]:
            self.add(f"SQLite quick_check reports: {'; '.join(results[:5])}")
        application = store._fetch_one("PRAGMA application_id")[0]
        if application != APPLICATION_ID:
            self.add(f"the application id is {application:#x}, not {APPLICATION_ID:#x}")
        version = store._fetch_one("PRAGMA user_version")[0]
        if version != FORMAT_VERSION:
            self.add(f"the format version is {version}, not {FORMAT_VERSION}")
        meta = dict(store._fetch_all("SELECT key, value FROM meta"))
        if meta != META:
            self.add(f"the meta table contains {meta!r}, not {META!r}")

    def check_definitions(self) -> None:
        expected = {**TABLES, **INDEXES, **TRIGGERS}
        stored = dict(
            self.store._fetch_all(
                "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"
            )
        )
        for name, sql in expected.items():
            if name not in stored:
                kind = "trigger" if name in TRIGGERS else "table or index"
                self.add(f"the {kind} {name} is missing")
            elif stored[name] != sql:
                self.add(f"the definition of {name} was changed to {stored[name]!r}")
        for name in sorted(set(stored) - set(expected)):
            self.add(f"unexpected schema object {name}: {stored[name]!r}")

    def check_schemas(self) -> None:
        rows = self.store._stream("SELECT fingerprint, json FROM schemas")
        for fingerprint, text in rows:
            try:
                schema = Schema.from_json(text)
            except (LoomError, ValueError, KeyError, TypeError) as err:
                self.add(f"schema {fingerprint} is not a valid schema: {err}")
                continue
            if schema.to_json() != text or schema.fingerprint != fingerprint:
                self.add(f"schema {fingerprint} does not hash to its fingerprint")
            self.schemas.add(fingerprint)

    # -- events --------------------------------------------------------------------

    def check_events(self) -> None:
        totals = self.store._stream(
            "SELECT event_seq, crystal_seq, n_scenarios, n_applies, n_holds "
            "FROM evidence_totals ORDER BY event_seq",
            page=_PAGE,
        )
        pending = next(totals, None)
        rows = self.store._stream(
            "SELECT e.seq, e.kind, e.crystal_id, e.time, e.prev_hash, e.hash, e.body, "
            "c.seq, c.id, c.text, c.target, c.schema_fingerprint, "
            "c.dataset_fingerprint, c.backbone_fingerprint, c.record FROM events e "
            "LEFT JOIN crystals c ON c.event_seq = e.seq ORDER BY e.seq",
            page=_PAGE,
        )
        for row in rows:
            self.seq, self.crystal = row[0], row[2]
            self.n_events += 1
            if self.seq != self.n_events:
                self.add(
                    f"event {self.n_events} is missing or out of order: the log goes "
                    f"on with event {self.seq}",
                    self.n_events,
                )
            # Totals come in event order too: skip those of missing events.
            while pending is not None and pending[0] < self.seq:
                self.orphan_totals(pending)
                pending = next(totals, None)
            total = None
            if pending is not None and pending[0] == self.seq:
                total = pending
                pending = next(totals, None)
            self.check_event(row, total)
        self.seq = self.crystal = None
        while pending is not None:
            self.orphan_totals(pending)
            pending = next(totals, None)

    def orphan_totals(self, row: Sequence[Any]) -> None:
        event_seq, crystal_seq = row[:2]
        message = f"the evidence totals of crystal seq {crystal_seq} have no event"
        self.add(message, event_seq)

    def check_event(self, row: Sequence[Any], total: Sequence[Any] | None) -> None:
        seq, kind, crystal, time, prev, digest, body = row[:7]
        self.check_link(prev, digest, body)

        content = self.parse_body(body)
        if content is None:
            return
        self.check_fields(content, (seq, kind, crystal, time, prev))

        data = content["data"]
        if kind not in EVENT_KINDS:
            self.flag(f"unknown event kind {kind!r}")
            return
        if not isinstance(data, dict) or set(data) != _DATA_KEYS[kind]:
            keys = sorted(data) if isinstance(data, dict) else data
            self.flag(f"a {kind} event's data has the keys {keys!r}")
            return

        self.check_history(kind, crystal, data)
        if kind == "crystallized":
            self.check_crystal(crystal, data, row[7:])
        if "evidence" in data:
            self.check_evidence(crystal, data["evidence"], total)
        elif total is not None:
            self.flag(f"a {kind} event has evidence totals")

    def check_link(self, prev: str, digest: str, body: Any) -> None:
        """Check the event's hash and its link to the event before it."""
        previous = self.head
        self.head = digest
        text = isinstance(body, str) and body.isascii()
        computed = event_hash(body) if text else None
        if computed != digest:
            self.flag(f"hash mismatch: stored {digest}, body hashes to {computed}")
        if prev != previous:
            self.flag(f"broken chain: prev is {prev}, the event before is {previous}")

    def check_fields(self, content: dict[str, Any], columns: tuple[Any, ...]) -> None:
        """Check that the body repeats the row's seq, kind, crystal, time and prev."""
        names = ("seq", "kind", "crystal", "time", "prev")
        stored = (
            content["seq"],
            content["kind"],
            content["crystal"],
            content["time"],
            content["prev"],
        )
        if stored != columns:
            for name, value, expected in zip(names, stored, columns, strict=True):
                if value != expected:
                    self.flag(
                        f"the body's {name} is {value!r} but the row's is {expected!r}"
                    )
        if content["format"] != FORMAT_VERSION:
            self.flag(f"the body's format is {content['format']!r}")

    def parse_body(self, body: Any) -> dict[str, Any] | None:
        try:
            content = json.loads(body)
        except (TypeError, ValueError) as err:
            self.flag(f"the body is not JSON: {err}")
            return None
        if not isinstance(content, dict) or set(content) != _EVENT_KEYS:
            self.flag("the body does not have the fields of an event")
            return None
        return content

    def check_history(self, kind: str, crystal: str, data: dict[str, Any]) -> None:
        if kind == "crystallized":
            if crystal in self.seen:
                self.flag("the crystal is crystallized a second time")
            self.seen[crystal] = None
            return
        if crystal not in self.seen:
            self.flag(f"a {kind} event for a crystal not crystallized before")
        if kind in ("retired", "superseded"):
            if crystal in self.ended:
                self.flag(f"a {kind} event for a crystal no longer active")
            if kind == "superseded" and data["by"] not in self.seen:
                self.flag(f"superseded by an unknown crystal {data['by']!r}")
            self.ended.add(crystal)

    def check_crystal(
        self, crystal: str, data: dict[str, Any], row: Sequence[Any]
    ) -> None:
        """Check a crystal's row against its event, then its id and its text."""
        fields = data["crystal"]
        if not isinstance(fields, dict) or set(fields) != _CRYSTAL_KEYS:
            self.flag("the crystal record does not have the expected fields")
            return
        crystal_seq, *columns = row
        if crystal_seq is None:
            self.flag("the crystallized event has no crystal row")
            return
        self.n_crystals += 1
        self.seen[crystal] = crystal_seq

        if columns[-1] != canonical_json(data):
            self.flag("the crystal row's record differs from the event's data")
        for name, value in zip(_CRYSTAL_COLUMNS, columns, strict=False):
            if fields[name] != value:
                self.flag(
                    f"the crystal row's {name} is {value!r} but the event's is "
                    f"{fields[name]!r}"
                )
        if fields["id"] != crystal:
            self.flag(f"the event names crystal {crystal} but records {fields['id']}")

        text, schema = fields["text"], fields["schema_fingerprint"]
        if not isinstance(text, str) or not isinstance(schema, str):
            self.flag("the crystal's text or schema fingerprint is not a string")
            return
        recomputed = crystal_id(text, schema)
        if recomputed != fields["id"]:
            self.flag(f"the id does not match the text, which hashes to {recomputed}")
        self.check_syntax(fields["ast"], text)
        if schema not in self.schemas:
            self.flag(f"the schema {schema} is not in the store")

    def check_syntax(self, tree: Any, text: str) -> None:
        try:
            printed = str(from_dict(tree))
        except LoomError as err:
            self.flag(f"the syntax tree is invalid: {err}")
            return
        if printed != text:
            self.flag(f"the text {text!r} is not the print of its tree, {printed!r}")

    def check_evidence(
        self, crystal: str, entries: Any, total: Sequence[Any] | None
    ) -> None:
        if not isinstance(entries, list):
            self.flag("the evidence is not a list")
            return
        self.n_evidence += len(entries)
        # The body's hash protects each entry, so only the sums are checked here,
        # and an entry is examined field by field only when they cannot be taken.
        try:
            applies = sum([entry["n_applies"] for entry in entries])
            holds = sum([entry["n_holds"] for entry in entries])
        except (KeyError, TypeError):
            self.flag_invalid_evidence(entries)
            return
        if not entries:
            if total is not None:
                self.flag("an event without evidence has evidence totals")
            return
        expected = (self.seen.get(crystal), len(entries), applies, holds)
        stored = None if total is None else tuple(total[1:])
        if stored != expected:
            self.flag(
                f"the evidence totals (crystal seq, scenarios, applies, holds) are "
                f"{stored}, but the event's evidence gives {expected}"
            )

    def flag_invalid_evidence(self, entries: list[Any]) -> None:
        for position, entry in enumerate(entries):
            try:
                Evidence.from_dict(entry)
            except LoomError as err:
                self.flag(f"evidence {position} is invalid: {err}")
                return
        self.flag("the evidence counts cannot be summed")

    def check_orphan_crystals(self) -> None:
        total = int(self.store._fetch_one("SELECT count(*) FROM crystals")[0])
        if total == self.n_crystals:
            return
        orphans = self.store._fetch_all(
            "SELECT c.id, c.event_seq FROM crystals c LEFT JOIN events e "
            "ON e.seq = c.event_seq AND e.kind = 'crystallized' "
            "AND e.crystal_id = c.id WHERE e.seq IS NULL ORDER BY c.seq LIMIT ?",
            (MAX_PROBLEMS,),
        )
        for identity, event_seq in orphans:
            self.add(
                f"the crystal row points to event {event_seq}, which does not "
                "crystallize it",
                crystal=identity,
            )
