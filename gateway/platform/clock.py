"""The business calendar: today's date in Europe/Paris, pinnable for tests and demos."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


class Clock:
    def __init__(self, pinned: date | None = None) -> None:
        self.pinned = pinned

    def today(self) -> date:
        return self.pinned or datetime.now(PARIS).date()
