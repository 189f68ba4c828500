"""`RuleSet`: the model `loom.discover` returns, its predictions and its text and JSON
forms.

A rule set for a binary target predicts the positive class on every row that one of
its rules matches and the default class elsewhere. A decision list (more than two
classes) lets the first rule that matches decide. Both print as constraint text that
`loom.parse_rules` reads, with statistics per rule as annotations.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from loom.constraints.ast import (
    TRUE,
    And,
    BooleanAtom,
    Compare,
    Constraint,
    Implies,
    Membership,
    Not,
    Or,
    Statement,
    format_number,
    format_rules,
    walk,
)
from loom.constraints.evaluate import evaluate
from loom.constraints.parser import parse, parse_rules
from loom.data.bits import unpack_bits
from loom.data.schema import Schema, label_value
from loom.data.table import BitTable
from loom.exceptions import (
    ConstraintError,
    DataError,
    DataFileNotFoundError,
    UnseenValueWarning,
)

__all__ = ["ModelRule", "RuleSet"]

Kind = Literal["rule set", "decision list"]
FORMAT = 1
_HEADER = "# loom rules"


@dataclass(frozen=True)
class ModelRule:
    """One rule of a model: a condition and the class it predicts, with statistics.

    Attributes
    ----------
    condition : Constraint
        A conjunction of literals and cardinality conditions (``true`` for a rule
        without conditions).
    prediction : str
        The class label the rule predicts.
    class_counts : tuple of int
        Training rows the rule decides, per class (in the model's class order).
    support : int
        Training rows the rule decides (for a rule set: every row it matches).
    confidence : float
        Share of those rows in the predicted class.
    lift : float
        Confidence divided by the predicted class's share of all training rows.
    """

    condition: Constraint
    prediction: str
    class_counts: tuple[int, ...]
    support: int
    confidence: float
    lift: float

    @property
    def n_literals(self) -> int:
        """Number of literals of the condition (a cardinality condition counts its
        operands), as the search and its limits count them."""
        return sum(
            1
            for node in walk(self.condition)
            if isinstance(node, Compare | Membership | BooleanAtom)
        )


@dataclass
class RuleSet:
    """Rules that predict a target, learned by `loom.discover`.

    Attributes
    ----------
    target : str
        Name of the target feature.
    classes : tuple of str
        Class labels, in the order of `predict_proba`'s columns.
    kind : {'rule set', 'decision list'}
        A rule set predicts `positive` where any rule matches; in a decision list the
        first rule that matches decides.
    rules : tuple of ModelRule
        The rules, in order.
    default : ModelRule
        The class of rows no rule matches (its condition is ``true``).
    schema : Schema
        The schema new data is encoded with.
    positive : str or None
        The class the rules of a rule set predict.
    info : dict
        Discovery settings and figures (seed, options, fingerprints, accuracy).
    history : list of dict
        Per generation: best error, best literals, front size, seconds.
    front : list of dict
        The final Pareto front: literals, training error and validation error of each
        member, and whether it was chosen.
    """

    target: str
    classes: tuple[str, ...]
    kind: Kind
    rules: tuple[ModelRule, ...]
    default: ModelRule
    schema: Schema
    positive: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    front: list[dict[str, Any]] = field(default_factory=list)
    # Rules of the search's final front, for the crystal store; not saved.
    _front_rules: list[Constraint] = field(default_factory=list, repr=False, compare=False)

    # -- text ----------------------------------------------------------------------

    def statements(self) -> list[Statement]:
        """Return the rules as named, annotated statements, then the default."""
        statements = []
        for number, rule in enumerate(self.rules, start=1):
            formula = Implies(rule.condition, self._conclusion(rule.prediction))
            if rule.condition == TRUE:
                formula = self._conclusion(rule.prediction)
            statements.append(
                Statement(formula, name=f"r{number}", annotations=_annotations(rule))
            )
        statements.append(
            Statement(
                self._conclusion(self.default.prediction),
                name="default",
                annotations=_annotations(self.default),
            )
        )
        return statements

    def _conclusion(self, label: str) -> Constraint:
        spec = self.schema.feature(self.target)
        if spec.kind == "boolean":
            return Compare(self.target, "=", label)
        return Compare(self.target, "=", label_value(label))

    def __str__(self) -> str:
        if self.kind == "rule set":
            first = (
                f"# rules for {self._conclusion(str(self.positive))}; rows no rule "
                f"matches: {self._conclusion(self.default.prediction)}\n"
            )
        else:
            first = "# decision list: the first rule that matches decides\n"
        return first + format_rules(self.statements())

    def __repr__(self) -> str:
        return (
            f"RuleSet(target={self.target!r}, kind={self.kind!r}, "
            f"n_rules={len(self.rules)}, n_literals={self.n_literals})"
        )

    @property
    def n_literals(self) -> int:
        """Total literals of the rules."""
        return sum(rule.n_literals for rule in self.rules)

    def constraint_items(self) -> list[tuple[str, Constraint, float | None]]:
        """Return the model as ``(name, constraint, confidence)`` triples whose logic
        is exact: a rule of a decision list holds only where no earlier rule matched,
        and the default only where no rule matched."""
        items: list[tuple[str, Constraint, float | None]] = []
        earlier: list[Constraint] = []
        for number, rule in enumerate(self.rules, start=1):
            condition = rule.condition
            if self.kind == "decision list" and earlier:
                condition = And((condition, *[Not(c) for c in earlier]))
            conclusion = self._conclusion(rule.prediction)
            items.append((f"r{number}", Implies(condition, conclusion), rule.confidence))
            earlier.append(rule.condition)
        conclusion = self._conclusion(self.default.prediction)
        if earlier:
            none = Not(earlier[0]) if len(earlier) == 1 else Not(Or(tuple(earlier)))
            items.append(("default", Implies(none, conclusion), self.default.confidence))
        else:
            items.append(("default", conclusion, self.default.confidence))
        return items

    # -- prediction ----------------------------------------------------------------

    def _table(self, data: object) -> BitTable:
        if isinstance(data, BitTable):
            return data
        with warnings.catch_warnings():
            # New data often contains values the training data lacked. They match no
            # '=' literal, which is the intended reading, so no warning is due.
            warnings.simplefilter("ignore", UnseenValueWarning)
            return self._encode(data)

    def _encode(self, data: object) -> BitTable:
        features = [name for name in self.schema.feature_names if name != self.target]
        if isinstance(data, str | os.PathLike):
            return BitTable.from_csv(data, schema=self.schema)
        if isinstance(data, pd.DataFrame):
            return BitTable.from_frame(data, schema=self.schema)
        array = np.asarray(data)
        if array.ndim != 2 or array.shape[1] != len(features):
            msg = (
                f"data must have shape (n_samples, {len(features)}) with the features "
                f"{features}, got shape {array.shape}."
            )
            raise DataError(msg)
        frame = pd.DataFrame(
            {name: array[:, index] for index, name in enumerate(features)}
        )
        return BitTable.from_frame(frame, schema=self.schema)

    def _matches(self, table: BitTable) -> NDArray[np.bool_]:
        """Rows x rules: where each rule's condition is true."""
        matches = np.zeros((len(self.rules), table.n_rows), dtype=bool)
        for index, rule in enumerate(self.rules):
            true, _ = evaluate(rule.condition, table, allow_unseen=True)
            matches[index] = unpack_bits(true, table.n_rows)
        return matches

    def decisions(self, data: object) -> NDArray[np.intp]:
        """Return the position of the rule that decides each row, -1 for the default.

        In a rule set the matching rule of highest confidence decides (the first on a
        tie); in a decision list the first matching rule.
        """
        table = self._table(data)
        matches = self._matches(table)
        decided = np.full(table.n_rows, -1, dtype=np.intp)
        if not self.rules:
            return decided
        if self.kind == "decision list":
            order = np.arange(len(self.rules))
        else:
            confidence = np.array([rule.confidence for rule in self.rules])
            order = np.argsort(-confidence, kind="stable")
        for index in order[::-1]:
            decided[matches[index]] = index
        return decided

    def predict_proba(self, data: object) -> NDArray[np.float64]:
        """Return class probabilities, shape (n_samples, n_classes).

        A row gets the class distribution (Laplace-smoothed) of the training rows
        that its deciding rule, or the default, decides.
        """
        decided = self.decisions(data)
        table = np.array(
            [_laplace(rule.class_counts) for rule in (*self.rules, self.default)]
        )
        return table[decided]  # -1 picks the default, the last row

    def predict(self, data: object) -> NDArray[np.object_]:
        """Return the predicted class label of each row."""
        labels = np.array(self.classes, dtype=object)
        return labels[np.argmax(self.predict_proba(data), axis=1)]

    def explain(self, data: object) -> pd.DataFrame:
        """Return, per row, the rule that decided it and its prediction."""
        decided = self.decisions(data)
        names = np.array([f"r{i}" for i in range(1, len(self.rules) + 1)] + ["default"])
        texts = np.array(
            [str(statement.constraint) for statement in self.statements()], dtype=object
        )
        predictions = np.array(
            [rule.prediction for rule in (*self.rules, self.default)], dtype=object
        )
        return pd.DataFrame(
            {"rule": names[decided], "prediction": predictions[decided],
             "text": texts[decided]}
        )

    def score(self, data: object, y: ArrayLike | None = None) -> float:
        """Return the accuracy on `data` (its target column, or the labels `y`)."""
        table = self._table(data)
        predicted = self.predict(table)
        if y is None:
            truth = _labels_of(table, self.target, self.classes)
        else:
            truth = np.array([str(label) for label in np.asarray(y)], dtype=object)
        known = truth != None  # noqa: E711 - elementwise comparison
        if not known.any():
            msg = f"no row of the data has a known {self.target!r} to score against."
            raise DataError(msg)
        return float(np.mean(predicted[known] == truth[known]))

    # -- figures -------------------------------------------------------------------

    def plot_front(self, path: str | os.PathLike[str] | None = None) -> Any:
        """Draw the final Pareto front (error rate against literals, the chosen model
        marked) and write it as PNG to `path` when given; needs matplotlib. Returns
        the matplotlib Figure; see `loom.evolve.plots.plot_front`."""
        from loom.evolve.plots import plot_front

        return plot_front(self, path)

    def plot_progress(self, path: str | os.PathLike[str] | None = None) -> Any:
        """Draw the best training error and the Pareto front size per generation and
        write it as PNG to `path` when given; needs matplotlib. Returns the
        matplotlib Figure; see `loom.evolve.plots.plot_progress`."""
        from loom.evolve.plots import plot_progress

        return plot_progress(self, path)

    # -- frames and files ----------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """Return one row per rule (and the default) with its statistics."""
        rows = []
        for statement, rule in zip(
            self.statements(), (*self.rules, self.default), strict=True
        ):
            rows.append(
                {
                    "name": statement.name,
                    "rule": str(statement.constraint),
                    "prediction": rule.prediction,
                    "literals": rule.n_literals,
                    "support": rule.support,
                    "confidence": rule.confidence,
                    "lift": rule.lift,
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict that `from_dict` reads back exactly."""
        return {
            "format": FORMAT,
            "target": self.target,
            "classes": list(self.classes),
            "kind": self.kind,
            "positive": self.positive,
            "schema": self.schema.to_dict(),
            "rules": [_rule_dict(rule) for rule in self.rules],
            "default": _rule_dict(self.default),
            "info": self.info,
            "history": self.history,
            "front": self.front,
        }

    def to_json(self) -> str:
        """Return the JSON text of `to_dict` (sorted keys)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleSet:
        """Build a rule set from `to_dict` output."""
        try:
            version = data["format"]
            if version != FORMAT:
                msg = (
                    f"rule set format {version!r} is not supported; this Loom reads "
                    f"format {FORMAT}."
                )
                raise DataError(msg)
            model = cls(
                target=data["target"],
                classes=tuple(data["classes"]),
                kind=data["kind"],
                rules=tuple(_rule_from(item) for item in data["rules"]),
                default=_rule_from(data["default"]),
                schema=Schema.from_dict(data["schema"]),
                positive=data.get("positive"),
                info=dict(data.get("info", {})),
                history=list(data.get("history", [])),
                front=list(data.get("front", [])),
            )
        except (KeyError, TypeError) as err:
            msg = f"not a saved rule set: missing or malformed field {err}."
            raise DataError(msg) from err
        model._check_rules()
        return model

    def _check_rules(self) -> None:
        """Raise if a rule names a feature or value its schema does not have (a rules
        file edited by hand): evaluating on a table of no rows resolves every atom."""
        empty = BitTable(
            self.schema,
            np.zeros((self.schema.n_columns, 0), dtype=np.uint64),
            np.zeros((self.schema.n_features, 0), dtype=np.uint64),
            0,
        )
        for number, rule in enumerate(self.rules, start=1):
            try:
                evaluate(rule.condition, empty)
            except ConstraintError as err:
                msg = f"rule r{number} does not fit the model's schema: {err}"
                raise DataError(msg) from err
        for label in (*(rule.prediction for rule in self.rules), self.default.prediction):
            if label not in self.classes:
                known = ", ".join(repr(c) for c in self.classes)
                msg = f"a rule predicts {label!r}, which is not a class ({known})."
                raise DataError(msg)

    @classmethod
    def from_json(cls, text: str) -> RuleSet:
        """Build a rule set from `to_json` output."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            msg = f"not a rule set's JSON: {err}."
            raise DataError(msg) from err
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the rules as constraint text, with the schema and counts as comments
        so that `load` rebuilds the same model."""
        meta = self.to_dict()
        for key in ("rules", "default"):
            meta.pop(key)
        meta["counts"] = [list(rule.class_counts) for rule in (*self.rules, self.default)]
        text = (
            f"{_HEADER} {FORMAT}\n# meta: {json.dumps(meta, sort_keys=True)}\n{self}"
        )
        target = Path(os.fspath(path))
        temporary = target.with_name(target.name + ".partial")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RuleSet:
        """Read a file written by `save`."""
        source = Path(os.fspath(path))
        if not source.exists():
            msg = f"rules file not found: {str(source)!r}."
            raise DataFileNotFoundError(msg)
        text = source.read_text(encoding="utf-8")
        lines = text.splitlines()
        if len(lines) < 2 or not lines[0].startswith(_HEADER) or not lines[1].startswith(
            "# meta: "
        ):
            msg = (
                f"{str(source)!r} is not a rules file written by RuleSet.save: it must "
                f"start with '{_HEADER}' and a '# meta:' line."
            )
            raise DataError(msg)
        try:
            meta = json.loads(lines[1][len("# meta: ") :])
            counts = meta.pop("counts")
        except (json.JSONDecodeError, KeyError) as err:
            msg = f"{str(source)!r}: the '# meta:' line is damaged ({err})."
            raise DataError(msg) from err
        statements = parse_rules(text)
        if len(statements) != len(counts):
            msg = (
                f"{str(source)!r} holds {len(statements)} rules but its meta line counts "
                f"{len(counts)}; the file was edited by hand."
            )
            raise DataError(msg)
        rules = []
        for statement, class_counts in zip(statements, counts, strict=True):
            formula = statement.constraint
            condition = formula.antecedent if isinstance(formula, Implies) else TRUE
            rules.append(
                {
                    "condition": str(condition),
                    "prediction": _conclusion_label(formula),
                    "class_counts": class_counts,
                    "support": statement.annotation("support", 0),
                    "confidence": statement.annotation("confidence", 0.0),
                    "lift": statement.annotation("lift", 0.0),
                }
            )
        meta["rules"] = rules[:-1]
        meta["default"] = rules[-1]
        return cls.from_dict(meta)


def _conclusion_label(formula: Constraint) -> str:
    conclusion = formula.consequent if isinstance(formula, Implies) else formula
    if not isinstance(conclusion, Compare):
        msg = f"a rule must conclude 'target = class', got {str(conclusion)!r}."
        raise DataError(msg)
    value = conclusion.value
    return value if isinstance(value, str) else format_number(value)


def _annotations(rule: ModelRule) -> tuple[tuple[str, float], ...]:
    return (
        ("support", float(rule.support)),
        ("confidence", rule.confidence),
        ("lift", rule.lift),
    )


def _rule_dict(rule: ModelRule) -> dict[str, Any]:
    return {
        "condition": str(rule.condition),
        "prediction": rule.prediction,
        "class_counts": list(rule.class_counts),
        "support": rule.support,
        "confidence": rule.confidence,
        "lift": rule.lift,
    }


def _rule_from(data: Mapping[str, Any]) -> ModelRule:
    return ModelRule(
        condition=parse(data["condition"]),
        prediction=str(data["prediction"]),
        class_counts=tuple(int(count) for count in data["class_counts"]),
        support=int(data["support"]),
        confidence=float(data["confidence"]),
        lift=float(data["lift"]),
    )


def _laplace(counts: Sequence[int]) -> NDArray[np.float64]:
    array = np.asarray(counts, dtype=np.float64) + 1.0
    return array / array.sum()


def _labels_of(table: BitTable, target: str, classes: Sequence[str]) -> NDArray[np.object_]:
    """Return each row's target label (None where missing)."""
    spec = table.schema.feature(target)
    labels = np.full(table.n_rows, None, dtype=object)
    if spec.kind == "boolean":
        known = unpack_bits(table.feature_valid(target), table.n_rows)
        if spec.is_constant:
            value = spec.values[0] if spec.values else None
            labels[known] = value
            return labels
        column = table.schema.columns_of(target)[0]
        set_bits = table.column_values(column)
        labels[known & set_bits] = "true"
        labels[known & ~set_bits] = "false"
        return labels
    columns = table.schema.columns_of(target)
    for position, column in enumerate(columns):
        labels[table.column_values(column)] = spec.values[position]
    return labels
