"""Fault injection for the emulator: what a real org does on a bad day, on demand.

Tests script faults through :class:`FaultInjector` (thread-safe); the process mode takes the same
spec as JSON on ``POST /__emulator/faults``. Request faults (5xx, slow, dropped connection) are
applied before authentication and are not counted as API calls: the org never saw the request.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

DEFAULT_BULK_FAILURE_MESSAGE = "InternalServerError : Failed to process the job, please retry."
_ERROR_CODE_BY_STATUS = {
    500: "UNKNOWN_EXCEPTION",
    502: "SERVER_UNAVAILABLE",
    503: "SERVER_UNAVAILABLE",
}
_MESSAGE_BY_CODE = {
    "SERVER_UNAVAILABLE": "Server temporarily unavailable, please try again later.",
    "UNKNOWN_EXCEPTION": "An unexpected error occurred. Please include this ErrorId if you contact "
    "support: 1234567890-12345 (-1234567890)",
    "API_TEMPORARILY_UNAVAILABLE": "API is temporarily unavailable, please try again later.",
}


class LockFaults(Protocol):
    """The record-lock fault switch of one org's data (``OrgData.lock_faults``)."""

    def lock_records(self, ids: Iterable[str], times: int = 1) -> None: ...
    def lock_fraction(self, fraction: float, seed: int = 0) -> None: ...
    def clear(self) -> None: ...


class OrgControls(Protocol):
    """What the injector needs from the server: sessions, quotas and each org's lock switch."""

    def expire_sessions(self, org: str | None) -> None: ...
    def set_daily_limit(self, org: str, limit: int) -> None: ...
    def exhaust_quota(self, org: str) -> None: ...
    def lock_faults(self, org: str) -> LockFaults: ...


@dataclass
class RequestFault:
    """One scripted misbehaviour for the next ``remaining`` matching requests."""

    kind: str  # "fail" | "slow" | "drop" | "expire" | "exhaust"
    remaining: int
    path_contains: str | None = None
    status: int = 503
    error_code: str = "SERVER_UNAVAILABLE"
    message: str = ""
    seconds: float = 0.0
    retry_after: int | None = None
    #: Matching requests to let through untouched first ("the third upload is dropped").
    after: int = 0
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and (self.path_contains is None or self.path_contains in path)
            and (self.method is None or self.method == method)
        )

    def take(self) -> bool:
        """Count one matching request; True when the fault applies to it (after the skips)."""
        if self.after > 0:
            self.after -= 1
            return False
        self.remaining -= 1
        return True


@dataclass(frozen=True)
class FaultPlan:
    """What to do to one request: sleep first, then drop it or answer with an error."""

    delay_seconds: float = 0.0
    drop: bool = False
    error: RequestFault | None = None
    #: Invalidate every access token before serving the request (a session expiring mid-run).
    expire_sessions: bool = False
    #: Use up every org's daily API allocation before serving it (another app ate the quota).
    exhaust_quota: bool = False


class FaultInjector:
    """Scriptable faults; every method is safe to call while the server is serving."""

    def __init__(self, controls: OrgControls) -> None:
        self._controls = controls
        self._lock = threading.Lock()
        self._request_faults: list[RequestFault] = []
        self._bulk_failures: list[str] = []
        self._bulk_holds = 0
        #: Faults applied so far, by kind: tests wait on these ("the upload is in flight now").
        self.fired: Counter[str] = Counter()

    # --- request-level faults -----------------------------------------------------------------

    def fail_requests(
        self,
        status: int = 503,
        count: int = 1,
        path_contains: str | None = None,
        error_code: str | None = None,
        message: str | None = None,
        *,
        retry_after: int | None = None,
        after: int = 0,
        method: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with a 5xx Salesforce-style error body
        (with a ``Retry-After`` header of ``retry_after`` seconds when given)."""
        code = error_code or _ERROR_CODE_BY_STATUS.get(status, "UNKNOWN_EXCEPTION")
        text = message or _MESSAGE_BY_CODE.get(code, "An unexpected error occurred.")
        fault = RequestFault("fail", count, path_contains, status, code, text)
        fault.retry_after, fault.after, fault.method = retry_after, after, method
        self._add(fault)

    def slow_requests(
        self,
        seconds: float,
        count: int = 1,
        path_contains: str | None = None,
        after: int = 0,
        method: str | None = None,
    ) -> None:
        """Delay the next ``count`` matching requests by ``seconds`` before serving them."""
        self._add(
            RequestFault("slow", count, path_contains, seconds=seconds, after=after, method=method)
        )

    def drop_connections(
        self,
        count: int = 1,
        path_contains: str | None = None,
        after: int = 0,
        method: str | None = None,
    ) -> None:
        """Close the socket of the next ``count`` matching requests without any response."""
        self._add(RequestFault("drop", count, path_contains, after=after, method=method))

    def expire_sessions_on(
        self, path_contains: str | None = None, after: int = 0, method: str | None = None
    ) -> None:
        """Expire every session when the next matching request arrives (after ``after`` others):
        that request, mid-run, is the first to get 401 INVALID_SESSION_ID."""
        self._add(RequestFault("expire", 1, path_contains, after=after, method=method))

    def exhaust_quota_on(
        self, path_contains: str | None = None, after: int = 0, method: str | None = None
    ) -> None:
        """Use up the daily API allocation of every org when the next matching request arrives
        (after ``after`` others): that request is the first refused REQUEST_LIMIT_EXCEEDED."""
        self._add(RequestFault("exhaust", 1, path_contains, after=after, method=method))

    def _add(self, fault: RequestFault) -> None:
        with self._lock:
            self._request_faults.append(fault)

    def plan_for(self, path: str, method: str = "GET") -> FaultPlan:
        """Consume the faults that apply to this request (the server calls it once per request)."""
        with self._lock:
            delay = 0.0
            org_faults: set[str] = set()
            terminal: RequestFault | None = None
            for fault in self._request_faults:
                if not fault.matches(method, path):
                    continue
                if fault.kind == "slow":
                    if fault.take():
                        delay += fault.seconds
                        self.fired["slow"] += 1
                elif fault.kind in ("expire", "exhaust"):
                    if fault.take():
                        org_faults.add(fault.kind)
                        self.fired[fault.kind] += 1
                elif terminal is None and fault.take():
                    terminal = fault
            self._request_faults = [f for f in self._request_faults if f.remaining > 0]
            if terminal is not None:
                self.fired[terminal.kind] += 1
        return FaultPlan(
            delay_seconds=delay,
            drop=terminal is not None and terminal.kind == "drop",
            error=terminal if terminal is not None and terminal.kind == "fail" else None,
            expire_sessions="expire" in org_faults,
            exhaust_quota="exhaust" in org_faults,
        )

    # --- bulk jobs ----------------------------------------------------------------------------

    def fail_bulk_jobs(self, count: int = 1, message: str = DEFAULT_BULK_FAILURE_MESSAGE) -> None:
        """The next ``count`` Bulk 2.0 ingest jobs end ``Failed`` with ``message``, unprocessed."""
        with self._lock:
            self._bulk_failures.extend([message] * count)

    def take_bulk_failure(self) -> str | None:
        with self._lock:
            return self._bulk_failures.pop(0) if self._bulk_failures else None

    def hold_bulk_jobs(self, count: int = 1) -> None:
        """The next ``count`` Bulk 2.0 ingest jobs stay ``UploadComplete`` (queued) until aborted,
        like jobs waiting behind a busy org's queue."""
        with self._lock:
            self._bulk_holds += count

    def take_bulk_hold(self) -> bool:
        with self._lock:
            if self._bulk_holds <= 0:
                return False
            self._bulk_holds -= 1
            self.fired["hold"] += 1
            return True

    # --- org-level faults ---------------------------------------------------------------------

    def expire_sessions(self, org: str | None = None) -> None:
        """Invalidate every access token (of one org, or all): the next call gets a 401."""
        self._controls.expire_sessions(org)

    def exhaust_quota(self, org: str) -> None:
        """Use up the org's daily API allocation: the next call gets REQUEST_LIMIT_EXCEEDED."""
        self._controls.exhaust_quota(org)

    def set_daily_limit(self, org: str, limit: int) -> None:
        self._controls.set_daily_limit(org, limit)

    def lock_records(self, org: str, ids: Iterable[str], times: int = 1) -> None:
        """Writes to these record ids fail with UNABLE_TO_LOCK_ROW, ``times`` times each."""
        self._controls.lock_faults(org).lock_records(list(ids), times=times)

    def lock_fraction(self, org: str, fraction: float, seed: int = 0) -> None:
        """A deterministic ``fraction`` of record writes fails with UNABLE_TO_LOCK_ROW."""
        self._controls.lock_faults(org).lock_fraction(fraction, seed=seed)

    def clear(self) -> None:
        """Remove every pending fault (request, bulk and lock faults)."""
        with self._lock:
            self._request_faults.clear()
            self._bulk_failures.clear()
            self._bulk_holds = 0
            self.fired.clear()
        for org in ("sandbox", "production"):
            self._controls.lock_faults(org).clear()

    # --- JSON spec (process mode) -------------------------------------------------------------

    def apply_spec(self, spec: Mapping[str, Any] | list[Mapping[str, Any]]) -> None:
        """Apply ``{"action": "<method name>", ...kwargs}`` or a list of those."""
        for item in spec if isinstance(spec, list) else [spec]:
            arguments = dict(item)
            action = arguments.pop("action", None)
            method = self._spec_actions().get(str(action))
            if method is None:
                raise ValueError(f"unknown fault action {action!r}")
            method(**arguments)

    def _spec_actions(self) -> dict[str, Callable[..., None]]:
        return {
            "fail_requests": self.fail_requests,
            "slow_requests": self.slow_requests,
            "drop_connections": self.drop_connections,
            "fail_bulk_jobs": self.fail_bulk_jobs,
            "hold_bulk_jobs": self.hold_bulk_jobs,
            "expire_sessions_on": self.expire_sessions_on,
            "exhaust_quota_on": self.exhaust_quota_on,
            "expire_sessions": self.expire_sessions,
            "exhaust_quota": self.exhaust_quota,
            "set_daily_limit": self.set_daily_limit,
            "lock_records": self.lock_records,
            "lock_fraction": self.lock_fraction,
            "clear": self.clear,
        }
