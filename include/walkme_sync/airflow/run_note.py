"""Put each sync's one-line result on its DAG run as a note, so the Airflow grid reads like a log.

A task cannot set its own run's note through the Task SDK; the public REST API can
(`PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}`). It needs credentials, so this is opt-in: define
the HTTP connection `walkme_airflow_api` with the API's base URL (host, or a full URL with a path,
e.g. an Astro Deployment's `https://<org>.astronomer.run/<id>`) and either an API token (the
password with no login, or `extra.token`: e.g. an Astro Deployment API token; no Airflow user's
password is stored) or the login and password of an Airflow user allowed to edit DAG runs. Without
it the note is skipped; a failure to set it never fails the sync.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from include.walkme_sync.airflow_api import api_access_token, api_base_url
from include.walkme_sync.frames import BUCKETS_AS_SHOWN, Bucket

log = logging.getLogger(__name__)

API_CONN_ID = "walkme_airflow_api"
NOTE_LIMIT = 1000  # Airflow's maximum note length
TIMEOUT_SECONDS = 10


def note_text(summary: dict[str, Any]) -> str:
    """`Completed · written 182 · unmatched 17 · ambiguous 1 · 3 API calls`.

    A dry run reads `Dry run · Completed · would write 3 · ...`: never "written". An upsert that
    created records says how many of the written ones are new: `written 40 (created 12)`.
    """
    parts = (
        ["Dry run", str(summary["status"])] if summary.get("dry_run") else [str(summary["status"])]
    )
    for bucket in BUCKETS_AS_SHOWN:
        if summary.get(bucket):
            created = summary.get("created") if bucket == Bucket.WRITTEN else None
            parts.append(
                f"{bucket.label} {summary[bucket]}" + (f" (created {created})" if created else "")
            )
    parts.append(f"{summary.get('api_calls', 0)} API calls")
    text = " · ".join(parts)
    if summary.get("message"):
        # A blank line: the UI renders notes as Markdown, where a single newline is no break.
        text += f"\n\n{summary['message']}"
    return text[:NOTE_LIMIT]


def set_run_note(dag_id: str, run_id: str, note: str) -> bool:
    """Set the note through Airflow's REST API; returns whether it was set."""
    import requests
    from airflow.sdk import BaseHook

    try:
        connection = BaseHook.get_connection(API_CONN_ID)
    except Exception:
        log.info("No '%s' connection: the DAG run note is not set.", API_CONN_ID)
        return False
    base = api_base_url(connection)
    try:
        response = requests.patch(
            f"{base}/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}",
            params={"update_mask": "note"},
            json={"note": note},
            headers={"Authorization": f"Bearer {api_access_token(base, connection)}"},
            timeout=TIMEOUT_SECONDS,
        )
        response.raise_for_status()
    except Exception as exc:  # a note is a convenience: never fail the sync for it
        log.warning("Could not set the DAG run note through %s: %s", base, type(exc).__name__)
        return False
    return True
