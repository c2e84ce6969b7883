"""Handoff to an officer and back, through a real gateway (real PostgreSQL and Redis, fake Rasa,
fake Telegram and Graph APIs, and the local chat channel): the bot is silent while an officer has
the conversation, messages flow both ways, closing asks for a rating, timers tell the truth."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import select

from bot.handoff import HandoffError, parse_rating
from bot.models import Message
from bot.staff import auth
from bot.staff.auth import SignedIn
from tests.fakes.graph_api import list_reply, text_message, webhook_payload

from .conftest import Gateway, wait_for

pytestmark = pytest.mark.integration

WA_ID = "6281234500001"
SENDER = f"whatsapp:{WA_ID}"
INTERNAL = {"Authorization": "Bearer dev-internal-token"}


def officer(gw: Gateway, username: str = "ani", role: str = "agent") -> SignedIn:
    with gw.services.sessions.begin() as session:
        user = auth.create_staff(session, username, f"{username.title()} (Helpdesk)", role,
                                 "kata-sandi-uji-2026")
        return SignedIn(user.id, user.username, user.display_name, user.role, "csrf")


def resident(gw: Gateway, text: str) -> None:
    assert gw.whatsapp_post(webhook_payload([text_message(WA_ID, text)])).status_code == 200


def request_handoff(gw: Gateway, sender: str = SENDER, **extra: Any) -> int:
    response = gw.http.post("/internal/v1/handoffs", headers=INTERNAL, json={
        "sender_id": sender, "reason": "permintaan_warga", "service": "ktp", **extra})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "waiting"
    return int(response.json()["id"])


def test_while_an_officer_has_the_chat_the_bot_is_silent_and_messages_flow_both_ways(
        make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    ani = officer(gw)
    resident(gw, "halo")
    wait_for(lambda: len(gw.rasa.received) == 1, what="the bot's first answer")
    handoff_id = request_handoff(gw)

    resident(gw, "KTP saya hilang, NIK 3671051207800002")
    wait_for(lambda: gw.rows("SELECT 1 FROM messages WHERE direction = 'in' AND "
                             "status = 'processed'") and len(gw.rows(
                                 "SELECT 1 FROM messages WHERE direction = 'in'")) == 2,
             what="the message stored")
    time.sleep(0.3)
    assert len(gw.rasa.received) == 1  # the bot did not see it

    view = gw.call(gw.services.handoffs.queue(ani))
    waiting = next(w for w in view["waiting"] if w["id"] == handoff_id)
    assert waiting["service"] == "KTP-el" and waiting["channel"] == "whatsapp"
    assert "3671**********02" in waiting["last_messages"][-1]  # masked on staff screens
    assert WA_ID not in waiting["resident"]

    gw.call(gw.services.handoffs.take(handoff_id, ani))
    wait_for(lambda: any("terhubung dengan petugas Ani (Helpdesk)" in t
                         for t in gw.whatsapp_texts()), what="the joined notice")
    gw.call(gw.services.handoffs.reply(handoff_id, ani, "Baik, kami bantu cek."))
    wait_for(lambda: "Baik, kami bantu cek." in gw.whatsapp_texts(), what="the reply")
    assert [staff for staff, content in gw.rows(select(Message.staff_id, Message.content))
            if "kami bantu cek" in content.get("text", "")] == [ani.staff_id]

    resident(gw, "terima kasih pak")
    detail = wait_for(lambda: (d := gw.call(gw.services.handoffs.detail(handoff_id, ani)))
                      and any(m["text"] == "terima kasih pak" for m in d["messages"]) and d,
                      what="the answer in the transcript")
    assert detail["window_open"] is True
    assert len(gw.rasa.received) == 1

    gw.call(gw.services.handoffs.close(handoff_id, ani, "resolved"))
    wait_for(lambda: any("Bagaimana pelayanan petugas" in t for t in gw.whatsapp_texts()),
             what="the rating question")
    rating = gw.graph.sent()[-1]
    assert rating["type"] == "interactive" and rating["interactive"]["type"] == "list"
    row = rating["interactive"]["action"]["sections"][0]["rows"][4]
    gw.whatsapp_post(webhook_payload([list_reply(WA_ID, row["id"], row["title"])]))
    wait_for(lambda: gw.rows("SELECT rating FROM handoff_requests WHERE rating = 5"),
             what="the rating stored")
    wait_for(lambda: "Terima kasih atas penilaian Anda." in " ".join(gw.whatsapp_texts()),
             what="thanks for the rating")

    resident(gw, "mau tanya pajak")
    wait_for(lambda: len(gw.rasa.received) == 2, what="the bot answering again")
    assert gw.rasa.received[-1]["message"] == "mau tanya pajak"
    audit = [r[0] for r in gw.rows("SELECT action FROM audit_log ORDER BY id")]
    assert "take_handoff" in audit and "view_conversation" in audit and "close_handoff" in audit


def test_batal_while_waiting_gives_the_chat_back_to_the_bot(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    request_handoff(gw)
    resident(gw, "batal")
    wait_for(lambda: any("dibatalkan" in t for t in gw.whatsapp_texts()), what="cancelled")
    assert gw.rows("SELECT resolution FROM handoff_requests")[0][0] == "cancelled"
    resident(gw, "halo lagi")
    wait_for(lambda: len(gw.rasa.received) == 1, what="the bot answering")


def test_only_one_officer_takes_a_chat_and_agents_cannot_reply_to_others(
        make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    ani, budi = officer(gw, "ani"), officer(gw, "budi")
    sari = officer(gw, "sari", role="supervisor")
    resident(gw, "halo")  # the window is open, so notices may go out
    wait_for(lambda: gw.graph.sent(), what="the first answer")
    handoff_id = request_handoff(gw)
    gw.call(gw.services.handoffs.take(handoff_id, ani))
    with pytest.raises(HandoffError, match="petugas lain"):
        gw.call(gw.services.handoffs.take(handoff_id, budi))
    with pytest.raises(HandoffError, match="petugas lain"):
        gw.call(gw.services.handoffs.reply(handoff_id, budi, "saya juga"))
    with pytest.raises(HandoffError, match="supervisor"):
        gw.call(gw.services.handoffs.assign(handoff_id, budi.staff_id, ani))
    gw.call(gw.services.handoffs.assign(handoff_id, budi.staff_id, sari))  # a transfer
    wait_for(lambda: any("dialihkan ke petugas Budi" in t for t in gw.whatsapp_texts()),
             what="the transfer notice")
    assert "transfer_handoff" in [r[0] for r in gw.rows("SELECT action FROM audit_log")]


def test_outside_the_whatsapp_window_only_a_template_goes(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    ani = officer(gw)
    handoff_id = request_handoff(gw)
    gw.call(gw.services.handoffs.take(handoff_id, ani))
    # No message from the resident in the last 24 hours: the window is closed.
    with pytest.raises(HandoffError, match="24 jam"):
        gw.call(gw.services.handoffs.reply(handoff_id, ani, "halo"))
    assert gw.call(gw.services.handoffs.detail(handoff_id, ani))["window_open"] is False
    assert gw.rows("SELECT first_response_at FROM handoff_requests")[0][0] is None  # not sent
    gw.call(gw.services.handoffs.send_template(handoff_id, ani, "pintu_reply_ready", []))
    assert gw.rows("SELECT first_response_at FROM handoff_requests")[0][0] is not None
    body = wait_for(lambda: gw.graph.sent(), what="the template")[-1]
    assert body["type"] == "template" and body["template"]["name"] == "pintu_reply_ready"
    with pytest.raises(HandoffError, match="Template"):
        gw.call(gw.services.handoffs.send_template(handoff_id, ani, "iklan_bebas", []))


def test_the_local_chat_channel_hands_off_too(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    ani = officer(gw)
    first = gw.http.post("/api/chat", json={"sender": "lokal1", "text": "halo"}).json()
    assert first["messages"]
    handoff_id = request_handoff(gw, sender="api:lokal1")
    silent = gw.http.post("/api/chat", json={"sender": "lokal1", "text": "tolong dibantu"})
    assert silent.json() == {"messages": []}
    assert len(gw.rasa.received) == 1
    gw.call(gw.services.handoffs.take(handoff_id, ani))
    gw.call(gw.services.handoffs.reply(handoff_id, ani, "Siap, saya bantu."))
    got: list[str] = []
    deadline = time.monotonic() + 5
    while "Siap, saya bantu." not in got and time.monotonic() < deadline:
        answer = gw.http.get("/api/chat/messages", params={"sender": "lokal1", "wait": 2})
        got += [m["text"] for m in answer.json()["messages"]]
    assert any("terhubung dengan petugas" in t for t in got) and "Siap, saya bantu." in got
    detail = gw.call(gw.services.handoffs.detail(handoff_id, ani))
    assert [m["text"] for m in detail["messages"] if m["direction"] == "in"][-1] == \
        "tolong dibantu"


def test_after_hours_the_resident_is_told_when_to_expect_an_officer(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    ani = officer(gw)
    resident(gw, "halo")  # opens the WhatsApp window, so a notice may go out
    wait_for(lambda: len(gw.graph.sent()) == 1, what="the first answer")
    request_handoff(gw)
    saturday_night = datetime(2026, 11, 28, 14, 0, tzinfo=timezone.utc)  # 21:00 WIB
    assert gw.call(gw.services.handoffs.check_waiting(saturday_night)) == 1
    wait_for(lambda: any("di luar jam layanan" in t and "Senin pukul 08.00 WIB" in t
                         for t in gw.whatsapp_texts()), what="the honest notice")
    assert gw.call(gw.services.handoffs.check_waiting(saturday_night)) == 0  # told once
    waiting = gw.call(gw.services.handoffs.queue(ani))["waiting"][0]
    assert waiting["flagged"] is True


def test_automatic_assignment_respects_availability_and_capacity(make_gateway: Any) -> None:
    gw: Gateway = make_gateway(handoff_auto_assign=True)
    ani, budi = officer(gw, "ani"), officer(gw, "budi")
    with gw.services.sessions.begin() as session:
        from bot.models import StaffUser

        session.get(StaffUser, ani.staff_id).available = True  # type: ignore[union-attr]
        session.get(StaffUser, ani.staff_id).capacity = 2  # type: ignore[union-attr]
    for n in range(3):
        request_handoff(gw, sender=f"whatsapp:62812000000{n}")
    rows = gw.rows("SELECT status, assigned_to FROM handoff_requests ORDER BY id")
    assert [r[0] for r in rows] == ["active", "active", "waiting"]
    assert {r[1] for r in rows[:2]} == {ani.staff_id} and budi.staff_id not in {r[1] for r in rows}


def test_ratings_are_read_from_buttons_and_typed_answers() -> None:
    assert [parse_rating(t) for t in ("5", "#nilai 3", "4 bintang", "⭐⭐", "6", "lima", "")] == \
        [5, 3, 4, 2, None, None, None]


def test_attachments_reach_the_officer_and_the_resident(make_gateway: Any) -> None:
    from integrations.replies import Media, Reply
    from tests.fakes.graph_api import image_message

    gw: Gateway = make_gateway()
    ani = officer(gw)
    resident(gw, "halo")
    wait_for(lambda: gw.graph.sent(), what="the first answer")
    handoff_id = request_handoff(gw)
    gw.call(gw.services.handoffs.take(handoff_id, ani))
    jpeg = b"\xff\xd8\xff\xe0" + b"2" * 2000
    gw.graph.add_media("1048576000000009", jpeg, "image/jpeg")
    photo = image_message(WA_ID, "1048576000000009", caption="foto KTP rusak")
    photo["image"].pop("sha256")
    gw.whatsapp_post(webhook_payload([photo]))
    detail = wait_for(lambda: (d := gw.call(gw.services.handoffs.detail(handoff_id, ani)))
                      and any((m["attachment"] or {}).get("ref") for m in d["messages"]) and d,
                      what="the photo in the transcript")
    shown = next(m for m in detail["messages"] if m["attachment"])
    assert shown["text"] == "foto KTP rusak"
    assert gw.services.media.open(shown["attachment"]["ref"])[0] == jpeg

    pdf = b"%PDF-1.4\n" + b"3" * 500
    ref = gw.services.media.put(pdf, "application/pdf")
    gw.call(gw.services.handoffs.reply_with(handoff_id, ani, Reply(
        text="Formulir terlampir", media=Media(kind="document", ref=ref, filename="f.pdf"))))
    sent = wait_for(lambda: [b for b in gw.graph.sent() if b.get("type") == "document"],
                    what="the document at the Graph API")[0]
    assert sent["document"]["caption"] == "Formulir terlampir"
    outgoing = gw.call(gw.services.handoffs.detail(handoff_id, ani))["messages"][-1]
    assert outgoing["attachment"]["ref"] == ref and outgoing["by"] == "Ani (Helpdesk)"


def test_telegram_hands_off_and_the_rating_button_is_read(make_gateway: Any) -> None:
    from .conftest import fixture

    gw: Gateway = make_gateway()
    ani = officer(gw)
    base = fixture("telegram", "text")
    chat = str(base["message"]["chat"]["id"])

    def say(n: int, text: str) -> None:
        gw.telegram_update({**base, "update_id": base["update_id"] + n,
                            "message": {**base["message"], "message_id": 4000 + n,
                                        "text": text}})

    handoff_id = request_handoff(gw, sender=f"telegram:{chat}")
    say(1, "saya mau bicara dengan orang")
    wait_for(lambda: gw.rows("SELECT 1 FROM messages WHERE direction = 'in' AND "
                             "status = 'processed'"), what="the message stored")
    assert gw.rasa.received == []
    gw.call(gw.services.handoffs.take(handoff_id, ani))
    gw.call(gw.services.handoffs.reply(handoff_id, ani, "Halo, ada yang bisa dibantu?"))
    wait_for(lambda: "Halo, ada yang bisa dibantu?" in gw.sent_texts(chat), what="the reply")
    gw.call(gw.services.handoffs.close(handoff_id, ani, "referred"))
    question = wait_for(lambda: [c for c in gw.telegram.calls("sendMessage")
                                 if "Bagaimana pelayanan" in str(c.params.get("text"))],
                        what="the rating question")[0]
    keyboard = question.params["reply_markup"]["inline_keyboard"]
    four = next(button for row in keyboard for button in row if button["text"].startswith("4"))
    press = fixture("telegram", "callback_query")
    press["callback_query"]["data"] = four["callback_data"]
    gw.telegram_update(press)
    wait_for(lambda: gw.rows("SELECT 1 FROM handoff_requests WHERE rating = 4"),
             what="the rating stored")
    assert gw.rows("SELECT resolution FROM handoff_requests")[0][0] == "referred"
    assert gw.rasa.received == []  # neither the handoff nor the rating went to the bot


def test_a_redis_that_lost_its_keys_still_keeps_the_bot_silent(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    request_handoff(gw)
    gw.call(gw.services.store.redis.flushdb())  # a restart without persistence
    resident(gw, "masih menunggu petugas")
    wait_for(lambda: gw.rows("SELECT 1 FROM messages WHERE direction = 'in' AND "
                             "status = 'processed'"), what="the message stored")
    assert gw.rasa.received == []
