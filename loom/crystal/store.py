"""The crystal store: frozen constraints and their history in one SQLite file.

Every change is an event in an append-only log: ``crystallized``, ``evidence_added``,
``superseded`` and ``retired``. Each event's body is canonical JSON that contains the
hash of the event before it, so the log is a hash chain.
`loom.crystal.verification.verify` recomputes every hash and id to catch edits made
behind the store's back. The file
layout is in `loom.crystal.layout`, the records in `loom.crystal.records`.

The store trusts SQLite for atomicity: a batch is one transaction, taken with
``BEGIN IMMEDIATE`` so that concurrent writers queue and each extends the chain from
the head it read.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.constraints.ast import Constraint, features
from loom.constraints.serialize import canonical_json, from_dict, to_dict
from loom.crystal.evidence import Evidence
from loom.crystal.layout import FORMAT_VERSION, create_store_file, open_store_file
from loom.crystal.layout import translate_error as _translate
from loom.crystal.records import (
    GENESIS_HASH,
    Candidate,
    Crystal,
    Event,
    EventKind,
    Provenance,
    Status,
    StoreSummary,
    crystal_id,
    event_hash,
)
from loom.data.schema import Schema
from loom.exceptions import (
    CrystalLookupError,
    CrystalStateError,
    ForeignCrystalWarning,
    InvalidParameterError,
    StoreError,
    StoreNotFoundError,
    UnknownFeatureError,
)

if TYPE_CHECKING:
    from loom.crystal.verification import Verification

__all__ = ["MIN_PREFIX", "CrystalStore", "warn_foreign_crystals"]

logger = logging.getLogger(__name__)

MIN_PREFIX = 4
"""Minimum number of hex digits accepted as an id prefix."""

_HEX = re.compile(r"[0-9a-f]+\Z")

# Crystal rows with their crystallization time and, when it ended, how.
_CRYSTAL_SELECT = (
    "SELECT c.seq, c.record, e.time, (SELECT x.kind FROM events x "
    "WHERE x.crystal_id = c.id AND x.kind IN ('retired', 'superseded') "
    "ORDER BY x.seq LIMIT 1) FROM crystals c JOIN events e ON e.seq = c.event_seq"
)
_EVENT_COLUMNS = "seq, kind, crystal_id, time, prev_hash, hash, body"


class CrystalStore:
    """An append-only, hash-chained store of crystals in one SQLite file.

    Parameters
    ----------
    path : str or path-like
        The store file. A missing file is created (in a temporary file that is
        moved into place once complete) unless `create` is False.
    create : bool, default=True
        Create the store when the file does not exist.
    timeout : float, default=30.0
        Seconds to wait for another process's write to finish.
    clock : callable returning an aware datetime, optional
        Source of event times; default the system clock in UTC.

    Raises
    ------
    StoreNotFoundError
        If the file is missing and `create` is False, or its folder is missing.
    NotAStoreError
        If the file is not SQLite, or is another application's SQLite database.
    StoreVersionError
        If the store has a newer format than this Loom reads.
    StoreCorruptError
        If the file is damaged (truncated, garbled pages, missing tables).

    None of these errors changes the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from loom.data import FeatureSpec, Schema
    >>> schema = Schema((FeatureSpec("rain", "boolean", values=("false", "true")),
    ...                  FeatureSpec("wet", "boolean", values=("false", "true"))))
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with CrystalStore(folder / "crystals.db") as store:
    ...     events = store.add([Candidate("if rain then wet")],
    ...                        Provenance(schema, "ab" * 32))
    ...     [crystal.text for crystal in store.active()]
    ['if rain then wet']
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        timeout: float = 30.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.path = Path(os.fspath(path))
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or timeout < 0
        ):
            msg = f"timeout must be a number of seconds >= 0, got {timeout!r}."
            raise InvalidParameterError(msg)
        self.timeout = float(timeout)
        self._clock = clock
        self._connection: sqlite3.Connection | None = None
        self._depth = 0
        self._head: tuple[int, str] = (0, GENESIS_HASH)
        if not self.path.exists():
            if not create:
                msg = f"crystal store not found: {str(self.path)!r}."
                raise StoreNotFoundError(msg)
            create_store_file(self.path)
        self._connection = open_store_file(self.path, self.timeout)
        logger.debug("opened crystal store %s", self.path)

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        """Close the connection; calling it again does nothing."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
            logger.debug("closed crystal store %s", self.path)

    @property
    def closed(self) -> bool:
        """Whether `close` has been called."""
        return self._connection is None

    def __enter__(self) -> CrystalStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"CrystalStore({str(self.path)!r}, {state})"

    # -- writing -----------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[CrystalStore]:
        """Group writes into one transaction: all of them are stored, or none.

        Batches nest; an inner batch that raises is undone without undoing the
        outer one. A process killed inside a batch leaves the store as it was
        before the batch.

        Examples
        --------
        ``with store.batch(): store.add(...); store.retire(old_id, reason=...)``
        """
        connection = self._require_open()
        if self._depth:
            yield from self._savepoint(connection)
            return
        self._run(connection, "BEGIN IMMEDIATE")
        self._depth = 1
        try:
            self._head = self._read_head()
            yield self
        except BaseException:
            self._depth = 0
            connection.rollback()
            raise
        self._depth = 0
        try:
            self._run(connection, "COMMIT")
        except BaseException:
            connection.rollback()
            raise

    def _savepoint(self, connection: sqlite3.Connection) -> Iterator[CrystalStore]:
        name = f"batch_{self._depth}"
        head = self._head
        self._run(connection, f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._run(connection, f"ROLLBACK TO {name}")
            self._run(connection, f"RELEASE {name}")
            self._head = head
            raise
        finally:
            self._depth -= 1
        self._run(connection, f"RELEASE {name}")

    def add(
        self, candidates: Iterable[Candidate], provenance: Provenance
    ) -> list[Event]:
        """Store candidates as crystals, or add their evidence to existing ones.

        A candidate whose id is already in the store (the same canonical text on
        the same schema, whatever its status) gets an ``evidence_added`` event and
        no new crystal. A new one gets a crystal and a ``crystallized`` event. A
        candidate repeated within the batch is handled the same way.

        Parameters
        ----------
        candidates : iterable of Candidate
        provenance : Provenance
            Shared by the whole batch.

        Returns
        -------
        list of Event
            The events written, one per candidate, in order.

        Raises
        ------
        UnknownFeatureError
            If a constraint or target names a feature the schema does not have.
        StoreError
            If the write fails; nothing of the batch is stored then.
        """
        items = list(candidates)
        if not isinstance(provenance, Provenance):
            msg = f"provenance must be a Provenance, got {type(provenance).__name__}."
            raise InvalidParameterError(msg)
        schema = provenance.schema
        for item in items:
            _check_candidate(item, schema)
        if not items:
            return []
        fingerprint = schema.fingerprint
        events = []
        with self.batch():
            time = self._now()
            self._write(
                "INSERT OR IGNORE INTO schemas VALUES (?, ?)",
                (fingerprint, schema.to_json()),
            )
            for item in items:
                events.append(self._add_one(item, provenance, fingerprint, time))
        logger.info(
            "stored %s candidates in %s: %s new crystals",
            len(items),
            self.path,
            sum(event.kind == "crystallized" for event in events),
        )
        return events

    def _add_one(
        self, item: Candidate, provenance: Provenance, fingerprint: str, time: str
    ) -> Event:
        text = str(item.constraint)
        identity = crystal_id(text, fingerprint)
        evidence = [entry.to_dict() for entry in item.evidence]
        existing = self._fetch_one("SELECT seq FROM crystals WHERE id = ?", (identity,))
        if existing is not None:
            crystal_seq = int(existing[0])
            data = {
                "evidence": evidence,
                "dataset_fingerprint": provenance.dataset_fingerprint,
                "backbone_fingerprint": provenance.backbone_fingerprint,
                "options": provenance.options,
                "seed": provenance.seed,
            }
            event = self._append("evidence_added", identity, data, time)
        else:
            record = {
                "id": identity,
                "text": text,
                "ast": to_dict(item.constraint),
                "target": item.target,
                "schema_fingerprint": fingerprint,
                "dataset_fingerprint": provenance.dataset_fingerprint,
                "backbone_fingerprint": provenance.backbone_fingerprint,
                "options": provenance.options,
                "seed": provenance.seed,
                "parents": list(item.parents),
            }
            data = {"crystal": record, "evidence": evidence}
            event = self._append("crystallized", identity, data, time)
            crystal_seq = self._write(
                "INSERT INTO crystals (id, event_seq, text, target, "
                "schema_fingerprint, dataset_fingerprint, backbone_fingerprint, "
                "record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    identity,
                    event.seq,
                    text,
                    item.target,
                    fingerprint,
                    provenance.dataset_fingerprint,
                    provenance.backbone_fingerprint,
                    canonical_json(data),
                ),
            )
        if evidence:
            self._write(
                "INSERT INTO evidence_totals VALUES (?, ?, ?, ?, ?)",
                (
                    event.seq,
                    crystal_seq,
                    len(evidence),
                    sum(entry.n_applies for entry in item.evidence),
                    sum(entry.n_holds for entry in item.evidence),
                ),
            )
        return event

    def retire(self, crystal: str, *, reason: str = "") -> Event:
        """Retire an active crystal: later discovery no longer applies it.

        Parameters
        ----------
        crystal : str
            Id or unique id prefix.
        reason : str, default=""
            Recorded in the event.

        Raises
        ------
        CrystalLookupError
            If no crystal, or several, match `crystal`.
        CrystalStateError
            If the crystal is already retired or superseded.
        """
        _check_reason(reason)
        with self.batch():
            found = self.get(crystal)
            _require_active(found, "retire")
            event = self._append("retired", found.id, {"reason": reason}, self._now())
        logger.info("retired crystal %s in %s", found.id, self.path)
        return event

    def supersede(self, crystal: str, by: str, *, reason: str = "") -> Event:
        """Mark an active crystal as replaced by another active crystal.

        Parameters
        ----------
        crystal : str
            Id or unique prefix of the crystal that is replaced.
        by : str
            Id or unique prefix of its replacement; add it first, in the same
            batch if the two changes must happen together.
        reason : str, default=""

        Raises
        ------
        CrystalLookupError
            If either id matches no crystal, or several.
        CrystalStateError
            If either crystal is not active, or both are the same.
        """
        _check_reason(reason)
        with self.batch():
            old = self.get(crystal)
            new = self.get(by)
            if old.id == new.id:
                msg = (
                    f"crystal {old.id} cannot supersede itself; pass another id as by."
                )
                raise CrystalStateError(msg)
            _require_active(old, "supersede")
            _require_active(new, "supersede another crystal with")
            data = {"by": new.id, "reason": reason}
            event = self._append("superseded", old.id, data, self._now())
        logger.info("crystal %s superseded by %s in %s", old.id, new.id, self.path)
        return event

    def _append(
        self, kind: EventKind, crystal: str, data: dict[str, Any], time: str
    ) -> Event:
        seq, prev = self._head
        seq += 1
        content = {
            "format": FORMAT_VERSION,
            "seq": seq,
            "kind": kind,
            "crystal": crystal,
            "time": time,
            "prev": prev,
            "data": data,
        }
        body = canonical_json(content)
        digest = event_hash(body)
        self._write(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, kind, crystal, time, prev, digest, body),
        )
        self._head = (seq, digest)
        return Event(seq, kind, crystal, time, prev, digest, data, body)

    def _read_head(self) -> tuple[int, str]:
        row = self._fetch_one("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))

    def _now(self) -> str:
        moment = datetime.now(UTC) if self._clock is None else self._clock()
        if moment.tzinfo is None:
            msg = f"the store's clock must return an aware datetime, got {moment!r}."
            raise InvalidParameterError(msg)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    # -- reading -----------------------------------------------------------------

    def get(self, crystal: str) -> Crystal:
        """Return a crystal by id or unique id prefix (at least 4 hex digits).

        Raises
        ------
        CrystalLookupError
            If no crystal, or more than one, matches.
        """
        identity = self.resolve_id(crystal)
        row = self._fetch_one(f"{_CRYSTAL_SELECT} WHERE c.id = ?", (identity,))
        assert row is not None
        return Crystal._from_row(row)

    def resolve_id(self, crystal: str) -> str:
        """Return the full id that an id or unique id prefix names.

        Raises
        ------
        CrystalLookupError
            If no crystal, or more than one, matches.
        """
        prefix = crystal.strip().lower() if isinstance(crystal, str) else crystal
        if not isinstance(prefix, str) or not _HEX.match(prefix) or len(prefix) > 64:
            msg = f"a crystal id is up to 64 hex digits, got {crystal!r}."
            raise CrystalLookupError(msg)
        if len(prefix) < MIN_PREFIX:
            msg = (
                f"crystal id prefix {crystal!r} is too short; give at least "
                f"{MIN_PREFIX} hex digits."
            )
            raise CrystalLookupError(msg)
        rows = self._fetch_all(
            "SELECT id FROM crystals WHERE id >= ? AND id < ? ORDER BY id LIMIT 3",
            (prefix, prefix + "g"),  # "g" sorts after every hex digit
        )
        if not rows:
            msg = (
                f"no crystal with id {crystal!r} in {str(self.path)!r}; list the ids "
                f"with `loom audit export {self.path} --format md`."
            )
            raise CrystalLookupError(msg)
        if len(rows) > 1:
            listed = ", ".join(row[0][:16] for row in rows)
            msg = (
                f"crystal id prefix {crystal!r} matches several crystals ({listed}, "
                "...); give more digits."
            )
            raise CrystalLookupError(msg)
        return str(rows[0][0])

    def crystals(
        self,
        *,
        status: Status | None = None,
        target: str | None = None,
        schema_fingerprint: str | None = None,
    ) -> list[Crystal]:
        """Return crystals in crystallization order, optionally filtered.

        Parameters
        ----------
        status : {'active', 'superseded', 'retired'}, optional
        target : str, optional
            Only rules concluding on this feature.
        schema_fingerprint : str, optional
            Only crystals on this schema.
        """
        return list(
            self.iter_crystals(
                status=status, target=target, schema_fingerprint=schema_fingerprint
            )
        )

    def active(
        self, *, target: str | None = None, schema_fingerprint: str | None = None
    ) -> list[Crystal]:
        """Return the crystals that are neither retired nor superseded.

        See `crystals` for the filters.
        """
        return self.crystals(
            status="active", target=target, schema_fingerprint=schema_fingerprint
        )

    def iter_crystals(
        self,
        *,
        status: Status | None = None,
        target: str | None = None,
        schema_fingerprint: str | None = None,
    ) -> Iterator[Crystal]:
        """Yield crystals in crystallization order without loading them all at once.

        The filters are those of `crystals`.
        """
        if status is not None and status not in ("active", "superseded", "retired"):
            msg = f"status must be 'active', 'superseded' or 'retired', got {status!r}."
            raise InvalidParameterError(msg)
        clauses = []
        parameters: list[Any] = []
        if target is not None:
            clauses.append("c.target = ?")
            parameters.append(target)
        if schema_fingerprint is not None:
            clauses.append("c.schema_fingerprint = ?")
            parameters.append(schema_fingerprint)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        for row in self._stream(f"{_CRYSTAL_SELECT}{where} ORDER BY c.seq", parameters):
            crystal = Crystal._from_row(row)
            if status is None or crystal.status == status:
                yield crystal

    def events(self, *, crystal: str | None = None) -> Iterator[Event]:
        """Yield events in log order, fetching them in pages.

        Parameters
        ----------
        crystal : str, optional
            Id or unique prefix: only that crystal's events.
        """
        query = f"SELECT {_EVENT_COLUMNS} FROM events"
        parameters: tuple[Any, ...] = ()
        if crystal is not None:
            query += " WHERE crystal_id = ?"
            parameters = (self.resolve_id(crystal),)
        for row in self._stream(f"{query} ORDER BY seq", parameters):
            yield Event._from_row(row)

    def evidence(self, crystal: str) -> list[tuple[int, Evidence]]:
        """Return every evidence record of a crystal with the seq of its event."""
        return [
            (event.seq, item)
            for event in self.events(crystal=crystal)
            for item in event.evidence
        ]

    def constraint_items(self) -> list[tuple[str, Constraint, float | None]]:
        """Return ``(crystal id, constraint, confidence)`` for each active crystal.

        The confidence pools every evidence record of the crystal: the rows where
        it held over the rows where it applied, summed over scenarios and events.
        It is None when the crystal never applied to a row. This is the form the
        reasoning module reads constraints in; the order is crystallization order.
        """
        rows = self._fetch_all(
            "SELECT c.id, c.record, SUM(v.n_holds), SUM(v.n_applies) FROM crystals c "
            "LEFT JOIN evidence_totals v ON v.crystal_seq = c.seq "
            "WHERE NOT EXISTS (SELECT 1 FROM events x WHERE x.crystal_id = c.id "
            "AND x.kind IN ('retired', 'superseded')) GROUP BY c.id ORDER BY c.seq"
        )
        items = []
        for identity, record, holds, applies in rows:
            node = from_dict(json.loads(record)["crystal"]["ast"])
            confidence = holds / applies if applies else None
            items.append((str(identity), node, confidence))
        return items

    def schema(self, fingerprint: str) -> Schema:
        """Return a stored schema by fingerprint.

        Raises
        ------
        CrystalLookupError
            If the store holds no schema with that fingerprint.
        """
        row = self._fetch_one(
            "SELECT json FROM schemas WHERE fingerprint = ?", (fingerprint,)
        )
        if row is None:
            msg = f"no schema with fingerprint {fingerprint!r} in {str(self.path)!r}."
            raise CrystalLookupError(msg)
        return Schema.from_json(row[0])

    def summary(self) -> StoreSummary:
        """Return the counts of crystals by status, events, evidence records, head."""
        n_crystals = self._count("SELECT count(*) FROM crystals")
        ended = dict(
            self._fetch_all(
                "SELECT kind, count(DISTINCT crystal_id) FROM events "
                "WHERE kind IN ('retired', 'superseded') GROUP BY kind"
            )
        )
        n_retired = int(ended.get("retired", 0))
        n_superseded = int(ended.get("superseded", 0))
        head = self._read_head()
        return StoreSummary(
            n_crystals=n_crystals,
            n_active=n_crystals - n_retired - n_superseded,
            n_superseded=n_superseded,
            n_retired=n_retired,
            n_events=head[0],
            n_evidence=self._count(
                "SELECT coalesce(sum(n_scenarios), 0) FROM evidence_totals"
            ),
            head=head[1],
        )

    def verify(self, *, expected_head: str | None = None) -> Verification:
        """Recompute every hash and id; see `loom.crystal.verification.verify`."""
        from loom.crystal.verification import verify

        return verify(self, expected_head=expected_head)

    # -- SQL helpers ---------------------------------------------------------------

    def _require_open(self) -> sqlite3.Connection:
        if self._connection is None:
            msg = f"the crystal store {str(self.path)!r} is closed; open it again."
            raise StoreError(msg)
        return self._connection

    def _run(self, connection: sqlite3.Connection, sql: str) -> None:
        try:
            connection.execute(sql)
        except sqlite3.Error as err:
            raise _translate(err, self.path, self.timeout) from err

    def _write(self, sql: str, parameters: Sequence[Any]) -> int:
        """Run one write and return the rowid of the inserted row, if any."""
        assert self._depth, "writes happen inside a batch"
        try:
            return int(self._require_open().execute(sql, parameters).lastrowid or 0)
        except sqlite3.Error as err:
            raise _translate(err, self.path, self.timeout) from err

    def _fetch_one(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        try:
            return self._require_open().execute(sql, parameters).fetchone()
        except sqlite3.Error as err:
            raise _translate(err, self.path, self.timeout) from err

    def _fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._require_open().execute(sql, parameters).fetchall()
        except sqlite3.Error as err:
            raise _translate(err, self.path, self.timeout) from err

    def _count(self, sql: str) -> int:
        return int(self._fetch_one(sql)[0])

    def _stream(
        self, sql: str, parameters: Sequence[Any] = (), page: int = 1000
    ) -> Iterator[Any]:
        """Yield the rows of a query, fetching `page` rows at a time."""
        try:
            cursor = self._require_open().execute(sql, parameters)
            while rows := cursor.fetchmany(page):
                yield from rows
        except sqlite3.Error as err:
            raise _translate(err, self.path, self.timeout) from err


# ---------------------------------------------------------------------------
# Foreign crystals


def warn_foreign_crystals(
    crystals: Iterable[Crystal],
    *,
    dataset_fingerprint: str,
    backbone_fingerprint: str | None = None,
    stacklevel: int = 2,
) -> list[Crystal]:
    """Warn once if crystals recorded on another data set or backbone are applied.

    Call it before applying crystals to a table. One `ForeignCrystalWarning` names
    the fingerprints the crystals were recorded on and those they are applied to.

    Parameters
    ----------
    crystals : iterable of Crystal
    dataset_fingerprint : str
        `BitTable.fingerprint` of the data the crystals are applied to.
    backbone_fingerprint : str, optional
        Fingerprint of the backbone they are applied with, if any.
    stacklevel : int, default=2
        Passed to `warnings.warn`; 2 points at the caller.

    Returns
    -------
    list of Crystal
        The crystals recorded on another data set or backbone.
    """
    foreign = [
        crystal
        for crystal in crystals
        if crystal.dataset_fingerprint != dataset_fingerprint
        or crystal.backbone_fingerprint != backbone_fingerprint
    ]
    if not foreign:
        return foreign
    origins: dict[tuple[str, str | None], int] = {}
    for crystal in foreign:
        key = (crystal.dataset_fingerprint, crystal.backbone_fingerprint)
        origins[key] = origins.get(key, 0) + 1
    recorded = "; ".join(
        f"{count} on data set {data} with backbone {backbone or 'none'}"
        for (data, backbone), count in sorted(origins.items(), key=_origin_order)
    )
    msg = (
        f"{len(foreign)} crystal(s) recorded on another data set or backbone are "
        f"applied to data set {dataset_fingerprint} with backbone "
        f"{backbone_fingerprint or 'none'}: {recorded}. Their evidence may not carry "
        "over; measure them on this data with evidence_for before relying on them."
    )
    warnings.warn(msg, ForeignCrystalWarning, stacklevel=stacklevel)
    return foreign


def _origin_order(item: tuple[tuple[str, str | None], int]) -> tuple[str, str]:
    (data, backbone), _ = item
    return data, backbone or ""


# ---------------------------------------------------------------------------
# Checks


def _check_candidate(item: object, schema: Schema) -> None:
    if not isinstance(item, Candidate):
        msg = f"add takes Candidate objects, got {type(item).__name__}: {item!r}."
        raise InvalidParameterError(msg)
    for name in features(item.constraint):
        if name not in schema:
            known = ", ".join(repr(n) for n in schema.feature_names) or "none"
            msg = (
                f"{str(item.constraint)!r} names the feature {name!r}, which the "
                f"schema does not have; the features are {known}."
            )
            raise UnknownFeatureError(msg)
    if item.target is not None and item.target not in schema:
        text = str(item.constraint)
        msg = f"the target {item.target!r} of {text!r} is not in the schema."
        raise UnknownFeatureError(msg)


def _check_reason(reason: object) -> None:
    if not isinstance(reason, str):
        msg = f"reason must be a string, got {reason!r}."
        raise InvalidParameterError(msg)


def _require_active(crystal: Crystal, action: str) -> None:
    if crystal.status != "active":
        msg = f"cannot {action} crystal {crystal.id}: it is already {crystal.status}."
        raise CrystalStateError(msg)
