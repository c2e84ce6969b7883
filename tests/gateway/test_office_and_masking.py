"""Office hours (the honest delay notice) and the masking of personal numbers on staff screens."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.office import OfficeHours
from bot.staff.masking import has_personal, mask_personal


def wib(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026 given in WIB (UTC+7)."""
    return datetime(2026, 11, day, hour - 7, minute, tzinfo=timezone.utc) if hour >= 7 else \
        datetime(2026, 11, day - 1, hour + 17, minute, tzinfo=timezone.utc)


HOURS = OfficeHours.parse("mon-fri 08:00-16:00")


def test_office_hours_are_read_from_the_setting() -> None:
    assert HOURS.label() == "Senin-Jumat 08.00-16.00 WIB"
    assert OfficeHours.parse("mon-sat 07.30-15.00").label() == "Senin-Sabtu 07.30-15.00 WIB"
    with pytest.raises(ValueError):
        OfficeHours.parse("setiap hari")
    with pytest.raises(ValueError):
        OfficeHours.parse("mon-fri 16:00-08:00")


def test_open_and_closed_times_in_wib() -> None:
    assert HOURS.is_open(wib(24, 9))  # Tuesday 09:00 WIB
    assert not HOURS.is_open(wib(24, 7, 59))
    assert not HOURS.is_open(wib(24, 16))
    assert not HOURS.is_open(wib(28, 10))  # Saturday


def test_the_notice_says_when_an_officer_will_answer() -> None:
    friday_evening = HOURS.delay_notice(wib(27, 19))
    assert "di luar jam layanan" in friday_evening and "Senin pukul 08.00 WIB" in friday_evening
    monday_night = HOURS.delay_notice(wib(23, 21))
    assert "besok pukul 08.00 WIB" in monday_night
    early = HOURS.delay_notice(wib(24, 6))
    assert "hari ini pukul 08.00 WIB" in early
    busy = HOURS.delay_notice(wib(24, 10))
    assert "paling lambat hari ini pukul 16.00 WIB" in busy
    late = HOURS.delay_notice(wib(24, 15, 45))  # too close to closing to promise today
    assert "besok pukul 08.00 WIB" in late
    assert "112" in HOURS.delay_notice(wib(24, 10), urgent=True)


@pytest.mark.parametrize(("text", "masked"), [
    ("NIK saya 3671051207800002", "NIK saya 3671**********02"),
    ("kk 3671 0512 0780 0002 ya", "kk 3671**********02 ya"),
    ("hubungi 0812-3456-7890", "hubungi 0812*****890"),
    ("WA +62 812 3456 7890", "WA 6281******890"),
    ("tiket LKS-123456 tanggal 12", "tiket LKS-123456 tanggal 12"),
])
def test_numbers_are_masked_on_staff_screens(text: str, masked: str) -> None:
    assert mask_personal(text) == masked
    assert has_personal(text) == (text != masked)
