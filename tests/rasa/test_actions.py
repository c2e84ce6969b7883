"""Actions with real Trackers and CollectingDispatchers: the events and words they return."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import ActiveLoop, AllSlotsReset, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.complaints import ActionComplaintStart, ActionComplaintSubmit, ValidateComplaintForm
from actions.conversation import (
    ActionCancelForm,
    ActionDefaultFallback,
    ActionGreet,
    ActionHumanHandoff,
)
from actions.documents import ActionDocumentStatus, ActionKtp, ValidateDocStatusForm
from actions.services import ActionEmergency, ActionTaxPayment, ActionUnsubscribe
from actions.tickets import ActionRequestStatus

from .conftest import FakeServer, make_tracker

NIK = "3671014507890002"  # woman born 5 July 1989, Kota Tangerang
KK = "3671011203150004"


def texts(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or m.get("response") or "" for m in dispatcher.messages)


def buttons(dispatcher: CollectingDispatcher) -> list[str]:
    return [b["title"] for m in dispatcher.messages for b in (m.get("buttons") or [])]


async def test_greeting_shows_the_menu_with_buttons(domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionGreet().run(dispatcher, make_tracker("halo", "greet"), domain)
    assert "Pintu" in texts(dispatcher)
    assert "KTP-el" in buttons(dispatcher) and "Darurat" in buttons(dispatcher)
    assert len(buttons(dispatcher)) <= 10


async def test_clear_status_question_starts_the_status_form_at_once(domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionKtp().run(dispatcher, make_tracker("ktp saya sudah jadi belum", "ktp"),
                                   domain)
    assert SlotSet("doc_kind", "ktp") in events
    assert SlotSet("route", "doc_status_form") in events  # rules then run the form
    assert dispatcher.messages == []  # the form asks for the NIK itself


async def test_nik_given_with_the_request_is_not_asked_again(domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(f"cek ktp nik {NIK}", "ktp",
                           entities=[{"entity": "nik", "value": NIK}])
    events = await ActionKtp().run(dispatcher, tracker, domain)
    assert SlotSet("nik", NIK) in events
    assert SlotSet("route", "doc_status_form") in events


async def test_an_unclear_ktp_message_asks_status_or_information(domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionKtp().run(dispatcher, make_tracker("ktp", "ktp"), domain)
    assert SlotSet("route", None) in events
    assert "Cek status KTP-el saya" in buttons(dispatcher)
    assert "Syarat & cara mengurus" in buttons(dispatcher)


async def test_information_comes_from_the_knowledge_base(domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionKtp().run(dispatcher, make_tracker("biaya bikin ktp hilang berapa", "ktp"), domain)
    assert "Gratis" in texts(dispatcher)
    assert "Syarat" in buttons(dispatcher)


@pytest.mark.parametrize(("typed", "expected"), [
    ("36710145", "8"),  # says how many digits were given
    ("3671O14507890002", "huruf"),  # letter O for a zero
    ("9971014507890002", "provinsi"),
])
def test_malformed_nik_is_explained_precisely(typed: str, expected: str,
                                              domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    result = ValidateDocStatusForm().validate_nik(typed, dispatcher,
                                                  make_tracker(typed), domain)
    assert result == {"nik": None}
    assert expected in texts(dispatcher).lower()


def status_tracker(kind: str = "ktp", sender: str = "api:warga") -> Any:
    return make_tracker("3671011203150004", latest_action="doc_status_form", sender=sender,
                        slots={"nik": NIK, "kk_number": KK, "doc_kind": kind})


async def test_verified_resident_gets_status_in_one_message(agency: FakeServer,
                                                            domain: dict[str, Any]) -> None:
    agency.on("POST", "/dukcapil/v1/ktp/status", body={
        "status": "siap_diambil", "status_label": "Sudah jadi", "office": "Kecamatan Cipondoh",
        "ready_since": "2026-11-20"})
    dispatcher = CollectingDispatcher()
    events = await ActionDocumentStatus().run(dispatcher, status_tracker(), domain)
    assert len(dispatcher.messages) == 1
    assert "bisa diambil di Kecamatan Cipondoh sejak 20 November 2026" in texts(dispatcher)
    assert SlotSet("nik", None) in events and SlotSet("kk_number", None) in events


async def test_kk_members_are_masked(agency: FakeServer, domain: dict[str, Any]) -> None:
    agency.on("POST", "/dukcapil/v1/kk/members", body={"members": [
        {"initials": "B.S.", "relation": "KEPALA KELUARGA", "gender": "L"},
        {"initials": "S.A.", "relation": "ISTRI", "gender": "P"}]})
    dispatcher = CollectingDispatcher()
    await ActionDocumentStatus().run(dispatcher, status_tracker("kk"), domain)
    assert "B.S. (Kepala Keluarga)" in texts(dispatcher)


async def test_wrong_kk_reveals_nothing_and_five_misses_lock(agency: FakeServer,
                                                            domain: dict[str, Any]) -> None:
    agency.on("POST", "/dukcapil/v1/ktp/status", status=404, body={"error": {
        "code": "identity_not_verified", "message": "NIK dan nomor KK tidak cocok"}})
    replies = []
    for _ in range(6):
        dispatcher = CollectingDispatcher()
        await ActionDocumentStatus().run(dispatcher, status_tracker(sender="api:tamu"), domain)
        replies.append(texts(dispatcher))
    assert "tidak dapat kami cocokkan" in replies[0] and "Sisa percobaan: 4" in replies[0]
    assert "dikunci" in replies[4] and "1 jam" in replies[4]
    assert "dikunci" in replies[5]
    assert len(agency.requests) == 5  # the locked sixth try never reached Dukcapil
    assert all(NIK not in r and "tidak terdaftar" not in r for r in replies)


async def test_dukcapil_down_gets_an_apology_and_forgets_the_numbers(
        agency: FakeServer, domain: dict[str, Any]) -> None:
    agency.on("POST", "/dukcapil/v1/ktp/status", status=503, body={"error": {"code": "down"}})
    dispatcher = CollectingDispatcher()
    events = await ActionDocumentStatus().run(dispatcher, status_tracker(), domain)
    assert "tidak dapat dihubungi" in texts(dispatcher)
    assert SlotSet("nik", None) in events


async def test_complaint_keeps_what_the_first_message_said(domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    text = "mau lapor jalan rusak berlubang besar di depan sd negeri poris plawad cipondoh"
    events = await ActionComplaintStart().run(dispatcher, make_tracker(text, "complaint"), domain)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["complaint_category"] == "jalan_rusak"
    assert slots["complaint_description"] == text
    assert slots["complaint_kecamatan"] == "Cipondoh"
    assert slots["route"] == "complaint_form"


def test_complaint_location_outside_the_city_is_refused(domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("/inform", metadata={"attachments": [
        {"type": "location", "latitude": -6.9175, "longitude": 107.6191}]})  # Bandung
    result = ValidateComplaintForm().validate_complaint_location("/inform", dispatcher, tracker,
                                                                 domain)
    assert result == {"complaint_location": None}
    assert "luar Kota Tangerang" in texts(dispatcher)


async def test_complaint_gets_a_ticket_even_when_laksa_is_down(gateway: FakeServer,
                                                              domain: dict[str, Any]) -> None:
    gateway.on("POST", "/internal/v1/complaints", body={
        "ticket_id": "LKS-482913", "status": "menunggu_diteruskan", "agency": "DPUPR",
        "expected_response_days": 3, "forwarded": False})
    slots = {"complaint_confirm": "ya", "complaint_category": "jalan_rusak",
             "complaint_description": "jalan berlubang", "complaint_kecamatan": "Cipondoh",
             "complaint_location": "Cipondoh"}
    dispatcher = CollectingDispatcher()
    events = await ActionComplaintSubmit().run(
        dispatcher, make_tracker("ya", latest_action="complaint_form", slots=slots), domain)
    assert "LKS-482913" in texts(dispatcher) and "diteruskan otomatis" in texts(dispatcher)
    assert AllSlotsReset() in events
    sent = gateway.bodies("/internal/v1/complaints")[0]
    assert sent["category"] == "jalan_rusak" and sent["sender_id"] == "api:warga"


async def test_gateway_down_keeps_the_complaint_and_asks_again(gateway: FakeServer,
                                                              domain: dict[str, Any]) -> None:
    gateway.on("POST", "/internal/v1/complaints", status=500, body={})
    slots = {"complaint_confirm": "ya", "complaint_category": "sampah",
             "complaint_description": "sampah menumpuk", "complaint_location": "Benda"}
    dispatcher = CollectingDispatcher()
    events = await ActionComplaintSubmit().run(
        dispatcher, make_tracker("ya", latest_action="complaint_form", slots=slots), domain)
    assert SlotSet("complaint_confirm", None) in events
    assert AllSlotsReset() not in events  # what the resident wrote is kept for the retry
    assert "Coba kirim lagi" in buttons(dispatcher)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker('/complaint{"choice": "retry"}', "complaint", slots=slots,
                           entities=[{"entity": "choice", "value": "retry"}])
    events = await ActionComplaintStart().run(dispatcher, tracker, domain)
    assert SlotSet("route", "complaint_form") in events


async def test_unknown_ticket_is_said_plainly(gateway: FakeServer,
                                              domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionRequestStatus().run(
        dispatcher, make_tracker("cek LKS-000000", "request_status",
                                 entities=[{"entity": "ticket_id", "value": "LKS-000000"}]), domain)
    assert "LKS-000000 tidak kami temukan" in texts(dispatcher)


async def test_low_confidence_asks_back_then_offers_an_officer(gateway: FakeServer,
                                                               domain: dict[str, Any]) -> None:
    tracker = make_tracker("itu lho yang kemarin", "ktp", confidence=0.3)
    tracker.latest_message["intent_ranking"] = [
        {"name": "ktp", "confidence": 0.3}, {"name": "kk", "confidence": 0.25},
        {"name": "complaint", "confidence": 0.2}]
    dispatcher = CollectingDispatcher()
    events = await ActionKtp().run(dispatcher, tracker, domain)
    assert buttons(dispatcher)[:3] == ["KTP-el", "Kartu Keluarga", "Lapor masalah"]
    assert SlotSet("fallback_count", 1.0) in events
    tracker.slots["fallback_count"] = 1.0
    gateway.on("POST", "/internal/v1/handoffs", status=500, body={})
    dispatcher = CollectingDispatcher()
    await ActionDefaultFallback().run(dispatcher, tracker, domain)
    assert "Ya, sambungkan petugas" in buttons(dispatcher)  # not recorded: offer it instead


async def test_a_second_miss_hands_the_chat_to_an_officer(gateway: FakeServer,
                                                          domain: dict[str, Any]) -> None:
    gateway.on("POST", "/internal/v1/handoffs", body={"id": 3, "status": "waiting"})
    tracker = make_tracker("yg itu lho pokoknya", "ktp", confidence=0.2)
    tracker.slots["fallback_count"] = 1.0
    dispatcher = CollectingDispatcher()
    events = await ActionDefaultFallback().run(dispatcher, tracker, domain)
    sent = gateway.bodies("/internal/v1/handoffs")[0]
    assert sent["reason"] == "tidak_dipahami"
    assert "kami sambungkan dengan petugas" in texts(dispatcher)
    assert SlotSet("fallback_count", 0.0) in events


async def test_emergency_answers_numbers_first_and_marks_urgent(gateway: FakeServer,
                                                                domain: dict[str, Any]) -> None:
    gateway.on("POST", "/internal/v1/handoffs", body={"id": 1, "status": "open"})
    dispatcher = CollectingDispatcher()
    events = await ActionEmergency().run(dispatcher, make_tracker("tolong kecelakaan",
                                                                  "emergency"), domain)
    assert "112" in dispatcher.messages[0]["text"]
    assert SlotSet("urgent", True) in events
    assert gateway.bodies("/internal/v1/handoffs")[0]["urgent"] is True


async def test_handoff_is_recorded_or_the_resident_is_told(gateway: FakeServer,
                                                          domain: dict[str, Any]) -> None:
    gateway.on("POST", "/internal/v1/handoffs", body={"id": 7, "status": "open"})
    dispatcher = CollectingDispatcher()
    await ActionHumanHandoff().run(dispatcher, make_tracker("cs dong", "human_handoff"), domain)
    assert "kami sambungkan dengan petugas" in texts(dispatcher)
    gateway.on("POST", "/internal/v1/handoffs", status=500, body={})
    dispatcher = CollectingDispatcher()
    await ActionHumanHandoff().run(dispatcher, make_tracker("cs dong", "human_handoff"), domain)
    assert "belum bisa dicatat" in texts(dispatcher)


async def test_pbb_bill_by_nop(agency: FakeServer, domain: dict[str, Any]) -> None:
    agency.on("GET", "/tax/v1/pbb/367101000100200340", body={
        "nop": "367101000100200340", "nop_formatted": "36.71.010.001.002-0034.0",
        "owner_initials": "B.S.", "location": "Cipondoh", "years": [
            {"year": 2026, "amount": 300000, "penalty": 0, "total": 300000,
             "due_date": "2026-09-30", "paid": False, "paid_on": None, "overdue_months": 0}],
        "arrears": 0, "total_due": 300000, "due_date": "2026-09-30", "as_of": "2026-11-24"})
    dispatcher = CollectingDispatcher()
    await ActionTaxPayment().run(dispatcher, make_tracker(
        "cek pbb nop 36.71.010.001.002-0034.0", "tax_payment"), domain)
    assert "Rp300.000" in texts(dispatcher)


async def test_batal_cancels_quietly_and_forgets(domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionCancelForm().run(dispatcher, make_tracker("batal", "deny",
                                          active_loop="doc_status_form"), domain)
    assert ActiveLoop(None) in events and AllSlotsReset() in events
    assert "dibatalkan" in texts(dispatcher)




async def test_pdam_bill_by_customer_number(agency: FakeServer, domain: dict[str, Any]) -> None:
    agency.on("GET", "/tax/v1/pdam/0105001234", body={
        "customer_no": "0105001234", "name_initials": "S.R.", "location": "Cipondoh",
        "tariff_group": "R2", "bills": [
            {"period": "2026-10", "usage_m3": 18, "amount": 95000, "late_fee": 5000,
             "total": 100000, "due_date": "2026-11-20", "paid": False, "paid_on": None}],
        "arrears_months": 1, "total_due": 100000})
    dispatcher = CollectingDispatcher()
    await ActionTaxPayment().run(dispatcher, make_tracker("cek tagihan pdam 0105001234",
                                                          "tax_payment"), domain)
    assert "Oktober 2026: Rp100.000" in texts(dispatcher)


async def test_location_after_an_emergency_reaches_staff(gateway: FakeServer,
                                                         domain: dict[str, Any]) -> None:
    gateway.on("POST", "/internal/v1/handoffs", body={"id": 2, "status": "open"})
    from actions.conversation import ActionStrayAnswer

    tracker = make_tracker("/inform", "inform", slots={"urgent": True}, metadata={
        "attachments": [{"type": "location", "latitude": -6.1783, "longitude": 106.6319}]})
    dispatcher = CollectingDispatcher()
    events = await ActionStrayAnswer().run(dispatcher, tracker, domain)
    sent = gateway.bodies("/internal/v1/handoffs")[0]
    assert sent["urgent"] is True and sent["reason"] == "darurat_lokasi" and sent["note"]
    assert "Lokasi diterima" in texts(dispatcher)
    assert SlotSet("urgent", False) in events


async def test_a_bare_ticket_number_gets_its_status(gateway: FakeServer,
                                                    domain: dict[str, Any]) -> None:
    from actions.conversation import ActionStrayAnswer

    gateway.on("GET", "/internal/v1/tickets/LKS-123456", body={
        "ticket_id": "LKS-123456", "kind": "complaint", "status": "diproses",
        "status_label": "Sedang ditindaklanjuti dinas", "agency": "DLH", "history": []})
    dispatcher = CollectingDispatcher()
    await ActionStrayAnswer().run(dispatcher, make_tracker("lks 123456", "inform"), domain)
    assert "Status laporan LKS-123456: Sedang ditindaklanjuti dinas." in texts(dispatcher)


@pytest.mark.parametrize(("typed", "intent", "expected"), [
    ("ya", "affirm", "ya"), ("iya dong, ambil aja", "affirm", "ya"), ("gak jadi", "deny", "batal"),
    ("hmm", "inform", None),
])
def test_confirmation_questions_read_yes_and_no(typed: str, intent: str, expected: str | None,
                                                domain: dict[str, Any]) -> None:
    from actions.queue import ValidateQueueForm

    dispatcher = CollectingDispatcher()
    result = ValidateQueueForm().validate_queue_confirm(typed, dispatcher,
                                                        make_tracker(typed, intent), domain)
    assert result == {"queue_confirm": expected}
    assert bool(dispatcher.messages) == (expected is None)  # asks again only when unclear


def test_the_service_shown_to_the_officer_is_the_last_one_asked_about() -> None:
    from actions.conversation import current_service

    tracker = make_tracker("mau ngomong sama orang", "human_handoff")
    tracker.events = [
        {"event": "user", "parse_data": {"intent": {"name": "kk"}}},
        {"event": "bot", "text": "..."},
        {"event": "user", "parse_data": {"intent": {"name": "deny"}}},
        {"event": "user", "parse_data": {"intent": {"name": "human_handoff"}}},
    ]
    assert current_service(tracker) == "kk"
    tracker.events = [{"event": "user", "parse_data": {"intent": {"name": "greet"}}}]
    assert current_service(tracker) is None


async def test_unsubscribe_withdraws_consent_through_the_gateway_or_says_it_could_not(
        gateway: FakeServer, domain: dict[str, Any]) -> None:
    gateway.on("POST", "/internal/v1/consent/stop",
               body={"withdrawn": 2, "message": "Baik, Anda tidak akan lagi menerima pesan."})
    tracker = make_tracker("tolong jangan kirimi saya info lagi", "unsubscribe",
                           sender="whatsapp:6281200000001")
    dispatcher = CollectingDispatcher()
    await ActionUnsubscribe().run(dispatcher, tracker, domain)
    assert gateway.bodies("/internal/v1/consent/stop") == [{"sender_id": "whatsapp:6281200000001"}]
    assert texts(dispatcher) == "Baik, Anda tidak akan lagi menerima pesan."
    gateway.on("POST", "/internal/v1/consent/stop", status=500, body={})
    dispatcher = CollectingDispatcher()
    await ActionUnsubscribe().run(dispatcher, tracker, domain)
    assert "belum tercatat" in texts(dispatcher) and "STOP" in texts(dispatcher)


def payloads(dispatcher: CollectingDispatcher) -> list[str]:
    return [b["payload"] for m in dispatcher.messages for b in (m.get("buttons") or [])]


@pytest.mark.parametrize("consented", [False, True])
async def test_a_complaint_receipt_asks_once_for_consent_to_updates(
        gateway: FakeServer, domain: dict[str, Any], consented: bool) -> None:
    gateway.on("POST", "/internal/v1/complaints", body={
        "ticket_id": "LKS-482914", "status": "diteruskan", "agency": "DLH",
        "expected_response_days": 2, "forwarded": True, "updates": consented})
    slots = {"complaint_confirm": "ya", "complaint_category": "sampah",
             "complaint_description": "sampah menumpuk", "complaint_location": "Benda"}
    dispatcher = CollectingDispatcher()
    await ActionComplaintSubmit().run(
        dispatcher, make_tracker("ya", latest_action="complaint_form", slots=slots), domain)
    if consented:
        assert "Kabar perkembangannya akan dikirim ke chat ini." in texts(dispatcher)
        assert "#pintu:consent:own_updates" not in payloads(dispatcher)
    else:
        assert "Mau kami kabari di chat ini saat laporan ini berubah status?" in texts(dispatcher)
        assert payloads(dispatcher)[-2:] == ["#pintu:consent:own_updates", "#pintu:consent:no"]


async def test_a_ktp_in_progress_is_watched_after_the_identity_matched(
        agency: FakeServer, gateway: FakeServer, domain: dict[str, Any]) -> None:
    agency.on("POST", "/dukcapil/v1/ktp/status", body={
        "resident_ref": "res-7f3a9c", "status": "dicetak", "status_label": "Sudah dicetak",
        "office": "Kecamatan Cipondoh"})
    gateway.on("POST", "/internal/v1/watches", body={"updates": False})
    dispatcher = CollectingDispatcher()
    await ActionDocumentStatus().run(dispatcher, status_tracker(), domain)
    assert gateway.bodies("/internal/v1/watches") == [{
        "sender_id": "api:warga", "agency": "dukcapil", "kind": "ktp", "ref": "res-7f3a9c",
        "label": "KTP-el"}]
    assert "#pintu:consent:own_updates" in payloads(dispatcher)
    assert NIK not in str(gateway.bodies("/internal/v1/watches"))


async def test_a_ktp_already_collected_is_not_watched(agency: FakeServer, gateway: FakeServer,
                                                     domain: dict[str, Any]) -> None:
    agency.on("POST", "/dukcapil/v1/ktp/status", body={
        "resident_ref": "res-7f3a9c", "status": "sudah_diambil", "status_label": "Diambil"})
    dispatcher = CollectingDispatcher()
    await ActionDocumentStatus().run(dispatcher, status_tracker(), domain)
    assert gateway.bodies("/internal/v1/watches") == []
    assert len(dispatcher.messages) == 1
