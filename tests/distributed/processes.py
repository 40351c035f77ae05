"""Start, watch and stop the cluster's server processes (no Docker: plain child processes).

Every process runs in its own session (so its process group holds everything it forks: Postgres
backends, Celery pool processes, Airflow task processes) and carries a marker variable in its
environment. Stopping signals the group; `kill_marked` then sweeps /proc for anything carrying the
marker that escaped its group (a daemonising child, a task process that called setsid), so a test
session never leaves a server behind, even when it fails half-way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

#: Environment variable naming the cluster a process belongs to (value: a per-session token).
MARKER_VARIABLE = "WALKME_SYNC_DISTRIBUTED_CLUSTER"


class StartupError(RuntimeError):
    """A component did not come up; the message ends with the tail of its log."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file ('' when it does not exist)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class ManagedProcess:
    """One started server: its Popen, its log file and how it is stopped."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    stop_signal: int = signal.SIGTERM
    _log_handle: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise StartupError(
                f"{self.name} exited with code {self.popen.returncode}; log {self.log_path}:\n"
                + tail(self.log_path)
            )

    def stop(self, timeout: float = 20.0) -> float:
        """Signal the whole process group, then SIGKILL what is left after `timeout` seconds.

        Returns how long the leader took to exit after the first signal.
        """
        started = time.monotonic()
        _signal_group(self.pid, self.stop_signal)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=timeout)
        took = time.monotonic() - started
        # The leader may be gone while its children (pool processes, backends) are not.
        _signal_group(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        if self._log_handle is not None:
            self._log_handle.close()
        return took


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def start_process(
    name: str,
    command: Sequence[str],
    *,
    env: dict[str, str],
    cwd: Path,
    log_path: Path,
    stdout_path: Path | None = None,
    stop_signal: int = signal.SIGTERM,
    run_as: str | None = None,
) -> ManagedProcess:
    """Start `command` in a new session; stderr (and stdout unless `stdout_path`) go to the log."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_handle = log_path.open("ab")
    stdout: IO[bytes] = stdout_path.open("wb") if stdout_path else log_handle
    try:
        popen = subprocess.Popen(
            list(command),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=log_handle,
            start_new_session=True,
            **user_switch(run_as),
        )
    finally:
        if stdout is not log_handle:
            stdout.close()
    return ManagedProcess(name, popen, log_path, stop_signal, log_handle)


def user_switch(user: str | None) -> dict[str, Any]:
    """Popen arguments that run the child as `user` (only possible, and only needed, as root)."""
    if user is None or os.geteuid() != 0:
        return {}
    return {"user": user, "group": user, "extra_groups": []}


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    watch: Sequence[ManagedProcess] = (),
    interval: float = 0.3,
) -> None:
    """Poll `condition` until true; fail early (with its log) when a watched process died."""
    deadline = time.monotonic() + timeout
    while True:
        for process in watch:
            process.check_alive()
        with contextlib.suppress(Exception):
            if condition():
                return
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name} ({p.log_path}):\n{tail(p.log_path)}" for p in watch)
            raise StartupError(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")
        time.sleep(interval)


def marked_pids(token: str) -> list[int]:
    """Processes whose environment carries this cluster's marker (readable to root or owner)."""
    needle = f"{MARKER_VARIABLE}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # exited meanwhile, or not ours to read
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def kill_marked(token: str) -> list[int]:
    """SIGKILL every process still carrying the marker; returns their pids."""
    pids = marked_pids(token)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return pids
