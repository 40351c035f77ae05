"""The validate step's faster paths give exactly what the slower ones gave.

* The key regex GX receives (`arrow_friendly`) spells `\\s` out so pandas can run it in pyarrow;
  it must match exactly the strings the original pattern matches in Python's `re`, and pandas'
  pyarrow path must agree with `re.search` row by row (the previous path) on varied keys.
* GX is imported with scipy.stats and altair deferred (`gx_import`): a deferred module turns into
  the real one on first use, and the suite's results are the same.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types

import pandas as pd
import pytest

from include.walkme_sync.keys import KEY_PATTERNS, PYTHON_WHITESPACE_CLASS
from include.walkme_sync.report.gx_import import DeferredModule, defer_unused_modules
from include.walkme_sync.report.validation import arrow_friendly

WHITESPACE = [chr(code) for code in range(0x110000) if chr(code).isspace()]
KEYS: list[str | None] = [
    None,
    "",
    "a@b.co",
    "emma.levi1@stark-logistics.example.com",
    "ÜBER.straße@bücher.de",
    "名前@例え.テスト",
    "a@b",
    "a@@b.co",
    "@b.co",
    "a@b.",
    "a@b.c.",
    "a@.co",
    "a.b@c.d.e",
    "a@b.co\n",  # Python's `$` also matches before a trailing line break
    "a@b.co\n\n",
    "a\n@b.co",
    "a@b.co\x00",
    "a\x1f@b.co",
    "3f2a0c4e-9c1d-4b7e-8f00-0a1b2c3d4e5f",
    "3F2A0C4E-9C1D-4B7E-8F00-0A1B2C3D4E5F",
    "{3f2a0c4e-9c1d-4b7e-8f00-0a1b2c3d4e5f}",
    "3f2a0c4e9c1d4b7e8f000a1b2c3d4e5f",
    *(f"a{space}b@c.de" for space in WHITESPACE),
    *(f"ab@c.de{space}" for space in WHITESPACE),
    *(f"ab@c{space}.de" for space in WHITESPACE),
]
PATTERNS = [
    *(pattern.pattern for pattern in KEY_PATTERNS.values()),
    r"\s",
    r"^\S+$",
    r"a\sb",
    r"[\s]",
    r"[^\s@]+@",
    r"[]\s]x",
    r"[^]\s]+",
    r"\[\s]",
    r"\\s",
    r"[a\]\s]+$",
]


def test_the_whitespace_class_is_what_python_calls_whitespace() -> None:
    spelled = re.compile(f"[{PYTHON_WHITESPACE_CLASS}]")
    python = re.compile(r"\s")
    every = (chr(code) for code in range(0x110000))
    assert [c for c in every if bool(spelled.match(c)) != bool(python.match(c))] == []
    assert all(spelled.match(c) for c in WHITESPACE)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_arrow_friendly_patterns_match_the_same_strings(pattern: str) -> None:
    original, friendly = re.compile(pattern), re.compile(arrow_friendly(pattern))
    texts = [key for key in KEYS if key is not None] + [
        "a b",
        "a\u3000b",
        "]x",
        " x",
        "[ ]",
        "\\s",
        "a]\u2028",
    ]
    for text in texts:
        assert bool(original.search(text)) == bool(friendly.search(text)), (pattern, text)


def test_arrow_friendly_removes_every_backslash_s_from_the_key_patterns() -> None:
    for pattern in KEY_PATTERNS.values():
        assert "\\s" not in arrow_friendly(pattern.pattern).replace("\\\\", "")


@pytest.mark.parametrize("storage", ["string", "str", "object"])
@pytest.mark.parametrize("kind", sorted(KEY_PATTERNS))
def test_pandas_contains_agrees_with_re_search_row_by_row(kind: str, storage: str) -> None:
    """What GX computes (`column.astype(str).str.contains(regex)`) against the previous path."""
    pattern = KEY_PATTERNS[kind].pattern
    column = pd.Series(KEYS * 3, dtype=storage).astype(str)
    fast = column.str.contains(arrow_friendly(pattern))
    previous = column.str.contains(pattern)  # `\s` in it: Python's `re`, row by row
    assert fast.tolist() == previous.tolist()
    assert fast.dtype == previous.dtype
    for value, matched in zip(column.tolist(), fast.tolist(), strict=True):
        if isinstance(value, str):
            assert matched == bool(re.search(pattern, value)), value


def test_a_deferred_module_becomes_the_real_one_on_first_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import colorsys

    monkeypatch.delitem(sys.modules, "colorsys")
    defer_unused_modules(("colorsys",))
    stand_in = sys.modules["colorsys"]
    assert isinstance(stand_in, DeferredModule)
    import colorsys as imported  # the import system hands out the stand-in

    assert imported is stand_in
    assert stand_in.rgb_to_hsv(1.0, 0.0, 0.0) == colorsys.rgb_to_hsv(1.0, 0.0, 0.0)
    real = sys.modules["colorsys"]
    assert isinstance(real, types.ModuleType)
    assert not isinstance(real, DeferredModule)
    assert stand_in.hsv_to_rgb is real.hsv_to_rgb


def test_a_module_already_imported_is_left_alone() -> None:
    import json as already

    defer_unused_modules(("json",))
    assert sys.modules["json"] is already


VALIDATE_IN_A_FRESH_PROCESS = """
import json, sys
import pandas as pd
from include.walkme_sync.report.validation import validate_report
from tests.configs import login_review_config
config = login_review_config()
frame = pd.DataFrame({
    "User ID": pd.Series(["a@b.co", "bad key", None, "A@B.CO", "c@d.ef"], dtype="string"),
    "Last Login": pd.Series([None] * 5, dtype="datetime64[ns, UTC]"),
    "First Login": pd.Series([None] * 5, dtype="datetime64[ns, UTC]"),
    "Logins in Past 30 days": pd.Series([1, 2, 3, 4, 5], dtype="Int64"),
    "__row": pd.Series([1, 2, 3, 4, 5], dtype="int64"),
})
outcome = validate_report(frame, config)
print(json.dumps({
    "summary": outcome.summary,
    "rejected": outcome.rejected.astype(object).where(outcome.rejected.notna(), None)
        .to_dict("records"),
    "kept": outcome.kept["__row"].tolist(),
    "deferred": sorted(
        name for name in ("scipy.stats", "altair")
        if type(sys.modules.get(name)).__name__ == "DeferredModule"
    ),
}))
"""


def test_validation_runs_without_loading_scipy_stats_or_altair() -> None:
    done = subprocess.run(
        [sys.executable, "-c", VALIDATE_IN_A_FRESH_PROCESS],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["deferred"] == ["altair", "scipy.stats"]
    assert result["kept"] == [5]
    reasons = {row["__row"]: row["reason"] for row in result["rejected"]}
    assert reasons == {
        1: "duplicate report key 'a@b.co' (2 rows)",
        2: "User ID: 'bad key' is not a valid email key",
        3: "User ID: the key is empty",
        4: "duplicate report key 'a@b.co' (2 rows)",
    }
    checks = {e["expectation"]: e for e in result["summary"]["expectations"]}
    assert checks["expect_column_values_to_match_regex"]["unexpected_count"] == 1
    assert checks["expect_column_values_to_match_regex"]["examples"] == ["bad key"]


def test_gx_no_longer_fingerprints_the_batch() -> None:
    """The fingerprint is skipped (GX still honours its threshold) and the results are kept."""
    from include.walkme_sync.frames import KEY
    from include.walkme_sync.report import validation
    from tests.configs import login_review_config

    config = login_review_config()
    work = pd.DataFrame(
        {
            "User ID": pd.Series(["a@b.co", "x"], dtype="string"),
            KEY: pd.Series(["a@b.co", "x"], dtype="string"),
            "__row": pd.Series([1, 2], dtype="int64"),
        }
    )
    results = validation._run_suite(work, config, ["User ID"])
    markers = (
        results.results[0].meta.get("batch_markers") or results.meta.get("batch_markers") or {}
    )
    assert "pandas_data_fingerprint" not in markers
    assert "ge_load_time" in markers  # the markers are there, only without the fingerprint
    regex = next(r for r in results.results if r.expectation_config.type.endswith("match_regex"))
    assert regex.result["unexpected_index_list"] == [1]


POLICIES = ["reject", "keep_first", "keep_last"]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize(
    "keys",
    [
        ["a@b.co", "c@d.ef", "g@h.ij"],
        ["a@b.co", "A@B.CO ", "c@d.ef", None, "bad", "bad", "c@d.ef", "a@b.co"],
        [None, None, "x@y.zz"],
        [],
    ],
)
def test_duplicate_policy_as_before(policy: str, keys: list[str | None]) -> None:
    """`validate_report` against the previous order: row rejections, then the policy on the rest
    (always run, even when every key is unique)."""
    from include.walkme_sync.frames import KEY, ROW
    from include.walkme_sync.keys import normalize_keys
    from include.walkme_sync.report import validation
    from tests.configs import login_review_config

    config = login_review_config(matching={"duplicate_report_keys": policy})
    size = len(keys)
    frame = pd.DataFrame(
        {
            "User ID": pd.Series(keys, dtype="string"),
            "Last Login": pd.Series([None] * size, dtype="datetime64[ns, UTC]"),
            "First Login": pd.Series([None] * size, dtype="datetime64[ns, UTC]"),
            "Logins in Past 30 days": pd.Series(range(size), dtype="Int64"),
            ROW: pd.Series(range(1, size + 1), dtype="int64"),
        }
    )
    outcome = validation.validate_report(frame, config)
    work = frame.copy()
    work[KEY] = pd.Series(normalize_keys(work["User ID"], "email"), dtype="string")
    results = validation._run_suite(work, config, ["User ID"])
    reasons = validation._row_rejections(work, results, config)
    rest = work.drop(index=list(reasons)) if reasons else work
    reasons.update(validation._duplicate_rejections(rest, config))
    got = dict(
        zip(outcome.rejected[ROW].tolist(), outcome.rejected["reason"].tolist(), strict=True)
    )
    assert got == {int(work.at[index, ROW]): reason for index, reason in reasons.items()}
    assert outcome.kept[ROW].tolist() == [
        row for index, row in work[ROW].items() if index not in reasons
    ]


@pytest.mark.parametrize("kind", ["email", "guid", "text"])
@pytest.mark.parametrize("dtype", ["string", "str", "object"])
@pytest.mark.parametrize(
    "values",
    [KEYS, [], [None, None], ["A@B.CO", " a@b.co ", "a@b.co"], ["  ", "", None]],
)
def test_key_column_as_before(values: list[str | None], dtype: str, kind: str) -> None:
    """The key column straight from Arrow against the previous one (a Python string per row)."""
    from include.walkme_sync.keys import normalize_keys
    from include.walkme_sync.report import validation

    column = pd.Series(values, dtype=dtype, index=range(3, 3 + len(values)))
    want = pd.Series(normalize_keys(column, kind), index=column.index, dtype="string")
    pd.testing.assert_series_equal(validation._key_column(column, kind), want)


def test_key_column_of_other_values_as_before() -> None:
    import numpy as np

    from include.walkme_sync.keys import normalize_keys
    from include.walkme_sync.report import validation

    column = pd.Series([1, 2.5, None, np.nan, " X@Y.Z ", pd.NA], dtype=object)
    want = pd.Series(normalize_keys(column, "email"), index=column.index, dtype="string")
    pd.testing.assert_series_equal(validation._key_column(column, "email"), want)


def _comparable(results: object) -> list[dict[str, object]]:
    """Each expectation's outcome, without the run's times and ids."""
    return [
        {
            "type": result.expectation_config.type,
            "kwargs": dict(result.expectation_config.kwargs),
            "success": result.success,
            "result": result.result,
        }
        for result in results.results  # type: ignore[attr-defined]
    ]


@pytest.mark.parametrize("missing", [None, "First Login"])
def test_the_suite_on_its_columns_gives_the_results_of_the_whole_frame(
    missing: str | None,
) -> None:
    """GX is given the required columns and the key only: the same results as on every column
    (bad keys, empty keys, duplicates, a missing required column)."""
    from include.walkme_sync.frames import KEY, ROW
    from include.walkme_sync.report import validation
    from tests.configs import login_review_config

    config = login_review_config()
    keys = ["a@b.co", "bad key", None, "A@B.CO", "c@d.ef", "ÜBER@b.de", "x y@z.de"]
    size = len(keys)
    work = pd.DataFrame(
        {
            "User ID": pd.Series(keys, dtype="string"),
            "Last Login": pd.Series([None] * size, dtype="datetime64[ns, UTC]"),
            "First Login": pd.Series([None] * size, dtype="datetime64[ns, UTC]"),
            "Logins in Past 30 days": pd.Series(range(size), dtype="Int64"),
            "Unused": pd.Series(["u"] * size, dtype="string"),
            ROW: pd.Series(range(1, size + 1), dtype="int64"),
        },
        index=range(5, 5 + size),
    )
    if missing:
        work = work.drop(columns=[missing])
    work[KEY] = validation._key_column(work["User ID"], "email")
    required = ["User ID", "Last Login", "First Login", "Logins in Past 30 days"]
    narrow = validation._suite_frame(work, required)
    assert "Unused" not in narrow.columns and ROW not in narrow.columns
    assert _comparable(validation._run_suite(narrow, config, required)) == _comparable(
        validation._run_suite(work, config, required)
    )


@pytest.mark.parametrize("dtype", ["string", "str"])
def test_a_chunked_frame_gives_the_suite_one_chunk_per_column_and_the_same_results(
    dtype: str,
) -> None:
    """A Parquet file gives Arrow columns in chunks; the suite gets them in one chunk each (the
    same values, dtype and index) and GX's results are those of the chunked frame."""
    import pyarrow as pa

    from include.walkme_sync.frames import KEY
    from include.walkme_sync.report import validation
    from tests.configs import login_review_config

    config = login_review_config()
    keys = ["a@b.co", "bad key", None, "A@B.CO", "", "ÜBER@b.de", " x@y.z ", "c@d.ef"] * 3
    whole = pa.array(keys, type=pa.large_string())
    chunked = pa.chunked_array([whole.slice(0, 5), whole.slice(5, 12), whole.slice(17)])
    size = len(keys)
    work = pd.DataFrame(
        {
            "User ID": pd.Series(pd.array(chunked, dtype=dtype)),
            "Last Login": pd.Series([None] * size, dtype="datetime64[ns, UTC]"),
            "First Login": pd.Series([None] * size, dtype="datetime64[ns, UTC]"),
            "Logins in Past 30 days": pd.Series(range(size), dtype="Int64"),
        },
        index=range(3, 3 + size),
    )
    work[KEY] = validation._key_column(work["User ID"], "email")
    required = ["User ID", "Last Login", "First Login", "Logins in Past 30 days"]
    suite = validation._suite_frame(work, required)
    for name in suite.columns:
        pd.testing.assert_series_equal(suite[name], work[name])
        if name in ("User ID", KEY):
            assert pa.chunked_array(pa.array(suite[name].array)).num_chunks == 1
    want = _comparable(validation._run_suite(work, config, required))
    assert _comparable(validation._run_suite(suite, config, required)) == want
    assert any(not result["success"] for result in want)  # bad, empty and duplicate keys


def test_validate_report_of_a_chunked_frame_as_of_its_one_chunk_copy() -> None:
    """The whole validation (rejections, reasons, kept rows, summary) of a chunked frame is
    that of the same frame in one chunk."""
    import pyarrow as pa

    from include.walkme_sync.frames import ROW
    from include.walkme_sync.report import validation
    from tests.configs import login_review_config

    config = login_review_config()
    keys = ["a@b.co", "bad key", None, "A@B.CO", "", "c@d.ef", "e@f.gh"] * 2
    whole = pa.array(keys, type=pa.large_string())
    size = len(keys)

    def frame(user_ids: pa.Array | pa.ChunkedArray) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "User ID": pd.Series(pd.array(user_ids, dtype="string")),
                "Last Login": pd.Series([None] * size, dtype="datetime64[ns, UTC]"),
                "First Login": pd.Series([None] * size, dtype="datetime64[ns, UTC]"),
                "Logins in Past 30 days": pd.Series(range(size), dtype="Int64"),
                ROW: pd.Series(range(1, size + 1), dtype="int64"),
            }
        )

    got = validation.validate_report(
        frame(pa.chunked_array([whole.slice(0, 4), whole.slice(4)])), config
    )
    want = validation.validate_report(frame(whole), config)
    pd.testing.assert_frame_equal(got.kept, want.kept)
    pd.testing.assert_frame_equal(got.rejected, want.rejected)
    assert got.summary == want.summary
    assert len(want.rejected)


IMPORT_IN_A_FRESH_PROCESS = """
import gc, json
from include.walkme_sync.report.gx_import import import_great_expectations
before = gc.get_freeze_count()
gx = import_great_expectations()
frozen = gc.get_freeze_count()
import_great_expectations()  # again: nothing more is frozen
print(json.dumps({
    "enabled": gc.isenabled(), "before": before, "frozen": frozen,
    "again": gc.get_freeze_count(), "context": type(gx.get_context(mode="ephemeral")).__name__,
}))
"""


def test_gx_is_imported_without_collections_then_frozen_once() -> None:
    """The collector is back on after the import, what the import left is frozen, and only the
    first import freezes."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_IN_A_FRESH_PROCESS],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["enabled"] is True
    assert result["before"] == 0 and result["frozen"] > 100_000
    assert result["again"] == result["frozen"]
    assert result["context"] == "EphemeralDataContext"
