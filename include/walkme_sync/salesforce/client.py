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
from collections.abc import Callable
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

#: Loggers of Airflow's secrets masker (task SDK and core copies).
_MASKER_LOGGERS = (
    "airflow.sdk._shared.secrets_masker.secrets_masker",
    "airflow._shared.secrets_masker.secrets_masker",
)
_SHORT_SECRET_WARNING = "Skipping masking for a secret as it's too short"


class _ShortSettingFilter(logging.Filter):
    """Drops the masker's "too short" warning raised by a Salesforce connection's settings.

    Airflow masks every value of a connection's extra, settings included: a Sandbox's
    `domain: test` (4 characters) is below the masking threshold, so every Salesforce task would
    log a warning about a "secret" that is not one. Salesforce's real secrets (password of 8+
    characters, 24-character security token, OAuth tokens) are longer and still masked.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_SHORT_SECRET_WARNING)


_SHORT_SETTING_FILTER = _ShortSettingFilter()


def _quiet_short_setting_warning() -> None:
    for name in _MASKER_LOGGERS:
        masker_log = logging.getLogger(name)
        if _SHORT_SETTING_FILTER not in masker_log.filters:
            masker_log.addFilter(_SHORT_SETTING_FILTER)


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

    A call is counted when it is sent (so a task killed while waiting for the answer has counted
    it), and uncounted when the answer shows the org did not serve it: 401 (invalid session),
    403 (limit exhausted), 5xx (unavailable), or no answer because the connection failed. A call
    that timed out stays counted: the org may well have served it. Login requests are counted in
    `calls_by_kind["login"]` only: Salesforce does not charge them to the daily API request limit.

    `journal`, when set, receives `snapshot()` after every change, so the calls of an attempt
    that dies survive it (the run's record step adds up every attempt's journal).
    """

    calls: int = 0
    calls_by_kind: Counter[str] = field(default_factory=Counter)
    daily_used: int | None = None
    daily_limit: int | None = None
    #: Seconds Salesforce asked us to wait (`Retry-After` of the latest 429/5xx answer), or None.
    retry_after: float | None = None
    journal: Callable[[dict[str, Any]], None] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def sent(self, method: str, url: str) -> str:
        """Count one request before it goes out; returns its kind."""
        kind = classify_request(method, url)
        with self._lock:
            self.calls_by_kind[kind] += 1
            if kind != "login":
                self.calls += 1
        self._write_journal()
        return kind

    def answered(self, kind: str, status: int, headers: Any) -> None:
        """Settle a sent request with its answer: uncount it if the org did not serve it."""
        refused = {401: "refused", 403: "refused"}.get(status)
        if status >= 500 or status == 429:
            refused = "unavailable"
        with self._lock:
            if kind != "login" and refused is not None:
                self._uncount(kind, refused)
            limit_info = headers.get("Sforce-Limit-Info") if headers is not None else None
            match = _API_USAGE.search(limit_info) if limit_info else None
            if match:
                self.daily_used, self.daily_limit = int(match.group(1)), int(match.group(2))
            self.retry_after = _retry_after(headers) if refused == "unavailable" else None
        if refused is not None:
            self._write_journal()

    def unanswered(self, kind: str, *, timed_out: bool) -> None:
        """A sent request got no answer. A timed-out one stays counted (the org may have served
        it); a failed connection is uncounted (the request did not reach the org's API)."""
        if timed_out or kind == "login":
            return
        with self._lock:
            self._uncount(kind, "no_answer")
        self._write_journal()

    def _uncount(self, kind: str, why: str) -> None:
        self.calls -= 1
        self.calls_by_kind[kind] -= 1
        if not self.calls_by_kind[kind]:
            del self.calls_by_kind[kind]
        self.calls_by_kind[why] += 1

    def record(self, method: str, url: str, headers: Any, status: int = 200) -> None:
        """Count one request and its answer at once (for callers outside `requests`)."""
        self.answered(self.sent(method, url), status, headers)

    def _write_journal(self) -> None:
        if self.journal is None:
            return
        try:
            self.journal(self.snapshot())
        except Exception as exc:  # the journal must never fail a call; the run record says so
            log.warning("Could not save the API-call count: %s: %s", type(exc).__name__, exc)

    def snapshot(self) -> dict[str, Any]:
        """JSON-able summary for logs and the run ledger."""
        with self._lock:
            return {
                "calls": self.calls,
                "calls_by_kind": dict(self.calls_by_kind),
                "daily_used": self.daily_used,
                "daily_limit": self.daily_limit,
            }


def _retry_after(headers: Any) -> float | None:
    """`Retry-After` in seconds (the HTTP-date form is not used by Salesforce), or None."""
    raw = headers.get("Retry-After") if headers is not None else None
    try:
        return max(float(raw), 0.0) if raw is not None else None
    except ValueError:
        return None


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


def _install_meter(session: requests.Session, meter: ApiMeter, timeout: float | None) -> None:
    """Count every request as it is sent and settle it with its answer; give every request a
    timeout unless the caller passed one (requests has none by default)."""
    import requests.adapters
    import requests.exceptions

    default = DEFAULT_TIMEOUT if timeout is None else (DEFAULT_TIMEOUT[0], timeout)

    class _MeteredAdapter(requests.adapters.HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = default
            kind = meter.sent(request.method or "GET", request.url or "")
            try:
                response = super().send(request, *args, **kwargs)
            except requests.exceptions.ReadTimeout:
                meter.unanswered(kind, timed_out=True)
                raise
            except Exception:
                meter.unanswered(kind, timed_out=False)
                raise
            meter.answered(kind, response.status_code, response.headers)
            return response

    session.mount("https://", _MeteredAdapter(pool_maxsize=16))


def attach_meter(
    sf: Any,
    conn_id: str,
    *,
    timeout: float | None = None,
    journal: Callable[[dict[str, Any]], None] | None = None,
) -> SalesforceSession:
    """Wrap an existing simple-salesforce client: meter its session, add the default timeout.

    `timeout` is the seconds to wait for an answer (default `DEFAULT_TIMEOUT`); `journal` receives
    the meter's snapshot after every change (see `ApiMeter`).
    """
    meter = ApiMeter(journal=journal)
    _install_meter(sf.session, meter, timeout)
    return SalesforceSession(sf=sf, conn_id=conn_id, meter=meter)


def connect(
    conn_id: str,
    *,
    timeout: float | None = None,
    journal: Callable[[dict[str, Any]], None] | None = None,
) -> SalesforceSession:
    """Open a metered Salesforce session from the Airflow connection `conn_id`.

    Raises `AuthorizationError` when the login is rejected (revoked or expired authorization, wrong
    credentials), `ConfigurationError` when the connection is missing or incomplete, and
    `TransientError` when Salesforce cannot be reached. Messages never contain secrets.
    """
    # The subclass adds refresh-token connections (`make connect`); others are SalesforceHook's.
    from include.walkme_sync.salesforce.refresh_hook import RefreshTokenSalesforceHook

    _quiet_short_setting_warning()
    try:
        sf = RefreshTokenSalesforceHook(salesforce_conn_id=conn_id).get_conn()
    except Exception as exc:
        # `from None`: the original exception may echo request data; ours carries what matters.
        raise translate(exc, conn_id=conn_id) from None
    session = attach_meter(sf, conn_id, timeout=timeout, journal=journal)
    log.info(
        "Connected to Salesforce through connection '%s' (instance %s, API v%s).",
        conn_id,
        redact(session.instance),
        session.api_version,
    )
    return session
