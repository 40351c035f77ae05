"""The engine's import graph follows docs/ARCHITECTURE.md: layers, no cycles, Airflow at the edge.

Reads every module's imports with `ast` (module level and inside functions alike), so a lazy
import that runs upward is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "include" / "walkme_sync"
PREFIX = "include.walkme_sync."

# Layer of each top-level module or package of the engine (see docs/ARCHITECTURE.md).
LAYERS = {
    "errors": 0,
    "locations": 0,
    "frames": 0,
    "keys": 0,
    "metadata": 0,
    "records": 0,
    "storage": 0,
    "airflow_api": 0,
    "config": 1,
    "report": 2,
    "salesforce": 2,
    "reconcile": 2,
    "ledger": 2,
    "steps": 3,
    "airflow": 4,
}
# Airflow's connections and hooks configure I/O; these modules use them, one per kind of I/O.
AIRFLOW_HOOK_USERS = {
    "salesforce/client.py",
    # The SalesforceHook subclass for refresh-token connections (`make connect`).
    "salesforce/refresh_hook.py",
    # Writes a connection's extras back (connect, disconnect, a rotated refresh token): Airflow's
    # ORM where the process may use it, else its REST API.
    "salesforce/connection_store.py",
    "report/files.py",
    "report/sql.py",
    "ledger/location.py",
    "storage.py",
}


def engine_modules() -> list[Path]:
    return sorted(p for p in ENGINE.rglob("*.py") if p.name != "__init__.py" or p.stat().st_size)


def unit_of(path: Path) -> str:
    """`config/models.py` -> `config`; `errors.py` -> `errors`."""
    return path.relative_to(ENGINE).parts[0].removesuffix(".py")


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def engine_unit(module: str) -> str | None:
    return module.removeprefix(PREFIX).split(".")[0] if module.startswith(PREFIX) else None


def test_every_engine_unit_has_a_layer() -> None:
    units = {unit_of(path) for path in engine_modules()} - {"__init__"}
    assert units <= set(LAYERS), f"add {sorted(units - set(LAYERS))} to LAYERS and ARCHITECTURE.md"


@pytest.mark.parametrize("path", engine_modules(), ids=lambda p: str(p.relative_to(ENGINE)))
def test_imports_only_go_down(path: Path) -> None:
    unit = unit_of(path)
    if unit not in LAYERS:
        pytest.skip(f"{unit} is not part of the layered engine")
    layer = LAYERS[unit]
    for module in imports_of(path):
        target = engine_unit(module)
        if target is None or target == unit:
            continue
        assert target in LAYERS, f"{path.name} imports unknown engine unit {module}"
        target_layer = LAYERS[target]
        assert target_layer < layer or (target_layer == 0 and layer == 0), (
            f"{path.relative_to(ENGINE)} (layer {layer}) imports {module} (layer {target_layer})"
        )


@pytest.mark.parametrize("path", engine_modules(), ids=lambda p: str(p.relative_to(ENGINE)))
def test_airflow_only_at_the_edge(path: Path) -> None:
    relative = path.relative_to(ENGINE).as_posix()
    if relative.startswith("airflow/") or relative in AIRFLOW_HOOK_USERS:
        return
    airflow = [m for m in imports_of(path) if m == "airflow" or m.startswith("airflow.")]
    assert not airflow, f"{relative} imports {airflow}: move it to airflow/ or an I/O module"


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for path in engine_modules():
        name = PREFIX + ".".join(path.relative_to(ENGINE).with_suffix("").parts)
        graph[name.removesuffix(".__init__")] = {
            m for m in imports_of(path) if m.startswith(PREFIX) and m != name
        }
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> None:
        if node in done or node not in graph:
            return
        assert node not in visiting, "import cycle: " + " -> ".join([*visiting, node])
        visiting.append(node)
        for target in graph[node]:
            visit(target)
        visiting.pop()
        done.add(node)

    for node in graph:
        visit(node)


def test_no_engine_module_is_over_500_lines() -> None:
    sizes = {
        p.relative_to(ENGINE).as_posix(): len(p.read_text().splitlines()) for p in engine_modules()
    }
    assert {name: n for name, n in sizes.items() if n > 500} == {}
