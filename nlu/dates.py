"""Dates as residents write them, found in a message: "12 Januari 2020", "12 jan 2020",
"12-01-2020", "12/1/20", "2020-01-12", "hari ini", "besok", "lusa".

Pure Python. Relative dates are counted from `today`, which callers (and tests) may pass in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {
    "januari": 1, "jan": 1, "january": 1, "februari": 2, "pebruari": 2, "feb": 2, "peb": 2,
    "february": 2, "maret": 3, "mar": 3, "march": 3, "april": 4, "apr": 4, "mei": 5, "may": 5,
    "juni": 6, "jun": 6, "june": 6, "juli": 7, "jul": 7, "july": 7, "agustus": 8, "agu": 8,
    "agt": 8, "ags": 8, "agus": 8, "aug": 8, "august": 8, "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "oct": 10, "october": 10, "november": 11, "nopember": 11,
    "nov": 11, "desember": 12, "des": 12, "dec": 12, "december": 12,
}
# Only the days a resident books or asks about; "kemarin" mostly narrates ("sejak kemarin") and
# "besuk" is a visit ("jam besuk").
RELATIVE = {"hari ini": 0, "besok": 1, "lusa": 2}
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_WORDY = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?:\s+|-)({_MONTH_NAMES})\.?(?:(?:\s+|-|,\s*)(\d{{4}}|'?\d{{2}}))?(?![\w])",
    re.I,
)
_NUMERIC = re.compile(r"(?<![\d.\-/])(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})(?![\d.\-/]?\d)")
_ISO = re.compile(r"(?<![\d\-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d\-])")
_RELATIVE = re.compile(r"\b(" + "|".join(RELATIVE) + r")\b", re.I)


@dataclass(frozen=True)
class DateSpan:
    """A date found in a text, with where it was written."""

    value: date
    start: int
    end: int


def _year(text: str | None, today: date) -> int:
    """Four digits as written; two digits are 20xx unless that is over ten years ahead."""
    if not text:
        return today.year
    digits = text.lstrip("'")
    if len(digits) == 4:
        return int(digits)
    year = 2000 + int(digits)
    return year if year <= today.year + 10 else year - 100


def find_dates(text: str, today: date | None = None) -> list[DateSpan]:
    """Dates in a text, left to right; impossible dates ("31 Februari") are left out."""
    today = today or date.today()
    text = text or ""
    found: list[DateSpan] = []

    def add(start: int, end: int, year: int, month: int, day: int) -> None:
        try:
            value = date(year, month, day)
        except ValueError:
            return
        if not any(start < s.end and s.start < end for s in found):
            found.append(DateSpan(value, start, end))

    for m in _ISO.finditer(text):
        add(m.start(), m.end(), int(m.group(1)), int(m.group(2)), int(m.group(3)))
    for m in _WORDY.finditer(text):
        add(m.start(), m.end(), _year(m.group(3), today), MONTHS[m.group(2).lower()],
            int(m.group(1)))
    for m in _NUMERIC.finditer(text):
        add(m.start(), m.end(), _year(m.group(4), today), int(m.group(3)), int(m.group(1)))
    for m in _RELATIVE.finditer(text):
        value = today + timedelta(days=RELATIVE[m.group(1).lower()])
        add(m.start(), m.end(), value.year, value.month, value.day)
    return sorted(found, key=lambda s: s.start)
