"""A real Airflow (api-server, scheduler, dag-processor) in a temporary AIRFLOW_HOME, for UI tests.

LocalExecutor, SQLite metadata DB, the SimpleAuthManager with known passwords, the project's
dags/ and plugins/. Each component runs in its own process group so that stopping it also stops
what it started (LocalExecutor workers, the API server's workers).

`python -m tests.ui.airflow_server` starts the same Airflow with the demo integrations against a
local Salesforce and keeps it running: the UI tests' world, to look at by hand.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ("api-server", "scheduler", "dag-processor")
#: user -> (password, SimpleAuthManager role): an admin, and a viewer who may read but not act.
USERS = {"admin": ("admin", "admin"), "viewer": ("viewer", "viewer")}
STOP_SECONDS = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class AirflowServer:
    home: Path
    extra_env: Mapping[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            # The test session's own settings (conftest, the developer's shell) stay out: the
            # server gets exactly the world it is given.
            if not key.startswith(("AIRFLOW_", "PYTEST_", "WALKME_SYNC_"))
        }
        users = ",".join(f"{name}:{role}" for name, (_password, role) in USERS.items())
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "PYTHONPATH": str(ROOT),
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": users,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                    self.home / "passwords.json"
                ),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                # New and edited integration files show up within seconds, not minutes.
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                # record_run sets each run's note through the REST API as this user.
                "AIRFLOW_CONN_WALKME_AIRFLOW_API": json.dumps(
                    {
                        "conn_type": "http",
                        "host": "127.0.0.1",
                        "port": self.port,
                        "login": "admin",
                        "password": USERS["admin"][0],
                    }
                ),
            }
        )
        env.update(self.extra_env)
        return env

    def start(self) -> AirflowServer:
        self.home.mkdir(parents=True, exist_ok=True)
        passwords = {name: password for name, (password, _role) in USERS.items()}
        (self.home / "passwords.json").write_text(json.dumps(passwords))
        env = self.env()
        airflow = str(Path(sys.executable).parent / "airflow")
        with (self.home / "db-migrate.log").open("wb") as log:
            subprocess.run([airflow, "db", "migrate"], env=env, stdout=log, stderr=log, check=True)
        for name in COMPONENTS:
            command = [airflow, name]
            if name == "api-server":
                command += ["--host", "127.0.0.1", "--port", str(self.port)]
            log = (self.home / f"{name}.log").open("wb")
            self.processes[name] = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            log.close()
        return self

    def wait_until_healthy(self, timeout: float = 240) -> None:
        """The API answers and reports the scheduler and the DAG processor healthy."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as r:
                    last = json.loads(r.read())
                if all(
                    (last.get(part) or {}).get("status") == "healthy"
                    for part in ("metadatabase", "scheduler", "dag_processor")
                ):
                    return
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = exc
            time.sleep(1)
        raise TimeoutError(f"Airflow did not become healthy in {timeout}s: {last}\n{self.logs()}")

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"airflow {name} exited ({process.returncode})\n{self.logs()}")

    def logs(self, tail: int = 40) -> str:
        parts = []
        for name in COMPONENTS:
            path = self.home / f"{name}.log"
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()[-tail:]
                parts.append(f"--- {name} ---\n" + "\n".join(lines))
        return "\n".join(parts)

    def token(self, user: str = "admin") -> str:
        body = json.dumps({"username": user, "password": USERS[user][0]}).encode()
        request = urllib.request.Request(
            f"{self.url}/auth/token",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.loads(response.read())["access_token"])

    def api(self, path: str, *, method: str = "GET", body: Any = None, user: str = "admin") -> Any:
        """Airflow's REST API as `user` (what the tests check the UI against)."""
        request = urllib.request.Request(
            f"{self.url}/api/v2{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.token(user)}",
                "Content-Type": "application/json",
            },
            method=method,
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            found = {
                dag["dag_id"] for dag in self.api("/dags?limit=100&dag_id_pattern=walkme")["dags"]
            }
            if set(dag_ids) <= found:
                return
            time.sleep(2)
        raise TimeoutError(f"DAGs {dag_ids} were not parsed in {timeout}s\n{self.logs()}")

    def stop(self) -> None:
        """SIGTERM every component's process group; SIGKILL what is left after a grace time."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(deadline - time.monotonic(), 0.1))
        for process in self.processes.values():
            _signal_group(process, signal.SIGKILL)
            process.wait()
        self.processes.clear()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def main() -> int:  # pragma: no cover - a developer's tool
    import tempfile

    from tests.ui.world import UiWorld

    # Stop cleanly on Ctrl-C and on SIGTERM alike (a background job starts with SIGINT ignored).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="walkme-ui-") as folder, UiWorld(Path(folder)) as world:
        print(f"Airflow UI: {world.airflow.url}  (admin/admin)  home: {folder}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
