"""SOQL for the emulator: the subset a sync uses, parsed against the org's schemas and evaluated.

Supported: ``SELECT f1, f2 | COUNT() FROM Obj [WHERE ...] [ORDER BY f [ASC|DESC] [NULLS
FIRST|LAST], ...] [LIMIT n] [OFFSET n]``. Conditions: ``= != <> < <= > >= IN, NOT IN, LIKE``,
``AND / OR / NOT`` and parentheses, literals ``null``, ``true/false``, numbers, quoted strings
with the Salesforce escapes, dates, date-times and ``TODAY``/``YESTERDAY``/``TOMORROW``/
``LAST_N_DAYS:n``/``NEXT_N_DAYS:n``. Like Salesforce, text comparisons ignore letter case, and
mixing AND and OR at one level without parentheses is a syntax error.

Evaluation goes through a ``RecordSource`` (the store's table). A top-level ``Field = value`` or
``Field IN (...)`` conjunct is answered from the source's hash index on that field, so key lookups
against a million records cost a few dictionary look-ups instead of a scan.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from sf_emulator.model import (
    DECIMAL_TYPES,
    ID_TYPES,
    INTEGER_TYPES,
    FieldSchema,
    ObjectSchema,
    normalize_id,
    parse_date,
    parse_datetime,
)

MAX_SOQL_LENGTH = 100_000

Record = dict[str, Any]
Predicate = Callable[[Record], bool]


class SoqlError(Exception):
    """A query the org rejects: ``error_code`` is MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE..."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


class RecordSource(Protocol):
    """What the evaluator needs from the store for one object."""

    def scan(self, include_deleted: bool) -> Iterable[Record]: ...

    def lookup(self, fld: FieldSchema, keys: Iterable[Any], include_deleted: bool) -> list[Record]:
        """Records whose ``index_key(fld, value)`` is one of ``keys`` (any order, no repeats)."""
        ...

    def getter(self, fld: FieldSchema) -> Callable[[Record], Any]: ...


def index_key(fld: FieldSchema, value: Any) -> Any:
    """The hash-index key of a stored value: text compares case-insensitively in SOQL."""
    if value is not None and fld.is_text:
        return value.lower()
    return value


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
    raise _malformed(f"unexpected token: '{soql[position]}'", position)


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
    raise _malformed("unterminated string literal (missing closing quote)", start)


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
                    raise _malformed(f"Invalid unicode escape in string literal: '{body}'")
                text = chr(int(hex_digits, 16))
                position += 2 + _HEX_DIGITS
            else:
                raise _malformed(
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


def _malformed(message: str, position: int | None = None) -> SoqlError:
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


# ------------------------------------------------------------------------------------------
# Parser
# ------------------------------------------------------------------------------------------

_COMPARISON_OPERATORS = {"=", "!=", "<>", "<", "<=", ">", ">="}
_RESERVED = frozenset(
    {"select", "from", "where", "order", "by", "limit", "offset", "and", "or", "not", "in"}
    | {"like", "asc", "desc", "nulls", "first", "last", "null", "true", "false", "group"}
)


def parse(soql: str, schemas: Mapping[str, ObjectSchema], *, today: date | None = None) -> Query:
    """Parse ``soql`` against ``schemas`` (keyed by object name, any case)."""
    if len(soql) > MAX_SOQL_LENGTH:
        raise SoqlError(
            "MALFORMED_QUERY",
            f"Query too long: SOQL statements cannot exceed {MAX_SOQL_LENGTH:,} characters "
            f"(this one has {len(soql):,}).",
        )
    return _Parser(tokenize(soql), schemas, today or datetime.now(UTC).date()).query()


class _Parser:
    def __init__(
        self, tokens: list[Token], schemas: Mapping[str, ObjectSchema], today: date
    ) -> None:
        self.tokens = tokens
        self.position = 0
        self.schemas = {name.lower(): schema for name, schema in schemas.items()}
        self.today = today
        self.obj: ObjectSchema | None = None

    # -- token helpers --------------------------------------------------------------------

    @property
    def current(self) -> Token:
        return self.tokens[self.position]

    def advance(self) -> Token:
        token = self.tokens[self.position]
        if token.kind != "end":
            self.position += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        token = self.current
        return token.kind == "ident" and token.text.lower() in words

    def at_symbol(self, symbol: str) -> bool:
        return self.current.kind == "symbol" and self.current.text == symbol

    def expect_keyword(self, word: str) -> None:
        if not self.at_keyword(word):
            raise self.unexpected(f"expected {word.upper()}")
        self.advance()

    def expect_symbol(self, symbol: str) -> None:
        if not self.at_symbol(symbol):
            raise self.unexpected(f"expected '{symbol}'")
        self.advance()

    def unexpected(self, hint: str) -> SoqlError:
        token = self.current
        shown = "end of query" if token.kind == "end" else f"'{token.text}'"
        return _malformed(f"unexpected token: {shown}, {hint}", token.position)

    # -- grammar ----------------------------------------------------------------------------

    def query(self) -> Query:
        self.expect_keyword("select")
        select_start = self.position
        self.skip_select_list()
        self.expect_keyword("from")
        obj = self.object_name()
        self.obj = obj
        after_from = self.position
        self.position = select_start
        columns, count_only = self.select_list(obj)
        self.position = after_from
        parsed = Query(obj=obj, columns=columns, count_only=count_only)
        if self.at_keyword("where"):
            self.advance()
            parsed.where = self.condition()
        if self.at_keyword("order"):
            self.advance()
            self.expect_keyword("by")
            parsed.order = self.order_list(obj)
        if self.at_keyword("limit"):
            self.advance()
            parsed.limit = self.non_negative_int("LIMIT")
        if self.at_keyword("offset"):
            self.advance()
            parsed.offset = self.non_negative_int("OFFSET")
        if self.current.kind != "end":
            raise self.unexpected("expected end of query")
        return parsed

    def skip_select_list(self) -> None:
        """Move past the SELECT list; fields resolve once the object is known."""
        while self.current.kind != "end" and not self.at_keyword("from"):
            self.advance()

    def object_name(self) -> ObjectSchema:
        token = self.current
        if token.kind != "ident":
            raise self.unexpected("expected an object name")
        self.advance()
        schema = self.schemas.get(token.text.lower())
        if schema is None:
            raise SoqlError("INVALID_TYPE", f"sObject type '{token.text}' is not supported.")
        return schema

    def select_list(self, obj: ObjectSchema) -> tuple[list[FieldSchema], bool]:
        if self.at_keyword("count"):
            self.advance()
            self.expect_symbol("(")
            self.expect_symbol(")")
            if not self.at_keyword("from"):
                raise self.unexpected("COUNT() must be alone in the SELECT list")
            return [], True
        columns: list[FieldSchema] = []
        while True:
            columns.append(self.field_reference(obj))
            if not self.at_symbol(","):
                break
            self.advance()
        if not self.at_keyword("from"):
            raise self.unexpected("expected ',' or FROM")
        seen: set[str] = set()
        for column in columns:
            if column.name in seen:
                raise _malformed(f"duplicate field selected: {column.name}")
            seen.add(column.name)
        return columns, False

    def field_reference(self, obj: ObjectSchema) -> FieldSchema:
        token = self.current
        if token.kind != "ident" or token.text.lower() in _RESERVED:
            raise self.unexpected("expected a field name")
        self.advance()
        fld = obj.field(token.text)
        if fld is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{token.text}' on entity '{obj.name}'. If you are attempting "
                "to use a custom field, be sure to append the '__c' after the custom field "
                "name. Please reference your WSDL or the describe call for the appropriate "
                "names.",
            )
        return fld

    def order_list(self, obj: ObjectSchema) -> list[OrderKey]:
        keys: list[OrderKey] = []
        while True:
            fld = self.field_reference(obj)
            descending = False
            if self.at_keyword("asc", "desc"):
                descending = self.advance().text.lower() == "desc"
            # Salesforce's default: nulls first when ascending, last when descending.
            nulls_first = not descending
            if self.at_keyword("nulls"):
                self.advance()
                if not self.at_keyword("first", "last"):
                    raise self.unexpected("expected FIRST or LAST")
                nulls_first = self.advance().text.lower() == "first"
            keys.append(OrderKey(fld, descending, nulls_first))
            if not self.at_symbol(","):
                return keys
            self.advance()

    def non_negative_int(self, clause: str) -> int:
        token = self.current
        if token.kind != "number" or not token.text.isdigit():
            raise self.unexpected(f"{clause} needs a non-negative integer")
        self.advance()
        return int(token.text)

    # -- conditions -----------------------------------------------------------------------

    def condition(self) -> Condition:
        first = self.unary()
        if not self.at_keyword("and", "or"):
            return first
        operator = self.current.text.upper()
        children = [first]
        while self.at_keyword("and", "or"):
            if self.current.text.upper() != operator:
                # SOQL refuses "a AND b OR c": the grouping must be explicit.
                raise self.unexpected(f"mixing AND and OR needs parentheses (after {operator})")
            self.advance()
            children.append(self.unary())
        return Junction(operator, tuple(children))

    def unary(self) -> Condition:
        if self.at_keyword("not"):
            self.advance()
            return Negation(self.unary())
        if self.at_symbol("("):
            self.advance()
            inner = self.condition()
            self.expect_symbol(")")
            return inner
        return self.simple_condition()

    def simple_condition(self) -> Condition:
        assert self.obj is not None
        fld = self.field_reference(self.obj)
        if not fld.filterable:
            raise SoqlError(
                "INVALID_FIELD",
                f"field '{fld.name}' can not be filtered in a query call",
            )
        if self.at_keyword("like"):
            self.advance()
            return self.like(fld)
        negated = False
        if self.at_keyword("not"):
            self.advance()
            negated = True
            if not self.at_keyword("in"):
                raise self.unexpected("expected IN after NOT")
        if self.at_keyword("in"):
            self.advance()
            return InList(fld, self.value_list(fld), negated)
        token = self.current
        if token.kind != "symbol" or token.text not in _COMPARISON_OPERATORS:
            raise self.unexpected("expected a comparison operator")
        self.advance()
        operator = "!=" if token.text == "<>" else token.text
        value = self.literal(fld)
        if value is None and operator not in ("=", "!="):
            raise _malformed(f"null can only be compared with = or != (field {fld.name})")
        if operator not in ("=", "!=") and fld.type == "boolean":
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on boolean field: {fld.name}",
            )
        return Comparison(fld, operator, value)

    def like(self, fld: FieldSchema) -> Like:
        token = self.current
        if token.kind != "string":
            raise self.unexpected("LIKE needs a quoted string")
        if not (fld.is_text or fld.type in ID_TYPES):
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on field: LIKE can only be used with text fields ({fld.name})",
            )
        self.advance()
        pattern = decode_string(token.text, like=True)
        return Like(fld, re.compile(pattern, re.IGNORECASE | re.DOTALL))

    def value_list(self, fld: FieldSchema) -> tuple[Any, ...]:
        self.expect_symbol("(")
        values: list[Any] = []
        while True:
            values.append(self.literal(fld))
            if not self.at_symbol(","):
                break
            self.advance()
        self.expect_symbol(")")
        return tuple(values)

    def literal(self, fld: FieldSchema) -> Any:
        """The next literal, converted to the stored form of ``fld`` (text lower-cased)."""
        token = self.advance()
        kind = token.kind
        if kind == "ident" and token.text.lower() == "null":
            return None
        expected = _literal_kind(fld)
        if kind == "string":
            if expected != "string":
                raise self.type_mismatch(fld, token)
            text = decode_string(token.text)
            if fld.type in ID_TYPES:
                normalized = normalize_id(text)
                if normalized is None:
                    raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {text}")
                return normalized
            return text.lower()
        if kind == "ident" and token.text.lower() in ("true", "false"):
            if expected != "boolean":
                raise self.type_mismatch(fld, token)
            return token.text.lower() == "true"
        if kind == "number":
            if expected != "number":
                raise self.type_mismatch(fld, token)
            return int(token.text) if fld.type in INTEGER_TYPES else float(token.text)
        if kind in ("date", "datetime") or (kind == "ident" and _is_date_literal(token.text)):
            return self.temporal_literal(fld, token)
        raise _malformed(f"unexpected token: '{token.text}', expected a value", token.position)

    def temporal_literal(self, fld: FieldSchema, token: Token) -> Any:
        expected = _literal_kind(fld)
        if token.kind == "ident":
            day = self.relative_date(token)
            if expected == "date":
                return day.isoformat()
            if expected == "datetime":
                return f"{day.isoformat()}T00:00:00.000+0000"
            raise self.type_mismatch(fld, token)
        if token.kind != expected:
            raise self.type_mismatch(fld, token)
        parsed = parse_date(token.text) if expected == "date" else parse_datetime(token.text)
        if parsed is None:
            raise _malformed(f"invalid {expected} literal: {token.text}", token.position)
        return parsed

    def relative_date(self, token: Token) -> date:
        name = token.text.upper()
        fixed = {"TODAY": 0, "YESTERDAY": -1, "TOMORROW": 1}
        if name in fixed:
            return self.today + timedelta(days=fixed[name])
        self.expect_symbol(":")
        amount = self.non_negative_int(name)
        sign = -1 if name == "LAST_N_DAYS" else 1
        return self.today + timedelta(days=sign * amount)

    def type_mismatch(self, fld: FieldSchema, token: Token) -> SoqlError:
        expected = _literal_kind(fld)
        quoted = (
            "should be enclosed in quotes"
            if expected == "string"
            else ("should not be enclosed in quotes")
        )
        return SoqlError(
            "INVALID_QUERY_FILTER_OPERATOR",
            f"value of filter criterion for field '{fld.name}' must be of type {fld.type} "
            f"and {quoted} (got {token.text!r})",
        )


def _literal_kind(fld: FieldSchema) -> str:
    if fld.type == "boolean":
        return "boolean"
    if fld.type in DECIMAL_TYPES or fld.type in INTEGER_TYPES:
        return "number"
    if fld.type in ("date", "datetime"):
        return fld.type
    return "string"


def _is_date_literal(word: str) -> bool:
    return word.upper() in {"TODAY", "YESTERDAY", "TOMORROW", "LAST_N_DAYS", "NEXT_N_DAYS"}


# ------------------------------------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------------------------------------


def execute(query: Query, source: RecordSource, *, include_deleted: bool = False) -> list[Record]:
    """The stored records matching ``query``, sorted and sliced (LIMIT/OFFSET applied)."""
    indexed = _candidates(query.where, source, include_deleted)
    candidates: Iterable[Record] = indexed if indexed is not None else source.scan(include_deleted)
    if query.where is not None:
        predicate = compile_condition(query.where, source)
        matches = [record for record in candidates if predicate(record)]
    else:
        matches = list(candidates)
    if query.order:
        matches = _sorted(matches, query.order, source)
    end = None if query.limit is None else query.offset + query.limit
    if query.offset or end is not None:
        matches = matches[query.offset : end]
    return matches


def _candidates(
    condition: Condition | None, source: RecordSource, include_deleted: bool
) -> list[Record] | None:
    """Records from the hash index that are a superset of the matches, or None (full scan)."""
    if isinstance(condition, Comparison) and condition.operator == "=":
        return source.lookup(condition.fld, (condition.value,), include_deleted)
    if isinstance(condition, InList) and not condition.negated:
        return source.lookup(condition.fld, set(condition.values), include_deleted)
    if isinstance(condition, Junction) and condition.operator == "AND":
        best: list[Record] | None = None
        for child in condition.children:
            found = _candidates(child, source, include_deleted)
            if found is not None and (best is None or len(found) < len(best)):
                best = found
        return best
    if isinstance(condition, Junction) and condition.operator == "OR":
        union: dict[int, Record] = {}
        for child in condition.children:
            found = _candidates(child, source, include_deleted)
            if found is None:
                return None
            union.update((id(record), record) for record in found)
        return list(union.values())
    return None


def compile_condition(condition: Condition, source: RecordSource) -> Predicate:
    """A function telling whether one stored record satisfies ``condition``."""
    if isinstance(condition, Junction):
        parts = [compile_condition(child, source) for child in condition.children]
        if condition.operator == "AND":
            return lambda record: all(part(record) for part in parts)
        return lambda record: any(part(record) for part in parts)
    if isinstance(condition, Negation):
        inner = compile_condition(condition.child, source)
        return lambda record: not inner(record)
    get = source.getter(condition.fld)
    text = condition.fld.is_text

    def key(record: Record) -> Any:
        value = get(record)
        return value.lower() if text and value is not None else value

    if isinstance(condition, Like):
        match = condition.pattern.fullmatch
        return lambda record: (value := get(record)) is not None and match(value) is not None
    if isinstance(condition, InList):
        wanted = frozenset(condition.values)
        if condition.negated:
            return lambda record: key(record) not in wanted
        return lambda record: key(record) in wanted
    return _comparison(condition, key)


def _comparison(condition: Comparison, key: Callable[[Record], Any]) -> Predicate:
    value = condition.value
    operator = condition.operator
    if operator == "=":
        return lambda record: key(record) == value
    if operator == "!=":
        # SOQL's != keeps records whose field is null (unlike SQL).
        return lambda record: key(record) != value
    compare: Callable[[Any, Any], bool] = {
        "<": lambda left, right: left < right,
        "<=": lambda left, right: left <= right,
        ">": lambda left, right: left > right,
        ">=": lambda left, right: left >= right,
    }[operator]
    return lambda record: (current := key(record)) is not None and compare(current, value)


def _sorted(records: list[Record], order: list[OrderKey], source: RecordSource) -> list[Record]:
    # Stable sorts from the last key to the first give the multi-key order.
    for order_key in reversed(order):
        get = source.getter(order_key.fld)
        text = order_key.fld.is_text
        # With reverse=True the ranks are reversed too, so "nulls first" needs the high rank.
        null_rank = 0 if order_key.nulls_first != order_key.descending else 2

        def sort_key(
            record: Record,
            get: Callable[[Record], Any] = get,
            text: bool = text,
            null_rank: int = null_rank,
        ) -> tuple[int, Any]:
            value = get(record)
            if value is None:
                return (null_rank, 0)
            return (1, value.lower() if text else value)

        records.sort(key=sort_key, reverse=order_key.descending)
    return records
