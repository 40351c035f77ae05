"""Text columns coerced with their plain values decided at once give exactly what the per-value
rules (`columns._fast_texts` over every value, the previous path) gave.

Generated values mix plain ASCII, leading/trailing/only spaces, tabs and line breaks, Unicode
(accents, non-BMP characters that count twice), control characters, empty text, every null
object the rules know (None, NaN, pd.NA) and some they do not (NaT, NumPy NaN), texts at and over
the field's length, non-text objects, and object vs pandas string columns.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from include.walkme_sync.metadata import FieldInfo
from include.walkme_sync.reconcile.columns import _fast_coerce, _fast_texts
from include.walkme_sync.reconcile.plain_texts import arrow_texts, plain_mask

PIECES = [
    "abc",
    "Hello World",
    "x",
    " ",
    "  ",
    "\t",
    "\n",
    "é",
    "日本",
    "😀",
    "\x01",
    "\x7f",
    "a;b",
    "Gold",
    "user@example.com",
    "001000000000001AAA",
    "https://walkme.com",
    "+1 555 0100",
    "~!@#$%^&*()_+",
    "'\"",
    ",",
]
NULLISH: list[Any] = [None, float("nan"), pd.NA, pd.NaT, np.float64("nan")]
FIELDS = [
    FieldInfo("S__c", "S", "string", length=10, updateable=True),
    FieldInfo("T__c", "T", "textarea", length=0, updateable=True),
    FieldInfo("U__c", "U", "url", length=255, updateable=True),
    FieldInfo("P__c", "P", "phone", length=12, updateable=True),
    FieldInfo("K__c", "K", "picklist", picklist_values=("Gold", "abc"), updateable=True),
    FieldInfo(
        "R__c",
        "R",
        "picklist",
        picklist_values=("Gold",),
        restricted_picklist=True,
        updateable=True,
    ),
    FieldInfo("M__c", "M", "multipicklist", length=40, updateable=True),
    FieldInfo("E__c", "E", "email", length=80, updateable=True),
    FieldInfo("I__c", "I", "reference", updateable=True),
]


def random_text(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.08:
        return rng.choice(NULLISH)
    if roll < 0.1:
        return ""
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 4)))


def reference(values: list[Any], target: FieldInfo) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    size = len(values)
    null, done = np.zeros(size, dtype=bool), np.zeros(size, dtype=bool)
    wire = np.empty(size, dtype=object)
    _fast_texts(values, target, null, done, wire)
    return null, done, [wire[i] if done[i] else None for i in range(size)]


def columnar(series: pd.Series, target: FieldInfo) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    size = len(series)
    null, done = np.zeros(size, dtype=bool), np.zeros(size, dtype=bool)
    wire = np.empty(size, dtype=object)
    _fast_coerce(series, target, null, done, wire)
    return null, done, [wire[i] if done[i] else None for i in range(size)]


@pytest.mark.parametrize("target", FIELDS, ids=lambda field: field.type)
@pytest.mark.parametrize("seed", range(4))
def test_plain_texts_decided_at_once_are_the_per_value_outcomes(
    target: FieldInfo, seed: int
) -> None:
    rng = random.Random(seed)
    values = [random_text(rng) for _ in range(600)]
    expected_null, expected_done, expected_wire = reference(values, target)
    got_null, got_done, got_wire = columnar(pd.Series(values, dtype=object), target)
    assert got_null.tolist() == expected_null.tolist()
    assert got_done.tolist() == expected_done.tolist()
    assert got_wire == expected_wire
    assert all(type(value) is str for value in got_wire if value is not None)
    # A pandas string column holds text and pd.NA only.
    texts = [value if isinstance(value, str) else None for value in values]
    expected = reference([pd.NA if v is None else v for v in texts], target)
    got = columnar(pd.Series(texts, dtype="string"), target)
    assert got[0].tolist() == expected[0].tolist()
    assert got[1].tolist() == expected[1].tolist()
    assert got[2] == expected[2]


@pytest.mark.parametrize("target", FIELDS[:2], ids=lambda field: field.type)
def test_edge_columns_are_the_per_value_outcomes(target: FieldInfo) -> None:
    for values in (
        [],
        [None],
        ["", " "],
        ["a", 1, "b"],
        ["a", b"b"],
        [pd.NaT, "x"],
        ["a" * 10],
        ["ok", "\ud800x"],  # a lone surrogate: not UTF-8, the per-value rules decide
        [np.str_("abc"), "d"],  # a str subclass: the per-value rules send a plain str
    ):
        series = pd.Series(values, dtype=object)
        try:
            expected = reference(list(values), target)
        except UnicodeError as error:  # a surrogate measured against a length: as before
            with pytest.raises(type(error)):
                columnar(series, target)
            continue
        got = columnar(series, target)
        assert [type(value) for value in got[2]] == [type(value) for value in expected[2]]
        assert [g.tolist() if isinstance(g, np.ndarray) else g for g in got] == [
            e.tolist() if isinstance(e, np.ndarray) else e for e in expected
        ]


def test_plain_mask_reads_sliced_and_chunked_texts() -> None:
    values = ["ok", " lead", "trail ", "", None, "tab\t", "ünï", "fine", "x" * 11, "y" * 10]
    expected = [True, False, False, False, False, False, False, True, False, True]
    texts = pa.array(values, type=pa.large_string())
    assert plain_mask(texts, 10).tolist() == expected
    assert plain_mask(texts.slice(3), 10).tolist() == expected[3:]
    # "fine" between "ünï" and an over-long value: the odd bytes lie outside the slice.
    assert plain_mask(texts.slice(7, 1), 10).tolist() == [True]
    assert plain_mask(pa.array(values, type=pa.string()), 10).tolist() == expected
    assert plain_mask(texts, 0).tolist()[8] is True  # no length limit
    chunked = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([values[:4], values[4:]])))
    column = arrow_texts(chunked)
    assert column is not None
    assert plain_mask(column, 10).tolist() == expected
