"""Parse a report's text columns into their catalog types, rejecting rows that do not parse.

Every value of a report is read as text, then coerced to its catalog type, column by column
(vectorised):

==========  =====================================  =================================================
type        accepted text                           in ``extracted.parquet``
==========  =====================================  =================================================
string      anything                                pandas ``string``
email/guid  anything (format checked by validation) pandas ``string``
integer     ``42``, ``-3``, ``42.0``                ``Int64``
number      ``3.14``, ``1e3``                       ``Float64``
percent     ``87.5`` or ``87.5%``                   ``Float64`` on a 0-100 scale
boolean     true/false, yes/no, 1/0, t/f, y/n        ``boolean``
datetime    ``2026-11-24 09:15:02`` (UTC), ISO 8601  ``datetime64[ns, UTC]``
date        ``2026-11-24`` (ISO 8601)               ``datetime64[ns, UTC]`` at midnight UTC
==========  =====================================  =================================================

Surrounding spaces are ignored and an empty value is null. A row whose value in a required column
(the key column or a mapped column) does not parse is *rejected*: it goes to
``outcomes_extract.parquet`` with a reason such as ``Logins in Past 30 days: 'abc' is not an
integer``, and the other rows continue. Unparseable values in columns the integration does not use
become null. When the export itself is unusable (missing, unreadable, required columns absent)
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, overload

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from include.walkme_sync.config.catalog import ColumnDef, ReportDefinition, closest_names
from include.walkme_sync.errors import SourceError
from include.walkme_sync.frames import OUTCOME_COLUMNS, ROW, Bucket

if TYPE_CHECKING:
    from collections.abc import Iterable

log = logging.getLogger(__name__)


TRUE_WORDS = ("true", "yes", "1", "t", "y")
FALSE_WORDS = ("false", "no", "0", "f", "n")
# datetime64[ns] covers 1677-09-21 .. 2262-04-11; later "never" dates (9999-12-31) are rejected.
_NS_MIN = pd.Timestamp.min.tz_localize("UTC")
_NS_MAX = pd.Timestamp.max.tz_localize("UTC")


def require_columns(
    found: list[str], required: Iterable[str], report: ReportDefinition, *, where: str
) -> None:
    """Raise :class:`SourceError` naming the missing columns and those present."""
    missing = [column for column in required if column not in found]
    if not missing:
        return
    near = {m: closest_names(m, found, limit=1) for m in missing}
    near_text = "; ".join(f"{m!r} looks like {n[0]!r}" for m, n in near.items() if n)
    separator = next((s for s in (";", "\t", "|") if len(found) == 1 and s in found[0]), None)
    if separator is not None:
        # One column whose name holds another separator: the export is not comma-separated.
        near_text = (
            f"the header is one column holding {separator!r}: the export is separated by "
            f"{separator!r}, not by commas; export it as comma-separated CSV"
        )
    raise SourceError(
        f"Report export {where} lacks required column(s) "
        f"{', '.join(repr(m) for m in missing)} (report {report.name!r}). Columns found: "
        f"{', '.join(repr(c) for c in found) or '(none)'}."
        + (f" Note: {near_text} (names are case-sensitive)." if near_text else ""),
        action="Fix the report's columns in WalkMe Insights (or the integration's key_column "
        "and mappings). Nothing was written.",
    )


@dataclass(frozen=True)
class _Parsed:
    values: pd.Series  # typed, NA where empty or bad
    bad: pd.Series  # bool: non-empty text that did not parse
    expected: str  # "an integer", used in rejection reasons


# Fast paths: a column whose every value has the plain form an export writes is parsed by pyarrow
# (no Python object per value). Any other value anywhere sends the whole column down the general
# path below, so the results are the same either way (tests/unit/test_parse_fast_paths.py).
#: Up to 15 digits: every such integer is exact as a float too, as `pd.to_numeric` reads it.
_PLAIN_INTEGER = r"^-?[0-9]{1,15}$"
#: `2026-11-24 09:15:02`, hours 00-23, no leap second.
_PLAIN_DATETIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
#: Plain date-times outside these years take the general path (nanosecond range checks).
_FAST_YEARS = (1700, 2200)


def _all_plain(text: pd.Series, pattern: str) -> pa.ChunkedArray | pa.Array | None:
    """The column as Arrow text when every non-null value matches `pattern`, else None."""
    values = pa.array(text.array, type=pa.string())
    plain = pc.match_substring_regex(values, pattern)
    return values if pc.all(pc.or_kleene(plain, pc.is_null(values))).as_py() else None


def _plain_integers(text: pd.Series) -> _Parsed | None:
    values = _all_plain(text, _PLAIN_INTEGER)
    return None if values is None else _integers_of(values, text.index)


def _integers_of(values: pa.ChunkedArray | pa.Array, index: pd.Index) -> _Parsed:
    """Plain integer text (`_PLAIN_INTEGER` or null) as `Int64`."""
    numbers = pc.cast(values, pa.int64()).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    # `bad` in the general path's dtype (pandas' nullable boolean, from `to_numeric`).
    bad = pd.Series(False, index=index).astype("boolean")
    return _Parsed(pd.Series(numbers.array, index=index), bad, "an integer")


def _plain_datetimes(text: pd.Series, expected: str) -> _Parsed | None:
    values = _all_plain(text, _PLAIN_DATETIME)
    return None if values is None else _datetimes_of(values, text.index, expected)


def _datetimes_of(
    values: pa.ChunkedArray | pa.Array, index: pd.Index, expected: str
) -> _Parsed | None:
    """Plain date-time text (`_PLAIN_DATETIME` or null) as UTC timestamps; None when a day does
    not exist or a year is outside `_FAST_YEARS` (the general path decides those)."""
    try:  # Arrow's ISO 8601 reader also checks the day exists in its month
        seconds = pc.cast(values, pa.timestamp("s"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    years = pc.year(seconds)
    low, high = pc.min_max(years).values()
    if low.is_valid and (low.as_py() < _FAST_YEARS[0] or high.as_py() >= _FAST_YEARS[1]):
        return None
    stamps = pc.cast(seconds, pa.timestamp("ns", tz="UTC")).to_pandas()
    return _Parsed(pd.Series(stamps.array, index=index), pd.Series(False, index=index), expected)


def _parse_integer(text: pd.Series) -> _Parsed:
    fast = _plain_integers(text)
    if fast is not None:
        return fast
    numbers = pd.to_numeric(text, errors="coerce")
    integral = numbers.notna() & (numbers % 1 == 0) & (numbers.abs() < 2**63)
    values = numbers.where(integral).astype("Float64").astype("Int64")
    return _Parsed(values, text.notna() & ~integral, "an integer")


def _parse_number(text: pd.Series, expected: str = "a number") -> _Parsed:
    numbers = pd.to_numeric(text, errors="coerce").astype("Float64")
    finite = numbers.notna() & numbers.abs().lt(float("inf")).fillna(False)
    return _Parsed(numbers.where(finite), text.notna() & ~finite, expected)


def _parse_percent(text: pd.Series) -> _Parsed:
    stripped = text.str.removesuffix("%").str.strip()
    return _parse_number(stripped, "a percentage (87.5 or 87.5%)")


def _parse_boolean(text: pd.Series) -> _Parsed:
    lowered = text.str.lower()
    values = pd.Series(pd.NA, index=text.index, dtype="boolean")
    values[lowered.isin(TRUE_WORDS)] = True
    values[lowered.isin(FALSE_WORDS)] = False
    return _Parsed(values, text.notna() & values.isna(), "a boolean (true/false, yes/no, 1/0)")


_DATETIME_EXPECTED = (
    "a date-time (2026-11-24 09:15:02 UTC or ISO 8601) from 1677-09-22 to 2262-04-11"
)


def _parse_datetime(text: pd.Series) -> _Parsed:
    fast = _plain_datetimes(text, _DATETIME_EXPECTED)
    if fast is not None:
        return fast
    stamps = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    in_range = stamps.notna() & (stamps >= _NS_MIN) & (stamps <= _NS_MAX)
    values = stamps.where(in_range).astype("datetime64[ns, UTC]")
    return _with_day_first_hint(
        _Parsed(values, text.notna() & ~in_range, _DATETIME_EXPECTED),
        text,
    )


_DAY_FIRST = r"^\d{1,2}/\d{1,2}/\d{4}"


def _with_day_first_hint(parsed: _Parsed, text: pd.Series) -> _Parsed:
    """The original product displays dates as dd/mm/yyyy; such a value is not guessed (03/04 is
    March or April?): the rejection says how to export it instead."""
    if not bool((parsed.bad & text.str.match(_DAY_FIRST).fillna(False)).any()):
        return parsed
    expected = f"{parsed.expected}; dd/mm/yyyy is ambiguous, export dates as YYYY-MM-DD"
    return _Parsed(parsed.values, parsed.bad, expected)


def _parse_date(text: pd.Series) -> _Parsed:
    return _date_of(_parse_datetime(text))


@overload
def _date_of(parsed: _Parsed) -> _Parsed: ...


@overload
def _date_of(parsed: None) -> None: ...


def _date_of(parsed: _Parsed | None) -> _Parsed | None:
    if parsed is None:
        return None
    return _Parsed(parsed.values.dt.floor("D"), parsed.bad, "a date (2026-11-24)")


def _parse_string(text: pd.Series) -> _Parsed:
    return _Parsed(text.astype("string"), pd.Series(False, index=text.index), "text")


PARSERS: dict[str, Callable[[pd.Series], _Parsed]] = {
    "string": _parse_string,
    "email": _parse_string,
    "guid": _parse_string,
    "integer": _parse_integer,
    "number": _parse_number,
    "percent": _parse_percent,
    "boolean": _parse_boolean,
    "datetime": _parse_datetime,
    "date": _parse_date,
}


def parse_column(raw: pd.Series, column: ColumnDef) -> _Parsed:
    """Coerce one text column to its catalog type; empty or blank text is null."""
    as_is = _plain_as_is(raw, column.type)
    if as_is is not None:
        parsed = _FROM_PLAIN[column.type](as_is, raw.index)
        if parsed is not None:
            return parsed
    return PARSERS[column.type](stripped_text(raw))


#: The plain form of each type that has a fast path.
_PLAIN_FORMS = {"integer": _PLAIN_INTEGER, "datetime": _PLAIN_DATETIME, "date": _PLAIN_DATETIME}
_FROM_PLAIN: dict[str, Callable[[pa.ChunkedArray | pa.Array, pd.Index], _Parsed | None]] = {
    "integer": _integers_of,
    "datetime": lambda values, index: _datetimes_of(values, index, _DATETIME_EXPECTED),
    "date": lambda values, index: _date_of(_datetimes_of(values, index, _DATETIME_EXPECTED)),
}


def _plain_as_is(raw: pd.Series, kind: str) -> pa.ChunkedArray | pa.Array | None:
    """The raw column as Arrow text, empty values null, when each value is empty, null or in
    the plain form of `kind`; else None.

    Plain values have no surrounding whitespace, so such a column is what `stripped_text` would
    give without trimming it (a copy of every string). A column with any other value (one with
    spaces around it, say) is stripped and parsed as before.
    """
    form = _PLAIN_FORMS.get(kind)
    text = raw.astype("string")
    if form is None or getattr(text.dtype, "storage", None) != "pyarrow":
        return None
    values = pa.array(text.array, type=pa.string())
    plain_or_empty = pc.match_substring_regex(values, f"^(?:{form[1:-1]})?$")
    if not pc.all(pc.or_kleene(plain_or_empty, pc.is_null(values))).as_py():
        return None
    empty = pc.equal(pc.binary_length(values), 0)
    return _null_where(values, empty) if pc.any(empty).as_py() else values


def stripped_text(raw: pd.Series) -> pd.Series:
    """`raw` as pandas text, surrounding whitespace stripped, empty text null.

    `str.strip` of pandas' Arrow text is Arrow's `utf8_trim_whitespace`; the empty values are
    made null by Arrow too (pandas' `mask` on Arrow text rebuilds the column through a generic
    replace: ~0.1 s per million rows). tests/unit/test_parse_fast_paths.py compares the two.
    """
    text = raw.astype("string")
    if getattr(text.dtype, "storage", None) != "pyarrow":
        stripped = text.str.strip()
        return stripped.mask(stripped == "")
    trimmed = pc.utf8_trim_whitespace(pa.array(text.array))
    empty = pc.equal(pc.binary_length(trimmed), 0)
    if pc.any(empty).as_py():
        trimmed = _null_where(trimmed, empty)
    return pd.Series(pd.array(trimmed, dtype=text.dtype), index=raw.index, name=raw.name)


def _null_where(
    values: pa.Array | pa.ChunkedArray, mask: pa.Array | pa.ChunkedArray
) -> pa.Array | pa.ChunkedArray:
    """`values` with null where `mask` is true: a new validity bitmap over the same text buffers
    (`if_else` would copy every string of the column)."""
    if isinstance(values, pa.ChunkedArray):
        masks = _chunked_like(mask, values)
        return pa.chunked_array(
            [_null_where(chunk, part) for chunk, part in zip(values.chunks, masks, strict=True)],
            type=values.type,
        )
    keep = pc.fill_null(pc.invert(mask), False)  # null stays null, empty becomes null
    if values.offset or keep.offset:
        return pc.if_else(mask, pa.scalar(None, values.type), values)
    return pa.Array.from_buffers(
        values.type, len(values), [keep.buffers()[1], *values.buffers()[1:]]
    )


def _chunked_like(mask: pa.Array | pa.ChunkedArray, values: pa.ChunkedArray) -> list[pa.Array]:
    """`mask` cut into pieces the lengths of `values`' chunks (zero-copy slices).

    Arrow's comparison kernels return one chunk for a column of many (a CSV read gives ~80 per
    million rows): without this, the column would be copied whole by `if_else`.
    """
    masks = mask.chunks if isinstance(mask, pa.ChunkedArray) else [mask]
    lengths = [len(chunk) for chunk in values.chunks]
    if [len(part) for part in masks] == lengths:
        return list(masks)
    whole = mask.combine_chunks() if isinstance(mask, pa.ChunkedArray) else mask
    starts = itertools.accumulate(lengths, initial=0)
    return [whole.slice(start, length) for start, length in zip(starts, lengths, strict=False)]


def coerce_report(
    raw: pd.DataFrame, report: ReportDefinition, *, required: Iterable[str], key_column: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type the catalog columns present in ``raw``; return (typed rows, rejected outcomes).

    ``raw`` holds text (empty string = null). Rows with an unparseable value in a ``required``
    column are rejected with a reason per bad value; other unparseable values become null.
    """
    required_set = set(required)
    raw = raw.reset_index(drop=True)
    typed: dict[str, pd.Series] = {}
    reasons = pd.Series(pd.NA, index=raw.index, dtype="string")
    for column in report.columns:
        if column.name not in raw.columns:
            continue
        parsed = parse_column(raw[column.name], column)
        typed[column.name] = parsed.values
        if column.name in required_set and bool(parsed.bad.any()):
            bad_values = raw.loc[parsed.bad, column.name].astype(str).str.strip()
            reason = f"{column.name}: " + bad_values.map(repr) + f" is not {parsed.expected}"
            previous = reasons[parsed.bad]
            separator = previous.where(previous.isna(), previous + "; ").fillna("")
            reasons[parsed.bad] = separator + reason
    frame = pd.DataFrame(typed, index=raw.index)
    frame[ROW] = pd.Series(range(1, len(raw) + 1), index=raw.index, dtype="int64")
    rejected = reasons.notna()
    any_rejected = bool(rejected.any())

    def rejected_rows(column: pd.Series) -> pd.Series:
        # Nothing rejected (the usual case): an empty slice. Selecting no row would copy the
        # whole column first (pandas' `take` of a chunked Arrow column concatenates its chunks).
        return column[rejected] if any_rejected else column.iloc[:0]

    outcomes = _rejected_outcomes(
        rejected_rows(frame[ROW]),
        rejected_rows(raw[key_column]) if key_column in raw.columns else None,
        rejected_rows(reasons),
    )
    if not len(outcomes):
        # Every row loaded (the usual case): the frame as it is, not a copy of every column.
        return frame, outcomes
    return frame.loc[~rejected].reset_index(drop=True), outcomes


def _rejected_outcomes(rows: pd.Series, keys: pd.Series | None, reasons: pd.Series) -> pd.DataFrame:
    """Outcome rows (shared schema, see ARCHITECTURE.md) for rows rejected at extract."""
    count = len(rows)
    key = (
        keys.astype("string").str.strip()
        if keys is not None
        else pd.Series(pd.NA, index=rows.index, dtype="string")
    )
    return pd.DataFrame(
        {
            ROW: rows.astype("int64").to_numpy(),
            "key": key.to_numpy(),
            "bucket": pd.Series([str(Bucket.REJECTED)] * count, dtype="string").to_numpy(),
            "reason": reasons.astype("string").to_numpy(),
            "error_code": pd.Series([None] * count, dtype="string").to_numpy(),
            "record_id": pd.Series([None] * count, dtype="string").to_numpy(),
        }
    ).astype({c: "string" for c in OUTCOME_COLUMNS if c != ROW})
