"""The web app behind the Airflow UI plugin: the Integrations console and the per-run Sync report.

Mounted by `plugins/integrations_plugin.py` at /integrations inside Airflow's API server. Every
route needs a signed-in Airflow user (the UI's session cookie, or a bearer token) and shows only
what Airflow's auth manager lets that user read. The pages never act themselves: their buttons
call Airflow's REST API from the browser as that user (see static/console.js).

Importing this module costs only FastAPI: Airflow's API modules, the ledger and the configs load
inside the request handlers, so a plugin import in the scheduler or a worker stays cheap.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

log = logging.getLogger(__name__)

#: Runs the Log overlay lists at most (the ledger holds all of them).
LOG_RUNS = 200
MOUNT = "/integrations"


async def current_user(request: Request) -> Any:
    """The signed-in Airflow user, exactly as Airflow's own API routes resolve it."""
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    return await get_user(request, None, await bearer_scheme(request))


User = Annotated[Any, Depends(current_user)]


def create_app() -> FastAPI:
    from include.walkme_sync.airflow.pages import STATIC

    # The app-wide dependency guards every route; FastAPI resolves it once per request, and the
    # handlers that need the user get that same value through `User`.
    app = FastAPI(title="WalkMe sync integrations", dependencies=[Depends(current_user)])
    # CSS, JavaScript and the menu icon: nothing secret (the UI's menu loads the icon itself).
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", response_class=HTMLResponse)
    def console_page(request: Request, user: User, partial: str = "") -> str:
        template = "console_table.html" if partial == "table" else "console.html"
        return _render(template, request, **_console_context(user))

    @app.get("/api")
    def console_rows(user: User) -> list[dict[str, Any]]:
        from include.walkme_sync.airflow.console import console_json

        return console_json(_console_context(user)["console"])

    @app.get("/log/{integration_id}", response_class=HTMLResponse)
    def log_overlay(request: Request, user: User, integration_id: str) -> str:
        return _render("log.html", request, **_log_context(integration_id, user))

    @app.get("/config", response_class=HTMLResponse)
    def config_overlay(request: Request, user: User, file: str) -> str:
        return _render("config.html", request, **_config_context(file, user))

    @app.get("/report/{dag_id}/{rest:path}", response_model=None)
    def sync_report(
        request: Request, user: User, dag_id: str, rest: str, *, q: str = "", bucket: str = ""
    ) -> HTMLResponse | StreamingResponse:
        return _sync_report(request, user, dag_id, rest, query=q, bucket=bucket)

    return app


def _render(template: str, request: Request, **context: Any) -> str:
    from include.walkme_sync.airflow.pages import render

    base = str(request.scope.get("root_path", "")).rstrip("/") or MOUNT
    # The Airflow UI's own root: "" normally, "/airflow" behind a path prefix.
    airflow = base.removesuffix(MOUNT)
    return render(template, base=base, airflow=airflow, **context)


def _console_context(user: Any) -> dict[str, Any]:
    from airflow.utils.session import create_session

    from include.walkme_sync.airflow.airflow_state import dag_states, user_access
    from include.walkme_sync.airflow.console import build_console, dag_ids_of
    from include.walkme_sync.config import integrations_folder, load_integrations
    from include.walkme_sync.config.problems import display_path

    result = load_integrations()
    ledger_runs = _ledger_call("newest_run_per_integration") or {}
    dag_ids = dag_ids_of(result, ledger_runs)
    access = user_access(user, dag_ids)
    with create_session(scoped=False) as session:
        states = dag_states(session, access.readable)
    return {
        "console": build_console(result, ledger_runs, states, access),
        "folder": display_path(integrations_folder()),
    }


def _ledger_call(method: str, *args: Any, **kwargs: Any) -> Any:
    """Read the ledger; if it cannot be read, the page still shows what Airflow knows."""
    from include.walkme_sync.ledger import Ledger

    try:
        return getattr(Ledger(), method)(*args, **kwargs)
    except Exception as exc:  # the database's own errors come in many types
        # The type only: a database URL in the message could hold a password.
        log.warning("The run ledger cannot be read: %s", type(exc).__name__)
        return None


def _log_context(integration_id: str, user: Any) -> dict[str, Any]:
    from airflow.utils.session import create_session

    from include.walkme_sync.airflow.airflow_state import airflow_run_ids, airflow_runs
    from include.walkme_sync.airflow.console import merge_runs, with_dag_id
    from include.walkme_sync.config import load_integrations
    from include.walkme_sync.locations import DAG_ID_PREFIX

    rows = _ledger_call("runs", integration_id, limit=LOG_RUNS) or []
    config = next((c for c in load_integrations().integrations if c.id == integration_id), None)
    dag_id = (
        config.dag_id if config else (rows[0]["dag_id"] if rows else DAG_ID_PREFIX + integration_id)
    )
    _require_read(user, dag_id)
    with create_session(scoped=False) as session:
        live = airflow_runs(session, dag_id, limit=LOG_RUNS)
        still_there = airflow_run_ids(session, dag_id)
    runs = with_dag_id(merge_runs(rows, live, airflow_run_ids=still_there), dag_id)
    return {
        "runs": runs,
        "name": config.name
        if config
        else (rows[0]["integration_name"] if rows else integration_id),
        "integration_id": integration_id,
        "truncated": len(rows) >= LOG_RUNS,
    }


def _config_context(file: str, user: Any) -> dict[str, Any]:
    from include.walkme_sync.airflow.console import config_path, invalid_dag_id
    from include.walkme_sync.config import integrations_folder, load_integrations
    from include.walkme_sync.config.problems import display_path

    result = load_integrations()
    configs = {config.source_file: config for config in result.integrations}
    # Only files the loader found: the query string never names an arbitrary file to read.
    if file not in configs and file not in result.problems:
        raise HTTPException(404, "No such integration file")
    config = configs.get(file)
    dag_id = config.dag_id if config else invalid_dag_id(file)
    _require_read(user, dag_id)
    problems = result.problems.get(file, [])
    try:
        lines: list[str] | None = config_path(file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = None
    return {
        "file": file,
        "integration_id": config.id if config else None,
        "dag_id": dag_id,
        "errors": [str(p) for p in problems if p.severity == "error"],
        "warnings": [str(p) for p in problems if p.severity == "warning"],
        "flagged": {p.line for p in problems if p.line},
        "lines": lines,
        "folder": display_path(integrations_folder()),
    }


def _require_read(user: Any, dag_id: str) -> None:
    from include.walkme_sync.airflow.airflow_state import user_access

    if dag_id not in user_access(user, [dag_id]).readable:
        raise HTTPException(403, "Your Airflow role may not read this integration's DAG")


def _sync_report(
    request: Request, user: Any, dag_id: str, rest: str, *, query: str, bucket: str
) -> HTMLResponse | StreamingResponse:
    from include.walkme_sync.airflow import sync_report as report
    from include.walkme_sync.airflow.airflow_state import may_read_runs

    if not may_read_runs(user, dag_id):
        raise HTTPException(403, "Your Airflow role may not read this DAG's runs")
    run_id, _, download = rest.rpartition("/") if rest.endswith(".csv") else (rest, "", "")
    if download == "rows.csv":
        lines = report.problems_csv(dag_id, run_id, query=query, bucket=bucket)
        return _csv(lines)
    if download == "changes.csv":
        return _csv(report.changes_csv(dag_id, run_id))
    try:
        built = report.build_report(dag_id, run_id, query=query, bucket=bucket)
    except Exception as exc:  # storage or ledger unreachable: say so instead of a bare 500
        log.warning("Sync report of %s %s failed: %s", dag_id, run_id, type(exc).__name__)
        return HTMLResponse(
            _render(
                "message.html",
                request,
                title="Sync report unavailable",
                message=f"The run ledger or the run's files cannot be read ({type(exc).__name__}).",
            ),
            status_code=503,
        )
    if isinstance(built, report.NotASync):
        return HTMLResponse(
            _render("message.html", request, title="Not a sync", message=built.message)
        )
    return HTMLResponse(_render("sync_report.html", request, report=built))


def _csv(lines: Any) -> StreamingResponse:
    return StreamingResponse(lines, media_type="text/csv; charset=utf-8")
