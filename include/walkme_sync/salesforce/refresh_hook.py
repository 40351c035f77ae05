"""`SalesforceHook` that also signs in with a stored OAuth refresh token (web-server flow).

A connection made by `make connect` (or the UI's Connect page) holds, in its extras,
`refresh_token`, `consumer_key` (and `consumer_secret` for a confidential app), `instance_url`,
and optionally `domain` and `proxies`. Any other connection (password, JWT bearer, client
credentials, direct session) goes to `SalesforceHook` unchanged.

With a refresh token the hook asks the org's token endpoint for an access token and builds the
simple-salesforce client on it as a direct session. It installs the same exchange as the client's
re-login function, so simple-salesforce's own `INVALID_SESSION_ID` handling (and the writers' Bulk
re-login) refresh an expired session and retry. When Salesforce rotates refresh tokens, the new
one is stored back into the connection (`connection_store`) before it is used. A refresh token
Salesforce no longer accepts (revoked in Setup, disconnected, expired by policy) raises
`AuthorizationRevoked`, which `errors.translate` turns into the "reconnect" message.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.salesforce.hooks.salesforce import SalesforceHook

from include.walkme_sync.salesforce import connection_store, oauth
from include.walkme_sync.salesforce.errors import AuthorizationRevoked

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefreshSettings:
    """The connection's refresh-token extras (secrets hidden from repr)."""

    conn_id: str
    consumer_key: str
    instance_url: str
    refresh_token: str = field(repr=False)
    consumer_secret: str | None = field(default=None, repr=False)
    domain: str | None = None
    proxies: dict[str, str] | None = None
    version: str | None = None

    @property
    def environment(self) -> str:
        return oauth.environment_of(self.instance_url, self.domain)

    @classmethod
    def from_extras(cls, conn_id: str, extras: dict[str, Any]) -> RefreshSettings:
        missing = [name for name in ("consumer_key", "instance_url") if not extras.get(name)]
        if missing:
            raise ValueError(
                f"connection '{conn_id}' holds a refresh token but no {' or '.join(missing)}"
            )
        return cls(
            conn_id=conn_id,
            consumer_key=str(extras["consumer_key"]),
            instance_url=str(extras["instance_url"]).rstrip("/"),
            refresh_token=str(extras["refresh_token"]),
            consumer_secret=extras.get("consumer_secret") or None,
            domain=extras.get("domain") or None,
            proxies=extras.get("proxies") or None,
            version=extras.get("version") or None,
        )


class RefreshTokenSalesforceHook(SalesforceHook):
    """`SalesforceHook` plus refresh-token connections; see the module doc."""

    hook_name = "Salesforce (refresh token)"

    @cached_property
    def conn(self) -> Any:
        connection = self.get_connection(self.conn_id)
        extras = connection.extra_dejson
        if not self._get_field(extras, "refresh_token") or self.session_id:
            return SalesforceHook.conn.func(self)  # type: ignore[attr-defined]
        return RefreshTokenLogin(RefreshSettings.from_extras(self.conn_id, extras)).client()


class RefreshTokenLogin:
    """Exchanges the refresh token; keeps the newest one when Salesforce rotates it."""

    def __init__(self, settings: RefreshSettings) -> None:
        import requests

        self.settings = settings
        self.session: requests.Session = requests.Session()
        if settings.proxies:
            self.session.proxies.update(settings.proxies)
        self._lock = threading.Lock()

    def client(self) -> Any:
        """A simple-salesforce client on a fresh access token, able to refresh itself."""
        from simple_salesforce import Salesforce
        from simple_salesforce.api import DEFAULT_API_VERSION

        access_token, _ = self.exchange()
        sf = Salesforce(
            session_id=access_token,
            instance_url=self.settings.instance_url,
            version=self.settings.version or DEFAULT_API_VERSION,
            session=self.session,
        )
        # simple-salesforce calls this on INVALID_SESSION_ID (REST) and our writers on a Bulk 401.
        sf._salesforce_login_partial = functools.partial(self.exchange)
        sf.auth_type = "refresh-token"
        return sf

    def exchange(self) -> tuple[str, str]:
        """(access token, instance host) from the refresh token: simple-salesforce's login shape."""
        with self._lock:  # one exchange at a time: a rotated token must not be used twice
            settings = self.settings
            try:
                tokens = oauth.refresh_access_token(
                    self.session,
                    settings.instance_url,
                    refresh_token=settings.refresh_token,
                    consumer_key=settings.consumer_key,
                    consumer_secret=settings.consumer_secret,
                )
            except oauth.OAuthError as exc:
                if exc.revoked_or_expired or exc.error.startswith("invalid_client"):
                    raise AuthorizationRevoked(
                        settings.conn_id, settings.environment, exc.error, exc.description
                    ) from None
                raise
            if tokens.refresh_token and tokens.refresh_token != settings.refresh_token:
                self._store_rotated(tokens.refresh_token)
            if tokens.instance_url != settings.instance_url:
                # The org moved (instance refresh, My Domain change): follow it.
                self.settings = replace(self.settings, instance_url=tokens.instance_url)
            return tokens.access_token, oauth.instance_host(tokens.instance_url)

    def _store_rotated(self, new_token: str) -> None:
        """Salesforce rotated the refresh token: the old one is dead, store the new one now."""
        self.settings = replace(self.settings, refresh_token=new_token)
        current = connection_store.read_connection(self.settings.conn_id) or {}
        extra = dict(current.get("extra") or {})
        extra["refresh_token"] = new_token
        stored = connection_store.save_extra(self.settings.conn_id, extra)
        if stored is connection_store.StoredIn.PROCESS_ONLY:
            log.warning(
                "Salesforce rotated the refresh token of connection '%s', but the connection is "
                "defined where Airflow cannot write (environment variable or secrets backend): "
                "update it there, or turn refresh-token rotation off in the External Client App. "
                "Until then the next run will need `make connect ENV=%s CONN_ID=%s`.",
                self.settings.conn_id,
                self.settings.environment,
                self.settings.conn_id,
            )
        else:
            log.info(
                "Salesforce rotated the refresh token of connection '%s'; stored in %s.",
                self.settings.conn_id,
                stored.value,
            )
