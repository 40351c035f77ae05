"""Salesforce API-name rules, and suggestions of a legal name for an illegal one.

Salesforce API names (objects and fields):

- letters, digits and underscores only, starting with a letter;
- no two underscores in a row and no trailing underscore, except for the managed-package
  namespace prefix (``ns__``) and the type suffix (``__c`` custom, ``__r`` relationship, ...);
- at most 40 characters before the suffix.

Standard names (``Email``, ``Lead``, ``AccountId``) have no suffix and are legal as they are.

Pure standard library: this module is imported while DAG files are parsed.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_LENGTH = 40
MAX_NAMESPACE_LENGTH = 15

#: Suffixes Salesforce appends to API names (custom field/object, relationship, metadata type,
#: platform event, external object, big object, person-account field, geolocation sub-fields).
SUFFIXES = ("c", "r", "mdt", "e", "x", "b", "pc", "pr", "s", "share", "history", "feed")

CUSTOM_SUFFIX = "__c"

_STEM = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?=[A-Za-z0-9]))*$")
"""A letter, then letters/digits, with single underscores only between two characters."""

_WORD = re.compile(r"[A-Za-z0-9]+")


def split_api_name(name: str) -> tuple[str | None, str, str | None]:
    """Split ``ns__Stem__c`` into (namespace, stem, suffix); absent parts are ``None``."""
    parts = name.split("__")
    namespace: str | None = None
    suffix: str | None = None
    if len(parts) >= 2 and parts[-1].lower() in SUFFIXES:
        suffix = parts.pop()
    if suffix is not None and len(parts) == 2:  # a namespace only comes with a suffix
        namespace = parts.pop(0)
    return namespace, "__".join(parts), suffix


def api_name_problem(name: str) -> str | None:
    """Say why ``name`` is not a legal Salesforce API name, or return ``None`` when it is legal."""
    if not name:
        return "an API name cannot be empty"
    if name != name.strip():
        return "an API name cannot contain spaces"
    namespace, stem, _suffix = split_api_name(name)
    if namespace is not None and (
        not _STEM.match(namespace) or len(namespace) > MAX_NAMESPACE_LENGTH
    ):
        return f"namespace prefix {namespace!r} is not legal"
    if not stem:
        return "an API name needs a name before its suffix"
    bad_chars = sorted({ch for ch in stem if not (ch.isascii() and (ch.isalnum() or ch == "_"))})
    if bad_chars:
        shown = " ".join(repr(ch) for ch in bad_chars)
        return f"only letters, digits and underscores are allowed (found {shown})"
    if not stem[0].isalpha():
        return "an API name must start with a letter"
    if "__" in stem:
        return "an API name cannot contain two underscores in a row (except before its suffix)"
    if stem.endswith("_"):
        return "an API name cannot end with an underscore"
    if len(stem) > MAX_NAME_LENGTH:
        return f"an API name can have at most {MAX_NAME_LENGTH} characters before its suffix"
    return None


def is_legal_api_name(name: str) -> bool:
    """True when ``name`` is a legal Salesforce API name (standard, or with a ``__c`` suffix)."""
    return api_name_problem(name) is None


def is_custom_name(name: str) -> bool:
    """True for custom fields/objects (``...__c``)."""
    return name.lower().endswith(CUSTOM_SUFFIX)


def _title_word(word: str) -> str:
    # Capitalise the first letter only, so "WalkMe" stays "WalkMe" and "last" becomes "Last".
    return word[:1].upper() + word[1:]


def suggest_api_name(name: str, *, custom: bool = True) -> str:
    """Return the closest legal API name for ``name``.

    Illegal characters are dropped, runs of underscores collapse to one, each word starts with a
    capital letter and the custom suffix ``__c`` is added (when ``custom`` is true or the name
    already had it). ``WalkMe_#_Logins_last_30_days`` becomes ``WalkMe_Logins_Last_30_Days__c``.
    A name that is already legal is returned unchanged.
    """
    if is_legal_api_name(name):
        return name
    namespace, stem, suffix = split_api_name(name.strip())
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    words = [_title_word(word) for word in _WORD.findall(ascii_stem)]
    new_stem = "_".join(words) or "Field"
    if not new_stem[0].isalpha():
        new_stem = f"X{new_stem}"
    new_stem = new_stem[:MAX_NAME_LENGTH].rstrip("_")
    if suffix is None and custom:
        suffix = "c"
    prefix = f"{namespace}__" if namespace and is_legal_api_name(f"{namespace}__X__c") else ""
    return f"{prefix}{new_stem}__{suffix}" if suffix else f"{prefix}{new_stem}"
