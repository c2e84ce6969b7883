"""Properties of the NIK and KK parser and of NIK masking, over generated input (hypothesis).

`nlu/nik.py` runs in both environments; its examples are in tests/shared/test_nik.py. These
properties run in the gateway environment only: hypothesis's current releases need Python 3.11,
and the Rasa environment stays as Rasa 3.6 pins it.
"""

from __future__ import annotations

import re
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from integrations.agency import privacy
from nlu import geo, nik

TODAY = date(2025, 6, 15)
# Two-digit years up to TODAY's are 20xx, later ones 19xx: a NIK speaks of one century.
OLDEST = date(TODAY.year - 99, 1, 1)


@st.composite
def valid_niks(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    """A structurally valid NIK and what it must decode to."""
    province = draw(st.sampled_from(sorted(nik.PROVINCES)))
    regency = draw(st.integers(1, 99))
    district = draw(st.integers(1, 99))
    born = draw(st.dates(min_value=OLDEST, max_value=TODAY))
    female = draw(st.booleans())
    serial = draw(st.integers(1, 9999))
    digits = (f"{province}{regency:02d}{district:02d}{born.day + (40 if female else 0):02d}"
              f"{born.month:02d}{born.year % 100:02d}{serial:04d}")
    return digits, {"province_code": province, "regency_code": f"{province}{regency:02d}",
                    "district_code": f"{district:02d}", "birth_date": born,
                    "gender": "P" if female else "L", "serial": f"{serial:04d}"}


@given(valid_niks())
def test_every_valid_nik_decodes_to_its_region_date_and_sex(case: tuple[str, dict]) -> None:
    digits, expected = case
    check = nik.validate_nik(digits, today=TODAY)
    assert check.ok and check.reason == nik.OK, check.message
    for name, value in expected.items():
        assert getattr(check, name) == value, name
    assert check.province == nik.PROVINCES[expected["province_code"]]
    assert check.is_kota_tangerang == (digits[:4] == nik.KOTA_TANGERANG)
    assert check.kecamatan == (geo.kecamatan_by_code(digits[4:6])
                               if check.is_kota_tangerang else None)


@given(valid_niks(), st.sampled_from([" ", ".", "-"]), st.sampled_from(["", "NIK saya ", "nik: "]))
def test_a_grouped_nik_reads_as_the_same_number(case: tuple[str, dict], separator: str,
                                                 prefix: str) -> None:
    digits, _ = case
    grouped = prefix + separator.join(digits[i:i + 4] for i in range(0, 16, 4))
    assert nik.normalize_nik(grouped) == digits
    assert nik.validate_nik(grouped, today=TODAY) == nik.validate_nik(digits, today=TODAY)


@given(valid_niks())
def test_a_nik_is_not_taken_for_a_kk_number_when_it_carries_the_40(case: tuple[str, dict]) -> None:
    digits, expected = case
    kk = nik.validate_kk_number(digits, today=TODAY)
    if expected["gender"] == "P":
        assert not kk.ok and kk.reason == nik.LOOKS_LIKE_NIK


@given(st.text())
def test_any_text_gets_a_verdict_and_never_an_exception(text: str) -> None:
    for check in (nik.validate_nik(text, today=TODAY), nik.validate_kk_number(text, today=TODAY)):
        assert isinstance(check.ok, bool) and check.reason and check.message
        if not check.ok:
            assert check.birth_date is None if isinstance(check, nik.NikCheck) else \
                check.issued_on is None


@given(st.text(alphabet=st.sampled_from("0123456789 .-abcNIK\n")))
def test_found_numbers_are_sixteen_digits_taken_from_where_they_stand(text: str) -> None:
    for span in nik.find_sixteen_digit_numbers(text):
        assert len(span.value) == 16 and span.value.isdigit()
        assert re.sub(r"\D", "", text[span.start:span.end]) == span.value


@given(st.text(alphabet=st.sampled_from("0123456789 .-xy"), max_size=60))
def test_a_verdict_never_repeats_the_number(text: str) -> None:
    digits = nik.normalize_nik(text)
    for check in (nik.validate_nik(text, today=TODAY), nik.validate_kk_number(text, today=TODAY)):
        if len(digits) >= 6:
            assert digits not in check.message


@given(st.text())
def test_masking_shows_at_most_the_first_four_and_last_two(text: str) -> None:
    for masked, source in ((nik.mask_nik(text), nik.normalize_nik(text)),
                           (privacy.mask_nik(text), text)):
        assert len(masked) == len(source)
        if len(source) <= 6:
            assert set(masked) <= {"*"}
        else:
            assert masked == source[:4] + "*" * (len(source) - 6) + source[-2:]


@given(valid_niks(), st.text(), st.text())
def test_redact_leaves_no_nik_in_any_text(case: tuple[str, dict], before: str,
                                          after: str) -> None:
    digits, _ = case
    before = before if not before[-1:].isdigit() else before + " "
    after = after if not after[:1].isdigit() else " " + after
    redacted = privacy.redact(before + digits + after)
    assert digits not in redacted
    assert len(redacted) == len(before + digits + after)
    assert not re.search(r"(?<!\d)\d{16}(?!\d)", redacted)
