"""The "Salesforce Connect" admin page: connect, disconnect and test each environment's org.

The same flow as `make connect` (`salesforce.connect`), with the API server receiving Salesforce's
callback at `<page>/callback` instead of a loopback port. The Connect form opens Salesforce in
the whole window (`target=_top`): Salesforce's pages refuse to be shown inside the UI's frame.
Authorizations in progress (state, PKCE verifier) are kept in this process's memory for 15
minutes: with several API server workers the callback may reach another one, which then asks to
start again. The page shows no token or secret.
Used by `plugins/salesforce_connect_plugin.py`; testable without a server.
"""

from __future__ import annotations

import html
import threading
import time
from dataclasses import dataclass
from typing import Any

from include.walkme_sync.salesforce import connect

PENDING_SECONDS = 15 * 60
ENVIRONMENTS = ("sandbox", "production")


@dataclass(frozen=True)
class EnvironmentStatus:
    environment: str
    conn_id: str
    mode: str  # "refresh token", "JWT bearer", ..., or "not configured"
    instance_url: str
    consumer_key: str


class PendingAuthorizations:
    """Authorizations started on this page, by state, until their callback or expiry."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[float, connect.PendingAuthorization]] = {}
        self._lock = threading.Lock()

    def add(self, pending: connect.PendingAuthorization) -> None:
        with self._lock:
            now = time.monotonic()
            self._pending = {k: v for k, v in self._pending.items() if v[0] > now}
            self._pending[pending.state] = (now + PENDING_SECONDS, pending)

    def take(self, state: str) -> connect.PendingAuthorization | None:
        with self._lock:
            entry = self._pending.pop(state, None)
        return entry[1] if entry and entry[0] > time.monotonic() else None


def auth_mode(connection: dict[str, Any] | None) -> str:
    """How a Salesforce connection signs in (as `SalesforceHook` and our subclass decide)."""
    if not connection:
        return "not configured"
    extra = connection.get("extra") or {}
    if extra.get("refresh_token"):
        return "refresh token (connected)"
    if extra.get("private_key") or extra.get("private_key_file_path"):
        return "JWT bearer"
    if connection.get("login") and connection.get("password"):
        return "username + password"
    if extra.get("consumer_key") and extra.get("consumer_secret"):
        return "client credentials"
    if extra.get("consumer_key"):
        return "disconnected (consumer key kept)"
    return "incomplete"


def environment_statuses() -> list[EnvironmentStatus]:
    statuses = []
    for environment in ENVIRONMENTS:
        conn_id = connect.default_conn_id(environment)
        connection = connect.connection_store.read_connection(conn_id)
        extra = (connection or {}).get("extra") or {}
        statuses.append(
            EnvironmentStatus(
                environment=environment,
                conn_id=conn_id,
                mode=auth_mode(connection),
                instance_url=str(extra.get("instance_url") or ""),
                consumer_key=str(extra.get("consumer_key") or ""),
            )
        )
    return statuses


_STYLE = """
 body { font-family: system-ui, sans-serif; margin: 1.5rem; max-width: 60rem; }
 section { border: 1px solid #ddd; border-radius: 6px; padding: .8rem 1rem; margin-bottom: 1rem; }
 label { display: block; margin: .3rem 0; } input[type=text], input[type=password] { width: 28rem; }
 form { display: inline-block; margin-right: 1rem; vertical-align: top; }
 .ok { color: #137333; } .error { color: #b3261e; font-weight: 600; }
 pre { background: #f4f4f6; padding: .8rem; white-space: pre-wrap; }
"""


def page(
    statuses: list[EnvironmentStatus],
    message: str = "",
    error: bool = False,
    callback_url: str = "",
) -> str:
    """The whole page; `message` (plain text) is shown on top."""
    esc = html.escape
    notice = f"<pre class='{'error' if error else 'ok'}'>{esc(message)}</pre>" if message else ""
    sections = "\n".join(_section(status) for status in statuses)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Salesforce Connect</title><style>{_STYLE}</style></head>
<body><h2>Salesforce Connect</h2>
<p>Authorize each environment's org with an External Client App (OAuth 2.0 with PKCE, scopes
<code>api refresh_token</code>), signing in as the integration user. The app's callback URLs must
include <code>{esc(callback_url) or "this page's callback address"}</code>.</p>
{notice}{sections}</body></html>"""


def _section(status: EnvironmentStatus) -> str:
    esc = html.escape
    env = esc(status.environment)
    where = f" at {esc(status.instance_url)}" if status.instance_url else ""
    hidden = f'<input type="hidden" name="environment" value="{env}">'
    return f"""<section><h3>{env.title()} (connection <code>{esc(status.conn_id)}</code>)</h3>
<p>Sign-in: {esc(status.mode)}{where}</p>
<form method="post" action="connect" target="_top">{hidden}
<label>Consumer key <input type="text" name="consumer_key" value="{esc(status.consumer_key)}"
 required></label>
<label>Consumer secret (confidential apps only) <input type="password" name="consumer_secret"
 autocomplete="off"></label>
<label>My Domain URL (optional) <input type="text" name="login_url"
 placeholder="https://acme.my.salesforce.com"></label>
<button type="submit">Connect {env}</button></form>
<form method="post" action="test">{hidden}<button type="submit">Test connection</button></form>
<form method="post" action="disconnect">{hidden}<button type="submit">Disconnect</button></form>
</section>"""
