"""`validated.parquet` holds the rows validation kept, whether it is written from the kept frame
(some rows rejected) or copied from `extracted.parquet` (every row kept)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml

from include.walkme_sync.config import load_integration
from include.walkme_sync.report.validation import validate_report
from include.walkme_sync.steps.context import EXTRACTED, VALIDATED, RunContext, Step
from include.walkme_sync.steps.runner import run_step
from include.walkme_sync.storage import read_frame
from tests.configs import login_review_raw

DAY = date(2026, 11, 24)
HEADER = ["User ID", "First Login", "Last Login", "Logins in Past 30 days"]
GOOD = [
    ["ana@example.com", "2025-03-01 08:00:00", "2026-11-23 17:45:10", "12"],
    ["Bo@Example.com ", "", "2026-11-24 06:01:00", ""],
    ["名前@例え.jp", "2025-01-01 00:00:00", "2026-11-20 10:00:00", "3"],
]
BAD = [["ana@example.com", "", "", "1"], ["not a key", "", "", "2"]]


def run_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[list[str]]) -> Path:
    monkeypatch.setenv("WALKME_SYNC_STORAGE_ROOT", str(tmp_path / "storage"))
    exports = tmp_path / "exports"
    exports.mkdir()
    with (exports / f"login_review_{DAY}.csv").open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([HEADER, *rows])
    raw = login_review_raw()
    raw["report"]["source"] = {"kind": "files", "location": str(exports)}
    config = tmp_path / "login_review_to_lead.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return config


@pytest.mark.parametrize(
    ("rows", "kept_rows"),
    [(GOOD, 3), (GOOD + BAD, 2)],  # the duplicated key's two rows and the bad key go
    ids=["all kept", "some rejected"],
)
def test_validated_rows_are_the_kept_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[list[str]], kept_rows: int
) -> None:
    config = run_folder(tmp_path, monkeypatch, rows)
    ctx = RunContext(
        integration=load_integration(config),
        dag_id="walkme_sync__login_review_to_lead",
        run_id="manual__1",
        run_date=DAY,
        started_at=datetime(2026, 11, 24, 8, tzinfo=UTC),
    )
    run_step(Step.EXTRACT, ctx)
    run_step(Step.VALIDATE, ctx)
    # What the step wrote before it copied: the kept frame, encoded and read back.
    kept = validate_report(read_frame(ctx.path(EXTRACTED)), ctx.integration).kept
    buffer = io.BytesIO()
    kept.to_parquet(buffer, index=False)
    buffer.seek(0)
    pd.testing.assert_frame_equal(read_frame(ctx.path(VALIDATED)), pd.read_parquet(buffer))
    assert len(kept) == kept_rows
