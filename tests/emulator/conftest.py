"""Helpers for the emulator's own tests: clients built exactly as users build them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from simple_salesforce import Salesforce


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
