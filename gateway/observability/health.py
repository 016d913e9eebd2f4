"""A legacy system's health as the dashboards see it: the latencies and outcomes of its last calls."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass
class Measurement:
    at: float  # time.time()
    ms: float
    failed: bool


class HealthWindow:
    """This process's recent exchanges with each system: kept `window_s` seconds, bounded."""

    def __init__(self, window_s: float = 300.0, max_per_backend: int = 10_000) -> None:
        self.window_s = window_s
        self.calls: dict[str, deque[Measurement]] = {}
        self.max_per_backend = max_per_backend
        self.last_failure: dict[str, float] = {}

    def record(self, backend: str, ms: float, failed: bool) -> None:
        now = time.time()
        calls = self.calls.setdefault(backend, deque(maxlen=self.max_per_backend))
        calls.append(Measurement(now, ms, failed))
        if failed:
            self.last_failure[backend] = now

    def summary(self, backend: str) -> dict[str, Any]:
        horizon = time.time() - self.window_s
        calls = self.calls.get(backend, deque())
        while calls and calls[0].at < horizon:
            calls.popleft()
        timings = sorted(m.ms for m in calls)
        failures = sum(1 for m in calls if m.failed)
        last = self.last_failure.get(backend)
        return {
            "calls": len(timings),
            "error_rate": failures / len(timings) if timings else 0.0,
            "p50": percentile(timings, 50),
            "p95": percentile(timings, 95),
            "p99": percentile(timings, 99),
            "last_failure_at": datetime.fromtimestamp(last, UTC) if last else None,
        }


def percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile of sorted values (None when there are none)."""
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n·q/100)
    return round(ordered[int(rank) - 1], 1)


# ---- one exchange with a back-end ---------------------------------------------------------------
