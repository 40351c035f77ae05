"""Alerts reach a real SMTP server and real webhook receivers, once per run, with its story."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import free_port
from tests.integration.harness import SyncHarness
from tests.integration.test_sync_dags import seed_leads

pytestmark = pytest.mark.slow


class Inbox:
    """What the local SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    from aiosmtpd.controller import Controller

    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    connection = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "sync@example.com"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(connection))
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[Any]]]:
    """A webhook receiver: POST bodies by path (/slack, /hook)."""
    received: dict[str, list[Any]] = {"/slack": [], "/hook": []}

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.setdefault(self.path, []).append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for name, path in (("ALERT_SLACK", "/slack"), ("ALERT_HOOK", "/hook")):
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{name}", json.dumps({"conn_type": "http", "host": base + path})
        )
    try:
        yield received
    finally:
        server.shutdown()


ALERTS = {
    "email": ["cs-team@example.com"],
    "slack_conn_id": "alert_slack",
    "webhook_conn_id": "alert_hook",
}


def test_a_failed_run_sends_one_email_and_one_webhook_with_the_story(
    harness: SyncHarness, sf_emulator: Any, inbox: Inbox, hooks: dict[str, list[Any]]
) -> None:
    harness.write_config("alerted", {"alerts": ALERTS})
    # The key column is missing: the run fails before anything is written.
    harness.write_export("alerted", [["2026-11-23", 3]], header=["Last Login", "Logins"])

    result = harness.run("alerted")

    assert result.state == "failed"
    (mail,) = inbox.messages
    assert mail["To"] == "cs-team@example.com"
    assert mail["Subject"] == "[WalkMe sync] Login Review -> Lead (sandbox): Failed"
    body = mail.get_payload()[0].get_payload(decode=True).decode()
    assert "Integration: Login Review -&gt; Lead (alerted)" in body
    assert "Environment: sandbox (connection salesforce_sandbox)" in body
    assert "Reason: the extract step failed" in body and "User ID" in body
    assert "/dags/walkme_sync__alerted/runs/" in body
    (hook,) = hooks["/hook"]
    assert (hook["integration"], hook["status"], hook["environment"]) == (
        "alerted",
        "Failed",
        "sandbox",
    )
    assert hook["alert_reasons"] == ["the run failed"]
    assert hook["run_url"].endswith(
        result.summary["dag_run_id"].replace(":", "%3A").replace("+", "%2B")
    )
    (slack,) = hooks["/slack"]
    assert slack["text"].startswith("*[WalkMe sync] Login Review -> Lead (sandbox): Failed*")


def test_a_clean_run_alerts_nobody_and_a_bad_share_of_rows_does(
    harness: SyncHarness, sf_emulator: Any, inbox: Inbox, hooks: dict[str, list[Any]]
) -> None:
    seed_leads(sf_emulator, ["ok@example.com", "bad@example.com"])
    harness.write_config("quiet", {"alerts": ALERTS})
    harness.write_export("quiet", [["ok@example.com", "", "2026-11-23 17:45:10", 12]])
    assert harness.run("quiet").state == "success"
    assert inbox.messages == [] and hooks["/hook"] == [] and hooks["/slack"] == []

    limits = {**ALERTS, "max_problem_share": 0.2}
    harness.write_config("shared", {"alerts": limits, "thresholds": {"max_rejected_rows": 10}})
    harness.write_export(
        "shared",
        [
            ["ok@example.com", "", "2026-11-23 17:45:10", 12],
            ["bad@example.com", "", "2026-11-23 17:45:10", "lots"],
        ],
    )
    result = harness.run("shared")

    assert result.state == "success" and result.summary["rejected"] == 1
    (hook,) = hooks["/hook"]
    assert hook["status"] == "Completed"
    assert hook["alert_reasons"] == [
        "50.0% of the report's rows failed or were rejected (alerts.max_problem_share 20.0%)"
    ]
    assert len(inbox.messages) == 1
