"""`make run` (scripts/run_local.sh) as a person uses it: twice in a row, stopped with Ctrl-C and
with SIGTERM. The address is printed only once the UI answers; an emulator output file left by an
earlier run does not confuse it; stopping leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.ui.airflow_server import free_port

pytestmark = pytest.mark.ui
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 300
# The script hard-kills what ignores SIGTERM for 20 s (STOP_SECONDS); the rest is margin for a
# loaded machine, where each component's own shutdown is slow.
STOP_TIMEOUT = 120


def start(var: Path, ports: dict[str, int]) -> tuple[subprocess.Popen[str], Path]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW_", "PYTEST_", "WALKME_SYNC_"))
    }
    env.update(
        VAR_DIR=str(var),
        AIRFLOW_PORT=str(ports["airflow"]),
        EMULATOR_PORT=str(ports["emulator"]),
        WALKME_SYNC_STORAGE_ROOT=str(var / "storage"),
    )
    output = var / f"make-run-{time.monotonic_ns()}.out"
    process = subprocess.Popen(
        ["bash", "scripts/run_local.sh"],
        cwd=ROOT,
        env=env,
        stdout=output.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
        # Its own process group, as a terminal's foreground job (Ctrl-C goes to the group).
        start_new_session=True,
    )
    return process, output


def wait_for_banner(process: subprocess.Popen[str], output: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = output.read_text()
        if "Ctrl-C stops everything" in text:
            return text
        assert process.poll() is None, f"make run stopped:\n{text}"
        time.sleep(1)
    raise TimeoutError(output.read_text())


def ui_answers(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=10) as r:
        health = json.loads(r.read())
    return all(health[part]["status"] == "healthy" for part in ("metadatabase", "scheduler"))


def processes_of(var: Path) -> list[int]:
    """Every live process started by this run: they all inherit its VAR_DIR."""
    marker = f"VAR_DIR={var}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or a zombie
            continue
    return found


def stop(process: subprocess.Popen[str], sig: signal.Signals, var: Path) -> float:
    began = time.monotonic()
    os.killpg(process.pid, sig)
    process.wait(timeout=STOP_TIMEOUT)
    took = time.monotonic() - began
    assert processes_of(var) == []
    return took


def test_make_run_twice_and_stop_with_ctrl_c_and_sigterm(tmp_path: Path) -> None:
    var = tmp_path / "var"
    (var / "emulator").mkdir(parents=True)
    # What an earlier, interrupted run leaves: half a line of the emulator's output.
    (var / "emulator" / "emulator.out").write_text('{"instance_url": "https://127.0.0.1:1')
    ports = {"airflow": free_port(), "emulator": free_port()}

    for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C the first time, SIGTERM the second
        process, output = start(var, ports)
        try:
            banner = wait_for_banner(process, output)
            # Printed only once the UI answers.
            assert ui_answers(ports["airflow"])
            assert f"http://127.0.0.1:{ports['airflow']}/plugin/integrations" in banner
            assert "Nothing syncs until you start a run" in banner
            assert "08:00 UTC" in banner
            assert "Traceback" not in banner
            assert stop(process, sig, var) < STOP_TIMEOUT
            assert "Stopped." in output.read_text()
        finally:
            if process.poll() is None:  # a failed check: leave nothing running
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=STOP_TIMEOUT)
