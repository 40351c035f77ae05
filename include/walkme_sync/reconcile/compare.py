"""Column-wise comparison with Salesforce's current values: the fast path of `plan.plan_changes`.

Salesforce's values (Arrow-backed text when read from Parquet) are compared with the coerced new
ones column-wise: equal text, the same date-time instant, nulls, numbers' texts. Anything the quick
checks cannot decide goes through the scalar reference, `coerce.values_equal`, so results are
exactly the scalar ones (tests/unit/test_plan_vectorized.py, test_changes_columnar.py check this).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from include.walkme_sync.metadata import INTEGER_TYPES, NUMBER_TYPES, FieldInfo
from include.walkme_sync.reconcile.coerce import values_equal
from include.walkme_sync.reconcile.columns import EXACT_FLOAT, STR_WIRE_TYPES
from include.walkme_sync.records import ArrowValues, WireValues, classes, of_class, wire_objects


def same_texts(current: pd.Series, new: WireValues, target: FieldInfo) -> np.ndarray | None:
    """Where Salesforce's text is the new value's text (bool), compared in Arrow; None unless
    Salesforce's values are Arrow-backed text and the field's wire values text or whole numbers.
    Equal text is equal under every rule of `values_equal` (a number's text: Bulk CSV's form,
    `_quick_equal_number`); the rest (nulls included) is left to `equal_column`."""
    dtype = current.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    olds = pa.array(current.array).cast(pa.large_string())
    same = np.zeros(len(new), dtype=bool)
    try:
        if target.type in STR_WIRE_TYPES:
            news = (
                new.array.cast(pa.large_string())
                if isinstance(new, ArrowValues)
                else pa.array(new, type=pa.large_string())
            )
            picked = np.ones(len(new), dtype=bool)
        elif isinstance(new, ArrowValues) and new.array.type == pa.int64() and _numeric(target):
            # Whole numbers (None a null): every value is exactly an int.
            valid = new.array.is_valid()
            picked = np.asarray(valid.to_numpy(zero_copy_only=False), dtype=bool)
            news = new.array.filter(valid).cast(pa.large_string())
            olds = olds.filter(valid)
        elif target.type in NUMBER_TYPES or target.type in INTEGER_TYPES:
            new = wire_objects(new)
            picked = of_class(classes(new), int)  # exactly int: True is no number's text
            news = pa.array(new[picked].astype(np.int64)).cast(pa.large_string())
            olds = olds.filter(pa.array(picked))
        else:
            return None
    except (pa.ArrowException, UnicodeError, OverflowError):  # value by value instead
        return None
    same[picked] = pc.equal(olds, news).fill_null(False).to_numpy(zero_copy_only=False)
    return same


#: Salesforce's two texts of a date-time, milliseconds always: Bulk CSV's
#: `2024-01-31T12:34:56.789Z` (24 bytes) and REST's `...789+0000` (28 bytes).
_SALESFORCE_DATETIME_FORMS = ((24, "Z"), (28, "+0000"))


def same_instants(current: pd.Series, moments: np.ndarray) -> np.ndarray:
    """Where Salesforce's date-time text is the instant `moments` (datetime64[ms]) holds (bool).

    Only texts of the length and ending of Salesforce's own forms are read (by Arrow's ISO
    cast): those Arrow reads are Salesforce's forms (or with a space for the `T`), which
    `values_equal` reads as the same instant (`parse_salesforce_datetime`), so the same instant
    is equal. Anything else (nulls, other forms, a date Arrow cannot read) is left undecided
    (False) for `equal_column`.
    """
    same = np.zeros(len(moments), dtype=bool)
    dtype = current.dtype
    if not len(moments) or not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return same
    olds = pa.array(current.array)
    # Length and ending pick Salesforce's forms (a regex costs five times more); a text of that
    # shape which is no date-time fails Arrow's ISO cast below, which then decides nothing.
    size = pc.binary_length(olds)
    strict = pc.or_(
        *(
            pc.and_(pc.equal(size, n), pc.ends_with(olds, end))
            for n, end in _SALESFORCE_DATETIME_FORMS
        )
    ).fill_null(False)
    picked = np.asarray(strict.to_numpy(zero_copy_only=False), dtype=bool)
    news = moments.astype("datetime64[ms]", copy=False).view(np.int64)
    # A block at a time: Arrow refuses a whole cast for one impossible date (February 30th),
    # which then leaves only its block to the value-by-value comparison.
    for start in range(0, len(picked), INSTANT_BLOCK_ROWS):
        stop = min(start + INSTANT_BLOCK_ROWS, len(picked))
        block = picked[start:stop]
        if block.any():
            same[start:stop] = _same_instants_block(olds[start:stop], block, news[start:stop])
    return same


def _same_instants_block(olds: Any, picked: np.ndarray, news: np.ndarray) -> np.ndarray:
    """`same_instants` of one block: where `picked` (Salesforce's forms), the text's instant is
    `news` (ms since the epoch). The whole block is cast (the usual block holds only Salesforce's
    forms and nulls: no copy of the picked texts); a text Arrow cannot read leaves the block to
    the picked texts alone, then undecided if one of those cannot be read."""
    same = np.zeros(len(picked), dtype=bool)
    kind = pa.timestamp("ms", tz="UTC")
    try:
        instants = olds.cast(kind).cast(pa.int64())
        equal = pc.equal(instants, pa.array(news)).fill_null(False)
        return np.asarray(equal.to_numpy(zero_copy_only=False), dtype=bool) & picked
    except (pa.ArrowException, UnicodeError):
        pass
    at = np.flatnonzero(picked)
    try:
        instants = olds.filter(pa.array(picked)).cast(kind).cast(pa.int64())
    except (pa.ArrowException, UnicodeError):
        return same
    same[at] = np.asarray(instants.to_numpy(zero_copy_only=False)) == news[at]
    return same


#: Salesforce date-times read per Arrow cast by `same_instants`.
INSTANT_BLOCK_ROWS = 65_536


def equal_column(current: np.ndarray, new: np.ndarray, target: FieldInfo) -> np.ndarray:
    """`values_equal(current[i], new[i], target)` for every i (object arrays); the scalar
    decides what the quick checks cannot."""
    kind = target.type
    equal = np.zeros(len(new), dtype=bool)
    todo = None
    if kind in STR_WIRE_TYPES:
        # The new values are text (or None for a clear): Python-equal means the same text
        # (or both None), which every rule of `values_equal` calls equal. One C loop.
        try:
            same = np.asarray(current == new, dtype=bool)
        except Exception:  # an exotic current value: decide one by one
            same = None
        if same is not None and same.shape == equal.shape:
            equal |= same
            todo = np.flatnonzero(~same)
    if todo is None:
        todo = np.arange(len(new))
    todo = _equal_nulls(current, new, kind, todo, equal)
    if kind in NUMBER_TYPES or kind in INTEGER_TYPES:
        todo = _equal_number_texts(current, new, todo, equal)
    if len(todo):
        decide = _QUICK_EQUAL.get(kind, _quick_equal_default)
        equal[todo] = np.fromiter(
            (
                quick if (quick := decide(c, n, kind)) is not None else values_equal(c, n, target)
                for c, n in zip(current[todo].tolist(), new[todo].tolist(), strict=True)
            ),
            dtype=bool,
            count=len(todo),
        )
    return equal


def _equal_nulls(
    current: np.ndarray, new: np.ndarray, kind: str, todo: np.ndarray, equal: np.ndarray
) -> np.ndarray:
    """Decide (in `equal`) where Salesforce holds no value (None, NaN, NaT, NA: all null to
    `values_equal`); return the positions of `todo` still undecided."""
    if not len(todo):
        return todo
    missing = np.asarray(pd.isna(current[todo]), dtype=bool)
    if not missing.any():
        return todo
    nulls = todo[missing]
    equal[nulls] = equal_to_null(new[nulls], kind)
    return todo[~missing]


def equal_to_null(new: np.ndarray, kind: str) -> np.ndarray:
    """`values_equal(null, new[i])` for every i (object array): where Salesforce holds no value,
    a checkbox's null means false; any other field's null equals only a clear."""
    if kind == "boolean":
        return np.asarray(~new.astype(bool), dtype=bool)
    return of_class(classes(new), type(None))


def _equal_number_texts(
    current: np.ndarray, new: np.ndarray, todo: np.ndarray, equal: np.ndarray
) -> np.ndarray:
    """Mark equal (in `equal`) where Salesforce's value is the text of the new whole number
    (Bulk CSV text, `_quick_equal_number`); return the positions of `todo` still undecided."""
    if not len(todo):
        return todo
    olds, news = current[todo], new[todo]
    texts = of_class(classes(olds), str) & of_class(classes(news), int)
    if not texts.any():
        return todo
    try:
        digits = pa.array(news[texts].astype(np.int64)).cast(pa.large_string())
        olds_text = pa.array(olds[texts], type=pa.large_string())
    except (OverflowError, pa.ArrowException, UnicodeError):  # the scalar decides
        return todo
    same = np.zeros(len(todo), dtype=bool)
    same[texts] = pc.equal(olds_text, digits).to_numpy(zero_copy_only=False)
    equal[todo[same]] = True
    return todo[~same]


def _quick_nulls(current: Any, new: Any, kind: str) -> bool | None:
    """Decides when Salesforce holds no value (None / NaN) or the new value is a clear."""
    if current is None or (current.__class__ is float and math.isnan(current)):
        # A checkbox is never null: null means false.
        return (not new) if kind == "boolean" else new is None
    return None


def _quick_equal_default(current: Any, new: Any, kind: str) -> bool | None:
    if new is None:
        return _quick_nulls(current, new, kind)
    if current.__class__ is str and new.__class__ is str and current == new:
        return True
    return _quick_nulls(current, new, kind)


def _quick_equal_datetime(current: Any, new: Any, kind: str) -> bool | None:
    if current.__class__ is str and new.__class__ is str:
        if current == new:
            return True
        # REST returns 2024-01-31T12:34:56.000+0000: the same instant as ...56.000Z.
        if len(current) == 28 and current[23:] == "+0000" and current[:23] == new[:23]:
            return True
        return None
    return _quick_nulls(current, new, kind)


def _quick_equal_number(current: Any, new: Any, kind: str) -> bool | None:
    cls = current.__class__
    if (
        (cls is float or cls is int)
        and (new.__class__ is int or new.__class__ is float)
        and current == new
        and -EXACT_FLOAT < new < EXACT_FLOAT
    ):
        return True  # equal numbers are equal at any scale
    if cls is str and (new.__class__ is int or new.__class__ is float) and current == repr(new):
        return True  # Bulk CSV text of the same decimal
    return _quick_nulls(current, new, kind)


def _quick_equal_boolean(current: Any, new: Any, kind: str) -> bool | None:
    if current.__class__ is bool and new.__class__ is bool:
        return current is new
    return _quick_nulls(current, new, kind)


_QUICK_EQUAL: dict[str, Callable[[Any, Any, str], bool | None]] = {
    "datetime": _quick_equal_datetime,
    "boolean": _quick_equal_boolean,
    **dict.fromkeys(NUMBER_TYPES | INTEGER_TYPES, _quick_equal_number),
}


def _numeric(target: FieldInfo) -> bool:
    return target.type in NUMBER_TYPES or target.type in INTEGER_TYPES
