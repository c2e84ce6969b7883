"""Dates as residents write them, and the next days an office serves."""

from __future__ import annotations

from datetime import date, timedelta
from typing import List, Optional

from nlu.dates import find_dates


def parse_date(text: str, today: Optional[date] = None) -> Optional[date]:
    """The first date in the text ("12-01-2026", "12 Januari 2026", "besok"), or None."""
    found = find_dates(text, today=today)
    return found[0].value if found else None


def next_service_days(start: date, count: int) -> List[date]:
    """The next `count` working days (Monday to Friday) from `start`, today included."""
    days: List[date] = []
    current = start
    while len(days) < count:
        if current.weekday() < 5:
            days.append(current)
        current += timedelta(days=1)
    return days
