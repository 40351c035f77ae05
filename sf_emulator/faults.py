"""Fault injection for the emulator: what a real org does on a bad day, on demand.

Tests script faults through :class:`FaultInjector` (thread-safe); the process mode takes the same
spec as JSON on ``POST /__emulator/faults``. Request faults (5xx, slow, dropped connection) are
applied before authentication and are not counted as API calls: the org never saw the request.
"""

from __future__ import annotations

import threading
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

    kind: str  # "fail" | "slow" | "drop"
    remaining: int
    path_contains: str | None = None
    status: int = 503
    error_code: str = "SERVER_UNAVAILABLE"
    message: str = ""
    seconds: float = 0.0

    def matches(self, path: str) -> bool:
        return self.remaining > 0 and (self.path_contains is None or self.path_contains in path)


@dataclass(frozen=True)
class FaultPlan:
    """What to do to one request: sleep first, then drop it or answer with an error."""

    delay_seconds: float = 0.0
    drop: bool = False
    error: RequestFault | None = None


class FaultInjector:
    """Scriptable faults; every method is safe to call while the server is serving."""

    def __init__(self, controls: OrgControls) -> None:
        self._controls = controls
        self._lock = threading.Lock()
        self._request_faults: list[RequestFault] = []
        self._bulk_failures: list[str] = []

    # --- request-level faults -----------------------------------------------------------------

    def fail_requests(
        self,
        status: int = 503,
        count: int = 1,
        path_contains: str | None = None,
        error_code: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with a 5xx Salesforce-style error body."""
        code = error_code or _ERROR_CODE_BY_STATUS.get(status, "UNKNOWN_EXCEPTION")
        text = message or _MESSAGE_BY_CODE.get(code, "An unexpected error occurred.")
        self._add(RequestFault("fail", count, path_contains, status, code, text))

    def slow_requests(
        self, seconds: float, count: int = 1, path_contains: str | None = None
    ) -> None:
        """Delay the next ``count`` matching requests by ``seconds`` before serving them."""
        self._add(RequestFault("slow", count, path_contains, seconds=seconds))

    def drop_connections(self, count: int = 1, path_contains: str | None = None) -> None:
        """Close the socket of the next ``count`` matching requests without any response."""
        self._add(RequestFault("drop", count, path_contains))

    def _add(self, fault: RequestFault) -> None:
        with self._lock:
            self._request_faults.append(fault)

    def plan_for(self, path: str) -> FaultPlan:
        """Consume the faults that apply to this request (the server calls it once per request)."""
        with self._lock:
            delay = 0.0
            for fault in self._request_faults:
                if fault.kind == "slow" and fault.matches(path):
                    fault.remaining -= 1
                    delay += fault.seconds
            terminal = next(
                (f for f in self._request_faults if f.kind != "slow" and f.matches(path)), None
            )
            if terminal is not None:
                terminal.remaining -= 1
            self._request_faults = [f for f in self._request_faults if f.remaining > 0]
        if terminal is None:
            return FaultPlan(delay_seconds=delay)
        if terminal.kind == "drop":
            return FaultPlan(delay_seconds=delay, drop=True)
        return FaultPlan(delay_seconds=delay, error=terminal)

    # --- bulk jobs ----------------------------------------------------------------------------

    def fail_bulk_jobs(self, count: int = 1, message: str = DEFAULT_BULK_FAILURE_MESSAGE) -> None:
        """The next ``count`` Bulk 2.0 ingest jobs end ``Failed`` with ``message``, unprocessed."""
        with self._lock:
            self._bulk_failures.extend([message] * count)

    def take_bulk_failure(self) -> str | None:
        with self._lock:
            return self._bulk_failures.pop(0) if self._bulk_failures else None

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
            "expire_sessions": self.expire_sessions,
            "exhaust_quota": self.exhaust_quota,
            "set_daily_limit": self.set_daily_limit,
            "lock_records": self.lock_records,
            "lock_fraction": self.lock_fraction,
            "clear": self.clear,
        }
