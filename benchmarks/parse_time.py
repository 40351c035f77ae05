"""DAG parse time for hundreds of integrations (prints numbers; not a test).

Generates N copies of the demo integration in a temporary folder and times, in a fresh interpreter
each: importing dags/integrations.py (what the DAG processor does), minus a bare interpreter start,
and Airflow's own DagBag fill (per-file duration as the processor reports it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "demo" / "integrations" / "login_review_to_lead.yaml"
SIZES = (1, 100, 500)

PROBE = """
import json, sys, time
start = time.perf_counter()
from airflow.models import DagBag
imported = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
done = time.perf_counter()
duration = bag.dagbag_stats[0].duration
seconds = duration.total_seconds() if hasattr(duration, "total_seconds") else duration
print(json.dumps({"dags": len(bag.dag_ids), "errors": len(bag.import_errors),
                  "file_duration_s": seconds,
                  "airflow_import_s": imported - start, "dagbag_fill_s": done - imported}))
"""


def write_configs(folder: Path, count: int) -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    for index in range(count):
        body = text.replace("id: login_review_to_lead", f"id: bench_{index:04d}")
        (folder / f"bench_{index:04d}.yaml").write_text(body, encoding="utf-8")


def measure(count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_configs(folder, count)
        env = dict(os.environ, WALKME_SYNC_INTEGRATIONS_DIR=str(folder), PYTHONPATH=str(ROOT))
        env.setdefault("AIRFLOW_HOME", str(ROOT / "var" / "bench-airflow"))
        started = time.perf_counter()
        output = (
            subprocess.run(
                [sys.executable, "-c", PROBE, str(ROOT / "dags")],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        result = json.loads(output)
        result["wall_s"] = time.perf_counter() - started
        return result


def main() -> None:
    print("DAG parse time (dags/integrations.py, fresh interpreter each)")
    print(f"{'configs':>8} {'dags':>6} {'errors':>6} {'file parse s':>13} {'per config ms':>14}")
    for count in SIZES:
        result = measure(count)
        per_config = 1000 * result["file_duration_s"] / count
        print(
            f"{count:>8} {result['dags']:>6} {result['errors']:>6} "
            f"{result['file_duration_s']:>13.3f} {per_config:>14.2f}"
        )


if __name__ == "__main__":
    main()
