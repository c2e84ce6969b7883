"""Time in the sandbox: Western Indonesian Time, from a clock tests can replace."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import overload

# Indonesia keeps no daylight saving, so a fixed offset is exact and needs no tz database.
WIB = timezone(timedelta(hours=7), "WIB")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time in WIB."""
    return datetime.now(WIB)


def fixed_clock(moment: datetime) -> Clock:
    """A clock that always answers `moment` (tests, reproducible demos)."""
    fixed = moment if moment.tzinfo else moment.replace(tzinfo=WIB)
    return lambda: fixed


@overload
def wib(value: datetime) -> datetime: ...


@overload
def wib(value: None) -> None: ...


def wib(value: datetime | None) -> datetime | None:
    """A stored (UTC) time shown in WIB."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(WIB)


def today(clock: Clock) -> date:
    return clock().date()
