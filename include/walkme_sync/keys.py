"""Report keys: the one rule that says when two identifiers are the same end user.

email -> trimmed and casefolded; guid -> trimmed, lower case, without braces; text -> trimmed.
Validation, lookup and pairing all compare keys through these functions, and the e-mail pattern
here is the only one in the product (keys and e-mail fields alike).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

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

    Same rules, same results (Python's own `str.strip` / `casefold`, so the whitespace and case
    rules cannot drift from `normalize_key`). Nulls are found with one vectorised `isna`; the
    string work is one pass over plain `str` objects, which measured faster than pandas' `.str`
    methods on either string storage.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    raw = series.to_numpy(dtype=object)
    nulls = series.isna().to_numpy()
    if nulls.any():
        raw = raw.copy()
        raw[nulls] = ""  # -> None below, like normalize_key
    # One C-level scan decides whether every value is already a `str` (the usual case).
    texts = raw if pd.api.types.infer_dtype(raw, skipna=False) == "string" else map(str, raw)
    if kind == "email":
        out = [text.strip().casefold() or None for text in texts]
    elif kind == "guid":
        out = [text.strip().strip("{}").strip().lower() or None for text in texts]
    elif kind == "text":
        out = [text.strip() or None for text in texts]
    else:
        raise ValueError(f"unknown key kind {kind!r} (expected email, guid or text)")
    result = np.empty(len(out), dtype=object)
    result[:] = out
    return result


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
