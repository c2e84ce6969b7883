"""Dates as residents write them, and the next days an office serves."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from nlu.dates import find_dates

CITY_TIME = ZoneInfo("Asia/Jakarta")  # WIB: Kota Tangerang's offices keep this clock


def today_in_city() -> date:
    """Today's date in Kota Tangerang, whatever the server's time zone."""
    return datetime.now(CITY_TIME).date()


def first_bookable_day(now: datetime | None = None) -> date:
    """Today while there is time to get to an office (before 12.00 WIB), else tomorrow."""
    now = (now or datetime.now(CITY_TIME)).astimezone(CITY_TIME)
    return now.date() if now.hour < 12 else now.date() + timedelta(days=1)


def parse_date(text: str, today: date | None = None) -> date | None:
    """The first date in the text ("12-01-2026", "12 Januari 2026", "besok"), or None."""
    found = find_dates(text, today=today or today_in_city())
    return found[0].value if found else None


def next_service_days(start: date, count: int) -> list[date]:
    """The next `count` working days (Monday to Friday) from `start`, today included."""
    days: list[date] = []
    current = start
    while len(days) < count:
        if current.weekday() < 5:
            days.append(current)
        current += timedelta(days=1)
    return days
