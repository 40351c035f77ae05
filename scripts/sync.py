"""`make sync INTEGRATION=<id>`: run one integration headless, end to end, through its real DAG.

Uses the connections of `airflow_settings.yaml` unless AIRFLOW_CONN_<ID> variables already define
them. When those connections point at the local Salesforce (proxy 127.0.0.1:<port>) and none is
running there, a local Salesforce with the demo CRM is started for the duration of the sync. The
last line printed is the run summary as JSON; the exit code is 0 only when the run Completed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from include.walkme_sync.airflow.run_note import API_CONN_ID as RUN_NOTE_CONN_ID  # noqa: E402
from scripts.airflow_settings import connections  # noqa: E402

EMULATOR_DATA_DIR = ROOT / "var" / "emulator"
DEMO_CRM_SEED = ROOT / "demo" / "samples" / "crm" / "seed.json"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("integration", help="integration id (the `id:` in its YAML file)")
    parser.add_argument("--dry-run", action="store_true", help="report changes, write nothing")
    parser.add_argument("--full-sync", action="store_true", help="rewrite unchanged values too")
    return parser.parse_args(argv)


def provide_connections() -> dict[str, dict[str, Any]]:
    """Expose airflow_settings.yaml connections as env vars (existing variables win)."""
    settings = connections()
    # A headless run is not in the UI's database, so there is no DAG run to annotate.
    settings.pop(RUN_NOTE_CONN_ID, None)
    for conn_id, conn in settings.items():
        os.environ.setdefault(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return settings


def local_emulator_port(settings: dict[str, dict[str, Any]]) -> int | None:
    """The port of the local Salesforce the Salesforce connections are routed to, if any."""
    for conn_id, conn in settings.items():
        if os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}") != json.dumps(conn):
            continue  # the user overrode it: not ours to start anything for
        proxy = ((conn.get("extra") or {}).get("proxies") or {}).get("https")
        if conn.get("conn_type") == "salesforce" and proxy:
            parsed = urlparse(proxy)
            if parsed.hostname in {"127.0.0.1", "localhost"} and parsed.port:
                return parsed.port
    return None


def is_listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def start_emulator(port: int, stack: ExitStack) -> None:
    """Start the local Salesforce in this process, seeded with the demo CRM, and trust it."""
    from sf_emulator.__main__ import load_seed_file
    from sf_emulator.testing import EmulatorServer

    server = stack.enter_context(EmulatorServer(port=port, data_dir=EMULATOR_DATA_DIR))
    load_seed_file(server, DEMO_CRM_SEED)
    os.environ["REQUESTS_CA_BUNDLE"] = str(server.trust_bundle)
    print(f"Started the local Salesforce on 127.0.0.1:{port} with the demo CRM", file=sys.stderr)


def trust_running_emulator() -> None:
    bundle = EMULATOR_DATA_DIR / "trust-bundle.pem"
    if bundle.exists():
        os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)


def ensure_airflow_db() -> None:
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_dag(integration_id: str, *, dry_run: bool, full_sync: bool) -> dict[str, Any]:
    from include.walkme_sync.airflow.dag_factory import build_integration_dag
    from include.walkme_sync.config import find_integration
    from include.walkme_sync.steps.context import SUMMARY
    from include.walkme_sync.storage import run_dir

    config = find_integration(integration_id)
    dag = build_integration_dag(config, str(ROOT / "dags" / "integrations.py"))
    dag_run = dag.test(run_conf={"dry_run": dry_run, "full_sync": full_sync})
    summary_file = run_dir(config.id, dag_run.run_id) / SUMMARY
    if summary_file.exists():
        loaded: dict[str, Any] = json.loads(summary_file.read_text(encoding="utf-8"))
        return loaded
    return {"integration": config.id, "status": "Failed", "message": "the run recorded nothing"}


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    os.environ.setdefault("AIRFLOW_HOME", str(ROOT / "var" / "airflow"))
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    settings = provide_connections()
    ensure_airflow_db()
    with ExitStack() as stack:
        port = local_emulator_port(settings)
        if port is not None and not is_listening(port):
            start_emulator(port, stack)
        elif port is not None:
            trust_running_emulator()
        summary = run_dag(args.integration, dry_run=args.dry_run, full_sync=args.full_sync)
    print(json.dumps(summary, default=str))
    return 0 if summary.get("status") == "Completed" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
