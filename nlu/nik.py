"""NIK and KK numbers: finding them in a message, checking their structure, masking them.

A NIK is PP KK CC DDMMYY SSSS: province, regency/city, district, birth date (day + 40 for women)
and a serial. A KK (family card) number has the same region part, then the card's issuing date
(never + 40) and a serial. Only the structure is checked here; whether the number exists is
Dukcapil's to say. Messages are short, polite Indonesian and never repeat the number itself.

Pure Python, imported by the Rasa component and the actions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from nlu import geo

KOTA_TANGERANG = "3671"
# Kemendagri province codes (2022 numbering: 91 Papua, 92 Papua Barat, 93 Papua Selatan, 94 Papua
# Tengah). The contract limits NIKs to 11-94, so Papua Pegunungan (95) and Papua Barat Daya (96),
# created in 2022, are left out: add them here if Dukcapil issues such NIKs to residents.
PROVINCES = {
    "11": "Aceh", "12": "Sumatera Utara", "13": "Sumatera Barat", "14": "Riau", "15": "Jambi",
    "16": "Sumatera Selatan", "17": "Bengkulu", "18": "Lampung",
    "19": "Kepulauan Bangka Belitung", "21": "Kepulauan Riau", "31": "DKI Jakarta",
    "32": "Jawa Barat", "33": "Jawa Tengah", "34": "DI Yogyakarta", "35": "Jawa Timur",
    "36": "Banten", "51": "Bali", "52": "Nusa Tenggara Barat", "53": "Nusa Tenggara Timur",
    "61": "Kalimantan Barat", "62": "Kalimantan Tengah", "63": "Kalimantan Selatan",
    "64": "Kalimantan Timur", "65": "Kalimantan Utara", "71": "Sulawesi Utara",
    "72": "Sulawesi Tengah", "73": "Sulawesi Selatan", "74": "Sulawesi Tenggara",
    "75": "Gorontalo", "76": "Sulawesi Barat", "81": "Maluku", "82": "Maluku Utara",
    "91": "Papua", "92": "Papua Barat", "93": "Papua Selatan", "94": "Papua Tengah",
}

# Reason codes (stable: callers and tests compare them).
OK = "ok"
EMPTY = "empty"
NON_DIGIT = "non_digit"
WRONG_LENGTH = "wrong_length"
UNKNOWN_PROVINCE = "unknown_province"
REGENCY_ZERO = "regency_zero"
DISTRICT_ZERO = "district_zero"
INVALID_DAY = "invalid_day"
INVALID_MONTH = "invalid_month"
INVALID_DATE = "invalid_date"
FUTURE_DATE = "future_date"
SERIAL_ZERO = "serial_zero"
LOOKS_LIKE_NIK = "looks_like_nik"  # a KK number whose date has the + 40 only NIKs carry

_SEPARATORS = re.compile(r"[\s.\-]+")
_PIECE = re.compile(r"\d+(?:[.\-]\d+)*")  # digits joined by dots or dashes: never split
_RUN = re.compile(r"\d+(?:[ .\-]\d+)*")  # digits joined by single spaces, dots or dashes
_MIXED = re.compile(r"(?=\w*\d)(?=\w*[^\W\d_])\w+")  # a word with both letters and digits


@dataclass(frozen=True)
class NumberSpan:
    """A 16-digit number found in a text: its digits and where it was written."""

    value: str
    start: int
    end: int


@dataclass(frozen=True)
class NikCheck:
    """The verdict on a NIK and, when readable, what its digits say."""

    ok: bool
    reason: str
    message: str
    nik: str = ""
    province_code: str = ""
    province: str | None = None
    regency_code: str = ""  # 4 digits, "3671" for Kota Tangerang
    district_code: str = ""  # 2 digits within the regency
    kecamatan: str | None = None  # decoded only for Kota Tangerang
    birth_date: date | None = None
    gender: str | None = None  # "L" (laki-laki) or "P" (perempuan)
    serial: str = ""
    is_kota_tangerang: bool = False

    @property
    def is_female(self) -> bool | None:
        return None if self.gender is None else self.gender == "P"


@dataclass(frozen=True)
class KkCheck:
    """The verdict on a KK number and, when readable, what its digits say."""

    ok: bool
    reason: str
    message: str
    number: str = ""
    province_code: str = ""
    province: str | None = None
    regency_code: str = ""
    district_code: str = ""
    kecamatan: str | None = None
    issued_on: date | None = None
    serial: str = ""
    is_kota_tangerang: bool = False


def find_sixteen_digit_numbers(text: str) -> list[NumberSpan]:
    """16-digit numbers, written whole or in groups ("3671 0145 0789 0002", "3671.0145...").

    Groups joined by dots or dashes are one piece (a tax number "36.71.030.005.012-0034.0" is
    18 digits, not a NIK inside something longer); pieces separated by single spaces are joined
    only when they add up to exactly 16 digits, so a NIK next to a phone number stays a NIK.
    """
    found: list[NumberSpan] = []
    for run in _RUN.finditer(text or ""):
        pieces = [(re.sub(r"\D", "", p.group()), run.start() + p.start(), run.start() + p.end())
                  for p in _PIECE.finditer(run.group())]
        i = 0
        while i < len(pieces):
            total, j = 0, i
            while j < len(pieces) and total < 16:
                total += len(pieces[j][0])
                j += 1
            if total == 16:
                found.append(NumberSpan("".join(p[0] for p in pieces[i:j]), pieces[i][1],
                                        pieces[j - 1][2]))
                i = j
            else:
                i += 1
    return found


def normalize_nik(text: str) -> str:
    """The digits of a NIK or KK number: "3671 0145.0789-0002" -> "3671014507890002".

    Text around one number ("NIK saya 3671...") is dropped; when no single number stands out
    the separators are simply removed, so a wrong length can still be reported.
    """
    compact = _SEPARATORS.sub("", text or "")
    if compact.isdigit() or not compact:
        return compact
    numbers = find_sixteen_digit_numbers(text)
    if len(numbers) == 1:
        return numbers[0].value
    runs = [_SEPARATORS.sub("", r.group()) for r in _RUN.finditer(text)]
    long_runs = [r for r in runs if len(r) >= 6]
    if len(long_runs) == 1 and not _MIXED.search(text):
        return long_runs[0]
    return compact


def mask_nik(nik: str) -> str:
    """"3671014507890002" -> "3671**********02": safe to show in a reply or a log."""
    digits = normalize_nik(nik)
    if len(digits) <= 6:
        return "*" * len(digits)
    return digits[:4] + "*" * (len(digits) - 6) + digits[-2:]


def _year(two_digits: int, today: date) -> int:
    """Two-digit years up to this year are 20xx, later ones 19xx."""
    return 2000 + two_digits if two_digits <= today.year % 100 else 1900 + two_digits


def _shape(text: str, label: str) -> tuple[str, str, str]:
    """(digits, reason, message) for the length and character checks shared by NIK and KK."""
    digits = normalize_nik(text)
    if not digits:
        return "", EMPTY, f"Mohon ketik {label} Anda (16 angka)."
    if not digits.isdigit():
        return digits, NON_DIGIT, (f"{label} hanya terdiri dari angka. Sepertinya ada huruf atau "
                                   "tanda lain di dalamnya, mohon diperiksa kembali.")
    if len(digits) != 16:
        return digits, WRONG_LENGTH, (f"{label} terdiri dari 16 angka, sedangkan yang Anda "
                                      f"kirim {len(digits)} angka.")
    return digits, OK, ""


def _region(digits: str, label: str) -> tuple[str, str]:
    """(reason, message) for the province, regency and district codes."""
    if digits[:2] not in PROVINCES:
        return UNKNOWN_PROVINCE, (f"Dua angka pertama {label} ({digits[:2]}) bukan kode provinsi "
                                  "yang dikenal. Mohon periksa kembali.")
    if digits[2:4] == "00":
        return REGENCY_ZERO, (f"Angka ke-3 dan ke-4 {label} (kode kabupaten/kota) tidak boleh 00. "
                              "Mohon periksa kembali.")
    if digits[4:6] == "00":
        return DISTRICT_ZERO, (f"Angka ke-5 dan ke-6 {label} (kode kecamatan) tidak boleh 00. "
                               "Mohon periksa kembali.")
    return OK, ""


def _decoded_region(digits: str) -> dict[str, object]:
    in_city = digits[:4] == KOTA_TANGERANG
    return {
        "province_code": digits[:2], "province": PROVINCES.get(digits[:2]),
        "regency_code": digits[:4], "district_code": digits[4:6], "serial": digits[12:],
        "is_kota_tangerang": in_city,
        "kecamatan": geo.kecamatan_by_code(digits[4:6]) if in_city else None,
    }


def validate_nik(text: str, today: date | None = None) -> NikCheck:
    """Checks a NIK's structure; `message` explains a failure politely, in Indonesian."""
    today = today or date.today()
    label = "NIK"
    digits, reason, message = _shape(text, label)
    if reason == OK:
        reason, message = _region(digits, label)
    if reason != OK:
        return NikCheck(False, reason, message, nik=digits if digits.isdigit() else "")
    day, month, year = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    gender = "P" if day > 40 else "L"
    day = day - 40 if day > 40 else day
    born: date | None = None
    date_problem = "angka ke-7 sampai ke-12 NIK adalah tanggal lahir"
    if not 1 <= day <= 31:
        reason, message = INVALID_DAY, (f"Tanggal lahir pada NIK tidak sesuai: {date_problem} "
                                        "(tanggal 01-31, atau 41-71 untuk perempuan).")
    elif not 1 <= month <= 12:
        reason, message = INVALID_MONTH, (f"Bulan lahir pada NIK tidak sesuai: {date_problem} "
                                          "(bulan 01-12).")
    else:
        try:
            born = date(_year(year, today), month, day)
        except ValueError:
            reason, message = INVALID_DATE, (f"Tanggal lahir pada NIK tidak ada di kalender: "
                                             f"{date_problem}. Mohon periksa kembali.")
        else:
            if born > today:
                reason, message = FUTURE_DATE, ("Tanggal lahir pada NIK jatuh di masa depan. "
                                                "Mohon periksa kembali.")
    if reason == OK and digits[12:] == "0000":
        reason, message = SERIAL_ZERO, ("Empat angka terakhir NIK (nomor urut) tidak boleh 0000. "
                                        "Mohon periksa kembali.")
    ok = reason == OK
    return NikCheck(
        ok, reason, "NIK sesuai format." if ok else message, nik=digits,
        birth_date=born if ok else None, gender=gender if ok else None,
        **_decoded_region(digits),  # type: ignore[arg-type]
    )


def validate_kk_number(text: str, today: date | None = None) -> KkCheck:
    """Checks a KK number's structure; `message` explains a failure politely, in Indonesian."""
    today = today or date.today()
    label = "Nomor KK"
    digits, reason, message = _shape(text, label)
    if reason == OK:
        reason, message = _region(digits, label)
    if reason != OK:
        return KkCheck(False, reason, message, number=digits if digits.isdigit() else "")
    day, month, year = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    issued: date | None = None
    if 41 <= day <= 71:
        reason, message = LOOKS_LIKE_NIK, ("Sepertinya ini NIK, bukan Nomor KK. Nomor KK tertera "
                                           "di bagian atas Kartu Keluarga.")
    else:
        try:
            issued = date(_year(year, today), month, day)
        except ValueError:
            reason, message = INVALID_DATE, ("Angka ke-7 sampai ke-12 Nomor KK (tanggal "
                                             "penerbitan) tidak membentuk tanggal yang benar. "
                                             "Mohon periksa kembali.")
        else:
            if issued > today:
                reason, message = FUTURE_DATE, ("Tanggal penerbitan pada Nomor KK jatuh di masa "
                                                "depan. Mohon periksa kembali.")
    if reason == OK and digits[12:] == "0000":
        reason, message = SERIAL_ZERO, ("Empat angka terakhir Nomor KK tidak boleh 0000. "
                                        "Mohon periksa kembali.")
    ok = reason == OK
    return KkCheck(
        ok, reason, "Nomor KK sesuai format." if ok else message, number=digits,
        issued_on=issued if ok else None,
        **_decoded_region(digits),  # type: ignore[arg-type]
    )
