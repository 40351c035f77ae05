"""Read the Astro-style `airflow_settings.yaml` and turn its connections into what Airflow takes.

`astro dev start` applies this file itself; outside Astro (`make run`, `make sync`) use:
  python scripts/airflow_settings.py import      # `airflow connections import` (metadata DB)
  python scripts/airflow_settings.py env         # print `export AIRFLOW_CONN_<ID>='<json>'` lines
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

SETTINGS_FILE = Path(__file__).resolve().parents[1] / "airflow_settings.yaml"
FIELD_NAMES = {
    "conn_type": "conn_type",
    "conn_host": "host",
    "conn_schema": "schema",
    "conn_login": "login",
    "conn_password": "password",
    "conn_port": "port",
    "conn_extra": "extra",
}


def connections(path: Path = SETTINGS_FILE) -> dict[str, dict[str, Any]]:
    """conn_id -> Airflow connection dict (conn_type, host, login, password, port, extra)."""
    settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    result: dict[str, dict[str, Any]] = {}
    for entry in (settings.get("airflow") or {}).get("connections") or []:
        if not entry or not entry.get("conn_id"):
            continue
        result[entry["conn_id"]] = {
            FIELD_NAMES[key]: value
            for key, value in entry.items()
            if key in FIELD_NAMES and value not in (None, "")
        }
    return result


def environment_variables(path: Path = SETTINGS_FILE) -> dict[str, str]:
    """AIRFLOW_CONN_<ID> -> JSON, the form Airflow reads from the environment."""
    return {
        f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn)
        for conn_id, conn in connections(path).items()
    }


def import_into_airflow(path: Path = SETTINGS_FILE) -> None:
    """Write the connections into Airflow's metadata DB (`airflow connections import`)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(connections(path), handle)
    try:
        subprocess.run(
            ["airflow", "connections", "import", "--overwrite", handle.name],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    finally:
        Path(handle.name).unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "env"
    if command == "import":
        import_into_airflow()
        return 0
    if command == "env":
        for name, value in environment_variables().items():
            print(f"export {name}='{value}'")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
