"""A task's start-up: its libraries imported without the garbage collector, then frozen.

Importing pandas, pyarrow, SQLAlchemy or great-expectations creates a few hundred thousand objects
that live as long as the process. While they are created, each time their number grows by a
quarter Python's collector walks all of them (a full collection) and finds almost nothing to free:
~0.3-0.5 s of CPU per task process. After the imports, `gc.freeze` moves what the process holds
out of the collector's sight, so the collections of the step's own work do not walk the libraries
again either (the first full one costs ~0.2 s once they are loaded).

Freezing suits a process that runs one task (Airflow's task process): `import_frozen` freezes at
most once per process, so a long-lived process (the tests, `dag.test()`) freezes only what it
held the first time. Nothing else changes: reference counting frees what it always freed, and
the collector runs again as soon as the imports are done.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterator
from contextlib import contextmanager

_frozen = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """No automatic garbage collection inside the block (it is put back as it was after)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def import_frozen(*modules: str) -> None:
    """Import `modules` with the collector paused, then freeze what the process holds (once)."""
    global _frozen
    with paused_gc():
        for module in modules:
            importlib.import_module(module)
    if not _frozen:
        _frozen = True
        gc.freeze()
