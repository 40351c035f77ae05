"""Per-org server state: API-call accounting, query cursors and job registries.

The records themselves live in ``store.OrgData``; this module holds what only the HTTP side needs.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sf_emulator.record_ids import make_id

if TYPE_CHECKING:
    from sf_emulator.identities import OrgIdentity
    from sf_emulator.store import OrgData

DEFAULT_DAILY_LIMIT = 100_000
API_CALL_KINDS = ("rest", "query", "describe", "composite", "bulk2", "bulk1")
# Salesforce keeps a handful of open query cursors per user and drops the oldest.
MAX_OPEN_CURSORS = 50


class UsageMeter:
    """Counts authenticated API calls of one org against its daily allocation (thread-safe)."""

    def __init__(self, daily_limit: int = DEFAULT_DAILY_LIMIT) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._used = 0
        self.daily_limit = daily_limit

    def try_consume(self, kind: str) -> bool:
        """Count one call; False (and nothing counted) once the allocation is used up."""
        with self._lock:
            if self._used >= self.daily_limit:
                return False
            self._used += 1
            self._calls[kind] += 1
            return True

    @property
    def used(self) -> int:
        with self._lock:
            return self._used

    def calls(self, kind: str | None = None) -> int:
        """Calls served (of one kind, or all); unlike ``used`` this ignores ``exhaust``."""
        with self._lock:
            return self._calls[kind] if kind else sum(self._calls.values())

    def header_value(self) -> str:
        """The ``Sforce-Limit-Info`` value, e.g. ``api-usage=42/100000``."""
        with self._lock:
            return f"api-usage={self._used}/{self.daily_limit}"

    def exhaust(self) -> None:
        with self._lock:
            self._used = max(self._used, self.daily_limit)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._used = 0

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "used": self._used,
                "daily_limit": self.daily_limit,
                "remaining": max(self.daily_limit - self._used, 0),
                "calls": {kind: self._calls[kind] for kind in API_CALL_KINDS},
                "total_calls": sum(self._calls.values()),
            }


@dataclass
class QueryCursor:
    """The remaining pages of one REST query (``nextRecordsUrl`` points into it)."""

    records: list[dict[str, Any]]
    total_size: int
    batch_size: int


class QueryCursors:
    """Open REST query cursors of one org, oldest evicted first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cursors: OrderedDict[str, QueryCursor] = OrderedDict()

    def open(self, locator: str, cursor: QueryCursor) -> None:
        with self._lock:
            self._cursors[locator] = cursor
            while len(self._cursors) > MAX_OPEN_CURSORS:
                self._cursors.popitem(last=False)

    def get(self, locator: str) -> QueryCursor | None:
        with self._lock:
            return self._cursors.get(locator)

    def close(self, locator: str) -> None:
        with self._lock:
            self._cursors.pop(locator, None)

    def clear(self) -> None:
        with self._lock:
            self._cursors.clear()


class IdMinter:
    """Ids for server-side entities (jobs, batches, query locators) with real key prefixes."""

    def __init__(self, pod: str) -> None:
        self._pod = pod
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def mint(self, key_prefix: str) -> str:
        with self._lock:
            return make_id(key_prefix, self._pod, next(self._counter))


@dataclass
class OrgRuntime:
    """Everything the HTTP side keeps for one org."""

    identity: OrgIdentity
    data: OrgData
    usage: UsageMeter
    cursors: QueryCursors = field(default_factory=QueryCursors)
    ids: IdMinter = field(default_factory=lambda: IdMinter("5e0"))
    jobs_lock: threading.Lock = field(default_factory=threading.Lock)
    ingest_jobs: dict[str, Any] = field(default_factory=dict)  # bulk2_ingest.IngestJob
    query_jobs: dict[str, Any] = field(default_factory=dict)  # bulk2_query.QueryJob
    bulk1_jobs: dict[str, Any] = field(default_factory=dict)  # bulk1_api.Bulk1Job
    # Field-level security of the integration user: "object.field" (lower case) -> "read" | "none".
    field_access: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.identity.name

    def reset_server_state(self) -> None:
        """Forget cursors, jobs and field restrictions (the data is reset through ``OrgData``)."""
        self.cursors.clear()
        self.field_access.clear()
        with self.jobs_lock:
            self.ingest_jobs.clear()
            self.query_jobs.clear()
            self.bulk1_jobs.clear()
