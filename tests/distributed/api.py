"""A small client of Airflow's public REST API (v2), as the tests drive the cluster through it.

Authenticates like any API user of the simple auth manager (POST /auth/token, then a bearer token);
the password is read from the cluster's settings and never printed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import requests

TERMINAL_STATES = frozenset({"success", "failed"})
TIMEOUT = 30
POLL_SECONDS = 2.0


def _q(value: str) -> str:
    return quote(value, safe="")


class AirflowApi:
    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = {"username": username, "password": password}
        self._token: str | None = None

    # --- plumbing -----------------------------------------------------------------------------

    def _authorization(self) -> dict[str, str]:
        if self._token is None:
            response = requests.post(
                f"{self.base_url}/auth/token", json=self._credentials, timeout=TIMEOUT
            )
            response.raise_for_status()
            self._token = str(response.json()["access_token"])
        return {"Authorization": f"Bearer {self._token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**kwargs.pop("headers", {}), **self._authorization()}
        response = requests.request(
            method, f"{self.base_url}{path}", headers=headers, timeout=TIMEOUT, **kwargs
        )
        if response.status_code == 401:  # token expired: log in again once
            self._token = None
            headers.update(self._authorization())
            response = requests.request(
                method, f"{self.base_url}{path}", headers=headers, timeout=TIMEOUT, **kwargs
            )
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {response.status_code} {response.text}")
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    # --- health -------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        response = requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=5)
        response.raise_for_status()
        return dict(response.json())

    def healthy(self) -> bool:
        return self.health()["metadatabase"]["status"] == "healthy"

    def scheduler_and_processor_healthy(self) -> bool:
        health = self.health()
        processor = health.get("dag_processor") or {}
        return health["scheduler"]["status"] == "healthy" and processor.get("status") == "healthy"

    # --- DAGs ---------------------------------------------------------------------------------

    def dag_ids(self, pattern: str) -> set[str]:
        found = self.json("GET", "/api/v2/dags", params={"dag_id_pattern": pattern, "limit": 1000})
        return {dag["dag_id"] for dag in found["dags"]}

    def import_errors(self) -> list[dict[str, Any]]:
        return list(self.json("GET", "/api/v2/importErrors")["import_errors"])

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{_q(dag_id)}", json={"is_paused": False})

    # --- runs ---------------------------------------------------------------------------------

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """A manual run (no logical date), like the UI's Trigger button; returns its run id."""
        run = self.json(
            "POST",
            f"/api/v2/dags/{_q(dag_id)}/dagRuns",
            json={"logical_date": None, "conf": conf or {}},
        )
        return str(run["dag_run_id"])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.json("GET", f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}"))

    def dag_runs(self, dag_ids: Iterable[str]) -> dict[tuple[str, str], dict[str, Any]]:
        """Every run of these DAGs in one call (the batch list endpoint), by (dag_id, run_id)."""
        found = self.json(
            "POST",
            "/api/v2/dags/~/dagRuns/list",
            json={"dag_ids": sorted(set(dag_ids)), "page_limit": 1000},
        )
        return {(run["dag_id"], run["dag_run_id"]): run for run in found["dag_runs"]}

    def wait_for_runs(
        self, runs: Iterable[tuple[str, str]], *, timeout: float
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Poll until every run is success or failed; returns each run's final record.

        One request per poll whatever the number of runs: the API server shares the test
        machine's cores with the workers being measured.
        """
        wanted = set(runs)
        deadline = time.monotonic() + timeout
        while True:
            current = self.dag_runs(dag_id for dag_id, _ in wanted)
            states = {key: current[key]["state"] if key in current else "?" for key in wanted}
            if all(state in TERMINAL_STATES for state in states.values()):
                return {key: current[key] for key in wanted}
            if time.monotonic() > deadline:
                pending = {f"{d}/{r}": s for (d, r), s in sorted(states.items())}
                raise TimeoutError(f"runs not finished after {timeout:.0f}s: {pending}")
            time.sleep(POLL_SECONDS)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        found = self.json("GET", f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances")
        return list(found["task_instances"])

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        entry = self.json(
            "GET",
            f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}"
            f"/xcomEntries/{_q(key)}",
            params={"deserialize": "true"},
        )
        return entry["value"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> list[Any]:
        """The structured log lines of one try (what the UI's log view shows)."""
        found = self.json(
            "GET",
            f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}"
            f"/logs/{try_number}",
            params={"full_content": "true"},
            headers={"Accept": "application/json"},
        )
        return list(found["content"])
