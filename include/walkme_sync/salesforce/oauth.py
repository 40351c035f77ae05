"""OAuth 2.0 for an External Client App: web-server flow with PKCE, refresh, revoke.

simple-salesforce (and so `SalesforceHook`) can log in with a password, a JWT or client credentials
but has no authorization-code, refresh-token or revoke call, so these three token-endpoint requests
are made here, on the same `requests` session (proxies, CA bundle, timeout) the hook's client uses.
Everything else still goes through simple-salesforce.

Tokens never leave this module in a message: `TokenResponse`'s repr hides them and `OAuthError`
carries Salesforce's error code and description only.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

if TYPE_CHECKING:
    import requests

#: Scopes the sync needs: the REST/Bulk APIs, and a refresh token to run unattended.
DEFAULT_SCOPES = "api refresh_token"
LOGIN_HOSTS = {"sandbox": "test.salesforce.com", "production": "login.salesforce.com"}
TIMEOUT_SECONDS = (30.0, 60.0)


class OAuthError(Exception):
    """The token endpoint refused a request: Salesforce's `error` and `error_description`."""

    def __init__(self, error: str, description: str, status: int | None = None) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.status = status

    @property
    def revoked_or_expired(self) -> bool:
        """The stored authorization no longer works: only reconnecting helps."""
        return self.error in {"invalid_grant", "inactive_user", "inactive_org"}


@dataclass(frozen=True)
class Pkce:
    """A PKCE pair: the verifier stays with the client, the S256 challenge goes to Salesforce."""

    verifier: str = field(repr=False)
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(64)  # 86 characters, within RFC 7636's 43..128
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


@dataclass(frozen=True)
class TokenResponse:
    """What the token endpoint answered (secrets hidden from repr)."""

    access_token: str = field(repr=False)
    instance_url: str
    identity_url: str
    refresh_token: str | None = field(default=None, repr=False)
    scope: str = ""

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> TokenResponse:
        return cls(
            access_token=str(payload["access_token"]),
            instance_url=str(payload["instance_url"]).rstrip("/"),
            identity_url=str(payload.get("id", "")),
            refresh_token=payload.get("refresh_token") or None,
            scope=str(payload.get("scope", "")),
        )


def login_url(environment: str, my_domain: str | None = None) -> str:
    """`https://test.salesforce.com` / `https://login.salesforce.com`, or the org's My Domain.

    `my_domain` may be a full URL, a host (`acme.my.salesforce.com`) or a simple-salesforce
    `domain` (`acme.my`, `test`, `login`).
    """
    if my_domain:
        value = my_domain.strip().rstrip("/")
        if "://" in value:
            return value
        host = value if "." in value and value.endswith(".com") else f"{value}.salesforce.com"
        return f"https://{host}"
    try:
        return f"https://{LOGIN_HOSTS[environment]}"
    except KeyError:
        raise ValueError(
            f"environment must be sandbox or production, not {environment!r}"
        ) from None


def authorization_url(
    base_url: str,
    *,
    consumer_key: str,
    redirect_uri: str,
    pkce: Pkce,
    state: str,
    scope: str = DEFAULT_SCOPES,
    login_hint: str | None = None,
) -> str:
    """The URL of Salesforce's login and consent page for this flow."""
    params = {
        "response_type": "code",
        "client_id": consumer_key,
        "redirect_uri": redirect_uri,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "state": state,
        "scope": scope,
    }
    if login_hint:
        params["login_hint"] = login_hint
    return f"{base_url.rstrip('/')}/services/oauth2/authorize?{urlencode(params)}"


def _token_request(session: requests.Session, base_url: str, form: dict[str, str]) -> TokenResponse:
    response = session.post(
        f"{base_url.rstrip('/')}/services/oauth2/token", data=form, timeout=TIMEOUT_SECONDS
    )
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if response.status_code != 200 or "access_token" not in payload:
        raise OAuthError(
            str(payload.get("error") or f"HTTP {response.status_code}"),
            str(payload.get("error_description") or ""),
            response.status_code,
        )
    return TokenResponse.from_json(payload)


def exchange_code(
    session: requests.Session,
    base_url: str,
    *,
    code: str,
    consumer_key: str,
    consumer_secret: str | None,
    redirect_uri: str,
    pkce: Pkce,
) -> TokenResponse:
    """Redeem an authorization code (with the PKCE verifier) for access and refresh tokens."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": consumer_key,
        "redirect_uri": redirect_uri,
        "code_verifier": pkce.verifier,
    }
    if consumer_secret:
        form["client_secret"] = consumer_secret
    return _token_request(session, base_url, form)


def refresh_access_token(
    session: requests.Session,
    base_url: str,
    *,
    refresh_token: str,
    consumer_key: str,
    consumer_secret: str | None,
) -> TokenResponse:
    """A new access token; `refresh_token` of the answer is set when the app rotates them."""
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": consumer_key,
    }
    if consumer_secret:
        form["client_secret"] = consumer_secret
    return _token_request(session, base_url, form)


def revoke(session: requests.Session, base_url: str, token: str) -> bool:
    """Revoke a refresh (or access) token; False when Salesforce no longer knew it."""
    response = session.post(
        f"{base_url.rstrip('/')}/services/oauth2/revoke",
        data={"token": token},
        timeout=TIMEOUT_SECONDS,
    )
    if response.status_code == 200:
        return True
    try:
        error = response.json()
    except ValueError:
        error = {}
    if error.get("error") in {"invalid_token", "unsupported_token_type"}:
        return False
    raise OAuthError(
        str(error.get("error") or f"HTTP {response.status_code}"),
        str(error.get("error_description") or ""),
        response.status_code,
    )


def instance_host(instance_url: str) -> str:
    """`host[:port]`, the way simple-salesforce keeps `sf_instance`."""
    parts = urlsplit(instance_url)
    host = parts.hostname or ""
    return f"{host}:{parts.port}" if parts.port not in (None, 443) else host


def environment_of(instance_url: str, domain: str | None) -> str:
    """`sandbox` or `production`, from the connection's login domain or sandbox My Domain."""
    host = urlsplit(instance_url).hostname or ""
    if (domain or "").strip().lower() in {"test", "test.salesforce.com"}:
        return "sandbox"
    return "sandbox" if ".sandbox." in host or ".sandbox." in (domain or "") else "production"
