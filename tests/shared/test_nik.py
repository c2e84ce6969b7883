"""NIK and KK numbers: structure checks, decoding, masking, and finding them in a message."""

from __future__ import annotations

from datetime import date

import pytest

from nlu import nik
from nlu.nik import (
    find_sixteen_digit_numbers,
    mask_nik,
    normalize_nik,
    validate_kk_number,
    validate_nik,
)
from nlu.phone import find_phones, normalize_phone
from nlu.tickets import find_tickets

TODAY = date(2025, 6, 15)
WOMAN = "3671014507890002"  # Kota Tangerang, kec. 01, born 5 July 1989 (45 = 5 + 40), serial 0002
MAN = "3171011208000123"  # DKI Jakarta, born 12 August 2000


def test_female_nik_decodes_birth_date_gender_and_kecamatan() -> None:
    check = validate_nik(WOMAN, today=TODAY)
    assert check.ok and check.reason == nik.OK
    assert check.birth_date == date(1989, 7, 5)
    assert check.gender == "P" and check.is_female is True
    assert check.province == "Banten" and check.province_code == "36"
    assert check.regency_code == "3671" and check.district_code == "01"
    assert check.is_kota_tangerang and check.kecamatan == "Tangerang"
    assert check.serial == "0002"


def test_male_nik_outside_the_city() -> None:
    check = validate_nik(MAN, today=TODAY)
    assert check.ok
    assert check.birth_date == date(2000, 8, 12)
    assert check.gender == "L" and check.is_female is False
    assert check.province == "DKI Jakarta"
    assert not check.is_kota_tangerang and check.kecamatan is None


def test_grouped_nik_is_normalized_before_checking() -> None:
    assert normalize_nik("3671 0145 0789 0002") == WOMAN
    assert normalize_nik("3671.0145.0789.0002") == WOMAN
    assert normalize_nik("3671-0145-0789-0002") == WOMAN
    assert normalize_nik("NIK saya 3671 0145 0789 0002 ya") == WOMAN
    assert validate_nik("3671 0145 0789 0002", today=TODAY).ok


@pytest.mark.parametrize(("text", "reason", "words"), [
    ("", nik.EMPTY, "16 angka"),
    ("367101450789000", nik.WRONG_LENGTH, "15 angka"),
    ("nik saya 36710145078900021", nik.WRONG_LENGTH, "17 angka"),
    ("36710145O7890002", nik.NON_DIGIT, "angka"),
    ("9971014507890002", nik.UNKNOWN_PROVINCE, "(99)"),
    ("1071014507890002", nik.UNKNOWN_PROVINCE, "provinsi"),
    ("3600014507890002", nik.REGENCY_ZERO, "kabupaten/kota"),
    ("3671004507890002", nik.DISTRICT_ZERO, "kecamatan"),
    ("3671013207890002", nik.INVALID_DAY, "41-71"),
    ("3671017207890002", nik.INVALID_DAY, "tanggal"),
    ("3671010013890002", nik.INVALID_DAY, "tanggal"),
    ("3671011513890002", nik.INVALID_MONTH, "bulan"),
    ("3671013002900002", nik.INVALID_DATE, "kalender"),
    ("3671017102900002", nik.INVALID_DATE, "kalender"),  # 31 Feb for a woman
    ("3671011512250002", nik.FUTURE_DATE, "masa depan"),
    ("3671011501250000", nik.SERIAL_ZERO, "0000"),
])
def test_each_problem_has_its_reason_and_a_polite_explanation(text: str, reason: str,
                                                              words: str) -> None:
    check = validate_nik(text, today=TODAY)
    assert not check.ok
    assert check.reason == reason
    assert words in check.message
    assert check.message.endswith(".")
    assert "3671014507890002" not in check.message  # the number is never repeated back


def test_leap_day_and_two_digit_years() -> None:
    assert validate_nik("3671012902000001", today=TODAY).birth_date == date(2000, 2, 29)
    assert validate_nik("3671012902010001", today=TODAY).reason == nik.INVALID_DATE
    # 25 is this year (2025); 26 can only be 1926.
    assert validate_nik("3671011501250001", today=TODAY).birth_date == date(2025, 1, 15)
    assert validate_nik("3671011501260001", today=TODAY).birth_date == date(1926, 1, 15)


def test_province_codes_are_the_real_ones() -> None:
    assert set(nik.PROVINCES) >= {"11", "21", "31", "36", "51", "65", "76", "82", "94"}
    assert all(11 <= int(code) <= 94 for code in nik.PROVINCES)
    assert not {"20", "30", "37", "40", "50", "66", "80", "90"} & set(nik.PROVINCES)


def test_mask_keeps_first_four_and_last_two_digits() -> None:
    assert mask_nik(WOMAN) == "3671**********02"
    assert mask_nik("3671 0145 0789 0002") == "3671**********02"
    assert len(mask_nik(WOMAN)) == 16


def test_kk_number_checks_issuing_date_without_the_women_offset() -> None:
    check = validate_kk_number("3671010101100003", today=TODAY)
    assert check.ok and check.issued_on == date(2010, 1, 1)
    assert check.is_kota_tangerang and check.kecamatan == "Tangerang"
    assert validate_kk_number(WOMAN, today=TODAY).reason == nik.LOOKS_LIKE_NIK
    assert validate_kk_number("3671013102200003", today=TODAY).reason == nik.INVALID_DATE
    assert validate_kk_number("3671010112250003", today=TODAY).reason == nik.FUTURE_DATE
    assert validate_kk_number("3671010101100000", today=TODAY).reason == nik.SERIAL_ZERO
    assert validate_kk_number("9971010101100003", today=TODAY).reason == nik.UNKNOWN_PROVINCE
    short = validate_kk_number("36710101011000", today=TODAY)
    assert short.reason == nik.WRONG_LENGTH and "14 angka" in short.message
    assert short.message.startswith("Nomor KK")


def test_sixteen_digit_numbers_are_found_with_spans() -> None:
    text = "NIK 3671 0145 0789 0002, KK 3671010101100003."
    found = find_sixteen_digit_numbers(text)
    assert [n.value for n in found] == [WOMAN, "3671010101100003"]
    assert text[found[0].start:found[0].end] == "3671 0145 0789 0002"
    assert text[found[1].start:found[1].end] == "3671010101100003"


@pytest.mark.parametrize("text", [
    "36710145078900021",  # 17 digits
    "367101450789000",  # 15 digits
    "3671 0145 0789 00021",
    "Rp 1.000.000",
    "NOP 36.71.030.005.012-0034.0",  # 18-digit tax object number
    "3671.0145.0789.00021",
])
def test_other_lengths_are_not_sixteen_digit_numbers(text: str) -> None:
    assert find_sixteen_digit_numbers(text) == []


def test_a_phone_number_next_to_a_nik_stays_a_phone() -> None:
    text = "hp 0812 3456 7890 3671014507890002"
    assert [n.value for n in find_sixteen_digit_numbers(text)] == [WOMAN]
    assert [p.value for p in find_phones(text)] == ["6281234567890"]


@pytest.mark.parametrize(("text", "value"), [
    ("0812-3456-7890", "6281234567890"),
    ("+62 812 3456 7890", "6281234567890"),
    ("6281234567890", "6281234567890"),
    ("wa 0857.1234.567 ya", "628571234567"),
    ("0812345678", "62812345678"),
])
def test_mobile_numbers_are_normalized_to_62(text: str, value: str) -> None:
    assert normalize_phone(text) == value


@pytest.mark.parametrize("text", [
    WOMAN, "6201234567890123", "021 5555 1234", "081234", "08123456789012345",
])
def test_sixteen_digit_numbers_and_landlines_are_not_phones(text: str) -> None:
    assert find_phones(text) == []


@pytest.mark.parametrize(("text", "value"), [
    ("LKS-123456", "LKS-123456"), ("lks 123456", "LKS-123456"), ("akl.310552", "AKL-310552"),
    ("ant123456", "ANT-123456"), ("tiket Lks-000001 gmn", "LKS-000001"),
])
def test_ticket_numbers_are_normalized(text: str, value: str) -> None:
    assert [t.value for t in find_tickets(text)] == [value]


@pytest.mark.parametrize("text", ["LKS-12345", "LKS-1234567", "XLKS-123456", "antrean 123456"])
def test_near_misses_are_not_tickets(text: str) -> None:
    assert find_tickets(text) == []
