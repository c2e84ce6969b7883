"""Residents' rights in chat (issue 8): "data saya" and "hapus data saya" through a real gateway
(webhook, queue, worker, fake Rasa, fake Bot API; and the local chat API) on real PostgreSQL and
Redis; what is left in the database and on disk afterwards."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db import utcnow
from bot.models import (
    AgencyEvent,
    AuditEntry,
    Consent,
    Contact,
    HandoffNote,
    HandoffRequest,
    Message,
    StatusWatch,
    Ticket,
    TicketEvent,
)
from bot.outreach import consent
from bot.privacy import erasure, rights
from bot.privacy.rights import command

from .conftest import Gateway, fixture, text_update, wait_for

pytestmark = pytest.mark.integration

CHAT = "5123456789"  # the Telegram fixtures' chat
SENDER = f"telegram:{CHAT}"


@pytest.mark.parametrize(("text", "asked"), [
    ("data saya", "access"), ("Data Saya?", "access"), ("lihat data saya", "access"),
    ("data pribadi saya", "access"), ("apa saja data saya", "access"),
    ("Data apa yang disimpan?", "access"), ("hapus data saya", "erase"),
    ("HAPUS SEMUA DATA SAYA!", "erase"), ("hapus data pribadi saya", "erase"),
    ("#pintu:privacy:erase", "erase"), ("#pintu:privacy:yes", "yes"), ("ya", "yes"),
    ("batal", "no"), ("data saya hilang di disdukcapil", None),
    ("cara hapus data kk lama", None), ("", None),
])
def test_only_whole_phrases_count(text: str, asked: str | None) -> None:
    assert command(text) == asked


def replies(gw: Gateway, n: int) -> list[str]:
    calls = wait_for(lambda: len(gw.telegram.calls("sendMessage")) >= n and
                     gw.telegram.calls("sendMessage"), what=f"{n} replies")
    return [str(c.params["text"]) for c in calls]


def press(gw: Gateway, reply_index: int, title: str, update_id: int) -> None:
    """Presses the button `title` of the `reply_index`th message the bot sent."""
    sent = gw.telegram.calls("sendMessage")[reply_index]
    keyboard = sent.params["reply_markup"]["inline_keyboard"]
    button = next(b for row in keyboard for b in row if title in b["text"])
    update = fixture("telegram", "callback_query")
    update["update_id"] = update_id
    update["callback_query"]["id"] = str(update_id)
    update["callback_query"]["data"] = button["callback_data"]
    gw.telegram_update(update)


def seed(gw: Gateway, chat: str = CHAT, channel: str = "telegram") -> dict[str, Any]:
    """A resident with history: two photos (one also in an open complaint), a closed and an
    open complaint with their watches, consents, a closed handoff with a note."""
    media = gw.services.media
    kept_photo = media.put(b"\xff\xd8\xff open complaint", "image/jpeg")
    chat_photo = media.put(b"\xff\xd8\xff chat only", "image/jpeg")
    closed_photo = media.put(b"\xff\xd8\xff closed complaint", "image/jpeg")
    with gw.services.sessions.begin() as session:
        from bot import records

        records.record_inbound(session, channel=channel, chat_id=chat, kind="text",
                               content={"text": "jalan rusak di depan rumah saya"},
                               channel_message_id=None)
        for ref in (kept_photo, chat_photo):
            records.record_inbound(session, channel=channel, chat_id=chat, kind="image",
                                   content={"attachment": {"kind": "image", "ref": ref}},
                                   channel_message_id=None)
        contact = records.touch_contact(session, channel, chat, inbound=True)
        session.flush()
        consent.grant(session, contact.id, consent.OWN_UPDATES, source="receipt")
        sender = f"{channel}:{chat}"
        for number, photo in (("LKS-100001", kept_photo), ("LKS-100002", closed_photo)):
            session.add(Ticket(number=number, kind="complaint", sender_id=sender,
                               category="jalan", agency="DPUPR", expected_response_days=7,
                               status="diteruskan",
                               payload={"category": "jalan", "agency": "DPUPR",
                                        "description": "Jalan berlubang depan rumah no 5",
                                        "kecamatan": "Cipondoh", "latitude": -6.18,
                                        "longitude": 106.7, "photo_refs": [photo]}))
            session.add(StatusWatch(contact_id=contact.id, agency="laksa", kind="complaint",
                                    ref=number, label=f"laporan {number}"))
        session.add(AgencyEvent(agency="laksa", event_id="ev-closed", kind="complaint",
                                ref="LKS-100002", status="selesai", occurred_at=utcnow()))
        handoff = HandoffRequest(sender_id=sender, reason="permintaan_warga", status="closed",
                                 channel=channel, contact_id=contact.id,
                                 note="warga bernama Siti", resolution="resolved")
        session.add(handoff)
        session.flush()
        session.add(HandoffNote(handoff_id=handoff.id, text="alamat Jl. Melati 5"))
        return {"contact_id": contact.id, "kept_photo": kept_photo, "chat_photo": chat_photo,
                "closed_photo": closed_photo}


def stored(gw: Gateway, n: int) -> None:
    def count() -> bool:
        with gw.services.sessions() as session:
            return session.scalar(select(func.count()).select_from(Message)) == n
    wait_for(count, what=f"{n} stored messages")


def file_exists(gw: Gateway, ref: str) -> bool:
    return (Path(gw.services.media.root) / Path(ref).name).is_file()


def test_data_saya_then_erasure_with_buttons_and_numbers_on_telegram(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    seeded = seed(gw)
    gw.telegram_update(text_update("Data saya?", 82001))
    shown = replies(gw, 1)[0]
    assert "Telegram ···6789" in shown and CHAT not in shown
    assert "Pesan: 3" in shown and "2 foto/berkas" in shown
    assert "kabar status dokumen dan laporan Anda" in shown
    assert "LKS-100001 (Diteruskan ke dinas terkait)" in shown
    assert "LKS-100002 (Selesai ditangani)" in shown
    assert "Percakapan dengan petugas: 1" in shown
    keyboard = gw.telegram.calls("sendMessage")[0].params["reply_markup"]["inline_keyboard"]
    assert [b["text"] for row in keyboard for b in row] == ["1. Hapus data saya", "2. Menu"]

    gw.telegram_update(text_update("1", 82002))  # "Hapus data saya" by its number
    asked = replies(gw, 2)[1]
    assert asked.startswith(rights.CONFIRM) and "LKS-100001" in asked
    assert "LKS-100002" not in asked  # closed: erased with the rest
    gw.telegram_update(text_update("2", 82003))  # "Batal"
    assert replies(gw, 3)[2] == rights.CANCELLED
    stored(gw, 9)  # nothing gone: 3 seeded, and three messages with their answers

    gw.telegram_update(text_update("hapus semua data saya", 82004))
    replies(gw, 4)
    press(gw, 3, "Ya, hapus", 82005)
    done = replies(gw, 5)[4]
    assert done.startswith("Data Anda sudah dihapus: ")
    # The messages before the request (not the request itself, nor its question).
    assert "9 pesan, 2 foto/berkas, 1 langganan, 2 status yang dipantau" in done
    assert "Laporan nomor LKS-100001 yang masih diproses tetap disimpan" in done
    wait_for(lambda: gw.rasa.trackers_reset, what="the tracker reset")
    assert gw.rasa.trackers_reset == [SENDER]
    assert gw.rasa.received == []  # none of it reached the bot

    stored(gw, 0)  # the erasure, this exchange included
    with gw.services.sessions() as session:
        contact = session.get_one(Contact, seeded["contact_id"])
        assert contact.status == erasure.ERASED and CHAT not in contact.external_id
        assert session.scalar(select(func.count()).select_from(Consent)) == 0
        assert session.scalar(select(func.count()).select_from(StatusWatch)) == 0
        assert session.scalar(select(func.count()).select_from(HandoffNote)) == 0
        handoff = session.scalars(select(HandoffRequest)).one()
        assert handoff.contact_id is None and handoff.note is None
        assert CHAT not in handoff.sender_id and handoff.resolution == "resolved"
        open_ticket = session.scalars(select(Ticket).where(Ticket.number == "LKS-100001")).one()
        assert open_ticket.payload["description"] == "Jalan berlubang depan rumah no 5"
        assert open_ticket.sender_id.startswith("erased:")
        closed = session.scalars(select(Ticket).where(Ticket.number == "LKS-100002")).one()
        assert closed.payload == {"category": "jalan", "agency": "DPUPR",
                                  "kecamatan": "Cipondoh"}
        assert CHAT not in closed.sender_id
        audit = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "resident_erasure")).one()
        assert audit.detail["messages"] >= 8 and audit.detail["kept_tickets"] == 1
        assert CHAT not in str(audit.detail) + str(audit.subject)
    assert file_exists(gw, seeded["kept_photo"])  # the open complaint still needs it
    assert not file_exists(gw, seeded["chat_photo"])
    assert not file_exists(gw, seeded["closed_photo"])
    redis = gw.services.store.redis
    assert gw.call(redis.exists(f"pintu:menu:{SENDER}", f"pintu:handoff:{SENDER}",
                                f"pintu:rating:{SENDER}", f"pintu:privacy:confirm:{SENDER}")) == 0

    gw.telegram_update(text_update("hapus data saya", 82006))  # again: nothing left
    assert replies(gw, 6)[5] == rights.NOTHING


def test_anything_but_yes_cancels_and_an_old_yes_erases_nothing(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    seed(gw)
    gw.telegram_update(text_update("hapus data saya", 82101))
    replies(gw, 1)
    gw.telegram_update(text_update("jadwal posyandu kapan?", 82102))
    assert replies(gw, 2)[1] == rights.CANCELLED_OTHER
    press(gw, 0, "Ya, hapus", 82103)  # the confirmation's button, pressed too late
    assert replies(gw, 3)[2] == rights.EXPIRED
    gw.telegram_update(text_update("ya", 82104))  # a plain "ya" is the bot's business again
    wait_for(lambda: gw.rasa.received, what="the message at the bot")
    assert [b["message"] for b in gw.rasa.received] == ["ya"]
    with gw.services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Consent)) == 1
        assert session.scalar(select(Contact.status)) == "active"


def test_local_chat_erasure_keeps_an_open_complaint_until_it_closes(
        make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    seeded = seed(gw, chat="warga-hak", channel="api")

    def say(text: str) -> list[dict[str, Any]]:
        answer = gw.http.post("/api/chat", json={"sender": "warga-hak", "text": text})
        assert answer.status_code == 200
        return list(answer.json()["messages"])

    shown = say("lihat data saya")
    stored(gw, 5)
    assert "Chat lokal ···-hak" in shown[0]["text"]
    assert [b["title"] for b in shown[0]["buttons"]] == ["Hapus data saya", "Menu"]
    asked = say("hapus data pribadi saya")
    assert [b["payload"] for b in asked[0]["buttons"]] == [rights.YES, rights.NO]
    done = say("ketik 1")
    assert done[0]["text"].startswith("Data Anda sudah dihapus: 5 pesan, 2 foto/berkas")
    assert gw.rasa.trackers_reset == ["api:warga-hak"]
    with gw.services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0
    assert say("hapus data saya")[0]["text"] == rights.NOTHING

    # LAKSA closes the kept complaint: the next sweep anonymises it at once and deletes its
    # photo (the reporter asked for erasure; no waiting for RETENTION_CLOSED_TICKETS_DAYS).
    from bot.privacy import retention

    with gw.services.sessions.begin() as session:
        session.add(AgencyEvent(agency="laksa", event_id="ev-done", kind="complaint",
                                ref="LKS-100001", status="selesai", occurred_at=utcnow()))
    swept = retention.sweep(gw.services.sessions, gw.services.media.root,
                            retention.Policy.from_settings(gw.services.settings))
    assert swept.tickets == 1 and swept.files == 1
    assert not file_exists(gw, seeded["kept_photo"])
    with gw.services.sessions() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == "LKS-100001")).one()
        assert "description" not in ticket.payload and "latitude" not in ticket.payload
        assert [e.status for e in ticket.events][-2:] == [erasure.REPORTER_ERASED,
                                                          erasure.ANONYMISED]
        assert session.scalar(select(func.count()).select_from(TicketEvent).where(
            TicketEvent.status == erasure.ANONYMISED)) == 2


def test_an_open_handoff_is_closed_by_erasure(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    handoff_id, _ = gw.call(gw.services.handoffs.open(SENDER, "permintaan_warga"))
    gw.telegram_update(text_update("hapus data saya", 82201))  # the officer is not asked
    assert replies(gw, 1)[0].startswith(rights.CONFIRM)
    gw.telegram_update(text_update("ya", 82202))
    assert replies(gw, 2)[1].startswith("Data Anda sudah dihapus")
    wait_for(lambda: gw.rows("SELECT status, resolution FROM handoff_requests "
                             "WHERE contact_id IS NULL") == [("closed", "cancelled")],
             what="the handoff closed and detached")
    wait_for(lambda: gw.call(gw.services.store.redis.get(f"pintu:handoff:{SENDER}")) is None,
             what="the handoff key gone")
    assert handoff_id


def test_a_rasa_away_resets_the_tracker_later(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    seed(gw)
    gw.rasa.status_code = 503
    gw.telegram_update(text_update("hapus data saya", 82301))
    replies(gw, 1)
    gw.telegram_update(text_update("ya", 82302))
    replies(gw, 2)
    redis = gw.services.store.redis
    wait_for(lambda: gw.call(redis.smembers(rights.FORGET_LATER)), what="the reset queued")
    gw.rasa.status_code = 200
    assert gw.call(gw.services.rights.catch_up()) == 1
    assert gw.rasa.trackers_reset == [SENDER]
    assert gw.call(redis.smembers(rights.FORGET_LATER)) == set()


def test_whatsapp_shows_four_digits_of_the_number_and_erases_by_button(
        make_gateway: Any, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from tests.fakes.graph_api import button_reply, text_message, webhook_payload

    caplog.set_level(logging.INFO)

    wa_id = "6281234567890"
    gw: Gateway = make_gateway()
    seed(gw, chat=wa_id, channel="whatsapp")
    gw.whatsapp_post(webhook_payload([text_message(wa_id, "data apa yang disimpan?")]))
    shown = wait_for(lambda: gw.graph.sent(), what="the summary")[0]
    assert shown["type"] == "interactive"
    assert "WhatsApp ···7890" in shown["interactive"]["body"]["text"]
    assert wa_id not in str(shown["interactive"])  # only the recipient field names the number
    buttons = shown["interactive"]["action"]["buttons"]
    assert [b["reply"]["title"] for b in buttons] == ["Hapus data saya", "Menu"]
    gw.whatsapp_post(webhook_payload([button_reply(wa_id, buttons[0]["reply"]["id"],
                                                   "Hapus data saya")]))
    asked = wait_for(lambda: len(gw.graph.sent()) >= 2 and gw.graph.sent(), what="the question")
    yes = asked[1]["interactive"]["action"]["buttons"][0]
    assert yes["reply"]["title"] == "Ya, hapus"
    gw.whatsapp_post(webhook_payload([button_reply(wa_id, yes["reply"]["id"], "Ya, hapus")]))
    done = wait_for(lambda: len(gw.graph.sent()) >= 3 and gw.graph.sent(), what="the answer")
    assert done[2]["text"]["body"].startswith("Data Anda sudah dihapus: 5 pesan")
    stored(gw, 0)
    wait_for(lambda: gw.rasa.trackers_reset, what="the tracker reset")
    assert gw.rasa.trackers_reset == [f"whatsapp:{wa_id}"]
    with gw.services.sessions() as session:
        assert session.scalars(select(Contact.status)).all() == [erasure.ERASED]
    wait_for(lambda: "resident data erased" in caplog.text, what="the erasure logged")
    assert wa_id not in caplog.text and "Jalan berlubang" not in caplog.text


def test_a_database_failure_during_erasure_retries_it_without_answering_again(
        make_gateway: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    gw: Gateway = make_gateway()
    seed(gw)
    real = gw.services.rights.erase
    tries: list[str] = []

    async def database_away_once(sender: str) -> Any:
        tries.append(sender)
        if len(tries) == 1:
            raise OperationalError("DELETE", {}, Exception("connection refused"))
        return await real(sender)

    monkeypatch.setattr(gw.services.rights, "erase", database_away_once)
    gw.telegram_update(text_update("hapus data saya", 82401))
    replies(gw, 1)
    gw.telegram_update(text_update("ya", 82402))
    assert replies(gw, 2)[1].startswith("Data Anda sudah dihapus")
    stored(gw, 0)
    assert tries == [SENDER, SENDER]
    assert len(gw.telegram.calls("sendMessage")) == 2  # told once
    assert gw.rasa.received == []


def test_an_erasure_a_dead_worker_left_is_done_by_the_catch_up(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    seed(gw)
    redis = gw.services.store.redis
    # Confirmed and answered four minutes ago, then the worker died before erasing: too soon.
    gw.call(redis.zadd(rights.ERASE_DUE, {SENDER: time.time() - 240}))
    assert gw.call(gw.services.rights.catch_up()) == 0
    gw.call(redis.zadd(rights.ERASE_DUE, {SENDER: time.time() - 400}))
    assert gw.call(gw.services.rights.catch_up()) == 1
    assert gw.rasa.trackers_reset == [SENDER]
    stored(gw, 0)
    assert gw.call(redis.zcard(rights.ERASE_DUE)) == 0
    with gw.services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Consent)) == 0
