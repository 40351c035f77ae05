"""End to end: connect an org through the OAuth web flow, sync, revoke, reconnect, test connection.

`scripts/salesforce_connect.py` (what `make connect` runs) talks to the local Salesforce; a
scripted browser opens the authorization URL it prints (through the emulator's proxy, so the real
login host is used), submits the consent form and follows the redirect to the command's loopback
callback. The first connect runs the command as its own process; later ones call its `main()` in
this process with the scripted browser as `webbrowser.open` (an interpreter start with Airflow
costs ~10 s here). The refresh token lands in the Airflow metadata database, and real DAG runs use
it through the refresh-token hook. No token may show up in any output.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
import webbrowser
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.harness import SyncHarness
from tests.integration.test_sync_dags import assert_buckets_add_up, login_rows, seed_leads

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "salesforce_connect.py"
COMMAND_TIMEOUT = 180


class _FormParser(HTMLParser):
    """The consent page's form: its inputs' names and values."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.action = values.get("action") or ""
        if tag == "input" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


def approve_in_browser(url: str, emulator: Any, org: str, decision: str = "approve") -> str:
    """What a person does in the browser; returns where Salesforce sent them back to."""
    browser = requests.Session()
    browser.proxies = {"https": emulator.proxy_url}  # reach the real login host via the emulator
    page = browser.get(url, timeout=30)
    assert page.status_code == 200 and "Allow Access?" in page.text
    form = _FormParser()
    form.feed(page.text)
    credentials = emulator.org(org).credentials
    answer = browser.post(
        url.split("/services/", maxsplit=1)[0] + form.action,
        data={
            **form.fields,
            "username": credentials["username"],
            "password": credentials["password"],
            "decision": decision,
        },
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302
    callback = answer.headers["Location"]
    # The callback is the command's own loopback server: no proxy.
    requests.get(callback, timeout=30, proxies={"http": "", "https": ""})
    return callback


@dataclass
class CommandRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Cli:
    """The connect command's `main()` in this process; its browser is the scripted one."""

    emulator: Any
    monkeypatch: pytest.MonkeyPatch
    capfd: pytest.CaptureFixture[str]
    outputs: list[str] = field(default_factory=list)

    def run(self, *args: str, env: dict[str, str] | None = None, decision: str = "") -> CommandRun:
        from scripts.salesforce_connect import main

        self.outputs.append("".join(self.capfd.readouterr()))
        with self.monkeypatch.context() as patch:
            patch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")  # main() sets it for itself
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            org = args[args.index("--env") + 1]
            patch.setattr(
                webbrowser,
                "open",
                lambda url: approve_in_browser(url, self.emulator, org, decision or "approve"),
            )
            code = main(list(args))
        captured = self.capfd.readouterr()
        return CommandRun(code, captured.out, captured.err)

    def connect(self, conn_id: str, org: str = "sandbox", decision: str = "approve") -> CommandRun:
        return self.run(
            "connect", "--env", org, "--conn-id", conn_id,
            "--consumer-key", self.emulator.org(org).credentials["client_id"],
            "--proxy", self.emulator.proxy_url, "--port", "0", "--timeout", "60",
            decision=decision,
        )  # fmt: skip


@pytest.fixture
def cli(
    sf_emulator: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> Cli:
    return Cli(sf_emulator, monkeypatch, capfd)


def connect_through_web_flow(
    emulator: Any, conn_id: str, org: str = "sandbox", decision: str = "approve"
) -> CommandRun:
    """`make connect ENV=<org> CONN_ID=<conn_id>` as its own process, with a scripted browser."""
    process = subprocess.Popen(
        [
            sys.executable, str(SCRIPT), "connect", "--env", org, "--conn-id", conn_id,
            "--consumer-key", emulator.org(org).credentials["client_id"],
            "--proxy", emulator.proxy_url, "--port", "0", "--no-browser", "--timeout", "120",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("AUTHORIZE_URL "):
            approve_in_browser(line.split(" ", 1)[1].strip(), emulator, org, decision)
            break
    stdout, stderr = process.communicate(timeout=COMMAND_TIMEOUT)
    return CommandRun(process.returncode, "".join(lines) + stdout, stderr)


def stored_extra(conn_id: str) -> dict[str, Any]:
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.scalar(select(Connection).where(Connection.conn_id == conn_id))
        assert row is not None, f"connection {conn_id} is not in the metadata database"
        assert row.login is None and row.password is None
        return dict(row.extra_dejson)


@pytest.fixture
def conn_id(airflow_db: Path) -> Iterator[str]:
    """A connection id of this test only, removed from the metadata database afterwards."""
    name = f"salesforce_oauth_{uuid.uuid4().hex[:8]}"
    yield name
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(Connection).where(Connection.conn_id == name))


def issued_secrets(emulator: Any) -> list[str]:
    """Every token the local Salesforce handed out so far."""
    tokens = emulator.core.auth.tokens
    return [*tokens.access, *tokens.refresh]


def assert_no_secret(text: str, secrets: list[str]) -> None:
    leaked = [secret[:12] for secret in secrets if secret and secret in text]
    assert not leaked, f"tokens leaked into output: {leaked}"


def logins(count: int, logins_last_30_days: int) -> list[list[Any]]:
    """Report rows for user0..user<count-1>@example.com with the given login count."""
    return [[*row[:3], logins_last_30_days] for row in login_rows(count)]


def lead_logins(emulator: Any) -> dict[str, Any]:
    return {
        lead["Email"]: lead.get("WalkMe_Logins_Last_30_Days__c")
        for lead in emulator.org("sandbox").data.records("Lead")
    }


def test_connect_sync_revoke_reconnect_sync_again(
    harness: SyncHarness, sf_emulator: Any, conn_id: str, cli: Cli
) -> None:
    emails = [f"user{i}@example.com" for i in range(3)]
    seed_leads(sf_emulator, emails)
    harness.write_config("oauth", {"connection_id": conn_id})
    harness.write_export("oauth", login_rows(3))

    connected = connect_through_web_flow(sf_emulator, conn_id)
    assert connected.returncode == 0, connected.output
    assert "Connected the sandbox org at https://walkme-demo--uat.sandbox.my.salesforce.com" in (
        connected.stdout
    )
    extra = stored_extra(conn_id)
    assert extra["instance_url"] == "https://walkme-demo--uat.sandbox.my.salesforce.com"
    assert extra["domain"] == "test"
    assert extra["refresh_token"] in sf_emulator.core.auth.tokens.refresh

    first = harness.run("oauth")
    assert (first.state, first.summary["written"]) == ("success", 3)

    # The Salesforce admin revokes the app's access (Setup > Connected Apps OAuth Usage).
    assert sf_emulator.org("sandbox").revoke_oauth_tokens() == 1
    harness.write_export("oauth", logins(3, 17))
    before = lead_logins(sf_emulator)
    revoked = harness.run("oauth")
    assert revoked.state == "failed" and revoked.summary["status"] == "Failed"
    message = revoked.summary["message"]
    assert "sandbox environment" in message and f"'{conn_id}'" in message
    assert "revoked or has expired" in message
    assert f"make connect ENV=sandbox CONN_ID={conn_id}" in message
    assert lead_logins(sf_emulator) == before  # nothing written
    assert revoked.summary["written"] == 0
    assert_buckets_add_up(revoked.summary)

    reconnected = cli.connect(conn_id)
    assert reconnected.returncode == 0, reconnected.output
    assert stored_extra(conn_id)["refresh_token"] != extra["refresh_token"]
    again = harness.run("oauth")
    assert (again.state, again.summary["written"]) == ("success", 3)

    cli.outputs.append("".join(cli.capfd.readouterr()))  # the DAG runs' logs since
    assert_no_secret(
        connected.output
        + reconnected.output
        + "".join(cli.outputs)
        + json.dumps([first.summary, revoked.summary, again.summary]),
        issued_secrets(sf_emulator),
    )


def test_rotated_refresh_tokens_are_stored_and_expired_sessions_refreshed(
    harness: SyncHarness, sf_emulator: Any, conn_id: str, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    sf_emulator.rotate_refresh_tokens = True
    seed_leads(sf_emulator, [f"user{i}@example.com" for i in range(4)])
    harness.write_config("rotating", {"connection_id": conn_id})
    harness.write_export("rotating", login_rows(4))
    assert cli.connect(conn_id).returncode == 0
    issued = stored_extra(conn_id)["refresh_token"]

    first = harness.run("rotating")
    assert (first.state, first.summary["written"]) == ("success", 4)
    rotated = stored_extra(conn_id)["refresh_token"]
    assert rotated != issued
    assert sf_emulator.core.auth.tokens.org_of_refresh(issued) is None  # the old one is dead

    # A session that expires mid-run (INVALID_SESSION_ID) is refreshed once and the call retried.
    from include.walkme_sync.salesforce.client import connect

    # Outside a task, Airflow looks in the metadata database only in a server process.
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
    session = connect(conn_id)
    sf_emulator.core.expire_sessions("sandbox")
    assert session.sf.query("SELECT Id FROM Lead")["totalSize"] == 4
    assert session.meter.calls_by_kind["login"] == 1  # the refresh (metering starts after login)
    assert stored_extra(conn_id)["refresh_token"] not in (issued, rotated)

    harness.write_export("rotating", logins(4, 25))
    second = harness.run("rotating")
    assert (second.state, second.summary["written"]) == ("success", 4)


def test_disconnect_revokes_at_salesforce_and_a_denied_consent_stores_nothing(
    sf_emulator: Any, conn_id: str, cli: Cli
) -> None:
    denied = cli.connect(conn_id, decision="deny")
    assert denied.returncode == 2
    assert "did not authorize the sandbox org: access_denied" in denied.stderr

    assert cli.connect(conn_id).returncode == 0
    token = stored_extra(conn_id)["refresh_token"]
    disconnected = cli.run("disconnect", "--env", "sandbox", "--conn-id", conn_id)
    assert disconnected.returncode == 0, disconnected.output
    assert "Salesforce revoked the token" in disconnected.stdout
    assert sf_emulator.core.auth.tokens.org_of_refresh(token) is None
    assert "refresh_token" not in stored_extra(conn_id)
    assert_no_secret(denied.output + disconnected.output, issued_secrets(sf_emulator))


def test_test_connection_reports_the_org_and_a_field_the_user_cannot_update(
    harness: SyncHarness, sf_emulator: Any, conn_id: str, cli: Cli
) -> None:
    harness.write_config("checked", {"connection_id": conn_id})
    harness.write_config("other_connection")  # uses salesforce_sandbox: not reported
    assert cli.connect(conn_id).returncode == 0
    sf_emulator.org("sandbox").set_field_access("Lead", "WalkMe_Last_Login__c", "read")
    sf_emulator.org("sandbox").set_field_access("Lead", "WalkMe_First_Login__c", "none")

    env = {"WALKME_SYNC_INTEGRATIONS_DIR": str(harness.integrations)}
    checked = cli.run("test", "--env", "sandbox", "--conn-id", conn_id, "--json", env=env)
    assert checked.returncode == 1, checked.output  # problems found
    # Airflow's own log lines go to stdout before the report.
    report, _ = json.JSONDecoder().raw_decode(checked.stdout[checked.stdout.index("{\n") :])
    org = report["org"]
    assert (org["name"], org["kind"], org["edition"]) == (
        "WalkMe Demo (UAT)",
        "sandbox",
        "Enterprise Edition",
    )
    assert org["username"] == sf_emulator.org("sandbox").credentials["username"]
    assert org["daily_api_limit"] == 100_000 and org["daily_api_used"] >= 1
    assert org["latest_api_version"] == "64.0"
    [integration] = report["integrations"]
    assert integration["id"] == "checked" and not integration["ok"]
    fields = {item["field"]: item for item in integration["fields"]}
    assert fields["Email"]["ok"] and fields["WalkMe_Logins_Last_30_Days__c"]["ok"]
    assert (
        fields["WalkMe_Last_Login__c"] | {"readable": True, "updateable": False, "ok": False}
        == (fields["WalkMe_Last_Login__c"])
    )
    assert not fields["WalkMe_First_Login__c"]["readable"]

    text = cli.run("test", "--env", "sandbox", "--conn-id", conn_id, env=env)
    assert "WalkMe Demo (UAT) (sandbox, Enterprise Edition)" in text.stdout
    assert "Lead.WalkMe_Last_Login__c (mapped): read yes, update NO" in text.stdout
    assert_no_secret(checked.output + text.output, issued_secrets(sf_emulator))
