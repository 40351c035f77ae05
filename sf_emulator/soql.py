"""SOQL for the emulator: the subset a sync uses, parsed against the org's schemas and evaluated.

Supported: ``SELECT f1, f2 | COUNT() FROM Obj [WHERE ...] [ORDER BY f [ASC|DESC] [NULLS
FIRST|LAST], ...] [LIMIT n] [OFFSET n]``. Conditions: ``= != <> < <= > >= IN, NOT IN, LIKE``,
``AND / OR / NOT`` and parentheses, literals ``null``, ``true/false``, numbers, quoted strings
with the Salesforce escapes, dates, date-times and ``TODAY``/``YESTERDAY``/``TOMORROW``/
``LAST_N_DAYS:n``/``NEXT_N_DAYS:n``. Like Salesforce, text comparisons ignore letter case, and
mixing AND and OR at one level without parentheses is a syntax error.

This module is the parser; tokens and the syntax tree are in ``soql_syntax``, evaluation against the
store's tables in ``soql_eval``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sf_emulator.field_values import parse_date, parse_datetime
from sf_emulator.model import DECIMAL_TYPES, ID_TYPES, INTEGER_TYPES, FieldSchema, ObjectSchema
from sf_emulator.record_ids import normalize_id
from sf_emulator.soql_syntax import (
    Comparison,
    Condition,
    InList,
    Junction,
    Like,
    Negation,
    OrderKey,
    Query,
    SoqlError,
    Token,
    decode_string,
    malformed,
    tokenize,
)

MAX_SOQL_LENGTH = 100_000


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
        return malformed(f"unexpected token: {shown}, {hint}", token.position)

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
                raise malformed(f"duplicate field selected: {column.name}")
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
            raise malformed(f"null can only be compared with = or != (field {fld.name})")
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
        raise malformed(f"unexpected token: '{token.text}', expected a value", token.position)

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
            raise malformed(f"invalid {expected} literal: {token.text}", token.position)
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
