"""Which values of a text column are *plain*: their coerced value is the value itself.

A plain value is non-empty printable ASCII (bytes 0x20-0x7E) that neither starts nor ends with a
space: Python's `strip` leaves it as it is, it holds no control character, and its length as
Salesforce counts it (UTF-16 code units) is its byte count. Report text is nearly always plain,
so a text column's coercion decides those values from the bytes of one Arrow array, and only the
others go through the per-value rules (`columns._fast_texts`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

SPACE = 0x20
LAST_PRINTABLE = 0x7E
#: Per byte value: True outside printable ASCII (one table lookup per byte).
NOT_PRINTABLE_ASCII = np.ones(256, dtype=bool)
NOT_PRINTABLE_ASCII[SPACE : LAST_PRINTABLE + 1] = False


def arrow_texts(values: pd.Series) -> pa.Array | None:
    """The column as one Arrow large_string array (nulls for None, NaN, pd.NA), or None when a
    value is not exactly a `str` (a subclass such as `np.str_` takes the per-value rules, which
    send a plain `str`) or is text UTF-8 cannot hold (a lone surrogate)."""
    try:
        if isinstance(values.dtype, pd.StringDtype):
            array: Any = pa.array(values.array)
        else:
            objects = values.to_numpy(dtype=object)
            # Every present value exactly a `str` (this also rules out non-text objects).
            if set(map(type, objects[pd.notna(objects)])) - {str}:
                return None
            array = pa.array(objects, from_pandas=True)
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if array.null_count == len(array):
            return pa.nulls(len(array), pa.large_string())
        if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
            return None
        return array.cast(pa.large_string())
    except (pa.ArrowException, UnicodeError):
        return None


def plain_mask(texts: pa.Array, max_length: int | None) -> np.ndarray:
    """True where the value is plain and at most `max_length` characters (no limit when None
    or 0); False for nulls."""
    if not pa.types.is_large_string(texts.type):
        texts = texts.cast(pa.large_string())  # the offsets below are read as int64
    size = len(texts)
    if texts.null_count == size:  # no text at all (an all-null array may have no buffers)
        return np.zeros(size, dtype=bool)
    _, offsets, data = texts.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int64)[texts.offset : texts.offset + size + 1]
    starts, ends = bounds[:-1], bounds[1:]
    lengths = ends - starts
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    plain = lengths > 0
    # The values holding a byte outside printable ASCII: each such byte's value, found by where
    # it falls among the values' ends (such bytes are few; a per-byte running sum cost 30x more).
    used = raw[bounds[0] : bounds[-1]]  # a slice's buffer also holds other values' bytes
    odd_bytes = np.flatnonzero(NOT_PRINTABLE_ASCII[used]) + bounds[0]
    if len(odd_bytes):
        plain[np.searchsorted(ends, odd_bytes, side="right")] = False
    if max_length:
        plain &= lengths <= max_length
    firsts = np.where(plain, starts, 0)
    lasts = np.where(plain, ends - 1, 0)
    if len(raw):
        plain &= (raw[firsts] != SPACE) & (raw[lasts] != SPACE)
    if texts.null_count:
        plain &= texts.is_valid().to_numpy(zero_copy_only=False)
    return plain
