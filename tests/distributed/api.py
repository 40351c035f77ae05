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

    def wait_for_runs(
        self, runs: Iterable[tuple[str, str]], *, timeout: float
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Poll until every run is success or failed; returns each run's final record."""
        pending = set(runs)
        done: dict[tuple[str, str], dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        while pending:
            for key in sorted(pending):
                run = self.dag_run(*key)
                if run["state"] in TERMINAL_STATES:
                    done[key] = run
                    pending.discard(key)
            if pending and time.monotonic() > deadline:
                states = {f"{d}/{r}": self.dag_run(d, r)["state"] for d, r in sorted(pending)}
                raise TimeoutError(f"runs still not finished after {timeout:.0f}s: {states}")
            if pending:
                time.sleep(1)
        return done

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
