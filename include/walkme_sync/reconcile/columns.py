"""Column-wise coercion: the fast path of `plan.plan_changes` (the comparison is `compare`).

Each mapped column is coerced to its field's wire form in one pass for the usual types (datetime,
date, numbers, text, booleans). Anything the fast path cannot prove safe goes through the scalar
reference, `coerce.coerce_for_field`, once per distinct value, so results are exactly the scalar
ones (tests/unit/test_plan_vectorized.py checks this).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from include.walkme_sync.keys import PYTHON_WHITESPACE_CLASS
from include.walkme_sync.metadata import (
    INTEGER_TYPES,
    NUMBER_TYPES,
    TEXT_TYPES,
    FieldInfo,
    WireValue,
)
from include.walkme_sync.reconcile.coerce import (
    MAX_INT_DIGITS,
    SALESFORCE_ID_PATTERN,
    ValueRejected,
    coerce_for_field,
    is_null,
    unknown_picklist_values,
)
from include.walkme_sync.reconcile.limits import (
    MAX_DATE,
    MAX_DATETIME,
    MIN_DATE,
    MIN_DATETIME,
    SALESFORCE_EMAIL,
    control_character,
    text_length,
)
from include.walkme_sync.reconcile.plain_texts import arrow_texts, plain_mask
from include.walkme_sync.records import ArrowValues, WireValues

#: Field types whose wire value is always text (None for a clear).
STR_WIRE_TYPES = TEXT_TYPES | {"datetime", "date", "email", "id", "reference"}
#: Floats below this are whole numbers exactly (and ints below it convert to floats exactly).
EXACT_FLOAT = 2.0**53
#: np.datetime64 bounds of the fast (vectorised) path: Salesforce's valid range (limits.py); the
#: values outside go to the scalar reference, which rejects them with the reason.
_DAY_MIN = np.datetime64(MIN_DATE.isoformat(), "D")
_DAY_MAX = np.datetime64(MAX_DATE.isoformat(), "D")
_MS_MIN = np.datetime64(MIN_DATETIME.replace(tzinfo=None).isoformat(), "ms")
_MS_MAX = np.datetime64(MAX_DATETIME.replace(tzinfo=None).isoformat(), "ms")
#: Every character `str.strip()` removes, as a regex class; a text of only these (or none) is
#: blank.
PYTHON_SPACE_CLASS = f"[{PYTHON_WHITESPACE_CLASS}]"
_BLANK = f"^{PYTHON_SPACE_CLASS}*$"


def blank_texts(values: pd.Series) -> np.ndarray:
    """Per value of an Arrow-backed text column: null, or blank as `str.strip()` sees it."""
    arrow = pa.array(values.array)
    blank = pc.match_substring_regex(arrow, _BLANK).fill_null(True)
    return np.asarray(blank.to_numpy(zero_copy_only=False), dtype=bool)


# ------------------------------------------------------------------ column-wise coercion


@dataclass
class CoercedColumn:
    """`coerce_for_field` over a column: null / rejected (with reasons) / wire value per row."""

    null: np.ndarray  # bool: `is_null(value)`
    rejected: np.ndarray  # bool: `coerce_for_field` raised ValueRejected
    reasons: dict[int, str]  # position -> str(ValueRejected)
    wire: np.ndarray  # object: the coerced value where neither null nor rejected
    #: Deferred date-times (`coerce_column(..., defer_datetimes=True)`): where the wire text is
    #: not written yet (bool), and the instant it stands for (datetime64[ms], per position).
    pending: np.ndarray | None = None
    moments: np.ndarray | None = None
    #: Whole numbers of the fast path (`coerce_column(..., defer_datetimes=True)` too): where
    #: `wire` holds one (bool), and its value (int64, per position).
    whole: np.ndarray | None = None
    integers: np.ndarray | None = None
    #: Wire values the scalar reference gave (`coerce_for_field`, not the fast paths).
    scalar_values: int = 0

    def wire_values(self, formatted: np.ndarray) -> WireValues:
        """The wire values once the deferred date-times where `formatted` (bool) have their
        text: as Arrow text (`ArrowValues`, None a null) when every other value is None (no
        value came from the scalar reference), else `wire` with the texts written in. A
        million date-times are then never a million Python strings. Whole numbers all from the
        fast path are Arrow's int64 (None a null) likewise."""
        if self.pending is None or self.moments is None:
            if self.whole is not None and self.integers is not None and not self.scalar_values:
                return ArrowValues(pa.array(self.integers, mask=~self.whole))
            return self.wire
        if self.scalar_values:
            self.write_pending(np.flatnonzero(formatted))
            return self.wire
        at = formatted & self.pending
        texts = _texts_at(self.moments, at)
        self.pending[at] = False
        return ArrowValues(texts)

    def write_pending(self, positions: np.ndarray) -> None:
        """Write the wire text of the deferred date-times at `positions` (int)."""
        if self.pending is None or self.moments is None or not len(positions):
            return
        at = positions[self.pending[positions]]
        self.wire[at] = _iso_texts(self.moments[at])
        self.pending[at] = False


def coerce_column(
    values: pd.Series, target: FieldInfo, *, defer_datetimes: bool = False
) -> CoercedColumn:
    """`coerce_for_field` for every value of `values` (positionally), vectorised.

    The fast paths (datetime64, numeric, boolean and text columns into their usual field types)
    only claim the values they can prove the scalar rules map the same way; every other value
    goes through `coerce_for_field` itself, once per distinct value.

    `defer_datetimes`: a datetime64 column into a date-time field keeps its instants (`moments`)
    and leaves their text to `write_pending`, so that values Salesforce already holds (compared
    as instants, `same_instants`) are never formatted; whole numbers keep their int64 values
    too (`integers`), for `wire_values`.
    """
    size = len(values)
    null = np.zeros(size, dtype=bool)
    done = np.zeros(size, dtype=bool)
    wire = np.empty(size, dtype=object)
    deferred: list[np.ndarray] = []
    if size:
        _fast_coerce(values, target, null, done, wire, deferred if defer_datetimes else None)
    rejected = np.zeros(size, dtype=bool)
    reasons: dict[int, str] = {}
    scalar_values = 0
    todo = np.flatnonzero(~null & ~done)
    if len(todo):
        originals = values.tolist() if len(todo) == size else values.iloc[todo].tolist()
        memo: dict[tuple[Any, ...], WireValue | ValueRejected] = {}
        for position, value in zip(todo.tolist(), originals, strict=True):
            if is_null(value):
                null[position] = True
                continue
            result = _coerce_cached(value, target, memo)
            if isinstance(result, ValueRejected):
                rejected[position] = True
                reasons[position] = str(result)
            else:
                wire[position] = result
                scalar_values += 1
    coerced = CoercedColumn(
        null=null, rejected=rejected, reasons=reasons, wire=wire, scalar_values=scalar_values
    )
    if deferred and target.type == "datetime":
        coerced.pending, coerced.moments = deferred
    elif deferred:
        coerced.whole, coerced.integers = deferred
    return coerced


def _coerce_cached(
    value: Any, target: FieldInfo, memo: dict[tuple[Any, ...], WireValue | ValueRejected]
) -> WireValue | ValueRejected:
    """`coerce_for_field`, memoised per distinct value.

    1, 1.0 and True must not share a slot, nor 0.0 and -0.0 or Decimal 1.0 and 1.00: apart from
    str/int/bool, equal values share a slot only when their reprs are equal too.
    """
    key: tuple[Any, ...] | None
    cls = value.__class__
    try:
        key = (cls, value) if cls in (str, int, bool) else (cls, value, repr(value))
        if key in memo:
            return memo[key]
    except Exception:  # unhashable (or unprintable) value: no memo
        key = None
    try:
        result: WireValue | ValueRejected = coerce_for_field(value, target)
    except ValueRejected as rejected:
        result = rejected
    if key is not None:
        memo[key] = result
    return result


def _fast_coerce(  # noqa: PLR0917 - the in-place outputs of `coerce_column`
    values: pd.Series,
    target: FieldInfo,
    null: np.ndarray,
    done: np.ndarray,
    wire: np.ndarray,
    deferred: list[np.ndarray] | None = None,
) -> None:
    """Mark (in place) the rows whose outcome is certain: null, or `done` with `wire` set (or,
    for deferred date-times, their (pending, moments) appended to `deferred`; whole numbers
    also append (where, int64 values))."""
    kind = target.type
    dtype = values.dtype
    is_datetime = isinstance(dtype, pd.DatetimeTZDtype) or (
        isinstance(dtype, np.dtype) and dtype.kind == "M"
    )
    if is_datetime and (kind in ("datetime", "date") or kind in TEXT_TYPES):
        _fast_datetimes(values, target, null, done, wire, deferred)
    elif _is_number_dtype(dtype) and (kind in NUMBER_TYPES or kind in INTEGER_TYPES):
        _fast_numbers(values, target, null, done, wire, deferred)
    elif pd.api.types.is_bool_dtype(dtype) and kind == "boolean":
        missing = values.isna().to_numpy(dtype=bool)
        null |= missing
        flags = values.to_numpy(dtype=bool, na_value=False).astype(object)
        wire[~missing] = flags[~missing]
        done |= ~missing
    elif (isinstance(dtype, pd.StringDtype) or dtype.kind == "O") and (
        kind in TEXT_TYPES or kind in ("email", "id", "reference")
    ):
        _coerce_texts(values, target, null, done, wire)


def _is_number_dtype(dtype: Any) -> bool:
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return False
    return isinstance(dtype, np.dtype | pd.api.extensions.ExtensionDtype) and getattr(
        dtype, "kind", ""
    ) in ("i", "u", "f")


def _fast_datetimes(  # noqa: PLR0917 - the in-place outputs of `coerce_column`
    values: pd.Series,
    target: FieldInfo,
    null: np.ndarray,
    done: np.ndarray,
    wire: np.ndarray,
    deferred: list[np.ndarray] | None,
) -> None:
    # Naive date-times are UTC by contract; aware ones are converted to UTC (then made naive).
    utc = values.dt.tz_convert(None) if isinstance(values.dtype, pd.DatetimeTZDtype) else values
    stamps = utc.to_numpy()
    missing = np.isnat(stamps)
    null |= missing
    if target.type == "date":
        days = stamps.astype("datetime64[D]")  # floor: the UTC day
        ok = ~missing & (days >= _DAY_MIN) & (days <= _DAY_MAX)
        texts = _iso_texts(days[ok])
    else:
        millis = stamps.astype("datetime64[ms]")  # floor, like `microsecond // 1000`
        ok = ~missing & (millis >= _MS_MIN) & (millis <= _MS_MAX)
        if deferred is not None and target.type == "datetime":
            deferred += [ok, millis]
            done |= ok
            return
        texts = _iso_texts(millis[ok])
        if target.type in TEXT_TYPES:  # the date-time's text, checked like any text
            valid = np.fromiter((_text_fits(t, target) for t in texts), bool, len(texts))
            ok[np.flatnonzero(ok)[~valid]] = False
            texts = texts[valid]
    wire[ok] = texts
    done |= ok


def _iso_texts(moments: np.ndarray) -> np.ndarray:
    """ISO text of each datetime64[D] (`2024-01-31`) or datetime64[ms] (with `Z`), as objects.

    Arrow writes `2024-01-31 12:34:56.789`; the `T` and the `Z` make it Salesforce's form. Years
    are 1700-4000 here (checked before), so always four digits. Faster than numpy's
    `datetime_as_string`, whose fixed-width result holds 168 bytes per value.
    """
    return np.asarray(_iso_arrow(moments).to_numpy(zero_copy_only=False), dtype=object)


def _iso_arrow(moments: np.ndarray) -> pa.Array:
    """`_iso_texts` as Arrow text (string)."""
    texts = pc.cast(pa.array(moments), pa.string())
    if moments.dtype == np.dtype("datetime64[ms]"):
        texts = _salesforce_datetime_texts(texts)
    return texts


def _texts_at(moments: np.ndarray, at: np.ndarray) -> pa.Array:
    """`_iso_arrow` of the datetime64[ms] `moments` where `at` (bool), null elsewhere."""
    count = int(np.count_nonzero(at))
    if count * SPREAD_BY_MASK < len(at):
        # Few (an unchanged run formats next to nothing): into an array of nulls, without an
        # index array of the column's length.
        texts = _iso_arrow(moments[at])
        return pc.replace_with_mask(pa.nulls(len(at), texts.type), pa.array(at), texts)
    # Most (a first sync): every position formatted (a placeholder where not `at`: no NaT, no
    # year out of range) and the others made null by a validity bitmap; the texts are never
    # copied to be spread.
    texts = _iso_arrow(np.where(at, moments, _PLACEHOLDER))
    if count == len(at):
        return texts
    if texts.offset or texts.null_count:  # (not Arrow's fresh array): copied after all
        return pc.if_else(pa.array(at), texts, pa.scalar(None, texts.type))
    validity = pa.py_buffer(np.packbits(at, bitorder="little"))
    return pa.Array.from_buffers(
        texts.type, len(at), [validity, *texts.buffers()[1:]], null_count=len(at) - count
    )


#: `_texts_at` fills an array of nulls when under one position in this many gets a text.
SPREAD_BY_MASK = 4
_PLACEHOLDER = np.datetime64("2000-01-01T00:00:00.000", "ms")


#: Bytes of Arrow's text of a datetime64[ms] of a four-digit year: `2024-01-31 12:34:56.789`.
_ARROW_MS_TEXT = 23


def _salesforce_datetime_texts(texts: pa.StringArray) -> pa.Array:
    """Arrow's `2024-01-31 12:34:56.789` as `2024-01-31T12:34:56.789Z`.

    When every text has Arrow's fixed width, the `T` and the `Z` go into one numpy copy of the
    bytes (two Arrow passes, each a new array, took three times as long); otherwise Arrow's
    own string functions do it.
    """
    size = len(texts)
    _, offsets, data = texts.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int32)[texts.offset : texts.offset + size + 1]
    width = _ARROW_MS_TEXT + 1
    if (
        not size
        or texts.null_count
        or size * width >= 2**31
        or not (np.diff(bounds) == _ARROW_MS_TEXT).all()
    ):
        return pc.binary_join_element_wise(pc.utf8_replace_slice(texts, 10, 11, "T"), "Z", "")
    lines = np.frombuffer(data, dtype=np.uint8)[bounds[0] : bounds[-1]]
    out = np.empty((size, width), dtype=np.uint8)
    out[:, :_ARROW_MS_TEXT] = lines.reshape(size, _ARROW_MS_TEXT)
    out[:, 10] = ord("T")
    out[:, _ARROW_MS_TEXT] = ord("Z")
    starts = np.arange(0, size * width + 1, width, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), size, [None, pa.py_buffer(starts), pa.py_buffer(out)])


def _fast_numbers(  # noqa: PLR0917 - the in-place outputs of `coerce_column`
    values: pd.Series,
    target: FieldInfo,
    null: np.ndarray,
    done: np.ndarray,
    wire: np.ndarray,
    deferred: list[np.ndarray] | None = None,
) -> None:
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    null |= np.isnan(numbers)
    size = np.abs(numbers)
    with np.errstate(invalid="ignore", over="ignore"):
        if target.type in INTEGER_TYPES:
            limit = target.digits or MAX_INT_DIGITS.get(target.type, 9)
            if limit < 0:
                return
            # Below 2**53 the float is the exact value (ints convert exactly): whole and short.
            ok = (size < EXACT_FLOAT) & (np.floor(numbers) == numbers) & (size < 10.0**limit)
            _put_integers(numbers[ok].astype(np.int64), ok, wire, deferred)
            done |= ok
            return
        scale = max(target.scale, 0)
        if scale > 22 or (target.precision and target.precision < scale):
            return
        # Decimal(repr(x)).quantize(10**-scale, ROUND_HALF_UP): away from a tie (x * 10**scale
        # within float error of .5) that is floor(|x| * 10**scale + 0.5); ties go to the scalar.
        scaled = size * 10.0**scale
        whole = np.floor(scaled)
        ok = (scaled < 2.0**52) & (np.abs(scaled - whole - 0.5) > scaled * 1e-15 + 1e-12)
        units = np.floor(scaled + 0.5)
        if target.precision:
            ok &= units < 10.0**target.precision  # integer digits <= precision - scale
        units = np.copysign(units[ok], numbers[ok])
    if scale == 0:
        _put_integers(units.astype(np.int64), ok, wire, deferred)
    else:
        # Both exact; IEEE division rounds to the double nearest the decimal, like float(Decimal).
        wire[ok] = (units / 10.0**scale).astype(object)
    done |= ok


def _put_integers(
    integers: np.ndarray, where: np.ndarray, wire: np.ndarray, deferred: list[np.ndarray] | None
) -> None:
    """`integers` (int64, one per True of `where`) into `wire` as Python ints; when deferring,
    also kept as int64 per position (`CoercedColumn.integers`)."""
    wire[where] = integers.astype(object)
    if deferred is not None:
        values = np.zeros(len(where), dtype=np.int64)
        values[where] = integers
        deferred += [where, values]


def _coerce_texts(
    values: pd.Series, target: FieldInfo, null: np.ndarray, done: np.ndarray, wire: np.ndarray
) -> None:
    """`_fast_texts` over the column, with its plain values (`plain_texts`) decided from the
    bytes at once: they are sent as they are. The rest (nulls included: which objects count as
    null is `_fast_texts`' rule) go through `_fast_texts` value by value."""
    restricted = target.restricted_picklist and target.type in ("picklist", "multipicklist")
    texts = None if target.type not in TEXT_TYPES or restricted else arrow_texts(values)
    if texts is None:
        _fast_texts(values.tolist(), target, null, done, wire)
        return
    objects = values.to_numpy(dtype=object)
    plain = plain_mask(texts, target.length)
    wire[plain] = objects[plain]
    done |= plain
    rest = np.flatnonzero(~plain)
    if not len(rest):
        return
    rest_null, rest_done = np.zeros(len(rest), dtype=bool), np.zeros(len(rest), dtype=bool)
    rest_wire = np.empty(len(rest), dtype=object)
    _fast_texts(objects[rest].tolist(), target, rest_null, rest_done, rest_wire)
    null[rest] |= rest_null
    done[rest] |= rest_done
    wire[rest[rest_done]] = rest_wire[rest_done]


def _fast_texts(
    values: list[Any], target: FieldInfo, null: np.ndarray, done: np.ndarray, wire: np.ndarray
) -> None:
    kind = target.type
    for position, value in enumerate(values):
        if value.__class__ is not str:
            if value is None or value is pd.NA or (value.__class__ is float and math.isnan(value)):
                null[position] = True
            continue
        text = value.strip()  # Salesforce trims text; a blank value is null
        if not text:
            null[position] = True
        elif kind == "email":
            if SALESFORCE_EMAIL.match(text) and not (target.length and len(text) > target.length):
                wire[position] = text
                done[position] = True
        elif kind in ("id", "reference"):
            if SALESFORCE_ID_PATTERN.match(text):
                wire[position] = text
                done[position] = True
        elif _text_fits(text, target):
            wire[position] = text
            done[position] = True


def _text_fits(text: str, target: FieldInfo) -> bool:
    if target.length and text_length(text) > target.length:
        return False
    if control_character(text) is not None:
        return False
    return not (target.restricted_picklist and unknown_picklist_values(text, target))
