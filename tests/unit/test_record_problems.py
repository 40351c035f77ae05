"""`record`'s row problems, built column by column a slice at a time, are the ones the row-by-row
code built, and the task log shows the same lines.

`reference_row_problems` is the previous `_row_problems` (one `to_dict` record per row) and
`reference_log` the previous `_log_row_problems`.
"""

from __future__ import annotations

import io
import random

import pandas as pd
import pytest

from include.walkme_sync.frames import BUCKETS, OUTCOME_COLUMNS, ROW, SETTLED_BUCKETS
from include.walkme_sync.ledger import RowProblem
from include.walkme_sync.steps.row_problems import ProblemRows, log_row_problems


def _row_problems(outcomes: pd.DataFrame) -> list[RowProblem]:
    return list(ProblemRows(outcomes))


def reference_log(problems: list[RowProblem], examples: int) -> None:
    by_bucket: dict[str, list[RowProblem]] = {}
    for problem in problems:
        by_bucket.setdefault(problem.bucket, []).append(problem)
    for bucket, items in by_bucket.items():
        print(f"::group::{bucket}: {len(items)} rows")
        for problem in items[:examples]:
            code = f" [{problem.error_code}]" if problem.error_code else ""
            print(f"row {problem.row_number} {problem.key}:{code} {problem.reason or ''}")
        if len(items) > examples:
            print(f"... {len(items) - examples} more in the ledger (sync_row_problems)")
        print("::endgroup::")


TEXTS = [None, "", "x@example.com", "ÜBER@bücher.de", "名前", "a\nb", "  spaced  ", "'quoted'"]


def reference_row_problems(outcomes: pd.DataFrame) -> list[RowProblem]:
    settled = [str(bucket) for bucket in SETTLED_BUCKETS]
    problems = outcomes[~outcomes["bucket"].isin(settled)].sort_values(ROW)
    records = problems.astype(object).where(problems.notna(), None).to_dict("records")
    return [
        RowProblem(
            row_number=int(record[ROW]),
            key=record["key"],
            bucket=str(record["bucket"]),
            reason=record["reason"],
            error_code=record["error_code"],
            record_id=record["record_id"],
        )
        for record in records
    ]


def outcomes(rows: int, seed: int) -> pd.DataFrame:
    pick = random.Random(seed)
    numbers = list(range(1, rows + 1))
    pick.shuffle(numbers)
    frame = pd.DataFrame(
        {
            ROW: pd.Series(numbers, dtype="int64"),
            "key": pd.Series([pick.choice(TEXTS) for _ in numbers], dtype="string"),
            "bucket": pd.Series([str(pick.choice(BUCKETS)) for _ in numbers], dtype="string"),
            "reason": pd.Series([pick.choice(TEXTS) for _ in numbers], dtype="string"),
            "error_code": pd.Series([pick.choice([None, "X_Y"]) for _ in numbers], dtype="string"),
            "record_id": pd.Series(
                [pick.choice([None, "00Q000000000001AAA"]) for _ in numbers], dtype="string"
            ),
        }
    )
    return frame[OUTCOME_COLUMNS]


def through_parquet(frame: pd.DataFrame) -> pd.DataFrame:
    """How `record` reads outcome files (their dtypes after a round trip)."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    buffer.seek(0)
    return pd.read_parquet(buffer)


@pytest.mark.parametrize("rows", [0, 1, 7, 500])
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("parquet", [False, True])
def test_row_problems_match_the_row_by_row_reference(rows: int, seed: int, parquet: bool) -> None:
    frame = outcomes(rows, seed)
    if parquet:
        frame = through_parquet(frame)
    got = _row_problems(frame)
    assert got == reference_row_problems(frame)
    assert all(type(problem.row_number) is int for problem in got)


def test_object_columns_and_all_settled_rows() -> None:
    frame = outcomes(50, 9).astype({"key": object, "reason": object})
    assert _row_problems(frame) == reference_row_problems(frame)
    settled = frame.assign(bucket="written")
    assert _row_problems(settled) == [] == reference_row_problems(settled)


@pytest.mark.parametrize("rows", [0, 5, 300])
@pytest.mark.parametrize("examples", [0, 3, 20])
def test_log_and_slices_as_before(
    rows: int, examples: int, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = through_parquet(outcomes(rows, rows + examples))
    problems = ProblemRows(frame)
    reference = reference_row_problems(frame)
    assert len(problems) == len(reference)
    assert problems[7:19] == reference[7:19]
    if reference:
        assert problems[0] == reference[0]
        assert problems[-1] == reference[-1]
    log_row_problems(problems, examples)
    got = capsys.readouterr().out
    reference_log(reference, examples)
    assert got == capsys.readouterr().out


def reference_collect(ctx: object) -> pd.DataFrame:
    """The previous `record._collect_outcomes`: every outcome file read whole, concatenated."""
    from include.walkme_sync.frames import empty_outcomes
    from include.walkme_sync.steps.context import OUTCOME_FILES
    from include.walkme_sync.storage import exists, read_frame

    frames = [
        read_frame(path, columns=OUTCOME_COLUMNS)
        for name in OUTCOME_FILES.values()
        if exists(path := ctx.path(name))  # type: ignore[attr-defined]
    ]
    frames = [frame for frame in frames if len(frame)]
    return pd.concat(frames, ignore_index=True) if frames else empty_outcomes()


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    "layout",
    [
        ("mixed", "settled", "empty", "mixed"),
        ("settled", "settled", None, None),
        (None, None, None, None),
        ("mixed", None, "problems", "settled"),
    ],
)
def test_outcomes_collected_as_before(
    layout: tuple[str | None, ...],
    seed: int,
    tmp_path: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`record` reads the row number and bucket of every outcome row and the whole rows of the
    problems only: the same counts, rows and problems as reading every file whole."""
    from datetime import UTC, date, datetime

    from include.walkme_sync.frames import bucket_counts
    from include.walkme_sync.steps import record
    from include.walkme_sync.steps.context import OUTCOME_FILES, RunContext
    from include.walkme_sync.storage import STORAGE_ROOT_ENV, write_frame
    from tests.configs import login_review_config

    monkeypatch.setenv(STORAGE_ROOT_ENV, str(tmp_path))
    ctx = RunContext(
        integration=login_review_config(),
        dag_id="walkme_sync__login_review_to_lead",
        run_id=f"manual__{seed}",
        run_date=date(2026, 11, 24),
        started_at=datetime(2026, 11, 24, 8, tzinfo=UTC),
    )
    start = 0
    for index, (name, kind) in enumerate(zip(OUTCOME_FILES.values(), layout, strict=False)):
        if kind is None:
            continue
        frame = outcomes(0 if kind == "empty" else 60, seed * 10 + index)
        frame[ROW] = frame[ROW] + start  # each row in one file only, as the steps write them
        start += len(frame)
        if kind == "settled":
            frame = frame.assign(bucket=pd.Series(["written", "unchanged"] * 30, dtype="string"))
        elif kind == "problems":
            frame = frame.assign(bucket="unmatched")
        if index == 1:
            frame = frame.astype({"key": object})  # files differ in dtypes too
        write_frame(ctx.path(name), frame)
    got, problems = record._collect_outcomes(ctx)
    want = reference_collect(ctx)
    assert got[ROW].tolist() == want[ROW].tolist()
    assert bucket_counts(got) == bucket_counts(want)
    assert list(ProblemRows(problems)) == reference_row_problems(want)


@pytest.mark.parametrize(
    ("rows", "seen"),
    [
        ([1, 2, 3, 4, 5], [2, 4]),
        ([1, 2, 3], [1, 2, 3, 3, 2]),
        ([5, 3, 1, 3], [3, 9, 10_000, -1]),
        ([], [1, 2]),
        ([1, 2], []),
        ([0, 7, 7], [0]),
        ([-2, 1], [1, -2]),  # negative: through isin
        ([1, 10**12], [10**12]),  # sparse: through isin
        (list(range(1, 2001)), list(range(2, 2001, 3))),
    ],
)
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint64", "Int64", "float64"])
def test_unaccounted_rows_as_before(rows: list[int], seen: list[int], dtype: str) -> None:
    """`not_in` gives what `~rows.isin(seen)` gave, for any row numbers and dtypes."""
    from include.walkme_sync.steps.record import not_in

    if dtype == "uint64" and any(value < 0 for value in [*rows, *seen]):
        return  # no such row numbers in that dtype
    if dtype == "int32" and any(value >= 2**31 for value in [*rows, *seen]):
        return
    left = pd.Series(rows, dtype=dtype, name=ROW, index=range(7, 7 + len(rows)))
    right = pd.Series(seen, dtype=dtype if dtype != "uint64" else "int64")
    pd.testing.assert_series_equal(not_in(left, right), ~left.isin(right))


def test_unaccounted_rows_with_nulls_as_before() -> None:
    from include.walkme_sync.steps.record import not_in

    left = pd.Series([1, None, 3], dtype="Int64", name=ROW)
    right = pd.Series([3, None], dtype="Int64")
    pd.testing.assert_series_equal(not_in(left, right), ~left.isin(right))
