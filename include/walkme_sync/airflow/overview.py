"""The integrations list view (the original product's "Integrations" page), from configs + ledger.

Used by the Airflow UI plugin (`plugins/integrations_plugin.py`) and testable without a server.
Columns: id, name, report, object, environment, last run (UTC), status; invalid config files are
listed with their problems so they cannot go unnoticed.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from typing import Any

from include.walkme_sync.config import load_integrations
from include.walkme_sync.frames import BUCKETS_AS_SHOWN
from include.walkme_sync.ledger import Ledger


@dataclass(frozen=True)
class IntegrationRow:
    id: str
    name: str
    dag_id: str
    report: str
    object: str
    environment: str
    active: bool
    last_run: str | None
    runtime_seconds: float | None
    status: str
    counts: str
    problems: tuple[str, ...] = ()


def integration_rows(ledger: Ledger | None = None) -> list[IntegrationRow]:
    """One row per integration file: valid ones with their last run, invalid ones with errors."""
    result = load_integrations()
    ledger = ledger or Ledger()
    latest = ledger.latest_runs([config.id for config in result.integrations])
    rows = [_row_for(config, latest.get(config.id)) for config in result.integrations]
    for file, problems in sorted(result.problems.items()):
        errors = tuple(str(p) for p in problems if p.severity == "error")
        if errors:
            rows.append(
                IntegrationRow(
                    id=result.ids_by_file.get(file, file),
                    name=f"invalid config: {file}",
                    dag_id="",
                    report="",
                    object="",
                    environment="",
                    active=False,
                    last_run=None,
                    runtime_seconds=None,
                    status="Invalid config",
                    counts="",
                    problems=errors,
                )
            )
    return rows


def _row_for(config: Any, run: dict[str, Any] | None) -> IntegrationRow:
    counts = ""
    if run:
        counts = ", ".join(
            f"{bucket.label} {run[bucket]}" for bucket in BUCKETS_AS_SHOWN if run[bucket]
        )
        if run["dry_run"]:
            counts = f"dry run: {counts}" if counts else "dry run"
    return IntegrationRow(
        id=config.id,
        name=config.name,
        dag_id=config.dag_id,
        report=config.report.name,
        object=config.object.name,
        environment=config.environment,
        active=config.active,
        last_run=run["started_at"].strftime("%Y-%m-%d %H:%M:%S UTC") if run else None,
        runtime_seconds=round(run["runtime_seconds"], 1) if run else None,
        status=(run["status"] if run else "Never run") if config.active else "Inactive",
        counts=counts,
    )


def rows_as_json(rows: list[IntegrationRow]) -> list[dict[str, Any]]:
    return [asdict(row) for row in rows]


def render_html(rows: list[IntegrationRow]) -> str:
    """A plain HTML table; links open the DAG page in the whole UI (the view runs in an iframe)."""
    body = "\n".join(_html_row(row) for row in rows)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Integrations</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 1.5rem; }}
 table {{ border-collapse: collapse; width: 100%; }}
 th, td {{ border-bottom: 1px solid #ddd; padding: .45rem .6rem; text-align: left; }}
 th {{ background: #f4f4f6; }}
 .Completed {{ color: #137333; }} .Failed, .Invalid {{ color: #b3261e; font-weight: 600; }}
 .problems {{ color: #b3261e; font-size: .9em; }}
</style></head><body>
<h2>WalkMe Insights &rarr; Salesforce integrations</h2>
<table><thead><tr><th>Id</th><th>Name</th><th>Report</th><th>Object</th><th>Environment</th>
<th>Last run (UTC)</th><th>Runtime</th><th>Status</th><th>Rows</th></tr></thead>
<tbody>
{body}
</tbody></table></body></html>"""


def _html_row(row: IntegrationRow) -> str:
    esc = html.escape
    link = (
        f'<a href="/dags/{esc(row.dag_id)}" target="_top">{esc(row.id)}</a>'
        if row.dag_id
        else esc(row.id)
    )
    status_class = row.status.split()[0]
    problems = "".join(f"<div class='problems'>{esc(p)}</div>" for p in row.problems)
    runtime = f"{row.runtime_seconds:.1f} s" if row.runtime_seconds is not None else ""
    return (
        f"<tr><td>{link}</td><td>{esc(row.name)}{problems}</td><td>{esc(row.report)}</td>"
        f"<td>{esc(row.object)}</td><td>{esc(row.environment)}</td>"
        f"<td>{esc(row.last_run or '')}</td><td>{runtime}</td>"
        f"<td class='{esc(status_class)}'>{esc(row.status)}</td><td>{esc(row.counts)}</td></tr>"
    )
