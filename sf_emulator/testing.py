"""Run the emulator in-process, for tests, benchmarks and the CLI.

    with EmulatorServer() as emulator:
        os.environ["REQUESTS_CA_BUNDLE"] = emulator.trust_bundle
        conn = emulator.airflow_connection_json("sandbox")   # -> AIRFLOW_CONN_SALESFORCE_SANDBOX
        emulator.org("sandbox").data.generate("Lead", 1000, seed=1)

Connections are what a user configures for a REAL org, plus one ``proxies`` extra pointing at the
emulator: the client keeps talking to ``test.salesforce.com`` / ``*.my.salesforce.com`` and the
emulator terminates those tunnels (see ``server.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from sf_emulator.faults import FaultInjector
from sf_emulator.http_server import EmulatorHTTPServer, serve_in_thread
from sf_emulator.runtime import DEFAULT_DAILY_LIMIT, OrgRuntime
from sf_emulator.server import EmulatorCore
from sf_emulator.store import OrgData

AUTH_KINDS = ("password", "oauth_password", "jwt", "client_credentials", "session")


@dataclass
class OrgHandle:
    """One org of a running emulator: its data, credentials and API-call counters."""

    runtime: OrgRuntime
    _core: EmulatorCore

    @property
    def name(self) -> str:
        return self.runtime.name

    @property
    def data(self) -> OrgData:
        return self.runtime.data

    @property
    def credentials(self) -> dict[str, Any]:
        """username, password, security_token, client_id, client_secret, domain, my_domain,
        instance_host, org_id, private_key_path, certificate_path."""
        return self._core.credentials(self.name)

    @property
    def instance_url(self) -> str:
        """Where the org lives for clients that come through the proxy."""
        return f"https://{self.runtime.identity.instance_host}"

    def revoke_oauth_tokens(self) -> int:
        """The org's admin revokes every OAuth authorization (refresh tokens and their sessions)."""
        return self._core.auth.tokens.revoke_org(self.name)

    def set_field_access(self, object_name: str, field_name: str, level: str) -> None:
        """Field-level security of the integration user: ``edit``, ``read`` (not updateable in
        describe) or ``none`` (absent from describe)."""
        self._core.set_field_access(self.name, f"{object_name}.{field_name}", level)

    def api_calls(self, kind: str | None = None) -> int:
        """Authenticated API calls served (rest, query, describe, composite, bulk2, bulk1)."""
        return self.runtime.usage.calls(kind)

    def reset_api_calls(self) -> None:
        self.runtime.usage.reset()

    @property
    def api_usage(self) -> int:
        """What ``Sforce-Limit-Info`` reports as used."""
        return self.runtime.usage.used

    @property
    def daily_limit(self) -> int:
        return self.runtime.usage.daily_limit

    @daily_limit.setter
    def daily_limit(self, value: int) -> None:
        self.runtime.usage.daily_limit = value


class EmulatorServer:
    """A started-on-demand emulator on 127.0.0.1 (one port: HTTPS, CONNECT proxy, admin)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: Path | str | None = None,
        daily_limit: int = DEFAULT_DAILY_LIMIT,
    ) -> None:
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the emulator listens on the loopback address only")
        self._address = ("127.0.0.1", port)
        self.core = EmulatorCore(Path(data_dir) if data_dir else None, daily_limit=daily_limit)
        self._server: EmulatorHTTPServer | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> EmulatorServer:
        if self._server is None:
            self._server = EmulatorHTTPServer(self._address, self.core)
            serve_in_thread(self._server)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_open_connections()
        server.server_close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- addresses and trust ------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self.core.port

    @property
    def instance_url(self) -> str:
        """``https://127.0.0.1:PORT``: the direct address (no trailing slash)."""
        return self.core.direct_url

    @property
    def proxy_url(self) -> str:
        return self.core.proxy_url

    @property
    def admin_url(self) -> str:
        return f"{self.core.proxy_url}/__emulator"

    @property
    def ca_bundle(self) -> str:
        """The test CA alone (PEM)."""
        return str(self.core.tls.ca_cert)

    @property
    def trust_bundle(self) -> str:
        """The test CA plus the machine's usual bundle: the value for ``REQUESTS_CA_BUNDLE``."""
        return str(self.core.tls.trust_bundle)

    # --- orgs, faults, sessions ---------------------------------------------------------------

    def org(self, name: str) -> OrgHandle:
        return OrgHandle(self.core.org(name), self.core)

    @property
    def faults(self) -> FaultInjector:
        """Scriptable faults (5xx, slow, dropped connections, failed jobs, locks, quotas)."""
        return self.core.faults

    @property
    def rotate_refresh_tokens(self) -> bool:
        """The connected app's refresh-token rotation: each refresh answers a new refresh token
        and the one used stops working."""
        return self.core.auth.rotate_refresh_tokens

    @rotate_refresh_tokens.setter
    def rotate_refresh_tokens(self, value: bool) -> None:
        self.core.auth.rotate_refresh_tokens = value

    def register_callback_url(self, url: str) -> None:
        """Add a callback URL to the connected apps (loopback ``http`` ones need none)."""
        self.core.auth.callback_urls = self.core.auth.callback_urls | {url}

    def issue_session(self, org: str) -> str:
        """A valid access token of ``org``, for ``Salesforce(instance_url=..., session_id=...)``."""
        return self.core.issue_session(org)

    def reset(self) -> None:
        self.core.reset()

    def info(self) -> dict[str, Any]:
        return self.core.info()

    # --- Airflow connections ------------------------------------------------------------------

    def airflow_connection(self, org: str, auth: str = "password") -> dict[str, Any]:
        """A ``salesforce`` connection exactly as configured for a real org, plus ``proxies``.

        auth: ``password`` (username + password + security token, SOAP login), ``oauth_password``
        (connected app + username/password), ``jwt`` (connected app + private key file),
        ``client_credentials`` (connected app on the org's My Domain), or ``session``: only the
        direct ``instance_url`` extra, because a session id is not a connection field; pass it as
        ``SalesforceHook(salesforce_conn_id=..., session_id=emulator.issue_session(org))``.
        """
        credentials = self.core.credentials(org)
        if auth == "session":
            return {"conn_type": "salesforce", "extra": {"instance_url": self.instance_url}}
        extra: dict[str, Any] = {}
        connection: dict[str, Any] = {"conn_type": "salesforce"}
        if auth in ("password", "oauth_password", "jwt"):
            connection["login"] = credentials["username"]
        if auth in ("password", "oauth_password"):
            connection["password"] = credentials["password"]
        if auth == "password":
            extra["security_token"] = credentials["security_token"]
        if auth in ("oauth_password", "jwt", "client_credentials"):
            extra["consumer_key"] = credentials["client_id"]
        if auth in ("oauth_password", "client_credentials"):
            extra["consumer_secret"] = credentials["client_secret"]
        if auth == "jwt":
            extra["private_key_file_path"] = credentials["private_key_path"]
        if auth not in AUTH_KINDS:
            raise ValueError(f"auth must be one of {AUTH_KINDS}, not {auth!r}")
        domain = credentials["my_domain"] if auth == "client_credentials" else credentials["domain"]
        if domain != "login":  # production's default domain is left out, as users do
            extra["domain"] = domain
        extra["proxies"] = {"https": self.proxy_url}
        connection["extra"] = extra
        return connection

    def airflow_connection_json(self, org: str, auth: str = "password") -> str:
        """The connection as JSON, the value for an ``AIRFLOW_CONN_<ID>`` environment variable."""
        return json.dumps(self.airflow_connection(org, auth))
