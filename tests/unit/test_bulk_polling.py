"""Polling a Bulk 2.0 job: back off, slower while queued, honour Retry-After, stop at the deadline.

The job's states come from a scripted client (the emulator completes jobs at once, so it cannot
show a job that runs for minutes); the sleeps are recorded instead of slept.
"""

from __future__ import annotations

from typing import Any

import pytest

from include.walkme_sync.salesforce import bulk
from include.walkme_sync.salesforce.bulk import (
    MAX_POLL_INTERVAL_SECONDS,
    MAX_QUEUED_POLL_INTERVAL_SECONDS,
    wait_for_bulk_job,
)


class ScriptedJob:
    """`get_job` answers the scripted infos in turn (the last one forever)."""

    def __init__(self, infos: list[dict[str, Any]]) -> None:
        self.infos = infos
        self.polls = 0

    def get_job(self, job_id: str, is_query: bool) -> dict[str, Any]:
        info = self.infos[min(self.polls, len(self.infos) - 1)]
        self.polls += 1
        return info


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    clock = [0.0]

    def sleep(seconds: float) -> None:
        recorded.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(bulk.time, "sleep", sleep)
    monkeypatch.setattr(bulk.time, "monotonic", lambda: clock[0])
    return recorded


def test_a_queued_job_is_polled_less_often_than_a_running_one(sleeps: list[float]) -> None:
    queued = {"state": "UploadComplete", "numberRecordsProcessed": 0}
    client = ScriptedJob([queued] * 12 + [{"state": "JobComplete"}])
    info = wait_for_bulk_job(client, "750x", is_query=False)
    assert info["state"] == "JobComplete" and client.polls == 13
    assert sleeps == sorted(sleeps) and max(sleeps) == MAX_QUEUED_POLL_INTERVAL_SECONDS
    sleeps.clear()
    running = {"state": "InProgress", "numberRecordsProcessed": 5000}
    client = ScriptedJob([running] * 12 + [{"state": "JobComplete"}])
    wait_for_bulk_job(client, "750y", is_query=False)
    assert max(sleeps) == MAX_POLL_INTERVAL_SECONDS
    # The first poll is immediate and the waits double: 0.2, 0.4, 0.8...
    assert sleeps[:3] == [0.2, 0.4, 0.8]


def test_polls_wait_at_least_retry_after(sleeps: list[float]) -> None:
    client = ScriptedJob([{"state": "InProgress"}] * 3 + [{"state": "JobComplete"}])
    wait_for_bulk_job(client, "750z", is_query=True, retry_after=lambda: 7.0)
    assert sleeps == [7.0, 7.0, 7.0]


def test_polling_stops_at_the_deadline(sleeps: list[float]) -> None:
    client = ScriptedJob([{"state": "UploadComplete"}])
    info = wait_for_bulk_job(client, "750q", is_query=False, timeout=10.0)
    assert info["state"] == "UploadComplete"
    assert sum(sleeps) == pytest.approx(10.01, abs=0.02)
    assert client.polls <= 8
