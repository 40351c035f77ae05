"""Orgs, demo users, logins and tokens of the local Salesforce emulator.

Two independent orgs exist, ``sandbox`` and ``production``. A login is routed to an org the way
a real connection is: through the proxy, the host the client asked for decides
(``test.salesforce.com`` and the sandbox My Domain -> sandbox, ``login.salesforce.com`` and the
production My Domain -> production); on the direct ``127.0.0.1`` address the username decides.

Login flows: SOAP ``login()`` (password + security token, optional LoginScopeHeader organizationId),
OAuth 2.0 token endpoint (password, JWT bearer, client credentials, refresh token) and revoke. This
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
from dataclasses import dataclass, field, replace
from html import escape
from pathlib import Path
from xml.etree import ElementTree

import jwt

from sf_emulator.ca import generate_rsa_key_pair

SANDBOX = "sandbox"
PRODUCTION = "production"
ORG_NAMES = (SANDBOX, PRODUCTION)
PRODUCTION_LOGIN_HOST = "login.salesforce.com"
SANDBOX_LOGIN_HOST = "test.salesforce.com"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
INVALID_LOGIN_MESSAGE = "Invalid username, password, security token; or user locked out."


@dataclass(frozen=True)
class DemoUser:
    """The one integration user of an org and its connected app."""

    username: str
    password: str
    security_token: str
    client_id: str
    client_secret: str
    user_id: str


@dataclass(frozen=True)
class OrgIdentity:
    """Who an org is: id, hosts, user, and the certificate registered for the JWT flow."""

    name: str
    org_id: str
    login_host: str
    instance_host: str
    user: DemoUser
    jwt_private_key_path: Path | None = None
    jwt_certificate_path: Path | None = None

    @property
    def is_sandbox(self) -> bool:
        return self.login_host == SANDBOX_LOGIN_HOST

    @property
    def my_domain(self) -> str:
        """The ``domain`` a simple-salesforce / Airflow connection uses to reach the My Domain."""
        return self.instance_host.removesuffix(".salesforce.com")

    @property
    def login_domain(self) -> str:
        """``test`` for sandboxes, ``login`` for production (the connection's ``domain``)."""
        return self.login_host.removesuffix(".salesforce.com")

    def serves_host(self, host: str) -> bool:
        return host in (self.login_host, self.instance_host)


def default_identities() -> dict[str, OrgIdentity]:
    """Deterministic demo orgs, so docs, the CLI and tests can name the credentials."""
    return {
        SANDBOX: OrgIdentity(
            name=SANDBOX,
            org_id="00D0U000000WkSbUAK",
            login_host=SANDBOX_LOGIN_HOST,
            instance_host="walkme-demo--uat.sandbox.my.salesforce.com",
            user=DemoUser(
                username="demo@walkme-sandbox.example",
                password="Sandbox-Demo-Pass-1",
                security_token="SbxDemoSecurityToken01",
                client_id="3MVG9EmulatorSandboxConnectedAppClientId",
                client_secret="SANDBOX0EMULATOR0CLIENT0SECRET01",
                user_id="0050U000000WkSbQAK",
            ),
        ),
        PRODUCTION: OrgIdentity(
            name=PRODUCTION,
            org_id="00D5e000000WkPrEAK",
            login_host=PRODUCTION_LOGIN_HOST,
            instance_host="walkme-demo.my.salesforce.com",
            user=DemoUser(
                username="demo@walkme-prod.example",
                password="Production-Demo-Pass-1",
                security_token="PrdDemoSecurityToken01",
                client_id="3MVG9EmulatorProductionConnectedAppClientId",
                client_secret="PRODUCTION0EMULATOR0CLIENT0SECRET",
                user_id="0055e000000WkPrAAK",
            ),
        ),
    }


def with_jwt_keys(identity: OrgIdentity, data_dir: Path) -> OrgIdentity:
    """Attach (creating once) the org's JWT key pair: the private key is the client's half."""
    key_path = data_dir / f"jwt-{identity.name}-key.pem"
    cert_path = data_dir / f"jwt-{identity.name}-cert.pem"
    generate_rsa_key_pair(key_path, cert_path, f"{identity.name} connected app")
    return replace(identity, jwt_private_key_path=key_path, jwt_certificate_path=cert_path)


@dataclass(frozen=True)
class AuthReply:
    """An HTTP answer produced by a login flow."""

    status: int
    body: bytes
    content_type: str = "application/json;charset=UTF-8"

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
            fields = _soap_login_fields(body)
        except ElementTree.ParseError:
            return _soap_fault("INVALID_LOGIN", INVALID_LOGIN_MESSAGE)
        username = fields.get("username", "")
        org = self._org_for_login(context, username)
        if org is None or not _soap_password_ok(org, fields):
            return _soap_fault("INVALID_LOGIN", INVALID_LOGIN_MESSAGE)
        session_id = self.tokens.issue_access(org)
        return AuthReply(
            200,
            _soap_login_response(org, session_id, context.instance_url_for(org), api_version),
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
        if org is None:
            return oauth_error("invalid_grant", "expired access/refresh token")
        if form.get("client_id") != org.user.client_id:
            return oauth_error("invalid_client_id", "client identifier invalid")
        secret = form.get("client_secret")
        if secret is not None and not hmac.compare_digest(secret, org.user.client_secret):
            return oauth_error("invalid_client", "invalid client credentials")
        access = self.tokens.issue_access(org, refresh_token=refresh_token)
        return AuthReply.json(200, _token_payload(org, access, context.instance_url_for(org)))

    def _token_response(
        self, org: OrgIdentity, context: LoginContext, *, with_refresh: bool
    ) -> AuthReply:
        refresh_token = self.tokens.issue_refresh(org) if with_refresh else None
        access = self.tokens.issue_access(org, refresh_token=refresh_token)
        payload = _token_payload(org, access, context.instance_url_for(org))
        if refresh_token:
            payload["refresh_token"] = refresh_token
            payload["scope"] = "api refresh_token"
        return AuthReply.json(200, payload)

    def revoke(self, token: str | None) -> AuthReply:
        if not token:
            return oauth_error("unsupported_token_type", "missing token")
        if not self.tokens.revoke(token):
            return oauth_error("invalid_token", "invalid token")
        return AuthReply(200, b"", "text/plain")


# --- helpers ---------------------------------------------------------------------------------


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _soap_login_fields(body: bytes) -> dict[str, str]:
    """username, password and organizationId from a login envelope, whatever the prefixes."""
    root = ElementTree.fromstring(body)
    wanted = {"username", "password", "organizationId"}
    return {
        _local_name(element.tag): (element.text or "")
        for element in root.iter()
        if _local_name(element.tag) in wanted
    }


def _soap_password_ok(org: OrgIdentity, fields: Mapping[str, str]) -> bool:
    user = org.user
    password = fields.get("password", "")
    if fields.get("organizationId"):
        # LoginScopeHeader: the caller is on a trusted network of that org; no token needed.
        return fields["organizationId"][:15] == org.org_id[:15] and password in (
            user.password,
            user.password + user.security_token,
        )
    return hmac.compare_digest(password, user.password + user.security_token)


def _soap_login_response(
    org: OrgIdentity, session_id: str, instance_url: str, api_version: str
) -> bytes:
    server_url = f"{instance_url}/services/Soap/u/{api_version}/{org.org_id[:15]}"
    metadata_url = f"{instance_url}/services/Soap/m/{api_version}/{org.org_id[:15]}"
    user = org.user
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{escape(metadata_url)}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired>"
        f"<sandbox>{str(org.is_sandbox).lower()}</sandbox>"
        f"<serverUrl>{escape(server_url)}</serverUrl>"
        f"<sessionId>{escape(session_id)}</sessionId>"
        f"<userId>{user.user_id}</userId>"
        "<userInfo>"
        f"<organizationId>{org.org_id}</organizationId>"
        f"<userName>{escape(user.username)}</userName>"
        "<sessionSecondsValid>7200</sessionSecondsValid>"
        "</userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    ).encode()


def _soap_fault(code: str, message: str) -> AuthReply:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{code}</faultcode>"
        f"<faultstring>{code}: {escape(message)}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return AuthReply(500, body.encode(), "text/xml;charset=UTF-8")


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
    identity_url = f"https://{org.login_host}/id/{org.org_id}/{org.user.user_id}"
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
