"""Quota guard: stop a sync before it eats the run's API budget or the org's daily allocation."""

from __future__ import annotations

from include.walkme_sync.errors import QuotaError
from include.walkme_sync.salesforce.client import ApiMeter


class ApiBudget:
    """API calls this run may still make.

    Two ceilings: `max_calls` for the run (calls counted from the budget's creation; None = no run
    ceiling) and `max_daily_usage`, the fraction of the org's daily API allocation the org may
    reach, known from the `Sforce-Limit-Info` header of the latest response.
    """

    def __init__(self, meter: ApiMeter, max_calls: int | None, max_daily_usage: float) -> None:
        self.meter = meter
        self.max_calls = max_calls
        self.max_daily_usage = max_daily_usage
        self._calls_at_start = meter.calls

    @property
    def used(self) -> int:
        """Calls made since the budget was created."""
        return self.meter.calls - self._calls_at_start

    def _daily_ceiling(self) -> int | None:
        if self.meter.daily_limit is None:
            return None
        return int(self.meter.daily_limit * self.max_daily_usage)

    def remaining(self) -> int | None:
        """Calls left before either ceiling; None when neither is known."""
        left: list[int] = []
        if self.max_calls is not None:
            left.append(self.max_calls - self.used)
        ceiling = self._daily_ceiling()
        if ceiling is not None and self.meter.daily_used is not None:
            left.append(ceiling - self.meter.daily_used)
        return max(min(left), 0) if left else None

    def reserve(self, n_calls: int, what: str) -> None:
        """Raise `QuotaError` if the next step (`what`, `n_calls` calls) would pass a ceiling."""
        if self.max_calls is not None and self.used + n_calls > self.max_calls:
            raise QuotaError(
                f"Stopped before {what}: it needs {n_calls} API call(s) and this run has used "
                f"{self.used} of its budget of {self.max_calls} (write.api_budget).",
                action="Raise write.api_budget in the integration's YAML if the org can spare "
                "the calls, then run again. Rows not written are retried by the next run.",
            )
        ceiling = self._daily_ceiling()
        used = self.meter.daily_used
        if ceiling is not None and used is not None and used + n_calls > ceiling:
            raise QuotaError(
                f"Stopped before {what}: the org has used {used:,} of its "
                f"{self.meter.daily_limit:,} daily API requests; {n_calls} more would pass "
                f"{self.max_daily_usage:.0%} (write.max_daily_api_usage).",
                action="Wait for the org's 24-hour window to free calls (or raise "
                "write.max_daily_api_usage if other integrations of the org can spare them); "
                "rows not written are retried by the next run.",
            )
