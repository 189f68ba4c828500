"""Hypothesis strategies for constraint syntax trees, statements and rule sets.

Names, numbers and strings lean on the spellings that break printers and lexers.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from hypothesis import strategies as st

from loom.constraints.ast import (
    CARDINALITY_KINDS,
    COMPARISON_OPERATORS,
    KEYWORDS,
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
    Statement,
    Value,
    Xor,
)

__all__ = [
    "AWKWARD_NAMES",
    "AWKWARD_NUMBERS",
    "AWKWARD_STRINGS",
    "annotation_keys",
    "constraints",
    "feature_names",
    "keyword_spellings",
    "numbers",
    "rule_sets",
    "statements",
    "strings",
    "values",
]

AWKWARD_NAMES: tuple[str, ...] = (
    "age (years)",
    "a b",
    " leading space",
    "trailing space ",
    "x=y",
    "x<=y",
    "2nd-dose",
    "007",
    "1a",
    "a-b",
    "-",
    "`",
    "a`b",
    "``",
    "\\",
    "back\\slash",
    "ends with \\",
    '"',
    "'",
    "it's",
    'say "hi"',
    "café",
    "Ärzte",
    "名前",
    "İstanbul",
    "🍄",
    "mush🍄room",
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "\x00",
    "\x07bell",
    "\x7f",
    "\x1b[0m",
    "\x85",
    "\u2028",
    "\ufeff",
    "\ud800",
    "lone \udfff low",
    "#hash",
    "a # b",
    ";",
    ":",
    "r1:",
    "[k=1]",
    "{x}",
    "(",
    ")",
    ",",
    " ",
    "->",
    "<->",
    "and",
    "or",
    "not",
    "xor",
    "in",
    "if",
    "then",
    "true",
    "false",
    "atleast",
    "atmost",
    "exactly",
    "AND",
    "Or",
    "NOT",
    "True",
    "FALSE",
    "If",
    "ATLEAST",
    "order",
    "notes",
    "android",
    "inner",
    "iffy",
    "xorb",
    "thence",
    "trueish",
    "falsey",
    "atleast2",
    "not_",
    "_",
    "__",
    "_and",
    "a1",
    "A",
)
"""Feature names that need care: quoting, escapes, keywords and near-keywords."""

AWKWARD_NUMBERS: tuple[float | int, ...] = (
    0,
    0.0,
    -0.0,
    1,
    -1,
    -3,
    2.5e-3,
    0.1,
    0.1 + 0.2,  # 0.30000000000000004 needs 17 significant digits
    1 / 3,
    -2 / 3,
    1e-5,
    1e-7,
    1e15,
    1e16,
    1e20,
    1e22,
    1e23,
    1e-300,
    1e300,
    -1e300,
    1.7976931348623157e308,  # largest finite float
    2.2250738585072014e-308,  # smallest normal float
    2.225073858507201e-308,  # largest subnormal float
    5e-324,  # smallest subnormal float
    -5e-324,
    2**53,
    2**53 + 1,  # not a float: rounds to 2**53
    2**53 + 2,
    2**63,
    -(2**63) - 1,
    123456789012345678,
    10**300,
    9007199254740993.0,
    sys.float_info.epsilon,
)
"""Numbers whose printing needs care: signs, exponents, 17 digits, subnormals."""

AWKWARD_STRINGS: tuple[str, ...] = (
    "",
    " ",
    "red",
    "dark blue",
    '"',
    "'",
    "\"'",
    "it's",
    'say "hi"',
    "`",
    "\\",
    "\\n",
    "\n",
    "\t",
    "\r",
    "\r\n",
    "\x00",
    "\x7f",
    "\ud800",
    "\udc00",
    "\ud83d\ude00",  # a surrogate pair as two separate code points
    "🍄",
    "é",
    "007",
    "0",
    "1a",
    "-3",
    "1e5",
    ".5",
    "true",
    "false",
    "and",
    "in",
    "not",
    "AND",
    "True",
    "Then",
    "order",
    "notes",
    "android",
    "#",
    "a,b",
    "}",
    "{",
    "]",
    ";",
)
"""String values that need care: empty, quotes, escapes, keywords, digit strings."""


def keyword_spellings() -> st.SearchStrategy[str]:
    """Draw a keyword in a random mix of upper and lower case, lower case included."""

    def spell(keyword: str, upper_mask: int) -> str:
        letters = (
            char.upper() if upper_mask >> index & 1 else char
            for index, char in enumerate(keyword)
        )
        return "".join(letters)

    longest = max(len(keyword) for keyword in KEYWORDS)
    return st.builds(
        spell,
        st.sampled_from(sorted(KEYWORDS)),
        st.integers(0, 2**longest - 1),
    )


_WORD_START = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
_BARE_WORDS = st.builds(
    str.__add__,
    st.sampled_from(_WORD_START),
    st.text(_WORD_START + "0123456789", max_size=10),
)
_LONE_SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
_SUBNORMALS = st.builds(
    lambda magnitude, sign: sign * magnitude,
    st.floats(min_value=5e-324, max_value=2.225073858507201e-308),
    st.sampled_from((1.0, -1.0)),
)
_ANY_CHARACTERS = st.one_of(
    st.characters(codec=None),
    st.characters(max_codepoint=0x9F),
    _LONE_SURROGATES,
)


def feature_names() -> st.SearchStrategy[str]:
    """Draw a non-empty feature name: bare words, keyword spellings or any text."""
    return st.one_of(
        st.sampled_from(AWKWARD_NAMES),
        _BARE_WORDS,
        keyword_spellings(),
        st.text(_ANY_CHARACTERS, min_size=1, max_size=8),
    )


def numbers() -> st.SearchStrategy[float | int]:
    """Draw a finite number, as an int or a float, before the AST normalizes it."""
    return st.one_of(
        st.sampled_from(AWKWARD_NUMBERS),
        st.floats(allow_nan=False, allow_infinity=False),
        _SUBNORMALS,
        st.integers(min_value=-(2**70), max_value=2**70),
    )


def strings() -> st.SearchStrategy[str]:
    """Draw a string value, empty strings and lone surrogates included."""
    return st.one_of(
        st.sampled_from(AWKWARD_STRINGS),
        _BARE_WORDS,
        keyword_spellings(),
        st.text("0123456789", min_size=1, max_size=4),
        st.text(_ANY_CHARACTERS, max_size=8),
    )


def values() -> st.SearchStrategy[Value | int]:
    """Draw a comparison value: a number or a string."""
    return st.one_of(numbers(), strings())


def annotation_keys() -> st.SearchStrategy[str]:
    """Draw an annotation key: a bare word that is no keyword in any case."""
    words = st.one_of(
        st.sampled_from(("support", "confidence", "order", "notes", "android", "_")),
        _BARE_WORDS,
    )
    return words.filter(lambda word: word.lower() not in KEYWORDS)


def constraints(
    feature_names: Sequence[str] | None = None,
    values: Sequence[Value] | Mapping[str, Sequence[Value]] | None = None,
    max_leaves: int = 12,
) -> st.SearchStrategy[Constraint]:
    """Draw constraint trees that use every node kind.

    Parameters
    ----------
    feature_names : sequence of str, optional
        Names to draw features from. By default names are drawn from `feature_names()`
        in this module, awkward spellings included.
    values : sequence of values, or mapping of feature name to a sequence, optional
        Values for comparisons and set membership. A sequence is shared by every
        feature. A mapping gives each feature its own values: a feature mapped to an
        empty sequence appears only as a boolean atom, any other only in comparisons
        and membership tests, and the mapping keys are the default feature names.
        By default values are drawn from `values()` in this module.
    max_leaves : int, default=12
        Passed to `hypothesis.strategies.recursive`: the approximate largest number
        of leaves in a tree.
    """
    atoms = _atoms(feature_names, values)
    return st.recursive(atoms, _connectives, max_leaves=max_leaves)


def statements(
    constraint_strategy: st.SearchStrategy[Constraint] | None = None,
) -> st.SearchStrategy[Statement]:
    """Draw a rule-set entry: a constraint, an optional name and unique annotations."""
    if constraint_strategy is None:
        constraint_strategy = constraints()
    key_value_pairs = st.lists(
        st.tuples(annotation_keys(), values()),
        max_size=4,
        unique_by=lambda pair: pair[0],
    )
    return st.builds(
        Statement,
        constraint_strategy,
        name=st.none() | feature_names(),
        annotations=key_value_pairs.map(tuple),
    )


def rule_sets(
    statement_strategy: st.SearchStrategy[Statement] | None = None,
    max_size: int = 4,
) -> st.SearchStrategy[list[Statement]]:
    """Draw a rule set: a list of statements, possibly empty."""
    if statement_strategy is None:
        statement_strategy = statements(constraints(max_leaves=6))
    return st.lists(statement_strategy, max_size=max_size)


def _atoms(
    names: Sequence[str] | None,
    vocabulary: Sequence[Value] | Mapping[str, Sequence[Value]] | None,
) -> st.SearchStrategy[Constraint]:
    constants = st.builds(Constant, st.booleans())
    empty_cardinalities = st.builds(
        Cardinality,
        st.sampled_from(CARDINALITY_KINDS),
        st.integers(-2, 2),
        st.just(()),
    )
    if isinstance(vocabulary, Mapping):
        return st.one_of(
            constants,
            empty_cardinalities,
            *_schema_atoms(names, vocabulary),
        )

    name_strategy = feature_names() if names is None else st.sampled_from(list(names))
    value_strategy = (
        values() if vocabulary is None else st.sampled_from(list(vocabulary))
    )
    return st.one_of(
        constants,
        empty_cardinalities,
        st.builds(BooleanAtom, name_strategy),
        _comparisons(name_strategy, value_strategy),
        _memberships(name_strategy, value_strategy),
    )


def _schema_atoms(
    names: Sequence[str] | None, vocabulary: Mapping[str, Sequence[Value]]
) -> list[st.SearchStrategy[Constraint]]:
    if names is None:
        names = list(vocabulary)
    boolean_names = [name for name in names if not vocabulary.get(name)]
    valued_names = [name for name in names if vocabulary.get(name)]
    atoms: list[st.SearchStrategy[Constraint]] = []
    if boolean_names:
        atoms.append(st.builds(BooleanAtom, st.sampled_from(boolean_names)))
    for name in valued_names:
        feature_values = st.sampled_from(list(vocabulary[name]))
        atoms.append(_comparisons(st.just(name), feature_values))
        atoms.append(_memberships(st.just(name), feature_values))
    return atoms


def _comparisons(
    names: st.SearchStrategy[str], value_strategy: st.SearchStrategy[Value | int]
) -> st.SearchStrategy[Constraint]:
    return st.builds(
        Compare, names, st.sampled_from(COMPARISON_OPERATORS), value_strategy
    )


def _memberships(
    names: st.SearchStrategy[str], value_strategy: st.SearchStrategy[Value | int]
) -> st.SearchStrategy[Constraint]:
    # Unsorted lists with repeats exercise the constructor's normalization.
    members = st.lists(value_strategy, max_size=5).map(tuple)
    return st.builds(Membership, names, members)


def _connectives(
    children: st.SearchStrategy[Constraint],
) -> st.SearchStrategy[Constraint]:
    operand_lists = st.lists(children, min_size=2, max_size=4).map(tuple)
    return st.one_of(
        st.builds(Not, children),
        st.builds(And, operand_lists),
        st.builds(Or, operand_lists),
        st.builds(Xor, operand_lists),
        st.builds(Implies, children, children),
        st.builds(Iff, children, children),
        _cardinalities(children),
    )


def _cardinalities(
    children: st.SearchStrategy[Constraint],
) -> st.SearchStrategy[Constraint]:
    def build(operands: list[Constraint]) -> st.SearchStrategy[Constraint]:
        return st.builds(
            Cardinality,
            st.sampled_from(CARDINALITY_KINDS),
            st.integers(-2, len(operands) + 2),
            st.just(tuple(operands)),
        )

    return st.lists(children, max_size=4).flatmap(build)
