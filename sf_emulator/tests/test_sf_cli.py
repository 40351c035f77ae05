"""Conformance: the official Salesforce CLI (`sf`, npm `@salesforce/cli`) works with the emulator.

The CLI and the Node.js 22 it needs (npm package `node`, which ships the binary) are installed once
with `npm ci` from `sf_cli/package-lock.json` into `var/sf-cli/` and reused. The CLI reaches the
emulator the way it reaches Salesforce behind a corporate proxy: `HTTPS_PROXY` points at the
emulator, which terminates the tunnels to the org's real host names itself, `NODE_EXTRA_CA_CERTS`
trusts its CA, and `SF_DISABLE_DNS_CHECK` stops the CLI from resolving the My Domain in DNS first
(the host exists only behind the proxy). Its own HOME keeps the auth files out of the user's.

The test is skipped only when the npm registry cannot be reached; any other install problem fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from sf_emulator.testing import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path(__file__).parent / "sf_cli"
INSTALL_DIR = ROOT / "var" / "sf-cli"
INSTALL_TIMEOUT_SECONDS = 900
COMMAND_TIMEOUT_SECONDS = 180
# npm's own words for "cannot reach the registry" (DNS, refused, timed out, offline).
_UNREACHABLE = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "ENETUNREACH")


def _lock_digest() -> str:
    return hashlib.sha256((PACKAGE_DIR / "package-lock.json").read_bytes()).hexdigest()[:16]


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed: the sf CLI conformance test needs Node.js and npm")
    return npm


def _registry_unreachable(npm: str) -> str | None:
    """npm's error when the registry cannot be reached, else None."""
    probe = subprocess.run(
        [npm, "ping", "--fetch-timeout=20000", "--fetch-retries=1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = probe.stdout + probe.stderr
    if probe.returncode != 0 and any(code in output for code in _UNREACHABLE):
        return output.strip().splitlines()[-1] if output.strip() else "npm ping failed"
    return None


def install_sf_cli() -> Path:
    """`var/sf-cli/node_modules/.bin/` with `sf` and Node 22, installed once per lock file."""
    marker = INSTALL_DIR / f".installed-{_lock_digest()}"
    bin_dir = INSTALL_DIR / "node_modules" / ".bin"
    if marker.exists() and (bin_dir / "sf").exists() and (bin_dir / "node").exists():
        return bin_dir
    npm = _npm()
    unreachable = _registry_unreachable(npm)
    if unreachable:
        pytest.skip(
            f"the npm registry is unreachable, so the sf CLI cannot be installed: {unreachable}"
        )
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(PACKAGE_DIR / name, INSTALL_DIR / name)
    for old in INSTALL_DIR.glob(".installed-*"):
        old.unlink()
    # The `node` package's install script puts the Node 22 binary in place: scripts must run.
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=INSTALL_DIR,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        output = result.stdout + result.stderr
        if any(code in output for code in _UNREACHABLE):
            pytest.skip(f"the npm registry became unreachable during the install: {output[-300:]}")
        pytest.fail(f"npm ci of the sf CLI failed:\n{output[-2000:]}")
    marker.touch()
    return bin_dir


@dataclass
class SfCli:
    bin_dir: Path
    env: dict[str, str]
    secrets: list[str]

    def run(self, *args: str, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
        """Run `sf ... --json` with the bundled Node 22; the parsed JSON answer (status 0)."""
        result = subprocess.run(
            [str(self.bin_dir / "node"), str(self.bin_dir / "sf"), *args, "--json"],
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
        for secret in self.secrets:
            # Neither the CLI's answer nor its diagnostics may echo a token.
            assert secret not in result.stdout and secret not in result.stderr
        try:
            answer: dict[str, Any] = json.loads(result.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"sf {' '.join(args[:3])} printed no JSON:\n{result.stdout[-2000:]}")
        assert answer.get("status") == 0, json.dumps(answer, indent=1)[-3000:]
        return answer


@pytest.fixture(scope="module")
def emulator(sf_emulator_data_dir: Path) -> Iterator[EmulatorServer]:
    with EmulatorServer(data_dir=sf_emulator_data_dir) as server:
        yield server


@pytest.fixture(scope="module")
def sf(emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> SfCli:
    bin_dir = install_sf_cli()
    home = tmp_path_factory.mktemp("sf-home")
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "HTTPS_PROXY": emulator.proxy_url,
        "HTTP_PROXY": emulator.proxy_url,
        "NO_PROXY": "",
        "NODE_EXTRA_CA_CERTS": emulator.ca_bundle,
        "SF_DISABLE_DNS_CHECK": "true",
        "SF_DISABLE_TELEMETRY": "true",
        "SF_AUTOUPDATE_DISABLE": "true",
        "SF_SKIP_NEW_VERSION_CHECK": "true",
        "SF_HIDE_RELEASE_NOTES": "true",
        "SF_USE_GENERIC_UNIX_KEYCHAIN": "true",
        "SF_CONTENT_TYPE": "JSON",
    }
    return SfCli(bin_dir=bin_dir, env=env, secrets=[])


def _refresh_token(emulator: EmulatorServer, org: str) -> str:
    """A refresh token from the OAuth password grant on the direct address."""
    credentials = emulator.org(org).credentials
    response = requests.post(
        f"{emulator.instance_url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
            "username": credentials["username"],
            "password": credentials["password"],
        },
        timeout=30,
        verify=emulator.trust_bundle,
    )
    response.raise_for_status()
    return str(response.json()["refresh_token"])


def test_sf_cli_logs_in_queries_with_paging_and_moves_data_with_bulk_api_2(
    sf: SfCli, emulator: EmulatorServer, tmp_path: Path
) -> None:
    sandbox = emulator.org("sandbox")
    sandbox.data.generate("Lead", 2300, seed=11)  # more than one 2,000-record query page

    # Access-token login: the token comes from SF_ACCESS_TOKEN, never the command line.
    access_token = emulator.issue_session("sandbox")
    sf.secrets.append(access_token)
    login = sf.run(
        "org", "login", "access-token",
        "--instance-url", sandbox.instance_url, "--alias", "emu-token", "--no-prompt",
        extra_env={"SF_ACCESS_TOKEN": access_token},
    )["result"]  # fmt: skip
    assert (login["orgId"], login["username"]) == (
        sandbox.credentials["org_id"],
        sandbox.credentials["username"],
    )

    # SFDX auth URL login: a refresh-token exchange at the My Domain, then the org's details.
    credentials = sandbox.credentials
    refresh_token = _refresh_token(emulator, "sandbox")
    sf.secrets.extend([refresh_token, credentials["client_secret"]])
    auth_url = tmp_path / "auth-url.txt"
    auth_url.write_text(
        f"force://{credentials['client_id']}:{credentials['client_secret']}:{refresh_token}"
        f"@{credentials['instance_host']}"
    )
    org = sf.run("org", "login", "sfdx-url", "--sfdx-url-file", str(auth_url), "--alias", "emu")
    auth_url.unlink()
    assert org["result"]["isSandbox"] is True
    assert org["result"]["name"] == "WalkMe Demo (UAT)"
    assert org["result"]["orgEdition"] == "Enterprise Edition"
    assert org["result"]["namespacePrefix"] is None

    # REST query with paging (queryMore through nextRecordsUrl) and column metadata.
    calls_before = sandbox.api_calls("query")
    query = sf.run(
        "data", "query", "--target-org", "emu", "--query", "SELECT Id, Email, LastName FROM Lead"
    )["result"]
    assert query["totalSize"] == 2300 and len(query["records"]) == 2300
    assert len({record["Id"] for record in query["records"]}) == 2300
    assert sandbox.api_calls("query") - calls_before >= 3  # columns + two pages

    # Bulk API 2.0 ingest and query.
    upload = tmp_path / "leads.csv"
    upload.write_text(
        "LastName,Company,Email\n"
        "Doe,Acme CLI,jd@cli.example\n"
        'Roe,"Acme CLI",jr@cli.example\n'
        "Poe,Acme CLI,jp@cli.example\n"
    )
    imported = sf.run(
        "data", "import", "bulk",
        "--file", str(upload), "--sobject", "Lead", "--target-org", "emu", "--wait", "5",
    )["result"]  # fmt: skip
    assert (imported["successfulRecords"], imported["failedRecords"]) == (3, 0)
    exported = tmp_path / "export.csv"
    result = sf.run(
        "data", "export", "bulk",
        "--query", "SELECT Email, LastName FROM Lead WHERE Company = 'Acme CLI' ORDER BY Email",
        "--output-file", str(exported), "--target-org", "emu", "--wait", "5",
    )["result"]  # fmt: skip
    assert result["totalSize"] == 3
    rows = exported.read_text().splitlines()
    assert rows == [
        '"Email","LastName"',
        '"jd@cli.example","Doe"',
        '"jp@cli.example","Poe"',
        '"jr@cli.example","Roe"',
    ]
