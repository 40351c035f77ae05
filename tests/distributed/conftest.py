"""The session's cluster: services + Airflow (CeleryExecutor, two workers), started once.

Only collected when WALKME_SYNC_DISTRIBUTED_TESTS=1 (`make test-distributed`, see
tests/conftest.py). Every integration config the tests use is written before the cluster starts,
so the DAG processor's first parse already has all of them; tests upload their own exports and
records. Everything lives in one temp dir, removed at the end (WALKME_SYNC_DISTRIBUTED_KEEP=1 keeps
it for a post-mortem); every process is stopped even when startup fails half-way.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.distributed.cluster import Cluster, running_cluster
from tests.distributed.diagnostics import describe_failure
from tests.distributed.observe import wait_for_dags
from tests.distributed.settings import STORAGE_ROOT
from tests.distributed.workload import (
    BENCH_COUNT,
    DEMO_SAMPLES,
    bench_config,
    dag_id,
    demo_config,
    write_config,
)

KEEP_VARIABLE = "WALKME_SYNC_DISTRIBUTED_KEEP"
_RUNS_BEFORE = pytest.StashKey[int]()


@pytest.fixture(scope="session")
def cluster_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="walkme-dist-"))
    root.chmod(0o711)  # the postgres OS user must get through to its data dir inside
    yield root
    if os.environ.get(KEEP_VARIABLE) == "1":
        print(f"\nkept the cluster's files in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


def all_configs() -> list[dict[str, Any]]:
    demos = [demo_config(integration_id) for integration_id in DEMO_SAMPLES]
    return demos + [bench_config(number) for number in range(1, BENCH_COUNT + 1)]


@pytest.fixture(scope="session")
def cluster(cluster_root: Path) -> Iterator[Cluster]:
    integrations = cluster_root / "integrations"
    integrations.mkdir()
    configs = all_configs()
    for config in configs:
        write_config(integrations, config)
    with running_cluster(cluster_root, integrations, STORAGE_ROOT) as running:
        try:
            wait_for_dags(running, {dag_id(config["id"]) for config in configs})
        except Exception as exc:
            raise RuntimeError(f"{exc}\n{running.component_logs()}") from exc
        yield running


@pytest.fixture(autouse=True)
def _note_runs_before(request: pytest.FixtureRequest, cluster: Cluster) -> None:
    """Remember which runs existed before the test, so diagnostics show only the test's own."""
    request.node.stash[_RUNS_BEFORE] = len(cluster.runs)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    cluster = getattr(item, "funcargs", {}).get("cluster")
    if report.failed and call.when == "call" and isinstance(cluster, Cluster):
        runs = cluster.runs[item.stash.get(_RUNS_BEFORE, 0) :]
        report.sections.append(("cluster diagnostics", describe_failure(cluster, runs)))
    return report
