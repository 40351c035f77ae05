"""Connect to Salesforce through the Airflow `SalesforceHook`, and meter every API call.

The hook builds the simple-salesforce client exactly as the user's Airflow connection configures it
(password + token, OAuth, JWT, proxies, API version); `refresh_hook` adds connections holding a
refresh token from `make connect`. We only add a `requests` response hook on the
client's session that counts calls by kind and reads the org's daily usage from `Sforce-Limit-Info`,
plus a default timeout so a hung socket cannot stall a task forever.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from include.walkme_sync.salesforce.errors import redact, translate

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

_API_USAGE = re.compile(r"(?:^|[^-])api-usage=(\d+)/(\d+)")
#: Seconds to wait for connect / for a response when the caller did not set a timeout.
DEFAULT_TIMEOUT = (30.0, 600.0)

API_CALL_KINDS = ("query", "describe", "composite", "bulk2", "bulk1", "rest")


def classify_request(method: str, url: str) -> str:
    """Kind of a request: login, query, describe, composite, bulk2, bulk1 or rest."""
    path = urlsplit(url).path.lower()
    if "/services/soap/u/" in path or "/services/oauth2/" in path:
        return "login"
    if "/jobs/ingest" in path or "/jobs/query" in path:
        return "bulk2"
    if "/services/async/" in path:
        return "bulk1"
    if re.search(r"/services/data/v[\d.]+/(query|queryall)(/|$)", path):
        return "query"
    if path.endswith("/describe") or re.search(r"/services/data/v[\d.]+/sobjects/?$", path):
        return "describe"
    if "/composite" in path:
        return "composite"
    return "rest"


@dataclass
class ApiMeter:
    """Counts the API calls one run makes, and the org's daily usage as Salesforce last reported it.

    Login requests are counted in `calls_by_kind["login"]` but not in `calls`, because Salesforce
    does not charge them to the daily API request limit; neither are requests refused for an
    invalid session (401) or an exhausted limit (403), counted under "refused".
    """

    calls: int = 0
    calls_by_kind: Counter[str] = field(default_factory=Counter)
    daily_used: int | None = None
    daily_limit: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, method: str, url: str, headers: Any, status: int = 200) -> None:
        """Count one response; update the daily usage from its `Sforce-Limit-Info` header."""
        kind = classify_request(method, url)
        if kind != "login" and status in {401, 403}:
            kind = "refused"
        with self._lock:
            self.calls_by_kind[kind] += 1
            if kind not in {"login", "refused"}:
                self.calls += 1
            limit_info = headers.get("Sforce-Limit-Info") if headers is not None else None
            if limit_info:
                match = _API_USAGE.search(limit_info)
                if match:
                    self.daily_used, self.daily_limit = int(match.group(1)), int(match.group(2))

    def response_hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """`requests` response hook: meter the response, leave it untouched."""
        self.record(
            response.request.method or "GET", response.url, response.headers, response.status_code
        )

    def snapshot(self) -> dict[str, Any]:
        """JSON-able summary for logs and the run ledger."""
        return {
            "calls": self.calls,
            "calls_by_kind": dict(self.calls_by_kind),
            "daily_used": self.daily_used,
            "daily_limit": self.daily_limit,
        }


@dataclass
class SalesforceSession:
    """A connected simple-salesforce client plus its meter and the connection id it came from."""

    sf: Any  # simple_salesforce.Salesforce (typed loosely: the library ships no type stubs)
    conn_id: str
    meter: ApiMeter

    @property
    def api_version(self) -> str:
        return str(self.sf.sf_version)

    @property
    def instance(self) -> str:
        return str(self.sf.sf_instance)

    def refresh_login(self) -> bool:
        """Log in again if the connection can (not for direct-session connections).

        Bulk API calls never refresh an expired session by themselves (simple-salesforce only does
        it for REST calls), so the writers call this once when a bulk call answers 401.
        """
        if getattr(self.sf, "_salesforce_login_partial", None) is None:
            return False
        try:
            self.sf._refresh_session()
        except Exception as exc:
            raise translate(exc, conn_id=self.conn_id) from None
        return True


def _install_default_timeout(session: requests.Session) -> None:
    """Give every request a timeout unless the caller passed one (requests has none by default)."""
    import requests.adapters

    class _TimeoutAdapter(requests.adapters.HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = DEFAULT_TIMEOUT
            return super().send(request, *args, **kwargs)

    session.mount("https://", _TimeoutAdapter(pool_maxsize=16))


def attach_meter(sf: Any, conn_id: str) -> SalesforceSession:
    """Wrap an existing simple-salesforce client: meter its session, add the default timeout."""
    meter = ApiMeter()
    sf.session.hooks["response"].append(meter.response_hook)
    _install_default_timeout(sf.session)
    return SalesforceSession(sf=sf, conn_id=conn_id, meter=meter)


def connect(conn_id: str) -> SalesforceSession:
    """Open a metered Salesforce session from the Airflow connection `conn_id`.

    Raises `AuthorizationError` when the login is rejected (revoked or expired authorization, wrong
    credentials), `ConfigurationError` when the connection is missing or incomplete, and
    `TransientError` when Salesforce cannot be reached. Messages never contain secrets.
    """
    # The subclass adds refresh-token connections (`make connect`); others are SalesforceHook's.
    from include.walkme_sync.salesforce.refresh_hook import RefreshTokenSalesforceHook

    try:
        sf = RefreshTokenSalesforceHook(salesforce_conn_id=conn_id).get_conn()
    except Exception as exc:
        # `from None`: the original exception may echo request data; ours carries what matters.
        raise translate(exc, conn_id=conn_id) from None
    session = attach_meter(sf, conn_id)
    log.info(
        "Connected to Salesforce through connection '%s' (instance %s, API v%s).",
        conn_id,
        redact(session.instance),
        session.api_version,
    )
    return session
