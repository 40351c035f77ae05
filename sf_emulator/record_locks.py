"""Injectable ``UNABLE_TO_LOCK_ROW`` failures of one org's record writes, for retry tests."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable

from sf_emulator.record_ids import normalize_id
from sf_emulator.results import RecordError


class RecordLockFaults:
    """Injectable ``UNABLE_TO_LOCK_ROW`` failures, for retry tests."""

    def __init__(self) -> None:
        self._locked: dict[str, int] = {}
        self._fraction = 0.0
        self._random = random.Random(0)
        self._guard = threading.Lock()
        # Read on every write; a plain attribute keeps the no-faults path cheap.
        self.active = False

    def _refresh(self) -> None:
        self.active = bool(self._locked) or self._fraction > 0

    def lock_records(self, ids: Iterable[str], times: int = 1) -> None:
        """Each id fails its next ``times`` write attempts."""
        with self._guard:
            for raw_id in ids:
                record_id = normalize_id(raw_id) or raw_id
                self._locked[record_id] = self._locked.get(record_id, 0) + times
            self._refresh()

    def lock_fraction(self, fraction: float, seed: int = 0) -> None:
        """Every write attempt fails with probability ``fraction`` (deterministic per seed)."""
        if not 0 <= fraction <= 1:
            raise ValueError(f"fraction must be between 0 and 1, not {fraction}")
        with self._guard:
            self._fraction = fraction
            self._random = random.Random(seed)
            self._refresh()

    def clear(self) -> None:
        with self._guard:
            self._locked.clear()
            self._fraction = 0.0
            self._refresh()

    def check(self, record_id: str | None) -> RecordError | None:
        """The lock error for this write attempt, if it is to fail."""
        with self._guard:
            remaining = self._locked.get(record_id, 0) if record_id else 0
            if remaining:
                if remaining == 1:
                    del self._locked[record_id]  # type: ignore[arg-type]
                    self._refresh()
                else:
                    self._locked[record_id] = remaining - 1  # type: ignore[index]
                return _lock_error(record_id)
            if self._fraction and self._random.random() < self._fraction:
                return _lock_error(record_id)
        return None


def _lock_error(record_id: str | None) -> RecordError:
    return RecordError(
        "UNABLE_TO_LOCK_ROW",
        f"unable to obtain exclusive access to this record or 1 records: {record_id or ''}",
        [],
    )
