"""A real multi-worker Airflow (CeleryExecutor) on this machine, with no Docker.

`start_cluster` brings up the services (services.py), migrates the metadata DB, then starts the
scheduler, the DAG processor, the API server and two Celery workers. The workers are set up as two
machines would be: their own AIRFLOW_HOME, HOME, TMPDIR and working directory, their own queue
(`worker_a` / `worker_b`) and hostname, and worker_b runs its own copy of the project (dags/,
include/, plugins/), so anything the code derives from its own location differs between them.
Airflow's `dags-folder` bundle resolves a DAG's relative path against each worker's own
AIRFLOW__CORE__DAGS_FOLDER, which is what makes the copy work.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.distributed.api import AirflowApi
from tests.distributed.processes import (
    ManagedProcess,
    StartupError,
    free_port,
    kill_marked,
    start_process,
    tail,
    wait_until,
)
from tests.distributed.services import (
    LEDGER_DB,
    METADATA_DB,
    S3,
    Emulator,
    Postgres,
    Redis,
    start_emulator,
    start_postgres,
    start_redis,
    start_s3,
)
from tests.distributed.settings import (
    ADMIN_USER,
    ClusterSecrets,
    Endpoints,
    Placement,
    airflow_config,
    clean_environment,
    component_env,
    connections,
    product_settings,
)

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PARTS = ("dags", "include", "plugins")
WORKERS = {"worker_a": "worker-a", "worker_b": "worker-b"}  # queue -> hostname
AIRFLOW = [sys.executable, "-m", "airflow"]
SLOW_STOP_SECONDS = 5.0


@dataclass
class Cluster:
    """Handles the tests use: the services, the REST API, where things are."""

    root: Path
    postgres: Postgres
    redis: Redis
    s3: S3
    emulator: Emulator
    api: AirflowApi
    integrations_dir: Path
    storage_root: str
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    #: (dag_id, run_id) of every run the tests triggered, in order (for diagnostics).
    runs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def metadata_url(self) -> str:
        return self.postgres.url(METADATA_DB)

    @property
    def ledger_url(self) -> str:
        return self.postgres.url(LEDGER_DB)

    def component_logs(self, lines: int = 40) -> str:
        """The tail of every component's log: what a failing test prints."""
        return "\n".join(
            f"----- {name} ({process.log_path}) -----\n{tail(process.log_path, lines)}"
            for name, process in self.processes.items()
        )

    def check_alive(self) -> None:
        for process in self.processes.values():
            process.check_alive()


@contextlib.contextmanager
def running_cluster(root: Path, integrations_dir: Path, storage_root: str) -> Iterator[Cluster]:
    """Start everything under `root`; stop everything (and sweep stragglers) on the way out."""
    marker = uuid.uuid4().hex
    base_env = clean_environment(marker)
    started: dict[str, ManagedProcess] = {}
    try:
        cluster = _start(root, base_env, started, integrations_dir, storage_root)
        yield cluster
    finally:
        # Airflow first (its components hold DB and broker connections), services last.
        for process in reversed(list(started.values())):
            took = process.stop()
            if took > SLOW_STOP_SECONDS:
                print(f"cluster teardown: {process.name} took {took:.0f} s to stop")
        leftovers = kill_marked(marker)
        if leftovers:
            print(f"cluster teardown: killed {len(leftovers)} stray processes {leftovers}")


def _start(
    root: Path,
    base_env: dict[str, str],
    started: dict[str, ManagedProcess],
    integrations_dir: Path,
    storage_root: str,
) -> Cluster:
    postgres = start_postgres(root / "postgres", base_env)
    started["postgres"] = postgres.process
    redis = start_redis(root / "redis", base_env)
    started["redis"] = redis.process
    s3 = start_s3(root / "s3", base_env)
    started["moto"] = s3.process
    emulator = start_emulator(root / "emulator", base_env)
    started["sf_emulator"] = emulator.process

    keys = ClusterSecrets()
    endpoints = Endpoints(
        metadata_url=postgres.url(METADATA_DB),
        ledger_port=postgres.port,
        ledger_password=postgres.password,
        broker_url=redis.url,
        s3_endpoint=s3.endpoint_url,
        sf_proxy_url=emulator.proxy_url,
        trust_bundle=emulator.trust_bundle,
        api_port=free_port(),
        integrations_dir=integrations_dir,
        storage_root=storage_root,
        passwords_file=root / "simple_auth_manager_passwords.json",
    )
    _start_airflow(root, base_env, endpoints, keys, started)
    api = AirflowApi(f"http://127.0.0.1:{endpoints.api_port}", ADMIN_USER, keys.admin_password)
    cluster = Cluster(
        root, postgres, redis, s3, emulator, api, integrations_dir, storage_root, dict(started)
    )
    _wait_ready(cluster, redis.url)
    return cluster


def _start_airflow(
    root: Path,
    base_env: dict[str, str],
    endpoints: Endpoints,
    keys: ClusterSecrets,
    started: dict[str, ManagedProcess],
) -> None:
    """Migrate the metadata DB, then the control plane (on the repository) and the workers."""
    endpoints.passwords_file.write_text(json.dumps({ADMIN_USER: keys.admin_password}))
    shared = {
        **airflow_config(endpoints, keys),
        **connections(endpoints, keys),
        **product_settings(endpoints),
    }
    control = Placement(root / "control" / "airflow", ROOT, root / "control", "control-plane")
    control_env = component_env(base_env, shared, control)
    _migrate(control_env, control.workdir)
    for name, command in (
        ("api-server", [*AIRFLOW, "api-server", "--host", "127.0.0.1"]),
        ("scheduler", [*AIRFLOW, "scheduler", "--skip-serve-logs"]),
        ("dag-processor", [*AIRFLOW, "dag-processor"]),
    ):
        started[name] = _start_component(name, command, control_env, control.workdir, root)
    for queue, hostname in WORKERS.items():
        placement = _worker_placement(root, queue, hostname)
        env = component_env(base_env, shared, placement)
        started[queue] = _start_component(
            queue, _worker_command(queue), env, placement.workdir, root
        )


def _migrate(env: dict[str, str], cwd: Path) -> None:
    log = cwd / "db-migrate.log"
    with log.open("wb") as handle:
        completed = subprocess.run(
            [*AIRFLOW, "db", "migrate"],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            timeout=600,
            check=False,
        )
    if completed.returncode != 0:
        raise StartupError(f"airflow db migrate failed:\n{tail(log, 60)}")


def _start_component(
    name: str, command: list[str], env: dict[str, str], cwd: Path, root: Path
) -> ManagedProcess:
    return start_process(name, command, env=env, cwd=cwd, log_path=root / "logs" / f"{name}.log")


def _worker_placement(root: Path, queue: str, hostname: str) -> Placement:
    workdir = root / queue
    workdir.mkdir(parents=True, exist_ok=True)
    project = ROOT if queue == "worker_a" else copy_project(workdir / "project")
    return Placement(workdir / "airflow", project, workdir, hostname)


def copy_project(target: Path) -> Path:
    """The deployable parts of the project, as a second machine's image would hold them."""
    for part in PROJECT_PARTS:
        shutil.copytree(
            ROOT / part, target / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    return target


def _worker_command(queue: str) -> list[str]:
    # --skip-serve-logs: the log server would bind every interface on the same port for both
    # workers; task logs are read from object storage instead (remote logging).
    return [
        *AIRFLOW,
        "celery",
        "worker",
        "--queues",
        queue,
        "--celery-hostname",
        f"{queue}@localhost",
        "--skip-serve-logs",
    ]


def _wait_ready(cluster: Cluster, broker_url: str) -> None:
    watch = list(cluster.processes.values())
    wait_until(cluster.api.healthy, timeout=180, what="the Airflow API server", watch=watch)
    wait_until(
        cluster.api.scheduler_and_processor_healthy,
        timeout=180,
        what="the scheduler and DAG processor heartbeats",
        watch=watch,
    )
    wait_until(
        lambda: celery_workers_answering(broker_url) >= set(WORKERS),
        timeout=180,
        what="both Celery workers",
        watch=watch,
    )


def celery_workers_answering(broker_url: str) -> set[str]:
    """Queues of the workers answering a broadcast ping (`worker_a@localhost` -> worker_a)."""
    from celery import Celery

    app = Celery(broker=broker_url)
    try:
        replies = app.control.ping(timeout=2.0) or []
    finally:
        app.close()
    return {name.split("@", 1)[0] for reply in replies for name in reply}
