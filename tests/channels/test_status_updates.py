"""Proactive status updates (issue 6, slice 2) through a real gateway on PostgreSQL and Redis:
an agency's signed status webhook reaches the resident on the channel they used (fake Bot API and
Graph API), an unsigned one is refused, a repeat changes nothing, consent is honoured, and a
finished document's verification code is accepted by the public check while a forged one is
refused."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bot.outreach import consent, verification
from integrations.agency.status_webhook import signed_headers

from .conftest import Gateway, text_update, wait_for
from .test_handoff_flow import INTERNAL

pytestmark = pytest.mark.integration

CHAT = "5123456789"  # the chat of the Telegram fixtures
WA_ID = "6281234567890"
LAKSA_SECRET = "dev-agency-laksa-secret"
DUKCAPIL_SECRET = "dev-agency-dukcapil-secret"
T0 = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)


def event(ref: str = "LKS-100001", status: str = "selesai", *, kind: str = "complaint",
          label: str = "Selesai ditangani", at: datetime = T0, event_id: str | None = None,
          **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id or uuid.uuid4().hex, "kind": kind, "ref": ref,
            "status": status, "status_label": label, "note": None,
            "occurred_at": at.isoformat(), **extra}


def post(gw: Gateway, body: dict[str, Any], agency: str = "laksa",
         secret: str = LAKSA_SECRET, headers: dict[str, str] | None = None) -> Any:
    raw = json.dumps(body).encode()
    return gw.http.post("/webhooks/agency/status", content=raw,
                        headers=headers if headers is not None else
                        signed_headers(raw, agency, secret))


def watch(gw: Gateway, sender: str, *, agency: str = "laksa", kind: str = "complaint",
          ref: str = "LKS-100001", label: str = "laporan LKS-100001") -> bool:
    answer = gw.http.post("/internal/v1/watches", headers=INTERNAL, json={
        "sender_id": sender, "agency": agency, "kind": kind, "ref": ref, "label": label})
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["updates"])


def agree(gw: Gateway, update_id: int) -> None:
    """The resident sends MULAI on Telegram (consent to city news and own updates)."""
    before = len(gw.telegram.calls("sendMessage"))
    gw.telegram_update(text_update("MULAI", update_id))
    wait_for(lambda: len(gw.telegram.calls("sendMessage")) > before, what="MULAI's answer")


def texts(gw: Gateway) -> list[str]:
    return gw.sent_texts(CHAT)


def test_a_signed_update_reaches_the_resident_once(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    assert watch(gw, f"telegram:{CHAT}") is False  # no consent yet: the receipt will ask
    agree(gw, 82001)
    assert watch(gw, f"telegram:{CHAT}") is True
    body = event(note="Lubang sudah ditambal.")
    body["note"] = "Lubang sudah ditambal."
    first = post(gw, body)
    assert first.status_code == 200, first.text
    assert first.json() == {"duplicate": False, "notified": 1, "skipped": 0}
    wait_for(lambda: len(texts(gw)) == 2, what="the update")
    update = texts(gw)[1]
    assert update.startswith("Kabar laporan LKS-100001: Selesai ditangani.")
    assert "Catatan petugas: Lubang sudah ditambal." in update
    again = post(gw, body)  # the agency did not see the answer and sends it again
    assert again.json() == {"duplicate": True, "notified": 1, "skipped": 0}
    time.sleep(0.5)
    assert len(texts(gw)) == 2  # exactly one update
    assert gw.rows("SELECT status, notified FROM agency_events") == [("selesai", 1)]
    assert gw.rows("SELECT last_status FROM status_watches") == [("selesai",)]


def test_unsigned_stale_or_forged_calls_are_refused_and_logged(
        make_gateway: Any, caplog: pytest.LogCaptureFixture) -> None:
    gw: Gateway = make_gateway()
    agree(gw, 82011)
    watch(gw, f"telegram:{CHAT}")
    body = event()
    raw = json.dumps(body).encode()
    unsigned = gw.http.post("/webhooks/agency/status", content=raw,
                            headers={"content-type": "application/json"})
    assert unsigned.status_code == 401
    wrong_secret = post(gw, body, secret="not-the-secret")
    assert wrong_secret.status_code == 401
    other_agency = post(gw, body, agency="dukcapil", secret=LAKSA_SECRET)
    assert other_agency.status_code == 401
    stale = signed_headers(raw, "laksa", LAKSA_SECRET, now=time.time() - 3600)
    assert post(gw, body, headers=stale).status_code == 401
    tampered = signed_headers(raw, "laksa", LAKSA_SECRET)
    changed = json.dumps({**body, "status": "ditolak"}).encode()
    assert gw.http.post("/webhooks/agency/status", content=changed,
                        headers=tampered).status_code == 401
    assert "agency status webhook refused: bad signature" in caplog.text
    assert "agency status webhook refused: stale timestamp" in caplog.text
    assert "agency status webhook refused: unknown agency" in caplog.text
    assert gw.rows("SELECT count(*) FROM agency_events") == [(0,)]
    assert gw.rows("SELECT last_status FROM status_watches") == [(None,)]
    time.sleep(0.3)
    assert len(texts(gw)) == 1  # only MULAI's answer


def test_a_body_that_is_no_status_event_is_refused(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    assert post(gw, {"hello": "world"}).status_code == 422
    assert post(gw, event(kind="ktp")).status_code == 422  # LAKSA reports no KTP
    assert post(gw, event(ref="3671012345678901 x")).status_code == 422
    assert gw.rows("SELECT count(*) FROM agency_events") == [(0,)]


def test_without_consent_or_after_stop_nothing_is_sent(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    watch(gw, f"telegram:{CHAT}")
    answer = post(gw, event(at=T0))
    assert answer.json() == {"duplicate": False, "notified": 0, "skipped": 1}
    agree(gw, 82021)
    gw.telegram_update(text_update("STOP", 82022))
    wait_for(lambda: texts(gw)[-1:] == [consent.STOPPED], what="STOP's answer")
    answer = post(gw, event(status="diproses", label="Sedang ditindaklanjuti dinas",
                            at=T0 + timedelta(hours=1)))
    assert answer.json()["skipped"] == 1
    time.sleep(0.5)
    assert texts(gw) == [consent.STARTED, consent.STOPPED]


def test_an_older_event_delivered_late_changes_nothing(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    agree(gw, 82031)
    watch(gw, f"telegram:{CHAT}")
    assert post(gw, event(at=T0 + timedelta(days=1))).json()["notified"] == 1
    late = post(gw, event(status="diproses", label="Sedang ditindaklanjuti dinas", at=T0))
    assert late.json()["notified"] == 0
    wait_for(lambda: len(texts(gw)) == 2, what="the update")
    time.sleep(0.3)
    assert len(texts(gw)) == 2
    assert gw.rows("SELECT last_status FROM status_watches") == [("selesai",)]


def whatsapp_text(body: str, message_id: str) -> dict[str, Any]:
    from .conftest import fixture

    payload = fixture("whatsapp", "text")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["text"]["body"], message["id"] = body, message_id
    return payload


def test_whatsapp_gets_a_template_outside_the_window_and_text_inside(
        make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    gw.whatsapp_post(whatsapp_text("MULAI", "wamid.status-1"))
    wait_for(lambda: gw.graph.sent(), what="MULAI's answer")
    wa_id = gw.graph.sent()[0]["to"]
    watch(gw, f"whatsapp:{wa_id}")
    assert post(gw, event(at=T0)).json()["notified"] == 1  # inside the window: free text
    wait_for(lambda: len(gw.graph.sent()) == 2, what="the update")
    assert gw.graph.sent()[1]["type"] == "interactive"
    gw.call(gw.services.store.redis.delete(f"pintu:window:whatsapp:{wa_id}"))  # a day passes
    assert post(gw, event(status="diproses", label="Sedang ditindaklanjuti dinas",
                          at=T0 + timedelta(hours=30))).json()["notified"] == 1
    wait_for(lambda: len(gw.graph.sent()) == 3, what="the template")
    template = gw.graph.sent()[2]
    assert template["type"] == "template"
    assert template["template"]["name"] == "pintu_status_update"
    assert [p["text"] for p in template["template"]["components"][0]["parameters"]] == [
        "laporan LKS-100001", "Sedang ditindaklanjuti dinas"]


def finished_birth(event_id: str | None = None) -> dict[str, Any]:
    return event("AKL-654321", "selesai", kind="birth_registration", event_id=event_id,
                 label="Selesai: akta kelahiran terbit",
                 document={"label": "Akta kelahiran AKL-654321", "holder_initials": "R. A.",
                           "office": None})


def test_a_finished_document_comes_with_a_code_that_the_public_check_accepts(
        make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    agree(gw, 82041)
    watch(gw, f"telegram:{CHAT}", agency="dukcapil", kind="birth_registration",
          ref="AKL-654321", label="akta kelahiran AKL-654321")
    body = finished_birth()
    assert post(gw, body, "dukcapil", DUKCAPIL_SECRET).json()["notified"] == 1
    photo = wait_for(lambda: gw.telegram.calls("sendPhoto"), what="the QR image")[0]
    wait_for(lambda: len(gw.telegram.calls("sendMessage")) == 2, what="the message")
    message = str(gw.telegram.calls("sendMessage")[1].params["text"])
    code = message.split("Kode verifikasi: ")[1].split()[0]
    assert verification.normalize(code) is not None
    assert code in str(photo.params.get("caption"))
    assert f"/verifikasi?kode={code}" in message
    # The repeat of the event issues the same code, once.
    assert post(gw, body, "dukcapil", DUKCAPIL_SECRET).json()["duplicate"] is True
    assert gw.rows("SELECT count(*) FROM verification_codes") == [(1,)]
    stored = gw.rows("SELECT code_hash, holder_initials FROM verification_codes")[0]
    assert code not in stored[0] and stored[1] == "R. A."
    genuine = gw.http.get(f"/api/v1/verifikasi/{code.lower()}")
    assert genuine.status_code == 200
    assert genuine.json()["valid"] is True
    assert genuine.json()["document"] == "Akta kelahiran AKL-654321"
    forged = verification.make_code("another key", agency="dukcapil", kind="birth_registration",
                                    ref="AKL-654321", event_id=body["event_id"])
    assert gw.http.get(f"/api/v1/verifikasi/{forged}").json() == {"valid": False}
    assert gw.http.get(f"/api/v1/verifikasi/{forged}").status_code == 404
    page = gw.http.get("/verifikasi", params={"kode": code})
    assert 'data-state="genuine"' in page.text and "R. A." in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert 'data-state="unknown"' in gw.http.get("/verifikasi", params={"kode": forged}).text


def test_the_public_check_is_rate_limited(make_gateway: Any) -> None:
    gw: Gateway = make_gateway(verification_checks_per_minute=3)
    answers = [gw.http.get("/api/v1/verifikasi/PNT-00000-00000").status_code for _ in range(4)]
    assert answers == [404, 404, 404, 429]
    assert gw.http.get("/verifikasi", params={"kode": "x"}).status_code == 429


def test_a_finished_document_on_whatsapp_comes_as_image_and_text_or_as_a_template(
        make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    gw.whatsapp_post(whatsapp_text("MULAI", "wamid.status-ready-1"))
    wait_for(lambda: gw.graph.sent(), what="MULAI's answer")
    wa_id = gw.graph.sent()[0]["to"]
    watch(gw, f"whatsapp:{wa_id}", agency="dukcapil", kind="birth_registration",
          ref="AKL-654321", label="akta kelahiran AKL-654321")
    assert post(gw, finished_birth(), "dukcapil", DUKCAPIL_SECRET).json()["notified"] == 1
    wait_for(lambda: len(gw.graph.sent()) == 3, what="the image and the message")
    image, message = gw.graph.sent()[1:]
    assert image["type"] == "image" and image["image"].get("id")  # uploaded, not a link
    code = image["image"]["caption"].rsplit(" ", 1)[1]
    assert verification.normalize(code) is not None
    assert code in message["interactive"]["body"]["text"]
    gw.call(gw.services.store.redis.delete(f"pintu:window:whatsapp:{wa_id}"))
    later = finished_birth()
    assert post(gw, {**later, "occurred_at": (T0 + timedelta(days=2)).isoformat()},
                "dukcapil", DUKCAPIL_SECRET).json()["notified"] == 1
    wait_for(lambda: len(gw.graph.sent()) == 4, what="the template")
    template = gw.graph.sent()[3]["template"]
    assert template["name"] == "pintu_document_ready"
    values = [p["text"] for p in template["components"][0]["parameters"]]
    assert values[0] == "akta kelahiran AKL-654321" and len(values) == 4
    assert verification.normalize(values[2]) is not None and values[2] != code
    assert values[3].endswith(f"/verifikasi?kode={values[2]}")


def test_status_updates_keep_personal_data_and_secrets_out_of_the_logs(
        make_gateway: Any, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.INFO)
    gw: Gateway = make_gateway()
    agree(gw, 82051)
    watch(gw, f"telegram:{CHAT}", agency="dukcapil", kind="birth_registration",
          ref="AKL-654321", label="akta kelahiran AKL-654321")
    body = finished_birth()
    post(gw, body, "dukcapil", DUKCAPIL_SECRET)
    post(gw, body, "dukcapil", "a-wrong-secret")  # refused: logged
    wait_for(lambda: len(gw.telegram.calls("sendMessage")) == 2, what="the update")
    code = str(gw.telegram.calls("sendMessage")[1].params["text"]).split(
        "Kode verifikasi: ")[1].split()[0]
    gw.http.get(f"/api/v1/verifikasi/{code}")
    logged = caplog.text
    assert "agency status webhook refused" in logged  # the logs did capture
    for secret in (CHAT, code, code.replace("-", ""), DUKCAPIL_SECRET, "R. A."):
        assert secret not in logged, secret
