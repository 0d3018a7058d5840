"""Parse the text of a WHERE clause (the CLI's ``--where``) into a predicate.

Grammar (keywords ignore case)::

    expr       := or_expr
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := not_expr ("AND" not_expr)*
    not_expr   := "NOT" not_expr | primary
    primary    := "(" expr ")" | comparison
    comparison := column op literal
                | literal op column
                | column "IS" ["NOT"] "NULL"
                | column ["NOT"] "IN" "(" literal ("," literal)* ")"
                | column ["NOT"] "BETWEEN" literal "AND" literal
    op         := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    column     := identifier | '"' quoted identifier '"'
    literal    := number | "'" string "'" | "TRUE" | "FALSE"

An identifier is a letter or ``_`` followed by letters, digits and ``_``. A
column whose name is a keyword or contains other characters is written in
double quotes (``"order date"``), with ``""`` for a quote inside. In a string
``''`` is a quote. Numbers may have a sign, a fraction and an exponent, and
are kept exact (``int`` or ``Decimal``, never ``float``), so
``l_discount >= 0.05`` is exact on a decimal column. Strings stay strings and
the column's type converts them when the predicate is bound, so
``l_shipdate >= '1994-01-01'`` works on a date column.

Example:
    >>> parse_where("l_quantity < 24 AND l_shipmode IN ('AIR', 'MAIL')")
    (col('l_quantity') < 24) & (col('l_shipmode').isin(['AIR', 'MAIL']))
"""

from __future__ import annotations

import decimal
import operator
import re
from typing import Any, NamedTuple

from .errors import PredicateError
from .predicate import ColumnRef, Predicate, col

__all__ = ["parse_where"]

KEYWORDS = frozenset({"AND", "OR", "NOT", "IS", "NULL", "IN", "BETWEEN", "TRUE", "FALSE"})

# Each spelling of an operator, mapped to its Python form.
_OPERATOR_SPELLINGS = {"==": "==", "=": "==", "!=": "!=", "<>": "!=", "<=": "<=", ">=": ">=", "<": "<", ">": ">"}
_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

_TOKEN_RE = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<string>'(?:[^']|'')*')
    | (?P<quoted>"(?:[^"]|"")*")
    | (?P<word>[^\W\d]\w*)
    | (?P<operator>==|!=|<>|<=|>=|=|<|>)  # two-character operators before their prefixes
    | (?P<punct>[(),])
    """,
    re.VERBOSE,
)

#: Characters of the expression shown on each side of an error's position.
EXCERPT_RADIUS = 40

#: Deepest nesting of parentheses and NOT that the recursive parser accepts,
#: far below Python's recursion limit of 1,000 frames.
MAX_NESTING = 100

# Letters, digits and dots stuck to a number, shown whole in the error.
_NUMBER_TAIL_RE = re.compile(r"[\w.]*")


class Token(NamedTuple):
    """One lexical token: ``kind`` is number, string, column, keyword, operator, punct or end."""

    kind: str
    text: str
    value: Any
    position: int


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.tokens = self._tokenize()
        self.index = 0
        self.depth = 0

    # -- errors ----------------------------------------------------------------

    def error(self, reason: str, position: int, hint: str = "") -> PredicateError:
        """Build an error that points at ``position`` with a caret under an excerpt."""
        if position >= len(self.text):
            where = "at the end of the condition"
        else:
            where = f"at column {position + 1}"
        if hint:
            where += f"; {hint}"
        start = max(0, position - EXCERPT_RADIUS)
        stop = min(len(self.text), position + EXCERPT_RADIUS)
        prefix = "..." if start > 0 else ""
        suffix = "..." if stop < len(self.text) else ""
        # Tabs and newlines would move the caret, so show them as spaces.
        excerpt = re.sub(r"\s", " ", self.text[start:stop])
        caret = " " * (len(prefix) + position - start) + "^"
        return PredicateError(f"{self.source}: {reason} {where}:\n    {prefix}{excerpt}{suffix}\n    {caret}")

    # -- tokens ----------------------------------------------------------------

    def _tokenize(self) -> list[Token]:
        tokens = []
        position = 0
        while position < len(self.text):
            match = _TOKEN_RE.match(self.text, position)
            if match is None:
                raise self._bad_character(position)
            kind, text = match.lastgroup, match.group()
            if kind == "number":
                end = match.end()
                if end < len(self.text) and (self.text[end].isalnum() or self.text[end] in "_."):
                    bad_end = _NUMBER_TAIL_RE.match(self.text, end).end()  # type: ignore[union-attr]
                    raise self.error(f"invalid number {self.text[position:bad_end]!r}", position)
                tokens.append(Token("number", text, _parse_number(text), position))
            elif kind == "string":
                tokens.append(Token("string", text, text[1:-1].replace("''", "'"), position))
            elif kind == "quoted":
                name = text[1:-1].replace('""', '"')
                if not name:
                    raise self.error('empty quoted column name ""', position)
                tokens.append(Token("column", text, name, position))
            elif kind == "word":
                upper = text.upper()
                if upper in KEYWORDS:
                    tokens.append(Token("keyword", text, upper, position))
                else:
                    tokens.append(Token("column", text, text, position))
            elif kind == "operator":
                tokens.append(Token("operator", text, _OPERATOR_SPELLINGS[text], position))
            elif kind == "punct":
                tokens.append(Token("punct", text, text, position))
            position = match.end()
        tokens.append(Token("end", "", None, len(self.text)))
        return tokens

    def _bad_character(self, position: int) -> PredicateError:
        char = self.text[position]
        if char == "'":
            return self.error("unterminated string", position, "add the closing '")
        if char == '"':
            return self.error("unterminated quoted column name", position, 'add the closing "')
        if char == "!":
            return self.error("unexpected character '!'", position, "write != or NOT")
        return self.error(f"unexpected character {char!r}", position)

    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def previous_text(self) -> str:
        return self.tokens[self.index - 1].text

    def accept_keyword(self, word: str) -> bool:
        token = self.peek()
        if token.kind == "keyword" and token.value == word:
            self.index += 1
            return True
        return False

    def expect_punct(self, symbol: str, reason: str, hint: str = "") -> Token:
        token = self.peek()
        if token.kind == "punct" and token.value == symbol:
            return self.advance()
        raise self.error(f"{reason}{_found(token)}", token.position, hint)

    # -- grammar ---------------------------------------------------------------

    def parse(self) -> Predicate:
        if self.peek().kind == "end":
            raise PredicateError(f"{self.source}: the condition is empty; write one such as \"x > 0\"")
        predicate = self.or_expr()
        token = self.peek()
        if token.kind != "end":
            hint = "it has no matching '('" if token.text == ")" else "join conditions with AND or OR"
            raise self.error(f"unexpected {token.text!r} after a complete condition", token.position, hint)
        return predicate

    def or_expr(self) -> Predicate:
        predicate = self.and_expr()
        while self.accept_keyword("OR"):
            predicate = predicate | self.and_expr()
        return predicate

    def and_expr(self) -> Predicate:
        predicate = self.not_expr()
        while self.accept_keyword("AND"):
            predicate = predicate & self.not_expr()
        return predicate

    def not_expr(self) -> Predicate:
        token = self.peek()
        if self.accept_keyword("NOT"):
            self.enter(token)
            predicate = ~self.not_expr()
            self.depth -= 1
            return predicate
        return self.primary()

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"the condition nests NOT and parentheses more than {MAX_NESTING} deep", token.position)

    def primary(self) -> Predicate:
        token = self.peek()
        if token.kind == "punct" and token.value == "(":
            self.advance()
            self.enter(token)
            predicate = self.or_expr()
            self.expect_punct(")", "expected ')'", f"the '(' at column {token.position + 1} is not closed")
            self.depth -= 1
            return predicate
        if token.kind == "column":
            return self.column_condition(col(self.advance().value))
        if token.kind in ("number", "string") or (token.kind == "keyword" and token.value in ("TRUE", "FALSE")):
            return self.literal_first_comparison()
        after = f" after {self.previous_text()!r}" if self.index > 0 else ""
        raise self.error(f"expected a condition{after}{_found(token)}", token.position)

    def column_condition(self, column: ColumnRef) -> Predicate:
        token = self.peek()
        if token.kind == "operator":
            op = self.advance().value
            return _COMPARE[op](column, self.literal())
        if self.accept_keyword("IS"):
            negated = self.accept_keyword("NOT")
            if not self.accept_keyword("NULL"):
                missing = "NULL after IS NOT" if negated else "NULL or NOT NULL after IS"
                raise self.error(f"expected {missing}{_found(self.peek())}", self.peek().position)
            return column.is_not_null() if negated else column.is_null()
        negated = self.accept_keyword("NOT")
        if self.accept_keyword("IN"):
            predicate: Predicate = column.isin(self.literal_list())
        elif self.accept_keyword("BETWEEN"):
            low = self.literal()
            if not self.accept_keyword("AND"):
                found = self.peek()
                raise self.error(f"expected AND between the bounds of BETWEEN{_found(found)}", found.position)
            predicate = column.between(low, self.literal())
        else:
            found = self.peek()
            if negated:
                expected = f"IN or BETWEEN after '{column.name} NOT'"
            else:
                expected = f"a comparison operator, IS, IN or BETWEEN after column {column.name!r}"
            raise self.error(f"expected {expected}{_found(found)}", found.position)
        return ~predicate if negated else predicate

    def literal_first_comparison(self) -> Predicate:
        literal = self.literal()
        token = self.peek()
        if token.kind != "operator":
            raise self.error(f"expected a comparison operator after {self.previous_text()!r}{_found(token)}", token.position)
        op = self.advance().value
        target = self.peek()
        if target.kind != "column":
            if target.kind in ("number", "string") or target.value in ("TRUE", "FALSE"):
                raise self.error("expected a column name", target.position, "one side of a comparison must be a column")
            raise self.error(f"expected a column name after {self.previous_text()!r}{_found(target)}", target.position)
        self.advance()
        return _COMPARE[_FLIPPED[op]](col(target.value), literal)

    def literal(self) -> Any:
        token = self.peek()
        if token.kind in ("number", "string"):
            return self.advance().value
        if token.kind == "keyword" and token.value in ("TRUE", "FALSE"):
            self.advance()
            return token.value == "TRUE"
        if token.kind == "keyword" and token.value == "NULL":
            raise self.error(
                "NULL is not a value to compare with", token.position, "write 'column IS NULL' or 'column IS NOT NULL'"
            )
        if token.kind == "column" and token.text.startswith('"'):
            hint = "strings take single quotes"
        elif token.kind == "column":
            hint = "comparing two columns is not supported"
        else:
            hint = ""
        raise self.error(f"expected a literal after {self.previous_text()!r}", token.position, hint)

    def literal_list(self) -> list[Any]:
        self.expect_punct("(", "expected '(' after IN")
        values = [self.literal()]
        while True:
            token = self.peek()
            if token.kind == "punct" and token.value == ",":
                self.advance()
                values.append(self.literal())
            elif token.kind == "punct" and token.value == ")":
                self.advance()
                return values
            else:
                raise self.error(f"expected ',' or ')' in the IN list{_found(token)}", token.position)


def _parse_number(text: str) -> int | decimal.Decimal:
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    return decimal.Decimal(text)


def _found(token: Token) -> str:
    """Return ", found 'x'" for a token, or nothing at the end of the text."""
    return "" if token.kind == "end" else f", found {token.text!r}"


def parse_where(text: str, *, source: str = "--where") -> Predicate:
    """Parse a WHERE clause into a :class:`~storagedb.predicate.Predicate`.

    ``source`` starts every error message, to say where the text came from.

    Example:
        >>> parse_where("NOT (x BETWEEN 1 AND 5) OR name = 'O''Brien'")
        (~((col('x') >= 1) & (col('x') <= 5))) | (col('name') == "O'Brien")

    Raises:
        PredicateError: the text does not follow the grammar; the message
            gives the column (1-based character position) and an excerpt
            with a caret under the error.
    """
    if not isinstance(text, str):
        raise PredicateError(f"{source}: expected the condition as a string, not {type(text).__name__}")
    return _Parser(text, source).parse()
