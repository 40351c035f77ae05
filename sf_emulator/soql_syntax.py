"""SOQL tokens and syntax tree: what ``soql.parse`` produces and ``soql_eval`` evaluates."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sf_emulator.model import FieldSchema, ObjectSchema

Record = dict[str, Any]
Predicate = Callable[[Record], bool]


class SoqlError(Exception):
    """A query the org rejects: ``error_code`` is MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE..."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


# ------------------------------------------------------------------------------------------
# Tokens
# ------------------------------------------------------------------------------------------

_SYMBOLS = ("<=", ">=", "!=", "<>", "=", "<", ">", "(", ")", ",", ":")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\w:])")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?![\w.])")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_SIMPLE_ESCAPES = {
    "'": "'",
    '"': '"',
    "\\": "\\",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
}
_HEX_DIGITS = 4


@dataclass(frozen=True)
class Token:
    kind: str  # ident | string | number | date | datetime | symbol | end
    text: str  # raw text (for strings: the body between the quotes, undecoded)
    position: int


def tokenize(soql: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    length = len(soql)
    while position < length:
        char = soql[position]
        if char.isspace():
            position += 1
            continue
        if char == "'":
            body_end = _string_end(soql, position)
            tokens.append(Token("string", soql[position + 1 : body_end], position))
            position = body_end + 1
            continue
        token = _match_token(soql, position)
        tokens.append(token)
        position += len(token.text)
    tokens.append(Token("end", "", length))
    return tokens


def _match_token(soql: str, position: int) -> Token:
    for kind, pattern in (("datetime", _DATETIME), ("date", _DATE), ("number", _NUMBER)):
        found = pattern.match(soql, position)
        if found:
            return Token(kind, found.group(), position)
    found = _IDENT.match(soql, position)
    if found:
        return Token("ident", found.group(), position)
    for symbol in _SYMBOLS:
        if soql.startswith(symbol, position):
            return Token("symbol", symbol, position)
    raise malformed(f"unexpected token: '{soql[position]}'", position)


def _string_end(soql: str, start: int) -> int:
    """Index of the quote closing the string that opens at ``start``."""
    position = start + 1
    while position < len(soql):
        char = soql[position]
        if char == "\\":
            position += 2
            continue
        if char == "'":
            return position
        position += 1
    raise malformed("unterminated string literal (missing closing quote)", start)


def decode_string(body: str, *, like: bool = False) -> str:
    """The value of a quoted literal's body. With ``like``, returns a regex for the pattern."""
    parts: list[str] = []
    position = 0
    while position < len(body):
        char = body[position]
        if char == "\\":
            escaped = body[position + 1 : position + 2]
            if escaped in _SIMPLE_ESCAPES:
                text = _SIMPLE_ESCAPES[escaped]
                position += 2
            elif escaped in ("%", "_"):
                text = escaped
                position += 2
            elif escaped == "u":
                hex_digits = body[position + 2 : position + 2 + _HEX_DIGITS]
                if len(hex_digits) != _HEX_DIGITS or not all(
                    c in "0123456789abcdefABCDEF" for c in hex_digits
                ):
                    raise malformed(f"Invalid unicode escape in string literal: '{body}'")
                text = chr(int(hex_digits, 16))
                position += 2 + _HEX_DIGITS
            else:
                raise malformed(
                    f"Invalid string literal '{body}'. Illegal character sequence "
                    f"'\\{escaped}' in string literal."
                )
            parts.append(re.escape(text) if like else text)
            continue
        if like and char == "%":
            parts.append(".*")
        elif like and char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char) if like else char)
        position += 1
    return "".join(parts)


def malformed(message: str, position: int | None = None) -> SoqlError:
    where = f" (at character {position + 1})" if position is not None else ""
    return SoqlError("MALFORMED_QUERY", f"{message}{where}")


# ------------------------------------------------------------------------------------------
# Syntax tree
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    fld: FieldSchema
    operator: str  # = != < <= > >=
    value: Any  # stored form (text lower-cased), None for null


@dataclass(frozen=True)
class InList:
    fld: FieldSchema
    values: tuple[Any, ...]  # stored form, text lower-cased
    negated: bool


@dataclass(frozen=True)
class Like:
    fld: FieldSchema
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Junction:
    operator: str  # AND | OR
    children: tuple[Condition, ...]


@dataclass(frozen=True)
class Negation:
    child: Condition


Condition = Comparison | InList | Like | Junction | Negation


@dataclass(frozen=True)
class OrderKey:
    fld: FieldSchema
    descending: bool
    nulls_first: bool


@dataclass
class Query:
    """A parsed query, its fields already resolved against the object's schema."""

    obj: ObjectSchema
    columns: list[FieldSchema]
    count_only: bool = False
    where: Condition | None = None
    order: list[OrderKey] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0
