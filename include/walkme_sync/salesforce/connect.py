"""Connect and disconnect an environment's org: the parts the CLI and the UI page share.

`begin` makes the PKCE pair and the state and returns the authorization URL; whoever receives the
callback (the CLI's loopback server or the UI page's route) passes its query to `complete`, which
checks the state, redeems the code with the verifier and stores the refresh token and instance URL
in the Airflow connection. `disconnect` revokes the token at Salesforce and removes it from the
connection. Nothing here prints or logs a token.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from include.walkme_sync.errors import AuthorizationError, ConfigurationError
from include.walkme_sync.salesforce import connection_store, oauth
from include.walkme_sync.salesforce.connection_store import StoredIn

#: Extras of a previous auth mode that still apply; the rest (passwords, keys) is dropped.
KEPT_EXTRAS = ("proxies", "version")


@dataclass(frozen=True)
class ConnectSettings:
    """Which app signs in to which org, and where the result goes."""

    environment: str
    conn_id: str
    consumer_key: str
    login_url: str
    consumer_secret: str | None = field(default=None, repr=False)
    kept_extras: dict[str, Any] = field(default_factory=dict)

    @property
    def proxies(self) -> dict[str, str] | None:
        return self.kept_extras.get("proxies") or None


@dataclass(frozen=True)
class PendingAuthorization:
    """An authorization in progress: the URL to open and what the callback must match."""

    settings: ConnectSettings
    redirect_uri: str
    url: str
    state: str = field(repr=False)
    pkce: oauth.Pkce = field(repr=False)


@dataclass(frozen=True)
class ConnectResult:
    conn_id: str
    environment: str
    instance_url: str
    stored_in: StoredIn
    connection: dict[str, Any] = field(repr=False)  # holds the refresh token: print on request only


def default_conn_id(environment: str) -> str:
    return f"salesforce_{environment}"


def settings_for(
    environment: str,
    *,
    conn_id: str | None = None,
    consumer_key: str | None = None,
    consumer_secret: str | None = None,
    login_url: str | None = None,
    proxies: dict[str, str] | None = None,
) -> ConnectSettings:
    """Fill what was not given from the existing connection (reconnecting needs no arguments)."""
    if environment not in oauth.LOGIN_HOSTS:
        raise ConfigurationError(
            f"Unknown environment '{environment}'.", action="Use ENV=sandbox or ENV=production."
        )
    conn_id = conn_id or default_conn_id(environment)
    existing = (connection_store.read_connection(conn_id) or {}).get("extra") or {}
    key = consumer_key or existing.get("consumer_key")
    if not key:
        raise ConfigurationError(
            f"No consumer key for connection '{conn_id}'.",
            action=(
                "Pass the External Client App's consumer key (CONSUMER_KEY=... with make connect, "
                "--consumer-key with the script); see the README, 'Connect a Salesforce org'."
            ),
        )
    # `domain` means the login host in every auth mode (`test`, `acme.my`): reuse it.
    domain = existing.get("domain") or None
    kept = {name: existing[name] for name in KEPT_EXTRAS if existing.get(name)}
    if proxies:
        kept["proxies"] = proxies
    return ConnectSettings(
        environment=environment,
        conn_id=conn_id,
        consumer_key=str(key),
        consumer_secret=consumer_secret or existing.get("consumer_secret") or None,
        login_url=oauth.login_url(environment, login_url or domain),
        kept_extras=kept,
    )


def begin(settings: ConnectSettings, redirect_uri: str) -> PendingAuthorization:
    pkce = oauth.Pkce.new()
    state = secrets.token_urlsafe(24)
    url = oauth.authorization_url(
        settings.login_url,
        consumer_key=settings.consumer_key,
        redirect_uri=redirect_uri,
        pkce=pkce,
        state=state,
    )
    return PendingAuthorization(settings, redirect_uri, url, state, pkce)


def _session(proxies: dict[str, str] | None) -> Any:
    import requests

    session = requests.Session()
    if proxies:
        session.proxies.update(proxies)
    return session


def complete(pending: PendingAuthorization, params: Mapping[str, str]) -> ConnectResult:
    """Finish the flow with the callback's query parameters; store the authorization."""
    settings = pending.settings
    if not hmac.compare_digest(params.get("state", ""), pending.state):
        raise AuthorizationError(
            "The Salesforce callback does not belong to this connect attempt (state mismatch).",
            action="Start again with `make connect` and use the link it prints.",
        )
    if params.get("error"):
        raise AuthorizationError(
            f"Salesforce did not authorize the {settings.environment} org: "
            f"{params['error']}: {params.get('error_description', '')}".strip(),
            action="Run `make connect` again and choose Allow on Salesforce's consent page.",
        )
    try:
        tokens = oauth.exchange_code(
            _session(settings.proxies),
            settings.login_url,
            code=params.get("code", ""),
            consumer_key=settings.consumer_key,
            consumer_secret=settings.consumer_secret,
            redirect_uri=pending.redirect_uri,
            pkce=pending.pkce,
        )
    except oauth.OAuthError as exc:
        raise AuthorizationError(
            f"Salesforce refused the authorization code for the {settings.environment} org "
            f"({exc.error}: {exc.description}).",
            action=(
                "Check the External Client App: callback URL, PKCE, the consumer key (and secret "
                "for a confidential app), then run `make connect` again."
            ),
        ) from None
    if not tokens.refresh_token:
        raise AuthorizationError(
            "Salesforce returned no refresh token, so the sync could not run unattended.",
            action="Add the 'refresh_token, offline_access' scope to the External Client App.",
        )
    extra = connection_extras(settings, tokens)
    stored = connection_store.save_extra(settings.conn_id, extra, create=True, clear_login=True)
    return ConnectResult(
        settings.conn_id,
        settings.environment,
        tokens.instance_url,
        stored,
        {"conn_type": "salesforce", "extra": extra},
    )


def connection_extras(settings: ConnectSettings, tokens: oauth.TokenResponse) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "consumer_key": settings.consumer_key,
        "refresh_token": tokens.refresh_token,
        "instance_url": tokens.instance_url,
        **settings.kept_extras,
    }
    if settings.consumer_secret:
        extra["consumer_secret"] = settings.consumer_secret
    host = urlsplit(settings.login_url).hostname or ""
    if host.endswith(".salesforce.com") and host != "login.salesforce.com":
        extra["domain"] = host.removesuffix(".salesforce.com")  # `test` or `acme.my`
    return extra


@dataclass(frozen=True)
class DisconnectResult:
    conn_id: str
    revoked: bool  # False when Salesforce no longer knew the token (already revoked)
    stored_in: StoredIn | None  # None when there was nothing to clear


def disconnect(conn_id: str) -> DisconnectResult:
    """Revoke the stored refresh token at Salesforce and remove it from the connection."""
    connection = connection_store.read_connection(conn_id)
    extra = dict((connection or {}).get("extra") or {})
    token = extra.get("refresh_token")
    if not token:
        return DisconnectResult(conn_id, revoked=False, stored_in=None)
    try:
        revoked = oauth.revoke(_session(extra.get("proxies")), str(extra["instance_url"]), token)
    except oauth.OAuthError as exc:
        raise AuthorizationError(
            f"Salesforce did not revoke the token of connection '{conn_id}' ({exc}).",
            action="Try again later, or revoke it in Salesforce Setup (Connected Apps OAuth "
            "Usage).",
        ) from None
    extra.pop("refresh_token")
    return DisconnectResult(conn_id, revoked, connection_store.save_extra(conn_id, extra))


def connection_json(result: ConnectResult) -> str:
    """The connection for a secrets backend or an `AIRFLOW_CONN_<ID>` variable (holds secrets)."""
    return json.dumps(result.connection)
