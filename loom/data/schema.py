"""Schema of an encoded table: each feature's kind, its values or thresholds, the target.

A schema fixes the bit columns of every table encoded with it, in order, and names each
column by the literal it stands for (``odor = none``, ``age <= 37.5``, ``smoker``).
It does not check that the data a table holds agrees with it; the encoder does.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import numpy as np
from numpy.typing import NDArray

from loom.constraints.ast import BooleanAtom, Compare, Constraint, Value, format_number
from loom.exceptions import DataError, InvalidParameterError, UnknownFeatureError

__all__ = ["KINDS", "FeatureSpec", "Kind", "Schema", "label_value"]

Kind: TypeAlias = Literal["boolean", "categorical", "numeric"]
KINDS: tuple[Kind, ...] = ("boolean", "categorical", "numeric")

SCHEMA_FORMAT = 1
_NUMBER_TEXT = re.compile(r"[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def label_value(label: str) -> Value:
    """Return the value a constraint uses for a categorical label.

    A label that is the canonical text of a number (``1``, ``2.5``) is written as that
    number; any other label (``007``, ``1.50``, ``-0``, ``red``) stays a string.

    Examples
    --------
    >>> label_value("1"), label_value("007"), label_value("red")
    (1.0, '007', 'red')
    """
    if _NUMBER_TEXT.fullmatch(label):
        # Constraint values have no negative zero, so "-0" must stay a string: as a
        # number it would print as "0" and share the literal of the label "0".
        number = float(label) + 0.0
        if format_number(number) == label:
            return number
    return label


@dataclass(frozen=True)
class FeatureSpec:
    """One feature of a schema.

    Parameters
    ----------
    name : str
        The feature's name, as constraints write it.
    kind : {'boolean', 'categorical', 'numeric'}
    values : tuple of str
        Categorical labels in column order. For a boolean feature, the values seen:
        ``("false", "true")``, or one of them for a constant feature. Empty for a
        numeric feature.
    thresholds : tuple of float
        Numeric cut points in ascending order; column ``j`` is ``name <= thresholds[j]``.
    allows_missing : bool
        Whether the data the schema was built from had missing values here.
    """

    name: str
    kind: Kind
    values: tuple[str, ...] = ()
    thresholds: tuple[float, ...] = ()
    allows_missing: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            msg = f"feature name must be a non-empty string, got {self.name!r}."
            raise InvalidParameterError(msg)
        if self.kind not in KINDS:
            msg = f"feature kind must be one of {', '.join(KINDS)}; got {self.kind!r}."
            raise InvalidParameterError(msg)
        object.__setattr__(self, "values", tuple(self.values))
        object.__setattr__(self, "thresholds", tuple(float(t) for t in self.thresholds))
        if len(set(self.values)) != len(self.values):
            msg = f"feature {self.name!r} lists a value twice: {self.values!r}."
            raise InvalidParameterError(msg)
        if self.kind == "boolean" and not set(self.values) <= {"false", "true"}:
            msg = (
                f"boolean feature {self.name!r} has values {self.values!r}; "
                "a boolean feature's values are 'false' and 'true'."
            )
            raise InvalidParameterError(msg)
        if any(b <= a for a, b in zip(self.thresholds, self.thresholds[1:], strict=False)):
            msg = f"thresholds of {self.name!r} must increase strictly: {self.thresholds!r}."
            raise InvalidParameterError(msg)

    @property
    def literals(self) -> tuple[Constraint, ...]:
        """The literal of each bit column of this feature, in column order."""
        if self.kind == "boolean":
            return () if self.is_constant else (BooleanAtom(self.name),)
        if self.kind == "categorical":
            if self.is_constant:
                return ()
            return tuple(Compare(self.name, "=", label_value(v)) for v in self.values)
        return tuple(Compare(self.name, "<=", t) for t in self.thresholds)

    @property
    def is_constant(self) -> bool:
        """Whether the feature takes at most one value, and so has no bit columns."""
        if self.kind == "numeric":
            return not self.thresholds
        return len(self.values) <= 1

    @property
    def constant(self) -> bool | str | None:
        """The single value of a constant boolean or categorical feature, else None."""
        if self.kind == "numeric" or len(self.values) != 1:
            return None
        if self.kind == "boolean":
            return self.values[0] == "true"
        return self.values[0]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "name": self.name,
            "kind": self.kind,
            "values": list(self.values),
            "thresholds": list(self.thresholds),
            "allows_missing": self.allows_missing,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Build a spec from `to_dict` output."""
        return cls(
            name=data["name"],
            kind=data["kind"],
            values=tuple(data.get("values", ())),
            thresholds=tuple(data.get("thresholds", ())),
            allows_missing=bool(data.get("allows_missing", False)),
        )


@dataclass(frozen=True)
class Schema:
    """The features of an encoded table, its bit columns and its target.

    Parameters
    ----------
    features : tuple of FeatureSpec
        In table order. The target, if any, is one of them.
    target : str or None
        Name of the target feature.

    Examples
    --------
    >>> schema = Schema((
    ...     FeatureSpec("smoker", "boolean", values=("false", "true")),
    ...     FeatureSpec("color", "categorical", values=("dark blue", "red")),
    ...     FeatureSpec("age", "numeric", thresholds=(37.5,)),
    ... ))
    >>> schema.columns
    ('smoker', 'color = "dark blue"', 'color = red', 'age <= 37.5')
    """

    features: tuple[FeatureSpec, ...]
    target: str | None = None
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _literals: tuple[Constraint, ...] = field(init=False, repr=False, compare=False)
    _offsets: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _column_of: dict[Constraint, int] = field(init=False, repr=False, compare=False)
    _column_feature: NDArray[np.int32] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        features = tuple(self.features)
        object.__setattr__(self, "features", features)
        index: dict[str, int] = {}
        for position, spec in enumerate(features):
            if spec.name in index:
                msg = f"schema lists feature {spec.name!r} twice."
                raise InvalidParameterError(msg)
            index[spec.name] = position
        if self.target is not None and self.target not in index:
            msg = f"target {self.target!r} is not one of the schema's features."
            raise InvalidParameterError(msg)
        literals: list[Constraint] = []
        offsets = [0]
        for spec in features:
            literals.extend(spec.literals)
            offsets.append(len(literals))
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_literals", tuple(literals))
        object.__setattr__(self, "_offsets", tuple(offsets))
        column_of = {literal: column for column, literal in enumerate(literals)}
        object.__setattr__(self, "_column_of", column_of)
        counts = np.diff(np.asarray(offsets, dtype=np.intp))
        column_feature = np.repeat(np.arange(len(features), dtype=np.int32), counts)
        column_feature.flags.writeable = False
        object.__setattr__(self, "_column_feature", column_feature)

    # -- lookup ------------------------------------------------------------------

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The feature names, in table order."""
        return tuple(spec.name for spec in self.features)

    @property
    def n_features(self) -> int:
        """The number of features, the target included."""
        return len(self.features)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def feature(self, name: str) -> FeatureSpec:
        """Return the spec of feature `name`.

        Raises
        ------
        UnknownFeatureError
            If the schema has no such feature; the message lists the known ones.
        """
        return self.features[self.index(name)]

    def index(self, name: str) -> int:
        """Return the position of feature `name` in `features`."""
        try:
            return self._index[name]
        except KeyError:
            known = ", ".join(repr(n) for n in self.feature_names) or "none"
            msg = f"unknown feature {name!r}; the features are {known}."
            raise UnknownFeatureError(msg) from None

    # -- columns -----------------------------------------------------------------

    @property
    def n_columns(self) -> int:
        """The number of bit columns."""
        return len(self._literals)

    @property
    def literals(self) -> tuple[Constraint, ...]:
        """The literal each bit column stands for, in column order."""
        return self._literals

    @property
    def columns(self) -> tuple[str, ...]:
        """The canonical text of each bit column's literal, in column order."""
        return tuple(str(literal) for literal in self._literals)

    def columns_of(self, name: str) -> range:
        """Return the column numbers of feature `name`."""
        position = self.index(name)
        return range(self._offsets[position], self._offsets[position + 1])

    def column_of(self, literal: Constraint | str) -> int:
        """Return the column number of a literal (node or text).

        Raises
        ------
        KeyError
            If no bit column stands for that literal.
        """
        if isinstance(literal, str):
            from loom.constraints.parser import parse

            literal = parse(literal)
        try:
            return self._column_of[literal]
        except KeyError:
            msg = f"no bit column stands for {str(literal)!r}."
            raise KeyError(msg) from None

    @property
    def column_feature(self) -> NDArray[np.intp]:
        """The feature position of each bit column, shape (n_columns,)."""
        return self._column_feature.astype(np.intp)

    @property
    def column_feature32(self) -> NDArray[np.int32]:
        """`column_feature` as a read-only int32 array, as the kernels take it."""
        return self._column_feature

    def estimate_nbytes(self, n_rows: int) -> int:
        """Return the bytes a table of `n_rows` rows needs: bit columns plus validity."""
        words = (n_rows + 63) // 64
        return 8 * words * (self.n_columns + self.n_features)

    # -- identity and serialization ---------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "format": SCHEMA_FORMAT,
            "target": self.target,
            "features": [spec.to_dict() for spec in self.features],
        }

    def to_json(self) -> str:
        """Return the canonical JSON text (sorted keys, no spaces)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        """Build a schema from `to_dict` output."""
        version = data.get("format")
        if version != SCHEMA_FORMAT:
            msg = (
                f"schema format {version!r} is not supported; this Loom reads format "
                f"{SCHEMA_FORMAT}. Re-encode the data with this version."
            )
            raise DataError(msg)
        features = tuple(FeatureSpec.from_dict(item) for item in data["features"])
        return cls(features, target=data.get("target"))

    @classmethod
    def from_json(cls, text: str) -> Schema:
        """Build a schema from `to_json` output."""
        return cls.from_dict(json.loads(text))

    @property
    def fingerprint(self) -> str:
        """SHA-256 hex digest of the canonical JSON: equal schemas, equal fingerprints."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def with_features(self, specs: Iterable[FeatureSpec]) -> Schema:
        """Return a schema with the same target and new features."""
        return Schema(tuple(specs), target=self.target)
