"""Parser of the constraint language: text to `Constraint` and `Statement` nodes.

The grammar lives in ``grammar/constraint.lark`` (installed as ``loom.grammar``). One
LALR parser is built per process, on first use, and shared by `parse` and `parse_rules`.
No lark ``Tree`` or ``Token`` leaves this module: syntax errors become
`ConstraintSyntaxError` with line, column, a caret snippet and the expected tokens.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer, UnexpectedInput, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedToken,
    VisitError,
)

from loom.constraints.ast import (
    FALSE,
    KEYWORDS,
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
    Statement,
    Value,
    Xor,
)
from loom.exceptions import ConstraintSyntaxError, InvalidParameterError

__all__ = ["build_parser", "parse", "parse_rules"]

GRAMMAR_PACKAGE = "loom.grammar"
GRAMMAR_FILE = "constraint.lark"

# Tokens after which a line break ends a statement; after any other token (an operator,
# a comma, an opening bracket) the constraint continues on the next line.
_STATEMENT_ENDERS = frozenset(
    {"NAME", "QUOTED_NAME", "STRING", "NUMBER", "RPAR", "RBRACE", "RSQB", "TRUE", "FALSE"}
)
_OPENERS = {"LPAR": "(", "LBRACE": "{", "LSQB": "["}
_CLOSERS = {"RPAR": "(", "RBRACE": "{", "RSQB": "["}
_CLOSER_OF = {"(": "RPAR", "{": "RBRACE", "[": "RSQB"}
_PAIRS = {"(": ")", "{": "}", "[": "]"}

_READABLE_TERMINALS = {
    "NAME": "a name",
    "QUOTED_NAME": "a quoted name",
    "STRING": "a string",
    "NUMBER": "a number",
    "_NL": "a line break",
    "$END": "the end of the text",
}
_VALUE_START = frozenset({"NUMBER", "STRING", "NAME"})
_COMPARISONS = frozenset(
    {"EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL"}
)
# Order in which expected tokens are listed.
_TERMINAL_ORDER = (
    "EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "IN", "NOT",
    "AND", "XOR", "OR", "_ARROW", "_IFF", "IF", "THEN",
    "NAME", "QUOTED_NAME", "NUMBER", "STRING", "TRUE", "FALSE",
    "ATLEAST", "ATMOST", "EXACTLY",
    "LPAR", "RPAR", "LBRACE", "RBRACE", "LSQB", "RSQB", "COMMA", "COLON", "SEMICOLON",
    "$END",
)
_SYMBOL_HINTS = {
    "&": "write 'and' instead of '&'",
    "|": "write 'or' instead of '|'",
    "!": "write 'not' instead of '!'",
    "~": "write 'not' instead of '~'",
    "^": "write 'xor' instead of '^'",
}
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "`": "`", "n": "\n", "t": "\t", "r": "\r"}
_ESCAPE_PATTERN = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)


class _TokenLog(threading.local):
    """The last two tokens a parse produced, per thread, for error messages."""

    def __init__(self) -> None:
        self.previous: Token | None = None
        self.current: Token | None = None
        self.open_brackets: list[Token] = []


class _LineBreaks:
    """Postlexer that keeps a line break only where it can end a statement."""

    # NAME in every lexer state keeps `andb` one word instead of `and` + `b`.
    always_accept = ("_NL", "NAME")

    def __init__(self) -> None:
        self.log = _TokenLog()

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        log = self.log
        log.previous = log.current = None
        log.open_brackets = []
        last_type = None
        for token in stream:
            if token.type == "_NL":
                if log.open_brackets or last_type not in _STATEMENT_ENDERS:
                    continue
            elif token.type in _OPENERS:
                log.open_brackets.append(token)
            elif token.type in _CLOSERS and log.open_brackets:
                log.open_brackets.pop()
            else:
                token = _retype_word(token, log.current)
            last_type = token.type
            log.previous, log.current = log.current, token
            yield token


def _retype_word(token: Token, previous: Token | None) -> Token:
    """Give a word the token type its spelling has, whatever the lexer state.

    The contextual lexer reads a keyword as NAME where the keyword cannot come next
    (`x = true`), and reads `1or` as a number and a keyword. A keyword is always a
    keyword, and a word glued to a number is a NAME, which the parser then rejects.
    """
    word = str(token)
    if token.type != "NAME" and word not in KEYWORDS:
        return token
    after_number = (
        previous is not None
        and previous.type == "NUMBER"
        and previous.end_pos == token.start_pos
    )
    if after_number:
        kind = "NAME"
    elif word in KEYWORDS:
        # Lark names the terminal of an anonymous keyword string after its upper case.
        kind = word.upper()
    else:
        return token
    if kind == token.type:
        return token
    return Token.new_borrow_pos(kind, word, token)


class _ToAst(Transformer[Token, Any]):
    """Turns the parse tree into AST nodes, one method per rule alias."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def constraint(self, children: list[Constraint]) -> Constraint:
        return children[0]

    def rule_set(self, children: list[Statement]) -> list[Statement]:
        return list(children)

    def statement(self, children: list[Any]) -> Statement:
        name, formula, annotations = children
        return Statement(formula, name=name, annotations=annotations or ())

    def annotations(self, children: list[Any]) -> tuple[tuple[str, Value], ...]:
        pairs = [child for child in children if child is not None]
        seen: set[str] = set()
        for token, _ in pairs:
            if str(token) in seen:
                msg = f"annotation {str(token)!r} appears twice; give each key once"
                raise _syntax_error(msg, self.text, token)
            seen.add(str(token))
        return tuple((str(key), value) for key, value in pairs)

    def annotation(self, children: list[Any]) -> tuple[Token, Value]:
        self._bare_word(children[0])  # rejects keys such as AND, as names do
        return (children[0], children[1])

    def iff(self, children: list[Constraint]) -> Constraint:
        return Iff(children[0], children[1])

    def implies(self, children: list[Constraint]) -> Constraint:
        return Implies(children[0], children[1])

    def or_(self, children: list[Constraint]) -> Constraint:
        return Or(tuple(children))

    def xor(self, children: list[Constraint]) -> Constraint:
        return Xor(tuple(children))

    def and_(self, children: list[Constraint]) -> Constraint:
        return And(tuple(children))

    def not_(self, children: list[Constraint]) -> Constraint:
        return Not(children[0])

    def true(self, children: list[Any]) -> Constraint:
        return TRUE

    def false(self, children: list[Any]) -> Constraint:
        return FALSE

    def boolean(self, children: list[str]) -> Constraint:
        return BooleanAtom(children[0])

    def compare(self, children: list[Any]) -> Constraint:
        name, operator, value = children
        return Compare(name, operator, value)

    def member(self, children: list[Any]) -> Constraint:
        name, *values = children
        return Membership(name, tuple(value for value in values if value is not None))

    def not_member(self, children: list[Any]) -> Constraint:
        return Not(self.member(children))

    def cardinality(self, children: list[Any]) -> Constraint:
        kind, bound_token, *operands = children
        bound = _parse_bound(bound_token, self.text, kind)
        formulas = tuple(operand for operand in operands if operand is not None)
        return Cardinality(kind, bound, formulas)

    def comparison_operator(self, children: list[Token]) -> str:
        return str(children[0])

    def cardinality_kind(self, children: list[Token]) -> str:
        return str(children[0])

    def name(self, children: list[Token]) -> str:
        token = children[0]
        if token.type == "QUOTED_NAME":
            return _unescape(str(token)[1:-1], self.text, token)
        return self._bare_word(token)

    @v_args(inline=True)
    def number(self, token: Token) -> float:
        number = float(token)
        if not math.isfinite(number):
            msg = f"number {str(token)!r} is too large for a float"
            raise _syntax_error(msg, self.text, token)
        return number + 0.0

    @v_args(inline=True)
    def string(self, token: Token) -> str:
        return _unescape(str(token)[1:-1], self.text, token)

    @v_args(inline=True)
    def word(self, token: Token) -> str:
        return self._bare_word(token)

    def _bare_word(self, token: Token) -> str:
        word = str(token)
        if _is_keyword_in_other_case(token):
            msg = (
                f"{word!r} is spelled like the keyword {word.lower()!r}, and keywords "
                f"are lower case: quote it as `{word}` for a name or \"{word}\" for "
                "a value"
            )
            raise _syntax_error(msg, self.text, token)
        return word


@lru_cache(maxsize=1)
def build_parser(*, strict: bool = False) -> Lark:
    """Build the LALR parser from the installed grammar file (cached per process).

    Parameters
    ----------
    strict : bool, default=False
        Build with lark's strict mode, which rejects shift/reduce conflicts and
        colliding terminals. The tests use it to keep the grammar unambiguous.
    """
    return Lark.open_from_package(
        GRAMMAR_PACKAGE,
        GRAMMAR_FILE,
        parser="lalr",
        start=["constraint", "rule_set"],
        postlex=_LineBreaks(),
        maybe_placeholders=True,
        strict=strict,
    )


def parse(text: str | Constraint) -> Constraint:
    """Parse one constraint.

    Parameters
    ----------
    text : str or Constraint
        Constraint text. Line breaks are allowed inside brackets and after operators.
        A node passes through unchanged.

    Returns
    -------
    Constraint
        The syntax tree; ``str`` of it is the canonical text.

    Raises
    ------
    ConstraintSyntaxError
        If the text is not one constraint of the language.

    Examples
    --------
    >>> from loom import parse
    >>> constraint = parse("if odor = none and not bruises then y = 'e'")
    >>> print(constraint)
    if odor = none and not bruises then y = e
    >>> parse("a -> b") == parse("if a then b")
    True
    """
    if isinstance(text, Constraint):
        return text
    result: Constraint = _run(text, "constraint")
    return result


def parse_rules(text: str) -> list[Statement]:
    """Parse a rule set: constraints one per line or separated by ``;``.

    Each entry may carry a name (``r1: ...``) and annotations (``[support=120]``);
    ``#`` starts a comment.

    Parameters
    ----------
    text : str
        Rule-set text. An empty text is an empty rule set.

    Returns
    -------
    list of Statement
        One statement per constraint, in order.

    Raises
    ------
    ConstraintSyntaxError
        If any line is not in the language.

    Examples
    --------
    >>> from loom import parse_rules
    >>> rules = parse_rules('''
    ... # odor decides
    ... r1: odor = none -> y = e [support=120, confidence=0.98]
    ... r2: odor in {foul, pungent} -> y = p
    ... ''')
    >>> [rule.name for rule in rules]
    ['r1', 'r2']
    >>> print(rules[0])
    r1: if odor = none then y = e [support=120, confidence=0.98]
    """
    result: list[Statement] = _run(text, "rule_set")
    return result


def _run(text: str, start: str) -> Any:
    if not isinstance(text, str):
        msg = f"constraint text must be a str, got {type(text).__name__}: {text!r}."
        raise InvalidParameterError(msg)
    parser = build_parser()
    try:
        tree = parser.parse(text, start=start)
    except UnexpectedInput as err:
        raise _translate(err, text, parser, start) from None
    try:
        return _ToAst(text).transform(tree)
    except VisitError as err:
        # Errors raised while building nodes carry their own position already.
        raise err.orig_exc from None


# ---------------------------------------------------------------------------
# Token values


def _unescape(body: str, text: str, token: Token) -> str:
    def replace(match: re.Match[str]) -> str:
        escape = match.group(1)
        if escape in _ESCAPES:
            return _ESCAPES[escape]
        if escape.startswith("u") and len(escape) == 5:
            return chr(int(escape[1:], 16))
        msg = (
            f"unknown escape '\\{escape}'; use \\\\ \\\" \\' \\` \\n \\t \\r or "
            "\\uXXXX"
        )
        raise _syntax_error(msg, text, token)

    return _ESCAPE_PATTERN.sub(replace, body)


def _parse_bound(token: Token, text: str, kind: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", str(token)):
        msg = f"the bound of {kind} must be an integer, got {str(token)!r}"
        raise _syntax_error(msg, text, token)
    try:
        # Read the digits as an int, because a float rounds bounds above 2**53.
        return int(str(token))
    except ValueError:
        # Python 3.11 caps int() at sys.get_int_max_str_digits() digits (default 4300).
        msg = f"the bound of {kind} has too many digits ({len(str(token))})"
        raise _syntax_error(msg, text, token) from None


# ---------------------------------------------------------------------------
# Error messages


def _syntax_error(
    message: str,
    text: str,
    token: Token | None = None,
    *,
    position: int | None = None,
    expected: tuple[str, ...] = (),
) -> ConstraintSyntaxError:
    if position is None:
        position = token.start_pos if token is not None and token.start_pos else 0
    position = min(position, len(text))
    line = text.count("\n", 0, position) + 1
    line_start = text.rfind("\n", 0, position) + 1
    column = position - line_start + 1
    line_end = text.find("\n", position)
    source_line = text[line_start : line_end if line_end >= 0 else len(text)]
    caret = " " * len(text[line_start:position].expandtabs()) + "^"
    context = f"    {source_line.expandtabs()}\n    {caret}"
    full = f"{message} at line {line}, column {column}\n{context}"
    return ConstraintSyntaxError(
        full, line=line, column=column, context=context, expected=expected
    )


def _translate(
    err: UnexpectedInput, text: str, parser: Lark, start: str
) -> ConstraintSyntaxError:
    log = parser.options.postlex.log
    if isinstance(err, UnexpectedCharacters):
        return _unexpected_character(err, text, log.current)
    assert isinstance(err, UnexpectedToken | UnexpectedEOF)
    token = err.token if isinstance(err, UnexpectedToken) else None
    previous = log.previous if token is not None and token is log.current else log.current
    # `accepts` replays the parser state, so it omits terminals the merged LALR
    # state would list but cannot take here.
    accepted = err.accepts if isinstance(err, UnexpectedToken) else err.expected
    accepted = {name for name in accepted if name != "_NL"}
    expected = tuple(_readable(name, parser) for name in _display_order(accepted))
    position = _error_position(token, text)
    message = _token_message(token, previous, accepted, text, log.open_brackets, start)
    if isinstance(message, tuple):
        message, position = message
    if message is None:
        message = _generic_message(token, previous, accepted, parser)
    return _syntax_error(message, text, position=position, expected=expected)


def _error_position(token: Token | None, text: str) -> int:
    if token is None or token.type == "$END" or token.start_pos is None:
        return len(text.rstrip())
    return int(token.start_pos)


def _unexpected_character(
    err: UnexpectedCharacters, text: str, previous: Token | None
) -> ConstraintSyntaxError:
    position = err.pos_in_stream
    char = text[position]
    if char in "\"'":
        message = f"unterminated string: the quote {char} is never closed on this line"
    elif char == "`":
        message = "unterminated quoted name: the backtick is never closed on this line"
    elif char == "=" and text.startswith("==", position - 1):
        message = "unexpected '=': write '=' for equality, not '=='"
    elif char in _SYMBOL_HINTS:
        message = f"unexpected {char!r}: {_SYMBOL_HINTS[char]}"
    elif char in "-.+" and previous is not None and previous.end_pos == position:
        word = _word_around(text, int(previous.start_pos or 0))
        message = f"unexpected {char!r} in {word!r}: {_quote_advice(word)}"
    else:
        message = f"unexpected character {char!r}"
    return _syntax_error(message, text, position=position)


def _token_message(
    token: Token | None,
    previous: Token | None,
    accepted: set[str],
    text: str,
    open_brackets: list[Token],
    start: str,
) -> str | tuple[str, int] | None:
    """Return a message for a frequent mistake, or None for the generic one.

    A tuple carries a position other than the unexpected token's.
    """
    at_end = token is None or token.type == "$END"
    if previous is not None and _is_keyword_in_other_case(previous):
        word = str(previous)
        message = f"unexpected {word!r}: keywords are lower case, write {word.lower()!r}"
        return message, int(previous.start_pos or 0)
    if at_end and open_brackets and _CLOSER_OF[str(open_brackets[-1])] in accepted:
        bracket = open_brackets[-1]
        closer = _PAIRS[str(bracket)]
        return (
            f"expected {closer!r} to close the {str(bracket)!r} from line "
            f"{bracket.line}, column {bracket.column}"
        )
    if token is None or at_end:
        return None
    value = str(token)
    if token.type in _CLOSERS and not open_brackets:
        return f"unexpected {value!r}: it has no matching {_CLOSERS[token.type]!r}"
    if _is_keyword_in_other_case(token):
        return f"unexpected {value!r}: keywords are lower case, write {value.lower()!r}"
    if value in KEYWORDS and accepted >= _VALUE_START and "NOT" not in accepted:
        where = f" after {_readable_token(previous)}" if previous is not None else ""
        return (
            f"expected a value{where}, but found the keyword {value!r}: quote it as "
            f'"{value}" to use it as a value'
        )
    if token.type == "EQUAL" and previous is not None and previous.type == "EQUAL":
        return "unexpected '=': write '=' for equality, not '=='"
    adjacent = previous is not None and previous.end_pos == token.start_pos
    if adjacent and token.type in ("NAME", "NUMBER") and previous.type == "NUMBER":
        word = _word_around(text, int(previous.start_pos or 0))
        return f"unexpected {value!r} in {word!r}: {_quote_advice(word)}"
    formula_expected = "NAME" in accepted and "LPAR" in accepted
    if token.type == "NUMBER" and formula_expected and "NUMBER" not in accepted:
        word = _word_around(text, int(token.start_pos or 0))
        return (
            f"unexpected number {word!r} where a formula was expected: a feature "
            f"name cannot start with a digit; quote it with backticks: `{word}`"
        )
    if token.type == "_NL" and start == "constraint":
        return (
            "unexpected line break: parse() reads one constraint; use parse_rules() "
            "for several, or break the line after an operator"
        )
    # Inside brackets, `:` and `[` are misplaced tokens, not rule-set syntax.
    enclosing = [bracket for bracket in open_brackets if bracket is not token]
    rule_set_token = token.type in ("SEMICOLON", "COLON", "LSQB") and not enclosing
    if rule_set_token and start == "constraint":
        return (
            f"unexpected {value!r}: parse() reads one constraint without a name or "
            "annotations; use parse_rules() for rule-set text"
        )
    return None


def _generic_message(
    token: Token | None, previous: Token | None, accepted: set[str], parser: Lark
) -> str:
    if accepted >= {"NOT", "LPAR", "NAME"}:
        wanted = "a formula"
    elif accepted >= _VALUE_START and "NOT" not in accepted:
        wanted = "a value"
    else:
        names = []
        if accepted >= _COMPARISONS:
            names.append("a comparison operator")
            accepted = accepted - _COMPARISONS - {"NOT"}
        names += [_readable(name, parser) for name in _display_order(accepted)]
        wanted = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    if token is None or token.type == "$END":
        found = "the text ends"
    else:
        found = f"found {_readable_token(token)}"
    where = f" after {_readable_token(previous)}" if previous is not None else ""
    return f"expected {wanted}{where}, but {found}"


def _display_order(names: set[str]) -> list[str]:
    rank = {name: index for index, name in enumerate(_TERMINAL_ORDER)}
    return sorted(names, key=lambda name: (rank.get(name, len(rank)), name))


def _is_keyword_in_other_case(token: Token) -> bool:
    word = str(token)
    return token.type == "NAME" and word.lower() in KEYWORDS and word not in KEYWORDS


def _readable(name: str, parser: Lark) -> str:
    if name in _READABLE_TERMINALS:
        return _READABLE_TERMINALS[name]
    terminal = parser.get_terminal(name)
    return repr(terminal.pattern.value)


def _readable_token(token: Token) -> str:
    if token.type == "_NL":
        return "a line break"
    return repr(str(token))


def _word_around(text: str, start: int) -> str:
    match = re.compile(r"[^\s,;:(){}\[\]=<>!]+").match(text, start)
    return match.group(0) if match else text[start : start + 1]


def _quote_advice(word: str) -> str:
    return f'quote it: "{word}" as a value, or `{word}` as a feature name'
