"""Business rules of the dialogues, as plain functions (no Rasa server needed)."""

from __future__ import annotations

from datetime import date

import pytest

from actions.logic.dates import next_service_days, parse_date
from actions.logic.documents import INFO, STATUS, UNCLEAR, classify_document_request
from actions.logic.fallback import fallback_options
from actions.logic.replies import beds_reply, family_reply, ktp_status_reply, pbb_reply, rupiah
from actions.logic.services import mentions_beds, normalize_nop, wants_pbb_check
from actions.logic.tickets import history_reply, normalize_ticket
from actions.logic.words import is_cancel, is_skip, is_yes


@pytest.mark.parametrize("text", [
    "ktp saya sudah jadi belum",
    "min KTP sy udh bisa diambil blm ya",
    "cek status ktp",
    "ktp saya kok blm jadi padahal udah rekam 3 bulan",
    "KK saya sudah dicetak belum?",
    "sampai mana proses ktp saya",
])
def test_clear_status_questions_go_straight_to_status(text: str) -> None:
    assert classify_document_request(text).mode == STATUS


@pytest.mark.parametrize(("text", "case", "aspect"), [
    ("syarat bikin ktp baru", "baru", "persyaratan"),
    ("ktp ilang gmn", "hilang", "prosedur"),
    ("biaya akta kelahiran berapa", None, "biaya"),
    ("berapa lama bikin kk", "baru", "lama"),
    ("ktp saya rusak, syaratnya apa", "rusak", "persyaratan"),
    ("KK saya mau tambah anak yang baru lahir", "tambah_anggota", None),
])
def test_information_requests_name_case_and_aspect(text: str, case: str, aspect: str) -> None:
    request = classify_document_request(text)
    assert (request.mode, request.case, request.aspect) == (INFO, case, aspect)


@pytest.mark.parametrize("text", ["ktp", "KTP-el", "soal kartu keluarga"])
def test_a_bare_topic_is_unclear_and_the_bot_asks(text: str) -> None:
    assert classify_document_request(text).mode == UNCLEAR


def test_fallback_offers_the_likeliest_services_only() -> None:
    ranking = [{"name": "affirm", "confidence": 0.3}, {"name": "ktp", "confidence": 0.25},
               {"name": "kk", "confidence": 0.2}, {"name": "queue_booking", "confidence": 0.1},
               {"name": "tax_payment", "confidence": 0.08}]
    options = fallback_options(ranking)
    assert [title for title, _ in options] == ["KTP-el", "Kartu Keluarga", "Ambil antrean",
                                               "Menu lain"]
    assert options[0][1] == "/ktp"


def test_fallback_without_candidates_offers_nothing() -> None:
    assert fallback_options([{"name": "greet", "confidence": 0.9}]) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("12-01-2026", date(2026, 1, 12)), ("12/1/26", date(2026, 1, 12)),
    ("12 Januari 2026", date(2026, 1, 12)), ("3 agt 2025", date(2025, 8, 3)),
    ("2026-02-28", date(2026, 2, 28)), ("besok", date(2026, 11, 25)),
    ("31-02-2026", None), ("kemarin sore", None),
])
def test_dates_as_residents_write_them(text: str, expected: date | None) -> None:
    assert parse_date(text, today=date(2026, 11, 24)) == expected


def test_next_service_days_skip_weekends() -> None:
    assert next_service_days(date(2026, 11, 27), 3) == [date(2026, 11, 27), date(2026, 11, 30),
                                                         date(2026, 12, 1)]


@pytest.mark.parametrize(("text", "number"), [
    ("cek LKS-123456 dong", "LKS-123456"), ("akl 654321", "AKL-654321"),
    ("ANT123456", "ANT-123456"), ("tiket saya 123456", None), ("LKS-12345", None),
])
def test_ticket_numbers_are_normalized(text: str, number: str | None) -> None:
    assert normalize_ticket(text) == number


def test_history_reply_shows_status_then_latest_steps() -> None:
    text = history_reply("LKS-123456", "Diteruskan ke DPUPR", [
        {"at": "2026-11-20T08:00:00+00:00", "note": "Diterima Pintu"},
        {"at": "2026-11-21T09:00:00+00:00", "note": "Diteruskan ke DPUPR"},
    ])
    assert text.startswith("Status laporan LKS-123456: Diteruskan ke DPUPR.")
    assert "20 November 2026: Diterima Pintu" in text


def test_ktp_ready_names_office_and_date() -> None:
    text = ktp_status_reply({"status": "siap_diambil", "office": "Kantor Kecamatan Cipondoh",
                             "ready_since": "2026-11-20"})
    assert "bisa diambil di Kantor Kecamatan Cipondoh sejak 20 November 2026" in text


def test_family_reply_shows_initials_and_relation_only() -> None:
    text = family_reply([{"initials": "B.S.", "relation": "KEPALA KELUARGA"},
                         {"initials": "S.A.", "relation": "ISTRI"}])
    assert "1. B.S. (Kepala Keluarga)" in text and "2. S.A. (Istri)" in text


def test_beds_and_bills_are_short_and_concrete() -> None:
    beds = beds_reply([{"name": "RSUD Kota Tangerang", "beds": {"kelas_3": 4, "icu": 0}},
                       {"name": "RS Penuh", "beds": {"kelas_3": 0}}])
    assert "RSUD Kota Tangerang: kelas 3 4" in beds and "RS Penuh" not in beds
    bill = pbb_reply({"nop": "367101000100200340", "years": [
        {"year": 2025, "amount": 250000, "paid": False, "due_date": "2025-08-31"},
        {"year": 2024, "amount": 240000, "paid": True}]})
    assert "2025: Rp250.000" in bill and "2024" not in bill and "Total: Rp250.000" in bill
    assert rupiah(1250000) == "Rp1.250.000"


def test_service_readers() -> None:
    assert mentions_beds("ada kamar kosong di rsud?")
    assert not mentions_beds("jadwal dokter anak")
    assert wants_pbb_check("cek tagihan pbb saya")
    assert normalize_nop("NOP 36.71.010.001.002-0034.0") == "367101000100200340"
    assert normalize_nop("36710100010020034") is None


@pytest.mark.parametrize("text", ["ya", "Iya", "oke", "Ya, kirim", "nggih"])
def test_yes_words(text: str) -> None:
    assert is_yes(text) and not is_cancel(text)


def test_cancel_and_skip_words() -> None:
    assert is_cancel("batal") and is_cancel("gak jadi") and is_skip("lewati")
    assert is_skip("tidak ada") and not is_skip("ini fotonya")
