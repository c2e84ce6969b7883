"""Queue rules as a city office runs them: open days, daily quotas, numbers and time windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Booking, Holiday, Office

OPENS = time(8, 0)
CLOSES = {5: time(12, 0)}  # Saturday closes at noon; other days at 15:00
DEFAULT_CLOSE = time(15, 0)
WINDOW = timedelta(minutes=30)
HORIZON_DAYS = 14  # bookings open two weeks ahead
SAME_DAY_CUTOFF = time(12, 0)  # a booking for today must be made before noon
ACTIVE = "aktif"


@dataclass(frozen=True)
class Closed:
    code: str
    message: str


def closed(session: Session, office: Office, day: date, now: datetime) -> Closed | None:
    """Why `office` takes no bookings for `day`, or None when it does."""
    today = now.date()
    if day < today:
        return Closed("date_in_past", "Tanggal sudah lewat.")
    if day > today + timedelta(days=HORIZON_DAYS):
        return Closed("date_too_far", f"Antrean hanya bisa dipesan paling lama {HORIZON_DAYS} "
                      "hari ke depan.")
    shut = day_closed(session, office, day)
    if shut is not None:
        return shut
    if day == today and now.time() >= SAME_DAY_CUTOFF:
        return Closed("same_day_closed", "Pemesanan untuk hari ini ditutup pukul 12.00; pilih "
                      "hari lain.")
    return None


def day_closed(session: Session, office: Office, day: date) -> Closed | None:
    """Why `office` is shut all of `day` (Sunday, Saturday, holiday), or None."""
    if day.weekday() == 6:
        return Closed("closed_sunday", "Kantor tutup pada hari Minggu.")
    if day.weekday() == 5 and not office.open_saturday:
        return Closed("closed_saturday", f"{office.name} tutup pada hari Sabtu.")
    holiday = session.get(Holiday, day)
    if holiday is not None:
        return Closed("closed_holiday", f"Hari libur: {holiday.name}.")
    return None


def day_quota(daily: int, day: date) -> int:
    """Saturday is a half day."""
    return daily // 2 if day.weekday() == 5 else daily


def windows(day: date) -> list[tuple[time, time]]:
    """The day's 30-minute arrival windows."""
    start = datetime.combine(day, OPENS)
    end = datetime.combine(day, CLOSES.get(day.weekday(), DEFAULT_CLOSE))
    slots = []
    while start < end:
        slots.append((start.time(), (start + WINDOW).time()))
        start += WINDOW
    return slots


def window_of(seq: int, quota: int, day: date) -> tuple[time, time]:
    """Queue numbers are spread evenly over the day's windows."""
    slots = windows(day)
    return slots[min(len(slots) - 1, (seq - 1) * len(slots) // max(1, quota))]


def active_seqs(session: Session, office: str, service: str, day: date) -> set[int]:
    rows = session.scalars(select(Booking.seq).where(
        Booking.office_code == office, Booking.service_code == service, Booking.day == day,
        Booking.status == ACTIVE))
    return set(rows)


def booked_count(session: Session, office: str, service: str, day: date) -> int:
    return session.scalar(select(func.count()).select_from(Booking).where(
        Booking.office_code == office, Booking.service_code == service, Booking.day == day,
        Booking.status == ACTIVE)) or 0


def first_free(taken: set[int], quota: int) -> int | None:
    """The lowest free number: a cancelled booking's number goes to the next person."""
    return next((seq for seq in range(1, quota + 1) if seq not in taken), None)


def queue_number(letter: str, seq: int) -> str:
    return f"{letter}-{seq:03d}"


def next_open_days(session: Session, office: Office, now: datetime, count: int) -> list[date]:
    """The next `count` days (from today) on which `office` takes bookings."""
    days: list[date] = []
    day = now.date()
    while len(days) < count and day <= now.date() + timedelta(days=HORIZON_DAYS):
        if closed(session, office, day, now) is None:
            days.append(day)
        day += timedelta(days=1)
    return days


def add_working_days(session: Session, start: date, days: int) -> date:
    """`days` office days after `start`, skipping weekends and holidays (response deadlines)."""
    holidays = set(session.scalars(select(Holiday.day).where(Holiday.day > start)))
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            days -= 1
    return day
