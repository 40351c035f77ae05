"""A task's start-up: imports with the garbage collector paused, then one freeze per process."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

import pytest

from include.walkme_sync.airflow.tasks import ARROW_POOL_VARIABLE
from include.walkme_sync.report.gx_import import paused_gc

TASK_PROCESS = """
import gc, json, sys
from include.walkme_sync.airflow.tasks import import_frozen
seen = []
gc.callbacks.append(lambda phase, info: seen.append(info["generation"]) if phase == "start" else 0)
before = gc.get_freeze_count()
import_frozen("include.walkme_sync.steps.record", "include.walkme_sync.airflow.alerts")
during = list(seen)
frozen = gc.get_freeze_count()
import_frozen("include.walkme_sync.steps.extract")  # a second call imports, freezes no more
print(json.dumps({
    "collections_during_imports": during, "enabled": gc.isenabled(), "before": before,
    "frozen": frozen, "again": gc.get_freeze_count(),
    "imported": all(m in sys.modules for m in (
        "include.walkme_sync.steps.record", "include.walkme_sync.airflow.alerts",
        "include.walkme_sync.steps.extract", "pandas", "sqlalchemy")),
}))
"""


def test_a_task_imports_without_collections_and_freezes_once() -> None:
    done = subprocess.run(
        [sys.executable, "-c", TASK_PROCESS], check=True, capture_output=True, text=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # No automatic full collection (a library may still call `gc.collect(0)` itself).
    assert 2 not in result["collections_during_imports"]
    assert result["enabled"] is True
    assert result["imported"] is True
    assert result["before"] == 0 and result["frozen"] > 100_000
    assert result["again"] == result["frozen"]


def test_paused_gc_puts_the_collector_back_as_it_was() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


POOL_PROCESS = """
import pyarrow as pa
from include.walkme_sync.airflow.tasks import import_step_libraries
import_step_libraries("extract")
print(pa.default_memory_pool().backend_name)
"""


def _pool_after_start_up(**environment: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != ARROW_POOL_VARIABLE} | environment
    done = subprocess.run(
        [sys.executable, "-c", POOL_PROCESS], check=True, capture_output=True, text=True, env=env
    )
    return done.stdout.strip().splitlines()[-1]


def test_a_task_allocates_arrow_columns_from_jemalloc() -> None:
    import pyarrow as pa

    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow was built without jemalloc")
    assert _pool_after_start_up() == "jemalloc"


def test_a_deployment_choice_of_arrow_pool_stands() -> None:
    assert _pool_after_start_up(**{ARROW_POOL_VARIABLE: "system"}) == "system"
