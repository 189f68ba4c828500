"""Rule sets compiled into binary layers that run on the XNOR-popcount kernels.

`compile_rules` turns a `RuleSet` into a stack of `BinaryLayer`. A conjunction of
literals is one neuron with a mask and a threshold, and the rules of a class are an
OR neuron over them. A decision list, or a rule set whose rules predict different
classes, gets a cascade layer where each rule fires only if no earlier rule matched.
The compiled layers predict exactly what `RuleSet.predict` predicts.

Input encoding: every bit column ``c`` of the rule set's schema, other than the
target's, gives two input bits, ``2c`` (the column's literal is true) and ``2c + 1``
(it is false: the value is known and the bit is clear). A missing value clears both,
so neither a literal nor its negation matches it, as in Loom's three-valued
evaluation. The bit numbers are the kernels' literal codes.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from loom.bnn.layers import BinaryLayer, transpose_bits
from loom.constraints.ast import (
    And,
    BooleanAtom,
    Cardinality,
    Compare,
    Constant,
    Constraint,
    Iff,
    Implies,
    Membership,
    Not,
    Or,
    Xor,
)
from loom.data.bits import unpack_bits
from loom.data.schema import Schema, label_value
from loom.data.table import BitTable
from loom.exceptions import ConstraintError, DataError, UnseenValueWarning
from loom.kernels import encode_literal

if TYPE_CHECKING:
    from loom.evolve.model import RuleSet

__all__ = ["CompiledRules", "compile_rules"]

# An atom is a threshold unit over input bits: true where at least `threshold` of
# the listed input bits are set. A term is a conjunction of atoms, a DNF a list of
# terms (an empty list is false, a list holding the empty term is true).
Atom = tuple[tuple[int, ...], int]
Term = frozenset[Atom]
Dnf = list[Term]

_TRUE: Dnf = [frozenset()]
_FALSE: Dnf = []


@dataclass(frozen=True, eq=False)
class CompiledRules:
    """A rule set as binary layers on packed bits.

    Attributes
    ----------
    layers : tuple of BinaryLayer
        Applied in order; the last has one neuron per class, and exactly one of them
        fires on every row.
    classes : tuple of str
        The class of each output neuron (the rule set's classes).
    schema : Schema
        The schema whose bit columns feed the input.
    columns : tuple of int
        The schema's bit columns that feed the input, in input order: column
        ``columns[i]`` gives input bits ``2i`` (true) and ``2i + 1`` (false).
    copies : tuple of int
        Extra input bits that repeat earlier ones (cardinality conditions that list
        an operand twice count it twice): input ``2 * len(columns) + k`` repeats
        input ``copies[k]``.
    target : str
        The rule set's target.
    """

    layers: tuple[BinaryLayer, ...]
    classes: tuple[str, ...]
    schema: Schema
    columns: tuple[int, ...]
    copies: tuple[int, ...]
    target: str

    @property
    def n_inputs(self) -> int:
        """The number of input bits."""
        return 2 * len(self.columns) + len(self.copies)

    def input_bits(self, data: BitTable | pd.DataFrame) -> NDArray[np.uint64]:
        """Encode rows as the network's row-packed input bits.

        Parameters
        ----------
        data : BitTable or DataFrame
            A table whose schema has every column the rules use, with the same
            literals (a DataFrame is encoded with `schema`).

        Returns
        -------
        ndarray of shape (n_samples, n_words(n_inputs)), dtype=uint64
        """
        table = self._table(data)
        rows = self._source_columns(table)
        true = table.bits[rows]
        features = table.schema.column_feature[rows]
        false = table.valid[features] & ~true
        pairs = np.empty((2 * len(rows), table.n_words), dtype=np.uint64)
        pairs[0::2] = true
        pairs[1::2] = false
        if self.copies:
            pairs = np.concatenate([pairs, pairs[list(self.copies)]])
        return transpose_bits(pairs, table.n_rows)

    def forward(
        self, inputs: NDArray[np.uint64], backend: str | None = None
    ) -> NDArray[np.uint64]:
        """Run every layer on row-packed input bits; return the output bits,
        shape (n_samples, n_words(n_classes))."""
        bits = inputs
        for layer in self.layers:
            bits = layer.forward(bits, backend)
        return bits

    def predict_positions(
        self, data: BitTable | pd.DataFrame, backend: str | None = None
    ) -> NDArray[np.intp]:
        """Return the position in `classes` of each row's predicted class."""
        outputs = unpack_bits(
            self.forward(self.input_bits(data), backend), len(self.classes)
        )
        fired = outputs.sum(axis=1)
        if np.any(fired != 1):
            row = int(np.flatnonzero(fired != 1)[0])
            msg = f"row {row}: {int(fired[row])} output neurons fired instead of one."
            raise AssertionError(msg)
        positions: NDArray[np.intp] = np.argmax(outputs, axis=1)
        return positions

    def predict(
        self, data: BitTable | pd.DataFrame, backend: str | None = None
    ) -> NDArray[np.object_]:
        """Return the predicted class label of each row, as `RuleSet.predict` does."""
        labels = np.array(self.classes, dtype=object)
        return labels[self.predict_positions(data, backend)]

    def _table(self, data: BitTable | pd.DataFrame) -> BitTable:
        if isinstance(data, BitTable):
            return data
        if isinstance(data, pd.DataFrame):
            with warnings.catch_warnings():
                # Unseen values match no '=' literal, as in RuleSet.predict.
                warnings.simplefilter("ignore", UnseenValueWarning)
                return BitTable.from_frame(data, schema=self.schema)
        msg = f"data must be a BitTable or a DataFrame, got {type(data).__name__}."
        raise DataError(msg)

    def _source_columns(self, table: BitTable) -> list[int]:
        if table.schema == self.schema:
            return list(self.columns)
        rows = []
        for column in self.columns:
            literal = self.schema.literals[column]
            name = self.schema.features[self.schema.column_feature[column]].name
            feature = self.schema.feature(name)
            if name not in table.schema or table.schema.feature(name) != feature:
                msg = (
                    f"the table encodes feature {name!r} differently from the rules' "
                    "schema, or lacks it; encode it with schema=rules.schema."
                )
                raise DataError(msg)
            rows.append(table.schema.column_of(literal))
        return rows


def compile_rules(rules: RuleSet) -> CompiledRules:
    """Compile a rule set into binary layers with the same predictions.

    Parameters
    ----------
    rules : RuleSet
        A two-class rule set or a decision list, as `loom.discover` returns. Rule
        conditions may combine literals and cardinality conditions over literals
        with ``and``, ``or``, ``not``, ``->``, ``<->`` and ``xor``.

    Returns
    -------
    CompiledRules

    Raises
    ------
    ConstraintError
        If a condition uses a literal that no bit column of the schema stands for,
        the target, or a cardinality condition over something other than literals.

    Notes
    -----
    The prediction follows `RuleSet.predict`. In a decision list the first rule that
    matches decides. In a rule set the matching rule of highest confidence decides,
    the first one on a tie. The prediction is the class of highest Laplace-smoothed
    count of the deciding rule, or of the default where no rule matches.

    The layers, in order, each left out where it is not needed:

    1. threshold units for cardinality conditions;
    2. one conjunction neuron per term of each condition in disjunctive normal form;
    3. one OR neuron per rule over its terms;
    4. a cascade with one neuron per rule (it matches and no earlier one did) and one
       for "no rule matched";
    5. one OR neuron per class.

    Examples
    --------
    >>> import pandas as pd
    >>> import loom
    >>> frame = pd.DataFrame({"a": [True, True, False, False] * 10,
    ...                       "b": [True, False, True, False] * 10,
    ...                       "y": ["yes", "no", "no", "no"] * 10})
    >>> rules = loom.discover(frame, "y", n_generations=5, random_state=0)
    >>> compiled = compile_rules(rules)
    >>> [layer.n_outputs for layer in compiled.layers]
    [1, 2]
    >>> list(compiled.predict(frame.head(4)))
    ['yes', 'no', 'no', 'no']
    """
    schema = rules.schema
    target_columns = set(schema.columns_of(rules.target))
    columns = tuple(c for c in range(schema.n_columns) if c not in target_columns)
    builder = _Builder(schema, columns, rules.target)
    rule_terms = [
        builder.condition(rule.condition, f"r{number}")
        for number, rule in enumerate(rules.rules, start=1)
    ]
    layers = builder.term_layers(rule_terms)
    layers.extend(_decision_layers(rules, len(rule_terms)))
    return CompiledRules(
        tuple(layers),
        tuple(rules.classes),
        schema,
        columns,
        tuple(builder.copies),
        rules.target,
    )


# ---------------------------------------------------------------------------
# Conditions to terms


class _Builder:
    """Turns conditions into terms over input bits, and terms into layers."""

    def __init__(self, schema: Schema, columns: tuple[int, ...], target: str) -> None:
        self.schema = schema
        self.target = target
        self.input_of = {column: index for index, column in enumerate(columns)}
        self.n_base = 2 * len(columns)
        self.copies: list[int] = []
        self._copy_of: dict[tuple[int, int], int] = {}
        self.rule = ""

    def condition(self, node: Constraint, rule: str) -> Dnf:
        """Return the terms of the rows where `node` is true."""
        self.rule = rule
        return _simplify(self.true(node), self.n_base)

    def true(self, node: Constraint) -> Dnf:
        if isinstance(node, Constant):
            return list(_TRUE) if node.value else list(_FALSE)
        if isinstance(node, Not):
            return self.false(node.operand)
        if isinstance(node, And):
            return _product([self.true(operand) for operand in node.operands])
        if isinstance(node, Or):
            return _union([self.true(operand) for operand in node.operands])
        if isinstance(node, Implies):
            return _union([self.false(node.antecedent), self.true(node.consequent)])
        if isinstance(node, Iff | Xor):
            return self._parity(node)[0]
        if isinstance(node, Cardinality):
            return self._cardinality(node)[0]
        return self._literal(node)[0]

    def false(self, node: Constraint) -> Dnf:
        if isinstance(node, Constant):
            return list(_FALSE) if node.value else list(_TRUE)
        if isinstance(node, Not):
            return self.true(node.operand)
        if isinstance(node, And):
            return _union([self.false(operand) for operand in node.operands])
        if isinstance(node, Or):
            return _product([self.false(operand) for operand in node.operands])
        if isinstance(node, Implies):
            return _product([self.true(node.antecedent), self.false(node.consequent)])
        if isinstance(node, Iff | Xor):
            return self._parity(node)[1]
        if isinstance(node, Cardinality):
            return self._cardinality(node)[1]
        return self._literal(node)[1]

    def _parity(self, node: Iff | Xor) -> tuple[Dnf, Dnf]:
        """True and false terms of ``a <-> b`` and of ``a xor b xor ...``."""
        if isinstance(node, Iff):
            left, right = node.left, node.right
            true = _union(
                [
                    _product([self.true(left), self.true(right)]),
                    _product([self.false(left), self.false(right)]),
                ]
            )
            false = _union(
                [
                    _product([self.true(left), self.false(right)]),
                    _product([self.false(left), self.true(right)]),
                ]
            )
            return true, false
        true, false = self.true(node.operands[0]), self.false(node.operands[0])
        for operand in node.operands[1:]:
            other_true, other_false = self.true(operand), self.false(operand)
            true, false = (
                _union([_product([true, other_false]), _product([false, other_true])]),
                _union([_product([true, other_true]), _product([false, other_false])]),
            )
        return true, false

    def _literal(self, node: Constraint) -> tuple[Dnf, Dnf]:
        """True and false terms of a literal (a column, its negation, or a value
        the schema does not know)."""
        if isinstance(node, Membership) and len(node.values) > 1:
            equalities = [Compare(node.feature, "=", value) for value in node.values]
            return self.true(Or(tuple(equalities))), self.false(Or(tuple(equalities)))
        if not isinstance(node, BooleanAtom | Compare | Membership):
            msg = f"rule {self.rule}: {str(node)!r} is not a literal."
            raise ConstraintError(msg)
        if node.feature == self.target:
            msg = f"rule {self.rule}: the condition {str(node)!r} uses the target."
            raise ConstraintError(msg)
        unseen = self._unseen(node)
        if unseen is not None:
            return unseen
        bit = self._true_bit(node)
        return [frozenset({((bit,), 1)})], [frozenset({((bit ^ 1,), 1)})]

    def _true_bit(self, node: Constraint) -> int:
        """Return the input bit that is set where a column literal is true."""
        try:
            code = encode_literal(self.schema, node)
        except ConstraintError as err:
            msg = f"rule {self.rule}: {err} Compiled rules need bit columns."
            raise ConstraintError(msg) from None
        column, negated = divmod(code, 2)
        if column not in self.input_of:
            msg = f"rule {self.rule}: the condition {str(node)!r} uses the target."
            raise ConstraintError(msg)
        return 2 * self.input_of[column] + negated

    def _unseen(
        self, node: Compare | Membership | BooleanAtom
    ) -> tuple[Dnf, Dnf] | None:
        """Terms of ``c = v`` or ``c != v`` for a categorical value v the schema does
        not know: ``=`` matches no row, ``!=`` every row where c is known."""
        if not isinstance(node, Compare) or node.op not in ("=", "!="):
            return None
        spec = self.schema.feature(node.feature)
        if spec.kind != "categorical":
            return None
        value = node.value
        if any(label_value(label) == value for label in spec.values):
            return None
        columns = self.schema.columns_of(spec.name)
        if not columns:
            msg = (
                f"rule {self.rule}: {str(node)!r} needs to know where {spec.name!r} is "
                "missing, but the feature has no bit column."
            )
            raise ConstraintError(msg)
        first = 2 * self.input_of[columns[0]]
        known: Dnf = [frozenset({((first, first + 1), 1)})]
        return (list(_FALSE), known) if node.op == "=" else (known, list(_FALSE))

    def _cardinality(self, node: Cardinality) -> tuple[Dnf, Dnf]:
        """True and false terms of a count of literals (three-valued, as
        `loom.evaluate` counts: a literal on a missing value is neither)."""
        trues = []
        for operand in node.operands:
            is_literal = isinstance(operand, BooleanAtom | Compare | Not) or (
                isinstance(operand, Membership) and len(operand.values) == 1
            )
            if not is_literal:
                msg = (
                    f"rule {self.rule}: the operand {str(operand)!r} of {str(node)!r} "
                    "is not a literal; compiled cardinality conditions count literals."
                )
                raise ConstraintError(msg)
            trues.append(self._true_bit(operand))
        falses = [bit ^ 1 for bit in trues]
        count = len(node.operands)
        k = node.bound
        at_least_true = self._atom(trues, k)  # at least k literals true
        at_most_possible = self._atom(falses, count - k)  # at most k can be true
        more_true = self._atom(trues, k + 1)
        fewer_possible = self._atom(falses, count - k + 1)
        if node.kind == "atleast":
            return at_least_true, fewer_possible
        if node.kind == "atmost":
            return at_most_possible, more_true
        return (
            _product([at_least_true, at_most_possible]),
            _union([more_true, fewer_possible]),
        )

    def _atom(self, bits: list[int], threshold: int) -> Dnf:
        """Terms of "at least `threshold` of `bits` are set" (a bit listed twice
        counts twice, through a copy of its input)."""
        if threshold <= 0:
            return list(_TRUE)
        if threshold > len(bits):
            return list(_FALSE)
        seen: dict[int, int] = {}
        inputs = []
        for bit in bits:
            occurrence = seen.get(bit, 0)
            seen[bit] = occurrence + 1
            inputs.append(bit if occurrence == 0 else self._copy(bit, occurrence))
        return [frozenset({(tuple(sorted(inputs)), threshold)})]

    def _copy(self, bit: int, occurrence: int) -> int:
        key = (bit, occurrence)
        if key not in self._copy_of:
            self._copy_of[key] = self.n_base + len(self.copies)
            self.copies.append(bit)
        return self._copy_of[key]

    # -- layers ------------------------------------------------------------------

    def term_layers(self, rule_terms: list[Dnf]) -> list[BinaryLayer]:
        """Return the layers from the input bits to one match neuron per rule."""
        n_inputs = self.n_base + len(self.copies)
        terms = [term for dnf in rule_terms for term in dnf]
        atoms = sorted({atom for term in terms for atom in term})
        layers = []
        if all(len(bits) == 1 and threshold == 1 for bits, threshold in atoms):
            # Conjunctions of input bits: one neuron per term, on the inputs.
            term_inputs = [[bits[0] for bits, _ in sorted(term)] for term in terms]
            layers.append(_and_layer(term_inputs, n_inputs))
        else:
            layers.append(_threshold_layer(atoms, n_inputs))
            position = {atom: index for index, atom in enumerate(atoms)}
            term_inputs = [[position[atom] for atom in sorted(term)] for term in terms]
            layers.append(_and_layer(term_inputs, len(atoms)))
        if any(len(dnf) != 1 for dnf in rule_terms):
            groups = []
            start = 0
            for dnf in rule_terms:
                groups.append(list(range(start, start + len(dnf))))
                start += len(dnf)
            layers.append(_or_layer(groups, len(terms)))
        return layers


def _simplify(dnf: Dnf, n_base: int) -> Dnf:
    """Drop terms that require both bits of a column (true and false, which no row
    has) and repeated terms, keeping the order of first occurrences."""
    unique: list[Term] = []
    for term in dnf:
        required = {
            bits[0]
            for bits, threshold in term
            if len(bits) == 1 and threshold == 1 and bits[0] < n_base
        }
        if any(bit ^ 1 in required for bit in required):
            continue
        if term not in unique:
            unique.append(term)
    return unique


def _product(parts: Sequence[Dnf]) -> Dnf:
    result: Dnf = list(_TRUE)
    for part in parts:
        result = [left | right for left in result for right in part]
    return result


def _union(parts: Sequence[Dnf]) -> Dnf:
    return [term for part in parts for term in part]


# ---------------------------------------------------------------------------
# Layers


def _layer(n_inputs: int, rows: list[tuple[dict[int, bool], int]]) -> BinaryLayer:
    """Build a layer from neurons given as ({input: weight is +1}, threshold on the
    masked dot product)."""
    weights = np.zeros((len(rows), n_inputs), dtype=bool)
    mask = np.zeros((len(rows), n_inputs), dtype=bool)
    thresholds = np.zeros(len(rows), dtype=np.int64)
    for index, (signs, threshold) in enumerate(rows):
        for position, positive in signs.items():
            mask[index, position] = True
            weights[index, position] = positive
        thresholds[index] = threshold
    return BinaryLayer.from_signs(np.where(weights, 1, -1), thresholds, mask)


def _and_layer(groups: list[list[int]], n_inputs: int) -> BinaryLayer:
    """Build one neuron per group that fires when every input of the group is +1."""
    return _layer(
        n_inputs, [({i: True for i in group}, len(group)) for group in groups]
    )


def _or_layer(groups: list[list[int]], n_inputs: int) -> BinaryLayer:
    """Build one neuron per group that fires when an input of the group is +1, and
    never for an empty group. One agreement is a dot product of at least 2 - size."""
    return _layer(
        n_inputs,
        [
            ({i: True for i in group}, 2 - len(group) if group else 1)
            for group in groups
        ],
    )


def _threshold_layer(atoms: list[Atom], n_inputs: int) -> BinaryLayer:
    """Build one neuron per atom that fires when at least `threshold` of its m inputs
    are +1, which is a dot product of at least ``2 * threshold - m``."""
    return _layer(
        n_inputs,
        [
            ({i: True for i in bits}, 2 * threshold - len(bits))
            for bits, threshold in atoms
        ],
    )


def _laplace_argmax(counts: Sequence[int]) -> int:
    """Return the class `RuleSet.predict` gives a rule: the largest Laplace-smoothed
    share, the first on a tie, computed as `RuleSet.predict_proba` computes it."""
    smoothed = np.asarray(counts, dtype=np.float64) + 1.0
    return int(np.argmax(smoothed / smoothed.sum()))


def _decision_layers(rules: RuleSet, n_rules: int) -> list[BinaryLayer]:
    """Return the layers from one match neuron per rule to one neuron per class."""
    n_classes = len(rules.classes)
    labels = [_laplace_argmax(rule.class_counts) for rule in rules.rules]
    default = _laplace_argmax(rules.default.class_counts)
    if rules.kind == "decision list":
        order = list(range(n_rules))
    else:
        confidence = np.array([rule.confidence for rule in rules.rules])
        order = [int(i) for i in np.argsort(-confidence, kind="stable")]

    everyone = list(range(n_rules))
    if len(set(labels)) <= 1:
        # Every rule predicts the same class: an OR of the rules, and a neuron for
        # the rows no rule matches.
        rows: list[tuple[dict[int, bool], int]] = []
        for position in range(n_classes):
            members = [i for i in everyone if labels[i] == position]
            rows.append(_class_neuron(members, position == default, n_rules))
        return [_layer(n_rules, rows)]

    # Cascade: rule order[k] decides where it matches and order[0 .. k-1] do not.
    cascade: list[tuple[dict[int, bool], int]] = []
    for k, rule in enumerate(order):
        signs = {earlier: False for earlier in order[:k]}
        signs[rule] = True
        cascade.append((signs, k + 1))
    cascade.append(({i: False for i in everyone}, n_rules))
    output = []
    for position in range(n_classes):
        members = [k for k, rule in enumerate(order) if labels[rule] == position]
        if position == default:
            members.append(n_rules)
        output.append(({k: True for k in members}, 2 - len(members) if members else 1))
    return [_layer(n_rules, cascade), _layer(n_rules + 1, output)]


def _class_neuron(
    members: list[int], is_default: bool, n_rules: int
) -> tuple[dict[int, bool], int]:
    """Return the output neuron of a class in a rule set whose rules share one
    class."""
    if members and is_default:
        return {}, 0  # every row: matched or not, the class is the same
    if members:
        return {i: True for i in members}, 2 - len(members)
    if is_default:
        return {i: False for i in range(n_rules)}, n_rules
    return {}, 1  # never
