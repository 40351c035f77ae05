"""The local Salesforce in its own process, seeded for a benchmark, measured apart from the client.

    python benchmarks/bench_emulator.py --rows 1000000 --data-dir DIR --unmatched-every 50

The child seeds `people(rows)` as Leads (every `unmatched-every`-th person left out), prints one
JSON line (address, trust bundle, the Airflow connection, seeding time), then serves until its
stdin closes. The parent (`EmulatorProcess`) reads API-call counts through the emulator's admin
routes and the emulator's CPU and memory through psutil, so the client's numbers hold only the
client's work (the issue asks that the emulator not be the bottleneck of the measurement).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
API_KINDS = ("query", "describe", "composite", "bulk2", "bulk1", "rest")


class EmulatorProcess:
    """`python benchmarks/bench_emulator.py` as a child process (a context manager)."""

    def __init__(self, rows: int, data_dir: Path, unmatched_every: int) -> None:
        self.rows = rows
        self.data_dir = data_dir
        self.unmatched_every = unmatched_every
        self.info: dict[str, Any] = {}
        self._child: subprocess.Popen[str] | None = None
        self._http: Any = None

    def __enter__(self) -> EmulatorProcess:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--rows",
            str(self.rows),
            "--data-dir",
            str(self.data_dir),
            "--unmatched-every",
            str(self.unmatched_every),
        ]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self._child = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        assert self._child.stdout is not None
        line = self._child.stdout.readline()
        if not line:
            raise SystemExit(f"the emulator process ended (exit {self._child.wait()})")
        self.info = json.loads(line)
        import requests

        self._http = requests.Session()
        self._http.verify = self.info["trust_bundle"]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        assert child.stdin is not None
        child.stdin.close()  # the child stops serving when its stdin closes
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    @property
    def pid(self) -> int:
        assert self._child is not None
        return self._child.pid

    def calls(self) -> dict[str, int]:
        """API calls the sandbox org has served so far, by kind."""
        reply = self._http.get(f"{self.info['admin_url']}/sandbox/usage", timeout=30)
        reply.raise_for_status()
        counts = reply.json()["calls"]
        return {kind: int(counts.get(kind, 0)) for kind in API_KINDS}

    def cpu_s(self) -> float:
        import psutil

        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)

    def rss_mb(self) -> float:
        import psutil

        return float(psutil.Process(self.pid).memory_info().rss) / 2**20


def _serve(rows: int, data_dir: Path, unmatched_every: int) -> None:
    from demo.sample_data import iter_people
    from sf_emulator.testing import EmulatorServer

    with EmulatorServer(port=0, data_dir=data_dir) as emulator:
        started = time.perf_counter()
        leads = [
            {
                "FirstName": who.first_name,
                "LastName": who.last_name,
                "Company": who.company,
                "Title": who.title,
                "Email": who.email,
            }
            for i, who in enumerate(iter_people(rows))
            if i % unmatched_every != unmatched_every - 1
        ]
        emulator.org("sandbox").data.load_records("Lead", leads)
        info = {
            "leads": len(leads),
            "seed_s": time.perf_counter() - started,
            "trust_bundle": emulator.trust_bundle,
            "connection": emulator.airflow_connection_json("sandbox"),
            "admin_url": emulator.admin_url,
        }
        del leads
        print(json.dumps(info), flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--unmatched-every", type=int, required=True)
    args = parser.parse_args(argv)
    _serve(args.rows, args.data_dir, args.unmatched_every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
