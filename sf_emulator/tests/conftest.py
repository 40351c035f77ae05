"""Helpers for the emulator's own tests: clients built exactly as users build them.

test_airflow_hook.py imports Airflow, which reads its configuration when first imported: when these
tests run on their own (``pytest sf_emulator/tests``) they get the same private AIRFLOW_HOME as
tests/conftest.py sets for a whole run, so nothing is written to ~/airflow.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce

ROOT = Path(__file__).resolve().parents[2]

os.environ.setdefault("AIRFLOW_HOME", str(ROOT / "var" / "test-airflow"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


@pytest.fixture
def password_login(sf_emulator: Any) -> Callable[[str], Salesforce]:
    """A simple-salesforce client per org with SOAP password login through the proxy."""

    def login(org: str) -> Salesforce:
        credentials = sf_emulator.org(org).credentials
        return Salesforce(
            username=credentials["username"],
            password=credentials["password"],
            security_token=credentials["security_token"],
            domain=credentials["domain"],
            proxies={"https": sf_emulator.proxy_url},
        )

    return login


@pytest.fixture
def sandbox(password_login: Callable[[str], Salesforce]) -> Salesforce:
    return password_login("sandbox")


@pytest.fixture
def direct(sf_emulator: Any) -> Salesforce:
    """A direct-session client of the sandbox on https://127.0.0.1:PORT (no login, no refresh)."""
    return Salesforce(
        instance_url=sf_emulator.instance_url, session_id=sf_emulator.issue_session("sandbox")
    )
