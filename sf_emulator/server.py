"""The emulator's request routing: one ``EmulatorCore`` serves logins, the API and the admin routes.

Every API request is authenticated (``Authorization: Bearer`` or ``X-SFDC-Session``), counted per
org and kind, and answered with ``Sforce-Limit-Info``. The sockets, TLS and proxy tunnels that
bring requests here are in ``http_server``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from sf_emulator import admin_api, bulk1_api, bulk_api, rest_api
from sf_emulator.auth import AuthService, LoginContext
from sf_emulator.ca import DEFAULT_DATA_DIR, TlsFiles, ensure_tls_files
from sf_emulator.faults import FaultInjector, LockFaults
from sf_emulator.http_types import (
    ApiRequest,
    Reply,
    api_error_reply,
    error_reply,
    json_reply,
    not_found,
)
from sf_emulator.identities import (
    OrgIdentity,
    default_identities,
    system_records,
    with_jwt_keys,
)
from sf_emulator.model import load_schemas
from sf_emulator.results import ApiError
from sf_emulator.runtime import DEFAULT_DAILY_LIMIT, OrgRuntime, UsageMeter
from sf_emulator.store import OrgData

DEFAULT_API_VERSION = "59.0"
_DATA_PATH = re.compile(r"^/services/data/v(\d+\.\d+)(?:/(.*))?$")
_ASYNC_PATH = re.compile(r"^/services/async/(\d+\.\d+)(?:/(.*))?$")
_SOAP_VERSION = re.compile(r"/services/Soap/u/(\d+\.\d+)")


class DropConnection(Exception):
    """Raised to close a client connection without sending any response (fault injection)."""


@dataclass(frozen=True)
class IncomingRequest:
    method: str
    target: str
    headers: Message
    body: bytes
    tunnel_host: str | None  # the CONNECT host in proxy mode
    is_tls: bool


class EmulatorCore:
    """All state of one emulator instance: orgs, logins, faults. HTTP-agnostic routing."""

    def __init__(
        self,
        data_dir: Path | None = None,
        daily_limit: int = DEFAULT_DAILY_LIMIT,
        identities: Mapping[str, OrgIdentity] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
        identities = dict(identities or default_identities())
        hosts = tuple(identity.instance_host for identity in identities.values())
        self.tls: TlsFiles = ensure_tls_files(self.data_dir, extra_hosts=hosts)
        self.auth = AuthService(
            {name: with_jwt_keys(identity, self.data_dir) for name, identity in identities.items()}
        )
        schemas = load_schemas()
        self.orgs: dict[str, OrgRuntime] = {
            name: OrgRuntime(
                identity=identity,
                data=OrgData(
                    name,
                    identity.org_id,
                    schemas,
                    api_version=DEFAULT_API_VERSION,
                    is_sandbox=identity.is_sandbox,
                    system_records=system_records(identity),
                ),
                usage=UsageMeter(daily_limit),
            )
            for name, identity in self.auth.identities.items()
        }
        self.faults = FaultInjector(self)
        self.port = 0

    # --- addresses ----------------------------------------------------------------------------

    @property
    def direct_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def instance_url_for(self, identity: OrgIdentity, tunnel_host: str | None) -> str:
        """Through the proxy an org lives at its real My Domain; directly, at the loopback URL."""
        return f"https://{identity.instance_host}" if tunnel_host else self.direct_url

    # --- OrgControls (used by the fault injector) ---------------------------------------------

    def org(self, name: str) -> OrgRuntime:
        try:
            return self.orgs[name]
        except KeyError:
            raise KeyError(f"unknown org {name!r}; expected one of {sorted(self.orgs)}") from None

    def expire_sessions(self, org: str | None) -> None:
        self.auth.tokens.expire_access(org)

    def set_daily_limit(self, org: str, limit: int) -> None:
        self.org(org).usage.daily_limit = limit

    def exhaust_quota(self, org: str) -> None:
        self.org(org).usage.exhaust()

    def set_field_access(self, org: str, field_name: str, level: str) -> None:
        """The integration user's access to ``Object.Field``: ``edit``, ``read`` or ``none``."""
        if level not in ("edit", "read", "none") or "." not in field_name:
            raise ValueError("expected {'Object.Field': 'edit' | 'read' | 'none'}")
        access = self.org(org).field_access
        if level == "edit":
            access.pop(field_name.lower(), None)
        else:
            access[field_name.lower()] = level

    def lock_faults(self, org: str) -> LockFaults:
        return self.org(org).data.lock_faults

    # --- lifecycle helpers --------------------------------------------------------------------

    def reset(self) -> None:
        """Empty both orgs, forget jobs and usage, clear faults (sessions stay valid)."""
        for runtime in self.orgs.values():
            runtime.data.reset()
            runtime.usage.reset()
            runtime.reset_server_state()
        self.faults.clear()

    def credentials(self, org: str) -> dict[str, Any]:
        identity = self.org(org).identity
        user = identity.user
        return {
            "username": user.username,
            "password": user.password,
            "security_token": user.security_token,
            "client_id": user.client_id,
            "client_secret": user.client_secret,
            "domain": identity.login_domain,
            "my_domain": identity.my_domain,
            "instance_host": identity.instance_host,
            "org_id": identity.org_id,
            "private_key_path": str(identity.jwt_private_key_path),
            "certificate_path": str(identity.jwt_certificate_path),
        }

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "instance_url": self.direct_url,
            "proxy_url": self.proxy_url,
            "admin_url": f"{self.proxy_url}/__emulator",
            "ca_bundle": str(self.tls.ca_cert),
            "trust_bundle": str(self.tls.trust_bundle),
            "port": self.port,
            "data_dir": str(self.data_dir),
        }
        for name in self.orgs:
            info[name] = self.credentials(name)
        return info

    # --- routing ------------------------------------------------------------------------------

    def handle(self, request: IncomingRequest) -> Reply:
        path, _, query_string = request.target.partition("?")
        if "://" in path:
            # Absolute-form requests would mean forwarding plain HTTP somewhere: never.
            return error_reply(403, "FORBIDDEN", "The emulator only tunnels CONNECT to Salesforce")
        if path.startswith("/__emulator/"):
            if request.tunnel_host is not None:
                return not_found()
            return admin_api.handle(self, request.method, path, query_string, request.body)
        if not request.is_tls:
            return error_reply(400, "HTTPS_REQUIRED", "Use https:// (or CONNECT through the proxy)")
        plan = self.faults.plan_for(path, request.method)
        if plan.delay_seconds:
            time.sleep(plan.delay_seconds)
        if plan.expire_sessions:
            self.expire_sessions(None)
        if plan.exhaust_quota:
            for name in self.orgs:
                self.exhaust_quota(name)
        if plan.drop:
            raise DropConnection
        if plan.error is not None:
            reply = error_reply(plan.error.status, plan.error.error_code, plan.error.message)
            if plan.error.retry_after is not None:
                reply.headers["Retry-After"] = str(plan.error.retry_after)
            return reply
        return self._route(request, path, query_string)

    def _route(self, request: IncomingRequest, path: str, query_string: str) -> Reply:
        context = LoginContext(
            requested_host=request.tunnel_host,
            instance_url_for=lambda identity: self.instance_url_for(identity, request.tunnel_host),
        )
        soap = _SOAP_VERSION.search(path)
        if soap and request.method == "POST":
            reply = self.auth.soap_login(request.body, context, soap.group(1))
            return Reply(reply.status, reply.body, reply.content_type)
        if path.startswith(("/services/oauth2/", "/id/")):
            return self._oauth(request, path, query_string, context)
        if path.rstrip("/") == "/services/data" and request.method == "GET":
            return json_reply(200, rest_api.versions_list())
        data_match = _DATA_PATH.match(path)
        if data_match:
            return self._api(request, data_match, query_string, bulk1=False)
        async_match = _ASYNC_PATH.match(path)
        if async_match:
            return self._api(request, async_match, query_string, bulk1=True)
        return not_found()

    def _oauth(
        self, request: IncomingRequest, path: str, query_string: str, context: LoginContext
    ) -> Reply:
        """Token, authorize (page and consent), revoke, userinfo and identity URL endpoints."""
        route = path.rstrip("/")
        query = _first_values(parse_qs(query_string))
        form = _first_values(parse_qs(request.body.decode("utf-8", "replace")))
        if route == "/services/oauth2/token" and request.method == "POST":
            reply = self.auth.oauth_token(form, request.headers.get("Authorization"), context)
        elif route == "/services/oauth2/authorize" and request.method == "GET":
            reply = self.auth.authorize_page(query, context)
        elif route == "/services/oauth2/authorize" and request.method == "POST":
            reply = self.auth.authorize_decision({**query, **form}, context)
        elif route == "/services/oauth2/revoke" and request.method in ("GET", "POST"):
            reply = self.auth.revoke({**query, **form}.get("token"))
        elif route == "/services/oauth2/userinfo" and request.method in ("GET", "POST"):
            reply = self.auth.identity_reply(_session_token(request.headers), context, openid=True)
        elif route.startswith("/id/") and request.method in ("GET", "POST"):
            token = _session_token(request.headers) or query.get("oauth_token")
            reply = self.auth.identity_reply(token, context, openid=False, path=route)
        else:
            return not_found()
        headers = {"Location": reply.location} if reply.location else {}
        # Tokens are in these answers: no cache may keep them (Salesforce sends the same).
        headers["Cache-Control"] = "no-cache,must-revalidate,max-age=0,no-store,private"
        return Reply(reply.status, reply.body, reply.content_type, headers=headers)

    def _api(
        self, request: IncomingRequest, match: re.Match[str], query_string: str, *, bulk1: bool
    ) -> Reply:
        runtime = self._authenticate(request)
        if runtime is None:
            return error_reply(401, "INVALID_SESSION_ID", "Session expired or invalid")
        segments = _segments(match.group(2) or "")
        handler: rest_api.Handler
        if bulk1:
            kind, handler = "bulk1", bulk1_api.bulk1_route
        elif segments[:1] == ["jobs"]:
            kind, handler = "bulk2", bulk_api.bulk2_route
        else:
            kind, handler = rest_api.resolve(request.method, segments)
        if not runtime.usage.try_consume(kind):
            reply = error_reply(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        else:
            api_request = ApiRequest(
                method=request.method,
                path=match.group(0),
                segments=segments,
                query=_first_values(parse_qs(query_string, keep_blank_values=True)),
                headers=request.headers,
                body=request.body,
                api_version=match.group(1),
                org=runtime,
                faults=self.faults,
            )
            reply = _call_handler(handler, api_request, bulk1=bulk1)
        reply.headers["Sforce-Limit-Info"] = runtime.usage.header_value()
        return reply

    def _authenticate(self, request: IncomingRequest) -> OrgRuntime | None:
        """The org whose valid access token the request carries, or None."""
        token = _session_token(request.headers)
        org_name = self.auth.tokens.org_of_access(token) if token else None
        if org_name is None:
            return None
        owner = next(
            (o for o in self.auth.identities.values() if o.instance_host == request.tunnel_host),
            None,
        )
        if owner is not None and owner.name != org_name:
            # A session of one org is not valid on another org's My Domain.
            return None
        return self.orgs[org_name]

    def issue_session(self, org: str) -> str:
        return self.auth.tokens.issue_access(self.org(org).identity)


def _call_handler(handler: Any, request: ApiRequest, *, bulk1: bool) -> Reply:
    try:
        reply: Reply = handler(request)
    except ApiError as exc:
        if bulk1:
            return bulk1_api.bulk1_error(exc.http_status, exc.error_code, exc.message)
        return api_error_reply(exc)
    return reply


def _session_token(headers: Message) -> str | None:
    authorization = headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    session = headers.get("X-SFDC-Session", "").strip()
    if session.lower().startswith("bearer "):
        session = session[7:].strip()
    return session or None


def _segments(rest: str) -> list[str]:
    """Decoded path segments; a trailing slash is not a segment, an encoded '/' stays inside one."""
    parts = rest.split("/")
    while parts and parts[-1] == "":
        parts.pop()
    return [unquote(part) for part in parts]


def _first_values(parsed: Mapping[str, list[str]]) -> dict[str, str]:
    return {key: values[0] for key, values in parsed.items() if values}
