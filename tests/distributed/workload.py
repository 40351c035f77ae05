"""What the distributed tests sync: integration configs, report exports in S3, Salesforce records.

Configs are written the way a user writes them (YAML files in the integrations folder). The demo
integrations are used as shipped except for two edits: their report source is the S3 export folder
(through the `aws_storage` connection) instead of the repository's sample folder, and `schedule`
is null (manual runs only), so unpausing a DAG never adds a scheduled run next to the ones a test
triggers.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.distributed.settings import STORAGE_CONN_ID

ROOT = Path(__file__).resolve().parents[2]
DEMO_INTEGRATIONS = ROOT / "demo" / "integrations"
SAMPLES = ROOT / "demo" / "samples"
REPORT_BUCKET = "walkme-reports"
SEED_EXAMPLE = "login_review_to_lead"
NPS_DEMO = "nps_to_contact"
#: The demo integrations and the sample folder each reads.
DEMO_SAMPLES = {SEED_EXAMPLE: "login_review", NPS_DEMO: "nps"}
BENCH_COUNT = 20
BENCH_ROWS = 200
BENCH_HEADER = ["User ID", "First Login", "Last Login", "Logins in Past 30 days"]


def dag_id(integration_id: str) -> str:
    return f"walkme_sync__{integration_id}"


def export_location(integration_id: str) -> str:
    return f"s3://{REPORT_BUCKET}/{integration_id}/"


def demo_config(integration_id: str) -> dict[str, Any]:
    """A demo integration as shipped, reading its exports from S3, manual runs only."""
    path = DEMO_INTEGRATIONS / f"{integration_id}.yaml"
    config: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["schedule"] = None
    source = config["report"]["source"]
    source["location"] = export_location(integration_id)
    source["conn_id"] = STORAGE_CONN_ID
    return config


def bench_id(number: int) -> str:
    return f"bench_{number:02d}"


def bench_config(number: int) -> dict[str, Any]:
    """A variant of the seed example with its own exports and its own Leads."""
    config = demo_config(SEED_EXAMPLE)
    config["id"] = bench_id(number)
    config["name"] = f"Login Review -> Lead (bench {number:02d})"
    config["report"]["source"]["location"] = export_location(bench_id(number))
    return config


def write_config(folder: Path, config: dict[str, Any]) -> Path:
    path = folder / f"{config['id']}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def upload_demo_exports(s3_client: Any, integration_id: str) -> list[Path]:
    """The repository's sample exports of a demo integration, uploaded to its S3 folder."""
    files = sorted((SAMPLES / DEMO_SAMPLES[integration_id]).glob("*.csv"))
    for file in files:
        s3_client.upload_file(str(file), REPORT_BUCKET, f"{integration_id}/{file.name}")
    return files


def bench_emails(number: int) -> list[str]:
    return [f"bench{number:02d}.user{i}@example.com" for i in range(BENCH_ROWS)]


def bench_rows(number: int) -> list[list[Any]]:
    return [
        [email, "2026-01-05 10:00:00", f"2026-11-{(i % 20) + 1:02d} 09:15:02", (i + number) % 30]
        for i, email in enumerate(bench_emails(number))
    ]


def upload_bench_export(s3_client: Any, number: int) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(BENCH_HEADER)
    writer.writerows(bench_rows(number))
    key = f"{bench_id(number)}/login_review_2026-11-24.csv"
    s3_client.put_object(Bucket=REPORT_BUCKET, Key=key, Body=buffer.getvalue().encode())


def seed_bench_leads(admin_url: str, number: int) -> None:
    """One sandbox Lead per bench e-mail, through the emulator's admin API."""
    leads = [
        {"FirstName": f"User{i}", "LastName": f"Bench{number:02d}", "Company": "Acme", "Email": e}
        for i, e in enumerate(bench_emails(number))
    ]
    response = requests.post(f"{admin_url}/sandbox/records/Lead", json=leads, timeout=30)
    response.raise_for_status()


def salesforce_records(admin_url: str, org: str, sobject: str) -> list[dict[str, Any]]:
    """What the org holds now (the emulator's admin API: no API calls counted)."""
    response = requests.get(f"{admin_url}/{org}/records/{sobject}", timeout=30)
    response.raise_for_status()
    return list(response.json())
