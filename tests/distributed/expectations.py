"""What a sync should do, derived independently of the engine from the export and the seed CRM.

For every report row: no record with the key -> unmatched, several -> ambiguous, one -> written
(the seed holds none of the mapped fields, so every matched row changes). The written records'
expected values come straight from the CSV, compared per catalog column type the way Salesforce
returns them (datetimes as `2026-11-19T00:30:48.000+0000`, dates as `2026-11-23`, integers as
numbers, an empty string as no value).
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "include" / "reports"
SEED = ROOT / "demo" / "samples" / "crm"


@dataclass
class ExpectedSync:
    report_rows: int = 0
    counts: dict[str, int] = field(
        default_factory=lambda: {"written": 0, "unmatched": 0, "ambiguous": 0}
    )
    #: normalised key -> Salesforce field -> expected value (normalised, see `normalise`)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)


def column_types(report: str) -> dict[str, str]:
    definition = yaml.safe_load((REPORTS / f"{report}.yaml").read_text(encoding="utf-8"))
    return {column["name"]: column["type"] for column in definition["columns"]}


def seed_records(org: str, sobject: str) -> list[dict[str, Any]]:
    return list(json.loads((SEED / org / f"{sobject}.json").read_text(encoding="utf-8")))


def newest_export(files: list[Path]) -> Path:
    """The demo's `pick: newest`: the latest date in the name (names are `<report>_<date>.csv`)."""
    return max(files, key=lambda path: path.stem.rsplit("_", 1)[-1])


def key_of(value: Any) -> str:
    return str(value or "").strip().lower()


def normalise(value: Any, kind: str) -> Any:
    """A CSV cell or a Salesforce value in one comparable form per catalog type."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if kind == "datetime":
        return str(value).replace(" ", "T")[:19]  # seconds precision, no zone (both are UTC)
    if kind == "date":
        return str(value)[:10]
    if kind in ("integer", "number", "percent"):
        return float(value)
    return str(value).strip()


def expected_sync(
    config: dict[str, Any], export: Path, records: list[dict[str, Any]]
) -> ExpectedSync:
    """The outcome of a first run of `config` on `export` against an org holding `records`."""
    report = config["report"]
    types = column_types(report["name"])
    key_field = config["object"]["key_field"]
    mapped = {m["column"]: m["field"] for m in config["mappings"]}
    assert not any(any(f in r for f in mapped.values()) for r in records), "seed already synced"
    by_key: dict[str, int] = defaultdict(int)
    for record in records:
        by_key[key_of(record.get(key_field))] += 1
    expected = ExpectedSync()
    with export.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            expected.report_rows += 1
            key = key_of(row[report["key_column"]])
            matches = by_key.get(key, 0)
            bucket = "unmatched" if matches == 0 else "ambiguous" if matches > 1 else "written"
            expected.counts[bucket] += 1
            if bucket == "written":
                expected.values[key] = {
                    sf_field: normalise(row[column], types[column])
                    for column, sf_field in mapped.items()
                }
    return expected


def mismatches(
    expected: ExpectedSync, config: dict[str, Any], records: list[dict[str, Any]]
) -> list[str]:
    """Every expected field value Salesforce does not hold, one line each ([] when all match)."""
    types = column_types(config["report"]["name"])
    kinds = {m["field"]: types[m["column"]] for m in config["mappings"]}
    key_field = config["object"]["key_field"]
    by_key = {key_of(record.get(key_field)): record for record in records}
    problems = []
    for key, fields in sorted(expected.values.items()):
        record = by_key.get(key)
        if record is None:
            problems.append(f"{key}: no record")
            continue
        for sf_field, want in fields.items():
            have = normalise(record.get(sf_field), kinds[sf_field])
            if have != want:
                problems.append(f"{key}.{sf_field}: Salesforce holds {have!r}, expected {want!r}")
    return problems
