"""The records of a crystal store: what goes in (`Candidate`, `Provenance`) and what
comes out (`Crystal`, `Event`), with the id and hash functions that bind them.

A crystal's id is the SHA-256 of its schema's fingerprint and its canonical text, so
the same constraint on the same encoding always has the same id. An event's hash is
the SHA-256 of its canonical JSON body, which contains the previous event's hash.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from loom.constraints.ast import Constraint
from loom.constraints.parser import parse
from loom.constraints.serialize import canonical_json, from_dict
from loom.crystal.evidence import Evidence
from loom.data.schema import Schema
from loom.data.table import BitTable
from loom.exceptions import InvalidParameterError, LoomError, StoreCorruptError

__all__ = [
    "EVENT_KINDS",
    "EVIDENCE_COLUMNS",
    "GENESIS_HASH",
    "Candidate",
    "Crystal",
    "Event",
    "EventKind",
    "Provenance",
    "Status",
    "StoreSummary",
    "crystal_id",
    "event_hash",
]

GENESIS_HASH = "0" * 64
"""The ``prev`` hash of the first event."""

EventKind = Literal["crystallized", "evidence_added", "superseded", "retired"]
EVENT_KINDS: tuple[EventKind, ...] = (
    "crystallized",
    "evidence_added",
    "superseded",
    "retired",
)
Status = Literal["active", "superseded", "retired"]

EVIDENCE_COLUMNS = tuple(Evidence.__dataclass_fields__)
"""The fields of `Evidence`, in the order of the evidence table's columns."""

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def crystal_id(text: str, schema_fingerprint: str) -> str:
    """Return the id of a crystal: SHA-256 of ``<schema fingerprint>\\n<text>``.

    The canonical text has no line breaks (the printer escapes them), so the
    separator is unambiguous.

    Examples
    --------
    >>> identity = crystal_id("if a then b", "0" * 64)
    >>> identity == hashlib.sha256(("0" * 64 + "\\nif a then b").encode()).hexdigest()
    True
    """
    payload = f"{schema_fingerprint}\n{text}".encode()
    return hashlib.sha256(payload).hexdigest()


def event_hash(body: str) -> str:
    """Return the hash of an event: SHA-256 of its canonical JSON body, as hex."""
    return hashlib.sha256(body.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Provenance:
    """The origin of a batch of candidates: the data, the model and the run.

    Parameters
    ----------
    schema : Schema
        The schema the constraints refer to; part of each crystal's id.
    dataset_fingerprint : str
        `BitTable.fingerprint` of the data the evidence was measured on: 64 hex
        digits.
    backbone_fingerprint : str, optional
        Fingerprint of the binary network whose activations the rules describe.
    options : mapping, default={}
        Discovery options, JSON-ready (str keys; numbers, strings, booleans, None,
        lists and mappings of those).
    seed : int, optional
        Random seed of the run.
    """

    schema: Schema
    dataset_fingerprint: str
    backbone_fingerprint: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)
    seed: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.schema, Schema):
            msg = (
                f"Provenance.schema must be a Schema, got {type(self.schema).__name__}."
            )
            raise InvalidParameterError(msg)
        _check_hex64(self.dataset_fingerprint, "dataset_fingerprint")
        backbone = self.backbone_fingerprint
        if backbone is not None and (not isinstance(backbone, str) or not backbone):
            msg = f"backbone_fingerprint must be a non-empty string, got {backbone!r}."
            raise InvalidParameterError(msg)
        object.__setattr__(self, "options", _json_options(self.options))
        seed = self.seed
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            msg = f"seed must be an int or None, got {seed!r}."
            raise InvalidParameterError(msg)

    @classmethod
    def of_table(
        cls,
        table: BitTable,
        *,
        backbone_fingerprint: str | None = None,
        options: Mapping[str, Any] | None = None,
        seed: int | None = None,
    ) -> Provenance:
        """Return the provenance of evidence measured on `table`."""
        return cls(
            table.schema, table.fingerprint, backbone_fingerprint, options or {}, seed
        )


@dataclass(frozen=True)
class Candidate:
    """A constraint offered to the store, with its evidence.

    Parameters
    ----------
    constraint : Constraint or str
    evidence : sequence of Evidence, default=()
        One per scenario.
    target : str, optional
        The feature a rule concludes on; None for an invariant.
    parents : sequence of Constraint or str, default=()
        The candidates it was derived from, where known (its lineage); stored as
        canonical text.
    """

    constraint: Constraint
    evidence: tuple[Evidence, ...] = ()
    target: str | None = None
    parents: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "constraint", parse(self.constraint))
        evidence = tuple(self.evidence)
        for item in evidence:
            if not isinstance(item, Evidence):
                msg = f"Candidate.evidence must hold Evidence, got {item!r}."
                raise InvalidParameterError(msg)
        object.__setattr__(self, "evidence", evidence)
        target = self.target
        if target is not None and (not isinstance(target, str) or not target):
            msg = f"Candidate.target must be None or a feature name, got {target!r}."
            raise InvalidParameterError(msg)
        if isinstance(self.parents, str | Constraint):
            msg = "Candidate.parents must be a sequence; put one parent in a tuple."
            raise InvalidParameterError(msg)
        parents = tuple(str(parse(parent)) for parent in self.parents)
        object.__setattr__(self, "parents", parents)


@dataclass(frozen=True)
class Crystal:
    """A constraint frozen in the store, with its provenance.

    Attributes
    ----------
    id : str
        64 hex digits; see `crystal_id`.
    text : str
        Canonical text of the constraint.
    constraint : Constraint
    target : str or None
    schema_fingerprint, dataset_fingerprint : str
    backbone_fingerprint : str or None
    options : dict
    seed : int or None
    parents : tuple of str
    evidence : tuple of Evidence
        The evidence it crystallized with; later evidence is in the event log
        (`CrystalStore.evidence`).
    time : str
        UTC time of crystallization, ISO 8601 with microseconds.
    status : {'active', 'superseded', 'retired'}
        At the time it was read.
    seq : int
        Position in crystallization order, from 1.
    """

    id: str
    text: str
    constraint: Constraint
    target: str | None
    schema_fingerprint: str
    dataset_fingerprint: str
    backbone_fingerprint: str | None
    options: dict[str, Any]
    seed: int | None
    parents: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    time: str
    status: Status
    seq: int

    @property
    def is_active(self) -> bool:
        """Whether the crystal is neither retired nor superseded."""
        return self.status == "active"

    @classmethod
    def _from_row(cls, row: Sequence[Any]) -> Crystal:
        try:
            return cls._parse_row(row)
        except (KeyError, TypeError, ValueError, LoomError) as err:
            msg = (
                f"the record of crystal {str(row[0])!r} is damaged ({err!r}); run "
                "'loom audit verify' on the store to see what changed."
            )
            raise StoreCorruptError(msg) from err

    @classmethod
    def _parse_row(cls, row: Sequence[Any]) -> Crystal:
        seq, record, time, ended = row
        data = json.loads(record)
        fields = data["crystal"]
        status: Status = "active" if ended is None else ended
        return cls(
            id=fields["id"],
            text=fields["text"],
            constraint=from_dict(fields["ast"]),
            target=fields["target"],
            schema_fingerprint=fields["schema_fingerprint"],
            dataset_fingerprint=fields["dataset_fingerprint"],
            backbone_fingerprint=fields["backbone_fingerprint"],
            options=fields["options"],
            seed=fields["seed"],
            parents=tuple(fields["parents"]),
            evidence=tuple(Evidence.from_dict(item) for item in data["evidence"]),
            time=time,
            status=status,
            seq=seq,
        )


@dataclass(frozen=True)
class Event:
    """One entry of the event log.

    Attributes
    ----------
    seq : int
        Position in the log, from 1, without gaps.
    kind : {'crystallized', 'evidence_added', 'superseded', 'retired'}
    crystal_id : str
    time : str
        UTC time of the batch that wrote it.
    prev_hash : str
        Hash of the event before it (`GENESIS_HASH` for the first).
    hash : str
        SHA-256 of `body`.
    data : dict
        Kind-specific content: ``crystal`` and ``evidence`` when crystallized;
        ``evidence`` and the provenance when evidence is added; ``by`` and
        ``reason`` when superseded; ``reason`` when retired.
    body : str
        The canonical JSON that was hashed.
    """

    seq: int
    kind: EventKind
    crystal_id: str
    time: str
    prev_hash: str
    hash: str
    data: dict[str, Any]
    body: str

    @classmethod
    def _from_row(cls, row: Sequence[Any]) -> Event:
        seq, kind, crystal, time, prev_hash, digest, body = row
        data = json.loads(body)["data"]
        return cls(seq, kind, crystal, time, prev_hash, digest, data, body)

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        """The evidence this event records (empty for superseded and retired)."""
        return tuple(Evidence.from_dict(item) for item in self.data.get("evidence", ()))


class StoreSummary(NamedTuple):
    """Counts of a store's records and the hash of its newest event."""

    n_crystals: int
    n_active: int
    n_superseded: int
    n_retired: int
    n_events: int
    n_evidence: int
    head: str


def _check_hex64(value: object, name: str) -> None:
    if not isinstance(value, str) or not _HEX64.match(value):
        msg = f"{name} must be 64 lowercase hex digits (a SHA-256), got {value!r}."
        raise InvalidParameterError(msg)


def _json_options(options: object) -> dict[str, Any]:
    if not isinstance(options, Mapping):
        msg = f"options must be a mapping, got {type(options).__name__}."
        raise InvalidParameterError(msg)
    if not all(isinstance(key, str) for key in options):
        msg = f"options keys must be strings, got {sorted(map(repr, options))}."
        raise InvalidParameterError(msg)
    try:
        text = canonical_json(dict(options))
    except (TypeError, ValueError) as err:
        msg = (
            f"options must hold only JSON values (finite numbers, strings, booleans, "
            f"None, lists and mappings): {err}."
        )
        raise InvalidParameterError(msg) from err
    result: dict[str, Any] = json.loads(text)
    return result
