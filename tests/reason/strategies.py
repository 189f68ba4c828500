"""Hypothesis strategies for reasoning problems: small schemas and random knowledge.

Schemas hold at most 10 boolean and categorical features, some with missing values,
and at most `MAX_CASES` cases, so the brute-force oracle stays fast. Formulas use
every connective and cardinality with bounds past both ends and repeated operands.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from loom import FeatureSpec, Schema
from loom.constraints.ast import (
    FALSE,
    TRUE,
    And,
    BooleanAtom,
    Cardinality,
    Compare,
    Constraint,
    Iff,
    Implies,
    Membership,
    Not,
    Or,
    Value,
    Xor,
)
from loom.data.schema import label_value
from tests.reason.oracle import CaseTable, states_of

__all__ = [
    "MAX_CASES",
    "Problem",
    "draw_atom",
    "draw_formula",
    "formulas",
    "problems",
    "schemas",
]

MAX_CASES = 3_000
MAX_FEATURES = 10
# "1" is a label that constraints write as the number 1.
LABELS = ("a", "b", "1")
BOOLEAN_VALUES = (("false", "true"), ("false", "true"), ("true",), ("false",))


@dataclass(frozen=True)
class Problem:
    """A schema, labelled and weighted constraints, facts and a goal."""

    schema: Schema
    constraints: dict[str, Constraint]
    weights: dict[str, int]
    facts: tuple[Constraint, ...]
    goal: Constraint
    target: str
    soft: dict[Constraint, int]

    def items(self) -> list[tuple[str, Constraint, int | None]]:
        """The ``constraint_items()`` triples of the knowledge."""
        return [
            (label, node, self.weights.get(label))
            for label, node in self.constraints.items()
        ]


@st.composite
def schemas(draw: st.DrawFn, max_cases: int = MAX_CASES) -> Schema:
    n_features = draw(st.integers(1, MAX_FEATURES))
    specs = []
    n_cases = 1
    for position in range(n_features):
        name = f"f{position}"
        if draw(st.booleans()):
            values = draw(st.sampled_from(BOOLEAN_VALUES))
            kind = "boolean"
        else:
            values = tuple(LABELS[: draw(st.integers(1, len(LABELS)))])
            kind = "categorical"
        allows_missing = draw(st.booleans())
        size = len(values) + allows_missing
        if n_cases * size > max_cases:
            # Keep the feature as small as it can be, or stop adding features.
            values, allows_missing, kind = ("false", "true"), False, "boolean"
            size = 2
            if n_cases * size > max_cases:
                break
        n_cases *= size
        specs.append(
            FeatureSpec(name, kind, values=values, allows_missing=allows_missing)
        )
    return Schema(tuple(specs))


def draw_atom(draw: st.DrawFn, schema: Schema) -> Constraint:
    """Draw a constant, a boolean atom, a comparison or a membership test."""
    spec = schema.features[draw(st.integers(0, schema.n_features - 1))]
    if spec.kind == "boolean":
        values: list[Value] = ["true", "false", 1.0, 0.0]
    else:
        values = [label_value(label) for label in spec.values]
    choice = draw(st.integers(0, 5))
    if choice == 5:
        return draw(st.sampled_from((TRUE, FALSE)))
    if choice == 4:
        picked = draw(st.lists(st.sampled_from(values), max_size=3))
        return Membership(spec.name, tuple(picked))
    if spec.kind == "boolean" and choice == 0:
        return BooleanAtom(spec.name)
    operator = "!=" if choice == 3 else "="
    return Compare(spec.name, operator, draw(st.sampled_from(values)))


def draw_formula(draw: st.DrawFn, schema: Schema, depth: int) -> Constraint:
    """Draw a formula of at most `depth` levels of connectives.

    Choices are integers that shrink towards an atom, so failing cases shrink to
    small formulas.
    """
    choice = draw(st.integers(0, 9)) if depth > 0 else 0
    if choice <= 1:
        return draw_atom(draw, schema)

    def operand() -> Constraint:
        return draw_formula(draw, schema, depth - 1)

    if choice == 2:
        return Not(operand())
    if choice in (3, 4, 5):
        kind = {3: And, 4: Or, 5: Xor}[choice]
        return kind(tuple(operand() for _ in range(draw(st.integers(2, 3)))))
    if choice in (6, 7):
        return Implies(operand(), operand())
    if choice == 8:
        return Iff(operand(), operand())
    # Cardinality over operands drawn from a small pool, so they repeat.
    pool = [operand() for _ in range(draw(st.integers(1, 3)))]
    operands = tuple(draw(st.lists(st.sampled_from(pool), max_size=5)))
    kind_name = draw(st.sampled_from(("atleast", "atmost", "exactly")))
    bound = draw(st.integers(-1, len(operands) + 1))
    return Cardinality(kind_name, bound, operands)


@st.composite
def formulas(draw: st.DrawFn, schema: Schema, depth: int = 2) -> Constraint:
    return draw_formula(draw, schema, depth)


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    """Draw a problem; half of them are planted: the constraints and facts all hold
    on one hidden case, so the knowledge is consistent and its rules interact."""
    schema = draw(schemas())
    planted = draw(st.booleans())
    hidden = None
    if planted:
        positions = [
            draw(st.integers(0, len(states_of(spec)) - 1)) for spec in schema.features
        ]
        hidden = CaseTable(schema, rows=[positions])
    nodes = [
        _planted(node, hidden) for node in draw(st.lists(formulas(schema), max_size=5))
    ]
    facts = [
        _planted(node, hidden)
        for node in draw(st.lists(formulas(schema, depth=1), max_size=3))
    ]
    goal = draw(formulas(schema))
    if planted:
        # A chain of rules from a fact to the goal: a0, a0 -> a1, a1 -> a2, ...
        links = [
            _planted(draw_atom(draw, schema), hidden)
            for _ in range(draw(st.integers(0, 4)))
        ]
        links = [node for node in links if node is not None]
        if links:
            facts.append(links[0])
            nodes.extend(Implies(a, b) for a, b in zip(links, links[1:], strict=False))
            if draw(st.booleans()):
                goal = links[-1]
    constraints = {
        f"r{position}": node for position, node in enumerate(nodes) if node is not None
    }
    weights = {}
    for label in constraints:
        weight = draw(st.one_of(st.none(), st.integers(1, 5)))
        if weight is not None:
            weights[label] = weight
    target = draw(st.sampled_from([spec.name for spec in schema.features]))
    soft = draw(
        st.dictionaries(formulas(schema, depth=1), st.integers(1, 5), max_size=2)
    )
    return Problem(
        schema,
        constraints,
        weights,
        tuple(node for node in facts if node is not None),
        goal,
        target,
        soft,
    )


def _planted(node: Constraint, hidden: CaseTable | None) -> Constraint | None:
    """Return `node`, or its negation, whichever is TRUE on the hidden case; None
    when it is unknown there."""
    if hidden is None:
        return node
    true, false = hidden.truth(node)
    if true[0]:
        return node
    return Not(node) if false[0] else None
