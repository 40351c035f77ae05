"""DAG parse time for hundreds of integrations (prints numbers; not a test).

Generates N copies of the demo integration in a temporary folder and times, in a fresh interpreter
each: importing dags/integrations.py (what the DAG processor does), minus a bare interpreter start,
and Airflow's own DagBag fill (per-file duration as the processor reports it). Each is the
fastest of `REPEAT` parses, the product's and the floor's alternating.

The floor is Airflow's own cost for the same shape: one file building N trivial DAGs of five
chained `EmptyOperator` tasks on a cron schedule (`TRIVIAL_DAGS`), parsed the same way. The
product's cost per integration is (file parse - floor) / N.
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


TRIVIAL_DAGS = """
import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, chain

for index in range({count}):
    with DAG(
        f"trivial_{{index:04d}}",
        schedule="0 8 * * *",
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
    ) as dag:
        chain(*(EmptyOperator(task_id=name) for name in
                ("extract", "validate", "match", "upsert", "record")))
    globals()[dag.dag_id] = dag
"""


def write_configs(folder: Path, count: int) -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    for index in range(count):
        body = text.replace("id: login_review_to_lead", f"id: bench_{index:04d}")
        (folder / f"bench_{index:04d}.yaml").write_text(body, encoding="utf-8")


def measure(count: int, *, floor: bool = False) -> dict[str, float]:
    """Parse the product's DAG file with `count` integrations (or, `floor`, `count` trivial DAGs
    in one file) in a fresh interpreter."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_configs(folder, count)
        dags = ROOT / "dags"
        if floor:
            dags = folder / "trivial_dags"
            dags.mkdir()
            (dags / "trivial.py").write_text(TRIVIAL_DAGS.format(count=count), encoding="utf-8")
        env = dict(os.environ, WALKME_SYNC_INTEGRATIONS_DIR=str(folder), PYTHONPATH=str(ROOT))
        env.setdefault("AIRFLOW_HOME", str(ROOT / "var" / "bench-airflow"))
        started = time.perf_counter()
        output = (
            subprocess.run(
                [sys.executable, "-c", PROBE, str(dags)],
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
    print(table([row(count) for count in SIZES]))


#: Each side is parsed this many times, alternating, and its fastest parse kept: this VM's speed
#: drifts by a third within minutes, and the fastest of a few runs is the least disturbed one.
REPEAT = 3


def row(count: int, repeat: int = REPEAT) -> dict[str, float]:
    """The product's parse of `count` integrations next to the trivial-DAG floor (the fastest
    of `repeat` alternating parses each)."""
    products, floors = [], []
    for _ in range(repeat):
        products.append(measure(count))
        floors.append(measure(count, floor=True))
    result = min(products, key=lambda r: r["file_duration_s"])
    floor = min(floors, key=lambda r: r["file_duration_s"])
    result["repeat"] = repeat
    result["configs"] = count
    result["floor_file_duration_s"] = floor["file_duration_s"]
    result["floor_dags"] = floor["dags"]
    extra = result["file_duration_s"] - floor["file_duration_s"]
    result["ms_per_config_above_floor"] = 1000 * extra / count
    return result


def table(rows: list[dict[str, float]]) -> str:
    lines = [
        f"{'configs':>8} {'dags':>6} {'errors':>6} {'file parse s':>13} {'floor s':>8} "
        f"{'per config ms':>14} {'above floor ms':>15}"
    ]
    for r in rows:
        count = r["configs"]
        lines.append(
            f"{count:>8} {r['dags']:>6} {r['errors']:>6} {r['file_duration_s']:>13.3f} "
            f"{r['floor_file_duration_s']:>8.3f} {1000 * r['file_duration_s'] / count:>14.2f} "
            f"{r['ms_per_config_above_floor']:>15.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
