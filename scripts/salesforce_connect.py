"""`make connect | disconnect | test-connection ENV=...`: authorize an org for the sync.

connect     OAuth 2.0 web-server flow with PKCE for an External Client App: prints (and opens) the
            Salesforce login and consent URL, receives the callback on http://127.0.0.1:<port>/callback,
            redeems the code and stores the refresh token and instance URL in the Airflow
            connection (the metadata database of AIRFLOW_HOME). A connection defined by an
            AIRFLOW_CONN_<ID> variable cannot be written: then, or with --print-connection, the
            connection's JSON is printed for your secrets backend (it holds the refresh token).
disconnect  revokes the stored token at Salesforce and removes it from the connection.
test        logs in, reports the org (name, sandbox or production, API version, daily API usage)
            and whether the integration user can read and update every field each integration
            on that connection maps (field-level security from describe).

The consumer secret of a confidential app is read from SALESFORCE_CONSUMER_SECRET or asked for
(--ask-secret), never taken on the command line. Tokens are never printed unless asked for.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from include.walkme_sync.errors import SyncError  # noqa: E402

DEFAULT_PORT = 1717  # the port Salesforce's own CLI uses for its loopback callback
CALLBACK_PATH = "/callback"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("connect", "disconnect", "test"):
        command = commands.add_parser(name)
        command.add_argument("--env", required=True, choices=["sandbox", "production"])
        command.add_argument("--conn-id", help="Airflow connection (default salesforce_<env>)")
        if name == "connect":
            command.add_argument("--consumer-key", help="the External Client App's consumer key")
            command.add_argument(
                "--ask-secret", action="store_true", help="prompt for the consumer secret"
            )
            command.add_argument(
                "--login-url", help="My Domain URL (default login/test.salesforce.com)"
            )
            command.add_argument("--proxy", help="HTTPS proxy for Salesforce (stored with it)")
            command.add_argument("--port", type=int, default=DEFAULT_PORT)
            command.add_argument("--timeout", type=float, default=300.0, help="seconds to wait")
            command.add_argument("--no-browser", action="store_true", help="only print the URL")
            command.add_argument(
                "--print-connection",
                action="store_true",
                help="print the connection JSON (with the refresh token) for a secrets backend",
            )
        if name == "test":
            command.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser.parse_args(argv)


class CallbackServer(HTTPServer):
    """Receives Salesforce's redirect once, on the loopback interface only."""

    def __init__(self, port: int) -> None:
        self.params: dict[str, str] | None = None
        self.received = threading.Event()
        super().__init__(("127.0.0.1", port), _CallbackHandler)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{CALLBACK_PATH}"


class _CallbackHandler(BaseHTTPRequestHandler):
    server: CallbackServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH or self.server.received.is_set():
            self.send_error(404)
            return
        self.server.params = dict(parse_qsl(parts.query))
        ok = "code" in self.server.params
        body = (
            "<h1>Salesforce connected</h1><p>You can close this tab.</p>"
            if ok
            else "<h1>Salesforce did not authorize the app</h1><p>See the terminal.</p>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.received.set()

    def log_message(self, format: str, *args: Any) -> None:
        return  # the request line holds the authorization code


def consumer_secret(args: argparse.Namespace) -> str | None:
    secret = os.environ.get("SALESFORCE_CONSUMER_SECRET") or None
    if args.ask_secret and not secret:
        secret = getpass.getpass("Consumer secret (empty for a public app): ") or None
    return secret


def run_connect(args: argparse.Namespace) -> int:
    from include.walkme_sync.salesforce import connect

    settings = connect.settings_for(
        args.env,
        conn_id=args.conn_id,
        consumer_key=args.consumer_key or os.environ.get("SALESFORCE_CONSUMER_KEY"),
        consumer_secret=consumer_secret(args),
        login_url=args.login_url,
        proxies={"https": args.proxy} if args.proxy else None,
    )
    server = CallbackServer(args.port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    try:
        pending = connect.begin(settings, server.redirect_uri)
        print(f"Authorize the {args.env} org in your browser (as the integration user):")
        print(f"AUTHORIZE_URL {pending.url}", flush=True)
        if not args.no_browser:
            webbrowser.open(pending.url)
        if not server.received.wait(args.timeout):
            print(f"No callback within {args.timeout:.0f} s; nothing was changed.", file=sys.stderr)
            return 1
        result = connect.complete(pending, server.params or {})
    finally:
        server.shutdown()
        server.server_close()
    print(f"Connected the {result.environment} org at {result.instance_url}.")
    if result.stored_in is connect.StoredIn.PROCESS_ONLY:
        print(
            f"Connection '{result.conn_id}' is defined outside Airflow's database "
            f"(AIRFLOW_CONN_{result.conn_id.upper()} or a secrets backend): put this JSON there:"
        )
        print(connect.connection_json(result))
    else:
        print(f"Stored in connection '{result.conn_id}' ({result.stored_in.value}).")
        if args.print_connection:
            print(connect.connection_json(result))
    print(f"Check it: make test-connection ENV={args.env}" + _conn_arg(args))
    return 0


def run_disconnect(args: argparse.Namespace) -> int:
    from include.walkme_sync.salesforce import connect

    conn_id = args.conn_id or connect.default_conn_id(args.env)
    result = connect.disconnect(conn_id)
    if result.stored_in is None:
        print(f"Connection '{conn_id}' holds no refresh token: nothing to disconnect.")
        return 0
    said = "revoked the token" if result.revoked else "did not know the token (already revoked)"
    print(f"Salesforce {said}; removed it from connection '{conn_id}' ({result.stored_in.value}).")
    if result.stored_in is connect.StoredIn.PROCESS_ONLY:
        print("Remove refresh_token from the connection in your secrets backend too.")
    print(f"Reconnect with: make connect ENV={args.env}" + _conn_arg(args))
    return 0


def run_test(args: argparse.Namespace) -> int:
    from include.walkme_sync.config import load_integrations
    from include.walkme_sync.salesforce import org_check
    from include.walkme_sync.salesforce.client import connect as open_session
    from include.walkme_sync.salesforce.connect import default_conn_id

    conn_id = args.conn_id or default_conn_id(args.env)
    integrations = [c for c in load_integrations().integrations if c.conn_id == conn_id]
    report = org_check.check_connection(open_session(conn_id), integrations)
    print(json.dumps(report.as_dict(), indent=2) if args.json else org_check.render(report))
    if report.org.kind != args.env:
        print(f"Warning: connection '{conn_id}' reaches a {report.org.kind} org, not {args.env}.")
    return 0 if report.ok else 1


def _conn_arg(args: argparse.Namespace) -> str:
    return f" CONN_ID={args.conn_id}" if args.conn_id else ""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # An admin command next to the metadata database, as the API server and `airflow connections`
    # declare themselves: Airflow then resolves connections there too (otherwise only environment
    # variables and secrets backends).
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
    runner = {"connect": run_connect, "disconnect": run_disconnect, "test": run_test}
    try:
        return runner[args.command](args)
    except SyncError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
