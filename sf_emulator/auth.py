"""Logins and tokens of the local Salesforce emulator (the orgs themselves are in ``identities``).

Two independent orgs exist, ``sandbox`` and ``production``. A login is routed to an org the way
a real connection is: through the proxy, the host the client asked for decides
(``test.salesforce.com`` and the sandbox My Domain -> sandbox, ``login.salesforce.com`` and the
production My Domain -> production); on the direct ``127.0.0.1`` address the username decides.

Login flows: SOAP ``login()`` (password + security token, optional LoginScopeHeader organizationId),
OAuth 2.0 token endpoint (password, JWT bearer, client credentials, refresh token with optional
rotation, authorization code + PKCE from the web-server flow of ``oauth_web``), revoke, userinfo
and the identity URL. This
module is HTTP-agnostic: it takes parsed inputs and returns :class:`AuthReply` values the server
writes out. Tokens and passwords are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from xml.etree import ElementTree

import jwt

from sf_emulator import oauth_web, soap_login
from sf_emulator.identities import (
    PRODUCTION_LOGIN_HOST,
    SANDBOX_LOGIN_HOST,
    OrgIdentity,
)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
INVALID_LOGIN_MESSAGE = "Invalid username, password, security token; or user locked out."


@dataclass(frozen=True)
class AuthReply:
    """An HTTP answer produced by a login flow."""

    status: int
    body: bytes
    content_type: str = "application/json;charset=UTF-8"
    location: str | None = None  # a redirect's target

    @classmethod
    def json(cls, status: int, payload: object) -> AuthReply:
        return cls(status, json.dumps(payload).encode())


def oauth_error(error: str, description: str, status: int = 400) -> AuthReply:
    return AuthReply.json(status, {"error": error, "error_description": description})


@dataclass
class AccessToken:
    org: str
    refresh_token: str | None
    issued_at: float


@dataclass
class TokenRegistry:
    """Access and refresh tokens of all orgs (thread-safe)."""

    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, str] = field(default_factory=dict)  # refresh token -> org
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue_access(self, identity: OrgIdentity, refresh_token: str | None = None) -> str:
        # Real session ids start with the org id followed by '!'.
        token = f"{identity.org_id[:15]}!{secrets.token_urlsafe(72)}"
        with self.lock:
            self.access[token] = AccessToken(identity.name, refresh_token, time.time())
        return token

    def issue_refresh(self, identity: OrgIdentity) -> str:
        token = f"5Aep861{secrets.token_urlsafe(60)}"
        with self.lock:
            self.refresh[token] = identity.name
        return token

    def org_of_access(self, token: str) -> str | None:
        with self.lock:
            entry = self.access.get(token)
        return entry.org if entry else None

    def org_of_refresh(self, token: str) -> str | None:
        with self.lock:
            return self.refresh.get(token)

    def revoke(self, token: str) -> bool:
        """Revoke an access or refresh token; a refresh token takes its access tokens with it."""
        with self.lock:
            if self.access.pop(token, None) is not None:
                return True
            if self.refresh.pop(token, None) is None:
                return False
            derived = [key for key, value in self.access.items() if value.refresh_token == token]
            for key in derived:
                del self.access[key]
            return True

    def rotate(self, old: str, identity: OrgIdentity) -> str:
        """A new refresh token replacing ``old``, which stops working (rotation)."""
        new = self.issue_refresh(identity)
        with self.lock:
            self.refresh.pop(old, None)
            for entry in self.access.values():
                if entry.refresh_token == old:
                    entry.refresh_token = new
        return new

    def revoke_org(self, org: str) -> int:
        """Revoke every refresh token of an org and their sessions (Setup > OAuth Usage)."""
        with self.lock:
            doomed = [key for key, value in self.refresh.items() if value == org]
        for token in doomed:
            self.revoke(token)
        return len(doomed)

    def expire_access(self, org: str | None = None) -> int:
        """Invalidate access tokens (refresh tokens stay valid, as after a session timeout)."""
        with self.lock:
            doomed = [key for key, value in self.access.items() if org in (None, value.org)]
            for key in doomed:
                del self.access[key]
        return len(doomed)


@dataclass(frozen=True)
class LoginContext:
    """Where a login request arrived: the host the client asked for and how to reach the org."""

    requested_host: str | None  # the CONNECT host in proxy mode, None on the direct address
    instance_url_for: Callable[[OrgIdentity], str]


class AuthService:
    """Login flows over a fixed set of orgs."""

    def __init__(self, identities: Mapping[str, OrgIdentity]) -> None:
        self.identities = dict(identities)
        self.tokens = TokenRegistry()
        self.codes = oauth_web.AuthorizationCodes()
        # Emulator settings: the External Client App's "refresh token rotation" and its
        # registered callback URLs (loopback http callbacks are always accepted).
        self.rotate_refresh_tokens = False
        self.callback_urls: frozenset[str] = frozenset()

    # --- org routing -------------------------------------------------------------------------

    def org_for_host(self, host: str | None) -> OrgIdentity | None:
        if host is None or host in LOOPBACK_HOSTS:
            return None
        return next((org for org in self.identities.values() if org.serves_host(host)), None)

    def is_known_host(self, host: str) -> bool:
        return self.org_for_host(host) is not None

    def _org_for_login(self, context: LoginContext, username: str) -> OrgIdentity | None:
        """The org a login targets: by host through the proxy, by username on the direct address."""
        by_host = self.org_for_host(context.requested_host)
        if by_host is not None:
            return by_host if by_host.user.username == username else None
        if context.requested_host not in (None, *LOOPBACK_HOSTS):
            return None
        return next(
            (org for org in self.identities.values() if org.user.username == username), None
        )

    def _org_for_client(self, context: LoginContext, client_id: str) -> OrgIdentity | None:
        by_host = self.org_for_host(context.requested_host)
        candidates = [by_host] if by_host else list(self.identities.values())
        return next((org for org in candidates if org.user.client_id == client_id), None)

    # --- SOAP --------------------------------------------------------------------------------

    def soap_login(self, body: bytes, context: LoginContext, api_version: str) -> AuthReply:
        """Partner API ``login()``: password + security token, or organizationId scoping."""
        try:
            fields = soap_login.login_fields(body)
        except ElementTree.ParseError:
            return _soap_fault("INVALID_LOGIN", INVALID_LOGIN_MESSAGE)
        username = fields.get("username", "")
        org = self._org_for_login(context, username)
        if org is None or not soap_login.password_ok(org, fields):
            return _soap_fault("INVALID_LOGIN", INVALID_LOGIN_MESSAGE)
        session_id = self.tokens.issue_access(org)
        return AuthReply(
            200,
            soap_login.login_response(org, session_id, context.instance_url_for(org), api_version),
            "text/xml;charset=UTF-8",
        )

    # --- OAuth 2.0 ---------------------------------------------------------------------------

    def oauth_token(
        self, form: Mapping[str, str], authorization: str | None, context: LoginContext
    ) -> AuthReply:
        grant = form.get("grant_type", "")
        if grant == "password":
            return self._password_grant(form, context)
        if grant == JWT_GRANT:
            return self._jwt_grant(form, context)
        if grant == "client_credentials":
            return self._client_credentials_grant(form, authorization, context)
        if grant == "refresh_token":
            return self._refresh_grant(form, context)
        if grant == "authorization_code":
            return self._code_grant(form, context)
        return oauth_error("unsupported_grant_type", "grant type not supported")

    def _password_grant(self, form: Mapping[str, str], context: LoginContext) -> AuthReply:
        org = self._org_for_client(context, form.get("client_id", ""))
        if org is None:
            return oauth_error("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(form.get("client_secret", ""), org.user.client_secret):
            return oauth_error("invalid_client", "invalid client credentials")
        user = org.user
        # The connected app relaxes IP restrictions, so the token suffix is optional here (it is
        # what simple-salesforce's OAuth password branch sends: the bare password).
        password_ok = form.get("password", "") in (
            user.password,
            user.password + user.security_token,
        )
        if form.get("username") != user.username or not password_ok:
            return oauth_error("invalid_grant", "authentication failure")
        return self._token_response(org, context, with_refresh=True)

    def _jwt_grant(self, form: Mapping[str, str], context: LoginContext) -> AuthReply:
        assertion = form.get("assertion", "")
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return oauth_error("invalid_grant", "invalid assertion")
        org = self._org_for_client(context, str(claims.get("iss", "")))
        if org is None:
            return oauth_error("invalid_client_id", "client identifier invalid")
        problem = _jwt_problem(org, assertion, claims)
        if problem:
            return oauth_error("invalid_grant", problem)
        return self._token_response(org, context, with_refresh=False)

    def _client_credentials_grant(
        self, form: Mapping[str, str], authorization: str | None, context: LoginContext
    ) -> AuthReply:
        client_id, client_secret = _client_credentials(form, authorization)
        host = context.requested_host
        if host in (PRODUCTION_LOGIN_HOST, SANDBOX_LOGIN_HOST):
            # Salesforce only runs this flow on a My Domain.
            return oauth_error("invalid_grant", "request not supported on this domain")
        org = self._org_for_client(context, client_id)
        if org is None:
            return oauth_error("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(client_secret, org.user.client_secret):
            return oauth_error("invalid_client", "invalid client credentials")
        return self._token_response(org, context, with_refresh=False)

    def _refresh_grant(self, form: Mapping[str, str], context: LoginContext) -> AuthReply:
        refresh_token = form.get("refresh_token", "")
        org_name = self.tokens.org_of_refresh(refresh_token)
        org = self.identities.get(org_name) if org_name else None
        by_host = self.org_for_host(context.requested_host)
        if org is None or (by_host is not None and by_host is not org):
            return oauth_error("invalid_grant", "expired access/refresh token")
        if form.get("client_id") != org.user.client_id:
            return oauth_error("invalid_client_id", "client identifier invalid")
        secret = form.get("client_secret")
        if secret is not None and not hmac.compare_digest(secret, org.user.client_secret):
            return oauth_error("invalid_client", "invalid client credentials")
        rotated = self.tokens.rotate(refresh_token, org) if self.rotate_refresh_tokens else None
        access = self.tokens.issue_access(org, refresh_token=rotated or refresh_token)
        payload = _token_payload(org, access, context.instance_url_for(org))
        if rotated:
            payload["refresh_token"] = rotated
        return AuthReply.json(200, payload)

    def _code_grant(self, form: Mapping[str, str], context: LoginContext) -> AuthReply:
        """Redeem an authorization code (web-server flow), PKCE verified."""
        pending = self.codes.take(form.get("code", ""))
        problem = oauth_web.verify_code(pending, form)
        if problem or pending is None:
            return oauth_error(*(problem or ("invalid_grant", "invalid authorization code")))
        org = self.identities[pending.org]
        if self.org_for_host(context.requested_host) not in (None, org):
            return oauth_error("invalid_grant", "invalid authorization code")
        secret = form.get("client_secret")
        if secret is not None and not hmac.compare_digest(secret, org.user.client_secret):
            return oauth_error("invalid_client", "invalid client credentials")
        return self._token_response(org, context, with_refresh=True, scope=pending.scope)

    # --- the authorize page ------------------------------------------------------------------

    def authorize_page(self, params: Mapping[str, str], context: LoginContext) -> AuthReply:
        """``GET /services/oauth2/authorize``: the login + consent form, or where it fails."""
        org = self._org_for_client(context, params.get("client_id", ""))
        if org is None:
            return _html(
                400, oauth_web.error_page("invalid_client_id", "client identifier invalid")
            )
        problem = oauth_web.flow_problem(params, self.callback_urls)
        if problem is not None:
            return _flow_failure(problem, params)
        return _html(200, oauth_web.consent_page(org, params))

    def authorize_decision(self, form: Mapping[str, str], context: LoginContext) -> AuthReply:
        """``POST /services/oauth2/authorize``: the user allowed (after logging in) or denied."""
        org = self._org_for_client(context, form.get("client_id", ""))
        if org is None:
            return _html(
                400, oauth_web.error_page("invalid_client_id", "client identifier invalid")
            )
        problem = oauth_web.flow_problem(form, self.callback_urls)
        if problem is not None:
            return _flow_failure(problem, form)
        redirect_uri, state = form["redirect_uri"], form.get("state", "")
        if form.get("decision") != "approve":
            location = oauth_web.redirect_location(
                redirect_uri,
                {
                    "error": "access_denied",
                    "error_description": "end-user denied authorization",
                    "state": state,
                },
            )
            return AuthReply(302, b"", "text/html", location=location)
        user = org.user
        if form.get("username") != user.username or not hmac.compare_digest(
            form.get("password", ""), user.password
        ):
            page = oauth_web.consent_page(org, form, "Please check your username and password.")
            return _html(200, page)
        code = self.codes.issue(org.name, form)
        location = oauth_web.redirect_location(redirect_uri, {"code": code, "state": state})
        return AuthReply(302, b"", "text/html", location=location)

    # --- identity ----------------------------------------------------------------------------

    def identity_reply(
        self, token: str | None, context: LoginContext, *, openid: bool, path: str = ""
    ) -> AuthReply:
        """``/services/oauth2/userinfo`` (``openid``) or the identity URL ``/id/{org}/{user}``."""
        org_name = self.tokens.org_of_access(token) if token else None
        org = self.identities.get(org_name) if org_name else None
        if org is None:
            return AuthReply(403, b"Bad_OAuth_Token", "text/plain")
        if path and not path.rstrip("/").endswith(f"/{org.org_id}/{org.user.user_id}"):
            return AuthReply(403, b"Bad_Id", "text/plain")
        instance_url = context.instance_url_for(org)
        payload = (
            oauth_web.userinfo(org, instance_url)
            if openid
            else oauth_web.identity(org, instance_url)
        )
        return AuthReply.json(200, payload)

    def _token_response(
        self,
        org: OrgIdentity,
        context: LoginContext,
        *,
        with_refresh: bool,
        scope: str = "api refresh_token",
    ) -> AuthReply:
        refresh_token = self.tokens.issue_refresh(org) if with_refresh else None
        access = self.tokens.issue_access(org, refresh_token=refresh_token)
        payload = _token_payload(org, access, context.instance_url_for(org))
        if refresh_token:
            payload["refresh_token"] = refresh_token
            payload["scope"] = scope
        return AuthReply.json(200, payload)

    def revoke(self, token: str | None) -> AuthReply:
        if not token:
            return oauth_error("unsupported_token_type", "missing token")
        if not self.tokens.revoke(token):
            return oauth_error("invalid_token", "invalid token")
        return AuthReply(200, b"", "text/plain")


# --- helpers ---------------------------------------------------------------------------------


def _html(status: int, body: bytes) -> AuthReply:
    return AuthReply(status, body, "text/html;charset=UTF-8")


def _flow_failure(problem: oauth_web.FlowProblem, params: Mapping[str, str]) -> AuthReply:
    """Back to the app with ``error`` when its callback is trusted, else an error page."""
    if not problem.redirect:
        return _html(400, oauth_web.error_page(problem.error, problem.description))
    location = oauth_web.redirect_location(
        params["redirect_uri"],
        {
            "error": problem.error,
            "error_description": problem.description,
            "state": params.get("state", ""),
        },
    )
    return AuthReply(302, b"", "text/html", location=location)


def _soap_fault(code: str, message: str) -> AuthReply:
    return AuthReply(500, soap_login.fault_body(code, message), "text/xml;charset=UTF-8")


def _client_credentials(form: Mapping[str, str], authorization: str | None) -> tuple[str, str]:
    """Client id and secret from ``Authorization: Basic`` or, failing that, the form."""
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip()).decode()
        except (ValueError, UnicodeDecodeError):
            return "", ""
        client_id, _, client_secret = decoded.partition(":")
        return client_id, client_secret
    return form.get("client_id", ""), form.get("client_secret", "")


def _jwt_problem(org: OrgIdentity, assertion: str, claims: Mapping[str, object]) -> str | None:
    """What is wrong with a JWT bearer assertion for this org, or None when it is acceptable."""
    if org.jwt_certificate_path is None:
        return "invalid assertion"
    from cryptography import x509

    certificate = x509.load_pem_x509_certificate(org.jwt_certificate_path.read_bytes())
    try:
        # simple-salesforce sends exp as a string, which PyJWT's own check rejects: check it here.
        jwt.decode(
            assertion,
            certificate.public_key(),  # type: ignore[arg-type]
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_aud": False},
        )
    except jwt.PyJWTError:
        return "invalid assertion"
    if claims.get("sub") != org.user.username:
        return "user hasn't approved this consumer"
    allowed_audiences = {f"https://{org.login_host}", f"https://{org.instance_host}"}
    if str(claims.get("aud", "")).rstrip("/") not in allowed_audiences:
        return "audience is invalid"
    try:
        expires = float(str(claims.get("exp")))
    except ValueError:
        return "invalid assertion"
    if expires < time.time():
        return "expired authorization code"
    return None


def _token_payload(org: OrgIdentity, access_token: str, instance_url: str) -> dict[str, str]:
    issued_at = str(int(time.time() * 1000))
    identity_url = oauth_web.identity_url(org)
    # Salesforce signs id + issued_at with the client secret; clients may verify it.
    signature = base64.b64encode(
        hmac.new(
            org.user.client_secret.encode(), (identity_url + issued_at).encode(), hashlib.sha256
        ).digest()
    ).decode()
    return {
        "access_token": access_token,
        "instance_url": instance_url.rstrip("/"),
        "id": identity_url,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature,
    }
