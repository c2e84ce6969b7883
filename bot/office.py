"""Office hours of the helpdesk (WIB), and the honest notice a waiting resident gets.

Setting `PINTU_OFFICE_HOURS`, default "mon-fri 08:00-16:00" (Disdukcapil and the Live Room
helpdesk's public hours). Public holidays are not known here; on a holiday the notice after
`notice_after_s` still tells the resident the next working time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
_SPEC = re.compile(r"^\s*(\w{3})(?:-(\w{3}))?\s+(\d{1,2})[:.](\d{2})-(\d{1,2})[:.](\d{2})\s*$")


@dataclass(frozen=True)
class OfficeHours:
    days: frozenset[int] = frozenset(range(5))  # Monday = 0
    opens: time = time(8, 0)
    closes: time = time(16, 0)

    @classmethod
    def parse(cls, spec: str) -> OfficeHours:
        """"mon-fri 08:00-16:00" or "mon-sat 07.30-15.00"."""
        match = _SPEC.match(spec.lower())
        if not match:
            raise ValueError(f"office hours must look like 'mon-fri 08:00-16:00', not {spec!r}")
        first, last = DAYS.index(match.group(1)), DAYS.index(match.group(2) or match.group(1))
        days = frozenset(range(first, last + 1))
        opens = time(int(match.group(3)), int(match.group(4)))
        closes = time(int(match.group(5)), int(match.group(6)))
        if not days or closes <= opens:
            raise ValueError(f"office hours {spec!r} are empty")
        return cls(days, opens, closes)

    def label(self) -> str:
        first, last = min(self.days), max(self.days)
        days = DAY_NAMES[first] if first == last else f"{DAY_NAMES[first]}-{DAY_NAMES[last]}"
        return f"{days} {self.opens:%H.%M}-{self.closes:%H.%M} WIB"

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(WIB)
        return local.weekday() in self.days and self.opens <= local.time() < self.closes

    def next_open(self, at: datetime) -> datetime:
        """The next moment the office opens after `at` (WIB)."""
        local = at.astimezone(WIB)
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            start = datetime.combine(day, self.opens, tzinfo=WIB)
            if day.weekday() in self.days and start > local:
                return start
        raise AssertionError("no office day in a week")  # parse() refuses empty hours

    def when(self, at: datetime) -> str:
        """"hari ini pukul 08.00", "besok pukul 08.00" or "Senin pukul 08.00" (WIB)."""
        moment = self.next_open(at)
        days = (moment.date() - at.astimezone(WIB).date()).days
        day = "hari ini" if days == 0 else "besok" if days == 1 else DAY_NAMES[moment.weekday()]
        return f"{day} pukul {moment:%H.%M} WIB"

    def delay_notice(self, at: datetime, *, urgent: bool = False) -> str:
        """The honest message for a resident nobody could take yet."""
        emergency = " Bila darurat, segera telepon 112 (gratis)." if urgent else \
            " Untuk darurat, hubungi 112 (gratis)."
        if not self.is_open(at):
            return (f"Saat ini di luar jam layanan petugas ({self.label()}). Pesan Anda sudah "
                    f"tersimpan dan akan dibalas petugas mulai {self.when(at)}." + emergency)
        closes = datetime.combine(at.astimezone(WIB).date(), self.closes, tzinfo=WIB)
        if closes - at < timedelta(minutes=30):  # too close to closing to promise today
            return ("Mohon maaf, semua petugas sedang melayani warga lain. Anda tetap dalam "
                    f"antrean dan akan dibalas paling lambat {self.when(closes)}." + emergency)
        return ("Mohon maaf, semua petugas sedang melayani warga lain. Anda tetap dalam antrean "
                f"dan akan dibalas paling lambat hari ini pukul {closes:%H.%M} WIB." + emergency)
