"""Report keys: the one rule that says when two identifiers are the same end user.

email -> trimmed and casefolded; guid -> trimmed, lower case, without braces; text -> trimmed.
Validation, lookup and pairing all compare keys through these functions, and the e-mail pattern
here is the only one in the product (keys and e-mail fields alike).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: A plausible e-mail address: something@domain.tld (Salesforce checks more; this catches junk).
# Control characters (a NUL from a broken export) are never part of an address.
EMAIL_PATTERN = re.compile(r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s.\x00-\x1f]+$")
GUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: The patterns a normalised key of each kind must match (text keys: any non-empty text).
KEY_PATTERNS = {"email": EMAIL_PATTERN, "guid": GUID_PATTERN}


def normalize_key(value: object, kind: str) -> str | None:
    """Comparable form of a key: email -> trimmed + casefolded; guid -> trimmed, lower case,
    without braces; text -> trimmed. Empty (or null) -> None."""
    if value is None or (isinstance(value, float) and value != value):  # noqa: PLR0124 - NaN
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    text = str(value).strip()
    if kind == "email":
        text = text.casefold()
    elif kind == "guid":
        text = text.strip("{}").strip().lower()
    elif kind != "text":
        raise ValueError(f"unknown key kind {kind!r} (expected email, guid or text)")
    return text or None


def normalize_keys(values: pd.Series | np.ndarray | Sequence[object], kind: str) -> np.ndarray:
    """`normalize_key` over a whole column at once: an object array of `str` or None.

    Same rules, same results: strings go through `normalize_key_array` (Arrow), other values
    (numbers, mixed objects) through Python's own `str.strip` / `casefold`.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    strings = _arrow_strings(series)
    if strings is not None:
        return np.asarray(normalize_key_array(strings, kind).to_numpy(zero_copy_only=False))
    raw = series.to_numpy(dtype=object)
    nulls = series.isna().to_numpy()
    if nulls.any():
        raw = raw.copy()
        raw[nulls] = ""  # -> None below, like normalize_key
    result = np.empty(len(raw), dtype=object)
    result[:] = _normalize_texts(map(str, raw), kind)
    return result


def key_array(values: pd.Series, kind: str) -> pa.Array:
    """`normalize_keys` as an Arrow `large_string` array (null for no key), for columnar
    matching (`salesforce.lookup.lookup_frame`, `reconcile.pairing.pair_rows`)."""
    strings = _arrow_strings(values)
    if strings is None:
        return pa.array(normalize_keys(values, kind), type=pa.large_string())
    return normalize_key_array(strings, kind)


#: Every character Python's `str.strip()` removes and `\s` matches in a str pattern (those whose
#: `str.isspace()` is true), as the inside of a character class that both Python's `re` and RE2
#: (pyarrow's regex engine, which reads `\s` as ASCII whitespace only) read the same way.
#: tests/unit/test_validation_fast_paths.py and test_changes_columnar.py check it code point by
#: code point against Python, in both engines.
PYTHON_WHITESPACE_CLASS = (
    "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)

#: What Python's `str.strip()` removes among ASCII characters (`str.isspace`: incl. \x1c-\x1f).
_ASCII_WHITESPACE = "".join(chr(code) for code in range(128) if chr(code).isspace())


def normalize_key_array(
    strings: pa.Array | pa.ChunkedArray, kind: str
) -> pa.Array | pa.ChunkedArray:
    """`normalize_key` over an Arrow string array, as a `large_string` array (null: no key);
    a chunked array gives a chunked array.

    ASCII values are normalised by Arrow kernels (for ASCII, `casefold` and `lower` are
    `ascii_lower`, and `strip` trims exactly `_ASCII_WHITESPACE`); the rare non-ASCII value goes
    through Python's own rules, so Unicode case and whitespace cannot drift from `normalize_key`.
    """
    if kind not in ("email", "guid", "text"):
        raise ValueError(f"unknown key kind {kind!r} (expected email, guid or text)")
    if isinstance(strings, pa.ChunkedArray):
        chunks = [normalize_key_array(chunk, kind) for chunk in strings.chunks]
        return pa.chunked_array(chunks, type=pa.large_string())
    strings = strings.cast(pa.large_string())
    if _already_normal(strings, kind):  # the usual case: no new copy of the keys
        return strings
    out = pc.ascii_trim(strings, characters=_ASCII_WHITESPACE)
    if kind == "guid":
        out = pc.ascii_trim(pc.ascii_trim(out, characters="{}"), characters=_ASCII_WHITESPACE)
    if kind != "text":
        out = pc.ascii_lower(out)
    other = pc.invert(pc.fill_null(pc.string_is_ascii(strings), True))
    if pc.any(other).as_py():
        texts = strings.filter(other).to_pylist()
        fixed = pa.array(_normalize_texts(texts, kind), type=pa.large_string())
        out = pc.replace_with_mask(out, other, fixed)
    # An empty key is no key (None), like `normalize_key`. Looked for first: replacing copies
    # every key, and there is usually no empty one.
    empty = pc.equal(pc.binary_length(out), 0)
    if not pc.any(empty).as_py():
        return out
    return pc.if_else(empty, pa.scalar(None, out.type), out)


#: Bytes a normal key of each kind cannot start or end with (what `strip` would remove).
_EDGE_BYTES = {
    kind: np.isin(np.arange(256), [ord(c) for c in _ASCII_WHITESPACE + extra])
    for kind, extra in (("email", ""), ("guid", "{}"), ("text", ""))
}
#: Bytes scanned at a time for upper case (bounds the scratch arrays).
_SCAN_BYTES = 1 << 20


def _already_normal(strings: pa.Array, kind: str) -> bool:
    """Whether normalising would give every key back as it is: ASCII, no empty value (or null),
    nothing to trim at either end, and (email, guid) no upper case. A scan of the bytes Arrow
    holds (keys from Salesforce and from validated reports usually are normal): it spares the
    trimmed and lowered copies of a million keys. False when unsure: the full path decides."""
    offsets_buffer, data_buffer = strings.buffers()[1:3]
    if not len(strings) or offsets_buffer is None or data_buffer is None:
        return False
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
        strings.offset : strings.offset + len(strings) + 1
    ]
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
    starts, ends = offsets[:-1] - offsets[0], offsets[1:] - offsets[0]
    if bool((starts == ends).any()):  # an empty value or a null: becomes (stays) None
        return False
    edge = _EDGE_BYTES[kind]
    if bool(edge[data[starts]].any() or edge[data[ends - 1]].any()):
        return False
    scratch = np.empty(min(len(data), _SCAN_BYTES), dtype=np.uint8)
    for at in range(0, len(data), _SCAN_BYTES):
        block = data[at : at + _SCAN_BYTES]
        if block.max() >= 0x80:  # non-ASCII: Python's rules decide
            return False
        if kind != "text":
            shifted = np.subtract(block, ord("A"), out=scratch[: len(block)])
            if bool((shifted < 26).any()):  # A-Z
                return False
    return True


def _arrow_strings(series: pd.Series) -> pa.Array | None:
    """The column as an Arrow string array when every value is a string or null, else None."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) or (
        isinstance(dtype, pd.ArrowDtype) and _is_arrow_text(dtype.pyarrow_dtype)
    ):
        return pa.array(series.array).cast(pa.large_string())
    if series.dtype != object:
        return None
    raw = series.to_numpy(dtype=object)
    # One C-level scan decides whether every value is a `str` or a null (the usual case).
    if pd.api.types.infer_dtype(raw, skipna=True) not in ("string", "empty"):
        return None
    nulls = series.isna().to_numpy()
    if nulls.any():
        raw = raw.copy()
        raw[nulls] = None  # NaN and pd.NA alike
    try:
        return pa.array(raw, type=pa.large_string())
    except UnicodeEncodeError:  # a lone surrogate is no UTF-8: Python's path takes it
        return None


def _is_arrow_text(arrow_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_string_view(arrow_type)
    )


def _normalize_texts(texts: Iterable[str], kind: str) -> list[str | None]:
    """Python's rules over plain strings (the reference the Arrow path must agree with)."""
    if kind == "email":
        return [text.strip().casefold() or None for text in texts]
    if kind == "guid":
        return [text.strip().strip("{}").strip().lower() or None for text in texts]
    if kind == "text":
        return [text.strip() or None for text in texts]
    raise ValueError(f"unknown key kind {kind!r} (expected email, guid or text)")


#: Catalog column type -> how that part of a composite key is normalised.
_PART_KINDS = {"email": "email", "guid": "guid"}


def composite_keys(
    parts: Sequence[pd.Series], column_types: Sequence[str], separator: str = "|"
) -> np.ndarray:
    """One text key per row from several columns, in a stable, documented form.

    Each part is normalised by its column's type (guid: lower case without braces, email:
    casefolded, anything else: trimmed and casefolded, because Salesforce compares External ID
    text case-insensitively), then ``\\`` and the separator inside a part are escaped with
    ``\\`` and the parts are joined with the separator: ``3f2a…-9c1d|intro to crm``. A row with
    an empty part has no key (None), like an empty single key.
    """
    normalised = []
    for series, column_type in zip(parts, column_types, strict=True):
        kind = _PART_KINDS.get(column_type, "text")
        values = normalize_keys(series, kind)
        if kind == "text":
            values = np.array([v.casefold() if v else None for v in values], dtype=object)
        normalised.append(values)
    size = len(parts[0]) if parts else 0
    out = np.empty(size, dtype=object)
    escape = str.maketrans({"\\": "\\\\", separator: "\\" + separator})
    for position, row in enumerate(zip(*normalised, strict=True)):
        out[position] = (
            None
            if any(part is None for part in row)
            else separator.join(part.translate(escape) for part in row)
        )
    return out
