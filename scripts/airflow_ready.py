"""`make run` helper: wait until the local Airflow answers, then say where it is and when it syncs.

  python scripts/airflow_ready.py emulator FILE TIMEOUT      prints the emulator's proxy URL
  python scripts/airflow_ready.py airflow URL USER PASSWORD TIMEOUT [PID...]

`airflow` waits for the API server to report the metadata DB, the scheduler and the DAG processor
healthy and for the integrations' DAGs to be parsed, then prints the next scheduled sync (UTC). It
exits 1 when the time runs out or one of the given component processes dies first.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HEALTHY = ("metadatabase", "scheduler", "dag_processor")
DAG_PREFIX = "walkme_sync__"


def wait_for_emulator(path: Path, timeout: float) -> str:
    """The proxy URL from the emulator's first output line, once it is a whole JSON document."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = path.read_text(encoding="utf-8").splitlines()[0]
            return str(json.loads(line)["proxy_url"])
        except (OSError, IndexError, ValueError, KeyError):
            time.sleep(0.1)
    raise TimeoutError(f"the local Salesforce did not start within {timeout:.0f} s")


def get_json(url: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def token_for(base: str, user: str, password: str) -> str:
    request = urllib.request.Request(
        f"{base}/auth/token",
        data=json.dumps({"username": user, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["access_token"])


def components_alive(pids: list[int]) -> bool:
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
    return True


def wait_for_airflow(
    base: str, user: str, password: str, timeout: float, pids: list[int]
) -> list[dict[str, Any]]:
    """Wait for a healthy Airflow with its integration DAGs parsed; returns those DAGs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not components_alive(pids):
            raise RuntimeError("an Airflow component stopped while starting (see its log)")
        try:
            health = get_json(f"{base}/api/v2/monitor/health")
            if all((health.get(part) or {}).get("status") == "healthy" for part in HEALTHY):
                token = token_for(base, user, password)
                dags = get_json(f"{base}/api/v2/dags?dag_id_pattern={DAG_PREFIX}&limit=500", token)
                invalid = f"{DAG_PREFIX}invalid__"
                found = [d for d in dags["dags"] if not d["dag_id"].startswith(invalid)]
                if found:
                    return found
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            pass
        time.sleep(1)
    raise TimeoutError(f"Airflow did not answer within {timeout:.0f} s")


def next_sync_text(dags: list[dict[str, Any]], now: datetime | None = None) -> str:
    """`the next scheduled time, 2026-11-30 08:00 UTC (in 4 h 47 min)`, from the DAGs' own plans."""
    now = now or datetime.now(UTC)
    times = [
        datetime.fromisoformat(d["next_dagrun_run_after"].replace("Z", "+00:00"))
        for d in dags
        if d.get("next_dagrun_run_after") and not d.get("is_paused")
    ]
    if not times:
        return "never on their own: none is scheduled (active: false or paused)"
    moment = min(times)
    minutes = max(int((moment - now).total_seconds() // 60), 0)
    hours, minutes = divmod(minutes, 60)
    wait = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    return f"the next scheduled time, {moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC (in {wait})"


def main(argv: list[str]) -> int:
    try:
        if argv[1:2] == ["emulator"]:
            print(wait_for_emulator(Path(argv[2]), float(argv[3])))
            return 0
        if argv[1:2] == ["airflow"]:
            base, user, password, timeout = argv[2], argv[3], argv[4], float(argv[5])
            dags = wait_for_airflow(base, user, password, timeout, [int(p) for p in argv[6:]])
            print(next_sync_text(dags))
            return 0
    except (TimeoutError, RuntimeError) as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
