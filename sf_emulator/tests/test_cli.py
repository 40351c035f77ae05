"""``python -m sf_emulator``: the first stdout line is the JSON contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps({"sandbox": {"Lead": [{"LastName": "Doe", "Company": "Acme"}]}}),
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sf_emulator",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "data"),
            "--seed-file",
            str(seed),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        yield process, info
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_first_line_describes_the_emulator(
    emulator_process: tuple[subprocess.Popen[str], dict[str, Any]],
) -> None:
    _, info = emulator_process
    assert {"instance_url", "proxy_url", "ca_bundle", "trust_bundle"} <= set(info)
    for org in ("sandbox", "production"):
        assert {
            "username",
            "password",
            "security_token",
            "client_id",
            "client_secret",
            "domain",
            "instance_host",
        } <= set(info[org])
    assert info["seeded"] == {"sandbox": {"Lead": 1}}

    sandbox = info["sandbox"]
    token = requests.post(
        f"{info['instance_url']}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": sandbox["client_id"],
            "client_secret": sandbox["client_secret"],
            "username": sandbox["username"],
            "password": sandbox["password"],
        },
        verify=info["trust_bundle"],
        timeout=10,
    )
    assert token.status_code == 200
    assert token.json()["instance_url"] == info["instance_url"]
    usage = requests.get(f"{info['proxy_url']}/__emulator/sandbox/usage", timeout=10).json()
    assert usage["total_calls"] == 0


def test_sigterm_stops_cleanly(
    emulator_process: tuple[subprocess.Popen[str], dict[str, Any]],
) -> None:
    process, _ = emulator_process
    process.terminate()
    assert process.wait(timeout=15) == 0
