"""Record ids as Salesforce mints them: 15-character ids and their 18-character checksummed form."""

from __future__ import annotations

from typing import Any

_ID_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_LENGTHS = (15, 18)


_PAIRS = [first + second for first in _BASE62 for second in _BASE62]
_PAIR_COUNT = len(_PAIRS)
# Maps every base-62 character to "1" (upper-case letter) or "0", to read the case bits at C speed.
_UPPER_BITS = str.maketrans({char: "1" if char.isupper() else "0" for char in _BASE62})


def id_suffix(id15: str) -> str:
    """The 3-character case-safe suffix of a 15-character base-62 id: one character per
    5-character chunk, whose upper-case positions form a 5-bit number (first character = bit 0)."""
    bits = id15.translate(_UPPER_BITS)
    return (
        _ID_SUFFIX_ALPHABET[int(bits[4::-1], 2)]
        + _ID_SUFFIX_ALPHABET[int(bits[9:4:-1], 2)]
        + _ID_SUFFIX_ALPHABET[int(bits[14:9:-1], 2)]
    )


def make_id(key_prefix: str, pod: str, counter: int) -> str:
    """An 18-character id: 3-char key prefix, 3-char pod, 9-char base-62 counter, suffix."""
    counter, last = divmod(counter, _PAIR_COUNT)
    counter, third = divmod(counter, _PAIR_COUNT)
    counter, second = divmod(counter, _PAIR_COUNT)
    counter, first = divmod(counter, _PAIR_COUNT)
    id15 = (
        key_prefix
        + pod
        + _BASE62[counter % 62]
        + _PAIRS[first]
        + _PAIRS[second]
        + _PAIRS[third]
        + _PAIRS[last]
    )
    return id15 + id_suffix(id15)


def normalize_id(value: Any) -> str | None:
    """The canonical 18-character form of a 15- or 18-character id, or None if malformed.

    An 18-character id may come in any letter case (that is what the suffix is for): the suffix
    restores the case of the first 15 characters.
    """
    if not isinstance(value, str) or len(value) not in _ID_LENGTHS or not value.isalnum():
        return None
    if not value.isascii():
        return None
    if len(value) == 15:
        return value + id_suffix(value)
    id15 = value[:15]
    suffix = value[15:].upper()
    if id_suffix(id15) == suffix:
        return id15 + suffix
    chars = list(id15)
    for chunk, suffix_char in enumerate(suffix):
        bits = _ID_SUFFIX_ALPHABET.find(suffix_char)
        if bits < 0:
            return None
        for offset in range(5):
            position = chunk * 5 + offset
            upper = bool(bits & (1 << offset))
            chars[position] = chars[position].upper() if upper else chars[position].lower()
    restored = "".join(chars)
    return restored + id_suffix(restored)
