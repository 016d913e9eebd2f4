"""Dashboard figures: counts of demandes over a period (all customers, no personal data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gateway.domain.records import DemandeType
from gateway.domain.values import DemandeStatus

MAX_SPAN_DAYS = 366  # the CRM refuses a longer span (`jusqua - depuis` over 366 days)


@dataclass(frozen=True, slots=True)
class StatusCount:
    status: DemandeStatus
    count: int


@dataclass(frozen=True, slots=True)
class TypeCount:
    type: DemandeType
    by_status: tuple[StatusCount, ...]

    @property
    def total(self) -> int:
        return sum(s.count for s in self.by_status)


@dataclass(frozen=True, slots=True)
class DemandeStatistics:
    since: date
    until: date
    by_type: tuple[TypeCount, ...]

    @property
    def total(self) -> int:
        return sum(t.total for t in self.by_type)
