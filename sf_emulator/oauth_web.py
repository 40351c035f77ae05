"""The OAuth 2.0 web-server flow of the emulator: authorize page, consent, codes, PKCE, identity.

``GET /services/oauth2/authorize`` answers with Salesforce's login + "Allow access?" page as a plain
HTML form; ``POST`` of that form (``decision=approve|deny``) redirects to the app's callback with
``code`` (or ``error=access_denied``) and the caller's ``state``. The code is single-use, lives 15
minutes, and is bound to the client, the redirect URI and the PKCE challenge (S256 only, required,
as an External Client App does by default). The token endpoint's ``authorization_code`` grant
(``AuthService``) checks them with :func:`verify_code`. Identity payloads for
``/services/oauth2/userinfo`` and ``/id/{org}/{user}`` are built here too. HTTP-agnostic.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

if TYPE_CHECKING:
    from sf_emulator.identities import OrgIdentity

CODE_LIFETIME_SECONDS = 15 * 60
#: Parameters the consent form carries back to the POST unchanged.
FLOW_PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
)
_LOOPBACK_CALLBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


@dataclass(frozen=True)
class PendingCode:
    """An authorization code and what it was issued for."""

    org: str
    client_id: str
    redirect_uri: str
    code_challenge: str
    scope: str
    expires_at: float


@dataclass
class AuthorizationCodes:
    """Issued, not yet redeemed authorization codes (thread-safe, single use)."""

    pending: dict[str, PendingCode] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, org: str, params: Mapping[str, str]) -> str:
        code = "aPrx" + secrets.token_urlsafe(48)
        with self.lock:
            self.pending[code] = PendingCode(
                org=org,
                client_id=params.get("client_id", ""),
                redirect_uri=params.get("redirect_uri", ""),
                code_challenge=params.get("code_challenge", ""),
                scope=params.get("scope", "") or "api refresh_token",
                expires_at=time.time() + CODE_LIFETIME_SECONDS,
            )
        return code

    def take(self, code: str) -> PendingCode | None:
        """The code's grant, removed: a second redemption fails like Salesforce's."""
        with self.lock:
            return self.pending.pop(code, None)


@dataclass(frozen=True)
class FlowProblem:
    """Why an authorize request cannot proceed; ``redirect`` when the app may be told."""

    error: str
    description: str
    redirect: bool


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def callback_allowed(redirect_uri: str, registered: frozenset[str]) -> bool:
    """Registered callbacks match exactly; any loopback ``http`` port is a native app's callback."""
    if redirect_uri in registered:
        return True
    parts = urlsplit(redirect_uri)
    return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_CALLBACK_HOSTS


def flow_problem(params: Mapping[str, str], registered: frozenset[str]) -> FlowProblem | None:
    """What is wrong with an authorize request (client already resolved), or None."""
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri or not callback_allowed(redirect_uri, registered):
        return FlowProblem("redirect_uri_mismatch", "redirect_uri must match configuration", False)
    if params.get("response_type") != "code":
        return FlowProblem("unsupported_response_type", "response type not supported", True)
    if not params.get("code_challenge"):
        return FlowProblem("invalid_request", "missing required code challenge", True)
    if params.get("code_challenge_method", "S256") != "S256":
        return FlowProblem("invalid_request", "invalid code challenge method", True)
    return None


def redirect_location(redirect_uri: str, values: Mapping[str, str]) -> str:
    """The callback URL with ``values`` (and no empty ones) added to its query."""
    query = urlencode({key: value for key, value in values.items() if value})
    separator = "&" if "?" in redirect_uri else "?"
    return f"{redirect_uri}{separator}{query}"


def verify_code(pending: PendingCode | None, form: Mapping[str, str]) -> tuple[str, str] | None:
    """(error, description) when a code redemption must be refused, else None."""
    if pending is None:
        return "invalid_grant", "invalid authorization code"
    if pending.expires_at < time.time():
        return "invalid_grant", "expired authorization code"
    if form.get("client_id") != pending.client_id:
        return "invalid_client_id", "client identifier invalid"
    if form.get("redirect_uri") != pending.redirect_uri:
        return "invalid_grant", "redirect_uri must match configuration"
    verifier = form.get("code_verifier", "")
    if not verifier:
        return "invalid_grant", "invalid code verifier"
    if not hmac.compare_digest(s256(verifier), pending.code_challenge):
        return "invalid_grant", "invalid code verifier"
    return None


def consent_page(org: OrgIdentity, params: Mapping[str, str], message: str = "") -> bytes:
    """Salesforce's login then "Allow Access?" screens, as one form a person or a script submits."""
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(params.get(name, ""))}">'
        for name in FLOW_PARAMETERS
    )
    scopes = (params.get("scope") or "api refresh_token").split()
    scope_items = "".join(f"<li>{escape(_SCOPE_TEXT.get(s, s))}</li>" for s in scopes)
    warning = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    username = params.get("login_hint") or org.user.username
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Login | Salesforce</title></head>
<body>
<h1>Allow Access?</h1>
<p>The app is asking to connect to the {escape(org.name)} org <b>{escape(org.instance_host)}</b>
and to:</p>
<ul>{scope_items}</ul>
{warning}
<form id="consent" method="post" action="/services/oauth2/authorize">
{hidden}
<label>Username <input name="username" value="{escape(username)}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</body></html>
"""
    return page.encode()


def error_page(error: str, description: str) -> bytes:
    """The page Salesforce shows when it cannot send the user back to the app."""
    text = f"error={escape(error)}&amp;error_description={escape(description)}"
    return f"<!DOCTYPE html><html><body><p>{text}</p></body></html>".encode()


_SCOPE_TEXT = {
    "api": "Manage user data via APIs (api)",
    "refresh_token": "Perform requests at any time (refresh_token, offline_access)",
    "offline_access": "Perform requests at any time (refresh_token, offline_access)",
    "full": "Full access (full)",
    "id": "Access the identity URL service (id, profile, email, address, phone)",
}


# --- identity ---------------------------------------------------------------------------------


def identity_url(org: OrgIdentity) -> str:
    return f"https://{org.login_host}/id/{org.org_id}/{org.user.user_id}"


def _api_urls(org: OrgIdentity, instance_url: str) -> dict[str, str]:
    base = instance_url.rstrip("/")
    data = f"{base}/services/data/v{{version}}"
    return {
        "enterprise": f"{base}/services/Soap/c/{{version}}/{org.org_id[:15]}",
        "metadata": f"{base}/services/Soap/m/{{version}}/{org.org_id[:15]}",
        "partner": f"{base}/services/Soap/u/{{version}}/{org.org_id[:15]}",
        "rest": f"{data}/",
        "sobjects": f"{data}/sobjects/",
        "search": f"{data}/search/",
        "query": f"{data}/query/",
        "recent": f"{data}/recent/",
        "tooling_soap": f"{base}/services/Soap/T/{{version}}/{org.org_id[:15]}",
        "tooling_rest": f"{data}/tooling/",
        "profile": f"{base}/{org.user.user_id}",
        "feeds": f"{data}/chatter/feeds",
        "groups": f"{data}/chatter/groups",
        "users": f"{data}/chatter/users",
        "feed_items": f"{data}/chatter/feed-items",
        "feed_elements": f"{data}/chatter/feed-elements",
        "custom_domain": base,
    }


def identity(org: OrgIdentity, instance_url: str) -> dict[str, Any]:
    """``GET /id/{org}/{user}`` (the ``id`` of a token response)."""
    user = org.user
    return {
        "id": identity_url(org),
        "asserted_user": True,
        "user_id": user.user_id,
        "organization_id": org.org_id,
        "username": user.username,
        "nick_name": user.username.split("@")[0],
        "display_name": user.display_name,
        "email": user.email,
        "email_verified": True,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "timezone": "GMT",
        "photos": {},
        "status": {"created_date": None, "body": None},
        "urls": _api_urls(org, instance_url),
        "active": True,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "last_modified_date": "2026-01-05T09:00:00.000+0000",
        "is_app_installed": True,
    }


def userinfo(org: OrgIdentity, instance_url: str) -> dict[str, Any]:
    """``GET /services/oauth2/userinfo`` (OpenID Connect names)."""
    user = org.user
    return {
        "sub": identity_url(org),
        "user_id": user.user_id,
        "organization_id": org.org_id,
        "preferred_username": user.username,
        "nickname": user.username.split("@")[0],
        "name": user.display_name,
        "email": user.email,
        "email_verified": True,
        "given_name": user.first_name,
        "family_name": user.last_name,
        "zoneinfo": "GMT",
        "photos": {},
        "profile": f"{instance_url.rstrip('/')}/{user.user_id}",
        "picture": None,
        "address": {},
        "is_salesforce_integration_user": False,
        "urls": _api_urls(org, instance_url),
        "active": True,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "updated_at": "2026-01-05T09:00:00Z",
        "is_app_installed": True,
    }
