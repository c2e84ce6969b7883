"""NIK and KK numbers: how the sandbox builds them and checks their structure.

A NIK is 6 digits of region (province, city, kecamatan), the birth date as DDMMYY with 40 added to
the day for women, and a 4-digit serial. A KK number has the same region and the issue date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

CITY = "3671"  # Banten (36), Kota Tangerang (71)
# Province codes in use (Aceh 11 ... Papua Barat Daya 96); parents may come from anywhere.
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "16", "17", "18", "19", "21", "31", "32", "33", "34", "35",
    "36", "51", "52", "53", "61", "62", "63", "64", "65", "71", "72", "73", "74", "75", "76",
    "81", "82", "91", "92", "93", "94", "95", "96",
})
_DIGITS16 = re.compile(r"\d{16}")


def make_nik(kecamatan_code: str, birth_date: date, female: bool, serial: int) -> str:
    day = birth_date.day + (40 if female else 0)
    return f"{CITY}{kecamatan_code}{day:02d}{birth_date:%m%y}{serial:04d}"


def make_kk_number(kecamatan_code: str, issued_on: date, serial: int) -> str:
    return f"{CITY}{kecamatan_code}{issued_on:%d%m%y}{serial:04d}"


@dataclass(frozen=True)
class NikFacts:
    female: bool
    day: int
    month: int
    year2: int  # the century is not in the NIK


def parse_nik(nik: str) -> NikFacts | None:
    """What a structurally valid NIK says about its holder, or None when the structure is wrong."""
    if not _DIGITS16.fullmatch(nik or ""):
        return None
    if nik[:2] not in PROVINCES or nik[2:4] == "00" or nik[4:6] == "00" or nik[12:] == "0000":
        return None
    day, month, year2 = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    female = day > 40
    day -= 40 if female else 0
    try:
        date(2000 + year2, month, day)  # leap years: 29-02-00 parses as 2000, a leap year
    except ValueError:
        try:
            date(1900 + year2, month, day)
        except ValueError:
            return None
    return NikFacts(female, day, month, year2)


def initials(full_name: str) -> str:
    """"Hendra Wijaya" -> "H. W." (what a chat may show of a family member)."""
    return " ".join(f"{part[0].upper()}." for part in full_name.split() if part[0].isalpha())


def mask(number: str) -> str:
    """First 4 and last 2 digits only: 3671**********02."""
    return number[:4] + "*" * max(0, len(number) - 6) + number[-2:] if len(number) > 6 else "****"
