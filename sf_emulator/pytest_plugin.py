"""pytest fixtures for the local Salesforce emulator (loaded by pyproject's ``-p`` addopts).

* ``sf_emulator`` (function scope): a started :class:`EmulatorServer` with fresh, empty orgs on a
  new free port; ``REQUESTS_CA_BUNDLE`` points at its trust bundle and DNS is limited to loopback
  for the duration of the test.
* ``sf_emulator_session`` (session scope): one shared emulator for read-mostly tests; call
  ``.reset()`` when a test needs empty orgs. Same trust and DNS guard while the session lasts.

The CA, leaf certificate and JWT key pairs are created once per test session in a temporary
directory and reused by every emulator.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sf_emulator.testing import EmulatorServer

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def _is_loopback(host: Any) -> bool:
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def loopback_only_getaddrinfo(
    real_getaddrinfo: Callable[..., Any],
) -> Callable[..., Any]:
    """A ``socket.getaddrinfo`` that refuses to resolve anything but loopback names."""

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            raise socket.gaierror(
                socket.EAI_NONAME, f"emulator tests may not resolve {host!r} (loopback only)"
            )
        return real_getaddrinfo(host, *args, **kwargs)

    return guarded


@pytest.fixture(scope="session")
def sf_emulator_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir per test session: the CA and keys are generated once and reused."""
    return tmp_path_factory.mktemp("sf-emulator")


def _guard(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorServer) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.trust_bundle)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    # Proxy settings from the environment must not divert emulator traffic anywhere.
    for variable in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(socket, "getaddrinfo", loopback_only_getaddrinfo(socket.getaddrinfo))


@pytest.fixture
def sf_emulator(
    sf_emulator_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EmulatorServer]:
    from sf_emulator.testing import EmulatorServer

    with EmulatorServer(data_dir=sf_emulator_data_dir) as emulator:
        _guard(monkeypatch, emulator)
        yield emulator


@pytest.fixture(scope="session")
def sf_emulator_session(sf_emulator_data_dir: Path) -> Iterator[EmulatorServer]:
    from sf_emulator.testing import EmulatorServer

    with (
        EmulatorServer(data_dir=sf_emulator_data_dir) as emulator,
        pytest.MonkeyPatch.context() as patch,
    ):
        _guard(patch, emulator)
        yield emulator
