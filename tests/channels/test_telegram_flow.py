"""Telegram end to end through a real gateway: webhook, queue, worker, fake Rasa, sender, fake
Bot API (real PostgreSQL and Redis)."""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

import pytest
from sqlalchemy import select

from bot.models import Contact
from tests.gateway.fakes import FakeRasa

from .conftest import Gateway, fixture, text_update, wait_for

pytestmark = pytest.mark.integration

CHAT = "5123456789"


def menu_reply(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"recipient_id": body["sender"], "text": "Halo! Pilih layanan:",
             "buttons": [{"title": "Cek status KTP", "payload": "/ktp"},
                         {"title": "Pengaduan", "payload": "/complaint"}]}]


def test_a_message_gets_one_reply_with_an_inline_keyboard(make_gateway: Any) -> None:
    gw: Gateway = make_gateway(FakeRasa(menu_reply))
    assert gw.telegram_update(fixture("telegram", "text")).status_code == 200
    call = wait_for(lambda: gw.telegram.calls("sendMessage"), what="a reply")[0]
    assert call.chat_id == CHAT
    assert call.params["text"] == "Halo! Pilih layanan:"
    keyboard = call.params["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == ["1. Cek status KTP", "2. Pengaduan"]
    assert gw.rasa.received[0]["sender"] == f"telegram:{CHAT}"
    assert gw.rasa.received[0]["message"] == "ktp saya sudah jadi belum"
    # The exchange is stored: contact, conversation, the message in and the reply out.
    wait_for(lambda: gw.rows("SELECT 1 FROM messages WHERE status = 'sent'"), what="sent status")
    rows = gw.rows("SELECT direction, status FROM messages ORDER BY id")
    assert [r[0] for r in rows] == ["in", "out"]
    contact = gw.rows(select(Contact.channel, Contact.external_id, Contact.language))
    assert contact == [("telegram", CHAT, "id")]


def test_wrong_or_missing_secret_is_refused_and_nothing_is_processed(
        make_gateway: Any, caplog: pytest.LogCaptureFixture) -> None:
    gw: Gateway = make_gateway()
    assert gw.telegram_update(fixture("telegram", "text"), secret="wrong").status_code == 401
    response = gw.http.post("/webhooks/telegram", json=fixture("telegram", "text"))
    assert response.status_code == 401
    time.sleep(0.5)
    assert gw.rasa.received == []
    assert gw.telegram.calls("sendMessage") == []
    assert "wrong or missing secret token" in caplog.text


def test_the_same_update_three_times_at_once_gets_exactly_one_reply(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    update = fixture("telegram", "text")
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        statuses = list(pool.map(lambda _: gw.telegram_update(update).status_code, range(3)))
    assert statuses == [200, 200, 200]
    wait_for(lambda: gw.telegram.calls("sendMessage"), what="a reply")
    time.sleep(0.5)
    assert len(gw.telegram.calls("sendMessage")) == 1
    assert len(gw.rasa.received) == 1
    # Delivered again a minute later (Telegram retries): still nothing new.
    gw.telegram_update(update)
    time.sleep(0.3)
    assert len(gw.rasa.received) == 1


def test_one_residents_messages_are_handled_and_answered_in_order(make_gateway: Any) -> None:
    def slow_echo(body: dict[str, Any]) -> list[dict[str, Any]]:
        time.sleep(0.05)  # later messages arrive while earlier ones are with Rasa
        return [{"text": f"balasan untuk {body['message']}"}]

    gw: Gateway = make_gateway(FakeRasa(slow_echo))
    base = fixture("telegram", "text")
    for n in range(6):
        update = {**base, "update_id": base["update_id"] + n,
                  "message": {**base["message"], "message_id": 2000 + n, "text": f"pesan {n}"}}
        gw.telegram_update(update)
    wait_for(lambda: len(gw.telegram.calls("sendMessage")) == 6, what="six replies")
    assert [b["message"] for b in gw.rasa.received] == [f"pesan {n}" for n in range(6)]
    assert gw.sent_texts() == [f"balasan untuk pesan {n}" for n in range(6)]


def test_a_button_press_is_answered_and_its_payload_goes_to_rasa(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    update = fixture("telegram", "callback_query")
    gw.telegram_update(update)
    wait_for(lambda: gw.telegram.calls("sendMessage"), what="a reply")
    answered = gw.telegram.calls("answerCallbackQuery")
    assert [c.params["callback_query_id"] for c in answered] == [update["callback_query"]["id"]]
    assert gw.rasa.received[0]["message"] == update["callback_query"]["data"]


def test_a_typed_number_picks_the_option_shown(make_gateway: Any) -> None:
    gw: Gateway = make_gateway(FakeRasa(menu_reply))
    base = fixture("telegram", "text")
    gw.telegram_update(base)
    wait_for(lambda: gw.telegram.calls("sendMessage"), what="the menu")
    gw.telegram_update({**base, "update_id": base["update_id"] + 1,
                        "message": {**base["message"], "message_id": 3001, "text": "2"}})
    wait_for(lambda: len(gw.rasa.received) == 2, what="the choice")
    assert gw.rasa.received[1]["message"] == "/complaint"


def test_start_with_a_deep_link_opens_that_service(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    gw.telegram_update(fixture("telegram", "start_deeplink"))
    gw.telegram_update(fixture("telegram", "start_plain"))
    wait_for(lambda: len(gw.rasa.received) == 2, what="both starts")
    assert sorted(b["message"] for b in gw.rasa.received) == ["/complaint", "/greet"]


def test_a_photo_is_downloaded_stored_and_passed_on_by_reference(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    update = fixture("telegram", "photo")
    largest = update["message"]["photo"][-1]["file_id"]
    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 2000
    gw.telegram.add_file(largest, jpeg, "photos/file_1.jpg")
    gw.telegram_update(update)
    wait_for(lambda: gw.rasa.received, what="the photo at Rasa")
    body = gw.rasa.received[0]
    attachment = body["metadata"]["attachments"][0]
    assert attachment["type"] == "image" and attachment["ref"].startswith("media/")
    assert body["message"] == update["message"]["caption"]
    stored = gw.services.media.open(attachment["ref"])
    assert stored[0] == jpeg


def test_a_location_becomes_a_kecamatan_without_network(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    gw.telegram_update(fixture("telegram", "location"))
    wait_for(lambda: gw.rasa.received, what="the location at Rasa")
    place = gw.rasa.received[0]["metadata"]["attachments"][0]
    assert place["type"] == "location"
    assert place["kecamatan"]  # the nearest kelurahan's kecamatan in Kota Tangerang
    assert gw.rasa.received[0]["message"] == "/inform"


@pytest.mark.parametrize("name, words", [
    ("voice", "pesan suara"), ("sticker", "Ketik menu"), ("group_message", "chat pribadi"),
    ("contact", "kartu kontak"),
])
def test_what_the_bot_cannot_read_gets_a_polite_answer(make_gateway: Any, name: str,
                                                        words: str) -> None:
    gw: Gateway = make_gateway()
    gw.telegram_update(fixture("telegram", name))
    text = wait_for(lambda: gw.sent_texts(), what="an answer")[0]
    assert words in text
    assert gw.rasa.received == []


def test_rasa_down_gives_an_apology_then_the_answer_when_it_is_back(make_gateway: Any) -> None:
    rasa = FakeRasa(status_code=503)
    gw: Gateway = make_gateway(rasa)
    gw.telegram_update(fixture("telegram", "text"))
    first = wait_for(lambda: gw.sent_texts(), what="the apology")[0]
    assert "gangguan" in first
    time.sleep(0.5)
    assert len(gw.sent_texts()) == 1  # one apology, however many retries
    rasa.status_code = 200
    wait_for(lambda: len(gw.sent_texts()) == 2, what="the real answer")
    assert gw.sent_texts()[1] == "echo: ktp saya sudah jadi belum"


def test_retry_after_is_honoured(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    gw.telegram.fail("sendMessage", status=429, retry_after=1)
    gw.telegram_update(fixture("telegram", "text"))
    wait_for(lambda: [c for c in gw.telegram.calls("sendMessage") if c.status == 200],
             what="the send after the wait")
    refused, accepted = gw.telegram.calls("sendMessage")[:2]
    assert refused.status == 429
    assert accepted.monotonic - refused.monotonic >= 0.95


def test_server_errors_are_retried_then_dead_lettered_with_the_reason(make_gateway: Any) -> None:
    gw: Gateway = make_gateway(send_max_attempts=3)
    gw.telegram.fail("sendMessage", status=500, count=10)
    gw.telegram_update(fixture("telegram", "text"))
    dead = wait_for(lambda: gw.rows("SELECT reason, attempts FROM dead_letters"),
                    what="a dead letter")
    assert dead[0][1] == 3 and "TemporaryFailure" in dead[0][0]
    assert len(gw.telegram.calls("sendMessage")) == 3
    assert gw.rows("SELECT status FROM messages WHERE direction = 'out'") == [("dead",)]


def test_a_blocked_bot_marks_the_contact_stopped(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    gw.telegram.fail("sendMessage", status=403)
    gw.telegram_update(fixture("telegram", "text"))
    wait_for(lambda: gw.rows("SELECT 1 FROM dead_letters"), what="a dead letter")
    assert gw.rows("SELECT status FROM contacts") == [("stopped",)]


def test_polling_mode_takes_updates_without_a_webhook(make_gateway: Any) -> None:
    gw: Gateway = make_gateway(telegram_mode="polling")
    # In polling mode the webhook route is off, and the gateway removed any webhook first.
    assert gw.telegram_update(fixture("telegram", "text")).status_code == 404
    assert gw.telegram.calls("deleteWebhook")
    gw.telegram.push_update(fixture("telegram", "text"))
    gw.telegram.push_update(fixture("telegram", "text"))  # the same update twice: one reply
    wait_for(lambda: gw.telegram.calls("sendMessage"), what="a reply")
    import time as _time

    _time.sleep(0.3)
    assert len(gw.telegram.calls("sendMessage")) == 1


def test_metrics_count_messages_and_show_the_queues(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    gw.telegram_update(fixture("telegram", "text"))
    gw.telegram_update(fixture("telegram", "text"))
    wait_for(lambda: gw.telegram.calls("sendMessage"), what="a reply")
    text = gw.http.get("/metrics").text
    assert 'pintu_inbound_total{channel="telegram",kind="text"}' in text
    assert 'pintu_inbound_duplicates_total{channel="telegram"}' in text
    assert 'pintu_queue_keys_waiting{queue="out:telegram:reply"}' in text


def test_a_reused_channel_message_id_costs_neither_the_reply_nor_the_next_message(
        make_gateway: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The fake numbers the bot's messages from 1 while this resident's message is number 1 too
    (real Telegram shares one sequence): the status is kept without the id, nothing fails."""
    gw: Gateway = make_gateway()
    first = text_update("halo", 90001)
    first["message"]["message_id"] = 1
    gw.telegram_update(first)
    wait_for(lambda: gw.telegram.calls("sendMessage"), what="the reply")
    gw.telegram_update(text_update("lagi", 90002))
    wait_for(lambda: len(gw.telegram.calls("sendMessage")) >= 2, what="the next reply")
    wait_for(lambda: gw.rows("SELECT 1 FROM messages WHERE direction = 'out' AND "
                             "status = 'sent' AND channel_message_id IS NULL"),
             what="the reply's status without the reused id")
    assert "round failed" not in caplog.text
