"""Both channels through the whole stack: real Rasa, action server, sandbox and gateway, with the
fake Bot API and Graph API standing in for Telegram and WhatsApp."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from bot.stack import Stack
from tests.channels.conftest import wait_for
from tests.fakes.graph_api import FakeGraph, sign, text_message, webhook_payload
from tests.fakes.telegram_api import FakeTelegram

from .conftest import PORTS, TG_SECRET, WA_APP_SECRET

pytestmark = pytest.mark.integration


def test_telegram_greeting_gets_the_menu_as_an_inline_keyboard(
        stack: Stack, channel_fakes: tuple[FakeTelegram, str, FakeGraph, str]) -> None:
    telegram = channel_fakes[0]
    update = {"update_id": 990001, "message": {
        "message_id": 11, "date": int(time.time()), "text": "halo",
        "from": {"id": 7000001, "is_bot": False, "first_name": "Warga", "language_code": "id"},
        "chat": {"id": 7000001, "type": "private", "first_name": "Warga"}}}
    response = httpx.post(f"http://127.0.0.1:{PORTS.gateway}/webhooks/telegram", json=update,
                          headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    assert response.status_code == 200
    calls = wait_for(lambda: [c for c in telegram.calls("sendMessage") if c.chat_id == "7000001"],
                     timeout=30)
    keyboard = calls[-1].params.get("reply_markup", {}).get("inline_keyboard", [])
    assert len(keyboard) >= 3  # the service menu, one button a row, numbered
    assert keyboard[0][0]["text"].startswith("1. ")


def test_whatsapp_ktp_status_question_asks_for_the_nik(
        stack: Stack, channel_fakes: tuple[FakeTelegram, str, FakeGraph, str]) -> None:
    graph = channel_fakes[2]
    wa_id = "6281377700001"
    body = json.dumps(webhook_payload([text_message(wa_id, "ktp saya sudah jadi belum?")]))
    response = httpx.post(
        f"http://127.0.0.1:{PORTS.gateway}/webhooks/whatsapp", content=body.encode(),
        headers={"content-type": "application/json",
                 "X-Hub-Signature-256": sign(body.encode(), WA_APP_SECRET)})
    assert response.status_code == 200
    sent = wait_for(lambda: [b for b in graph.sent() if b.get("to") == wa_id], timeout=30)
    words = json.dumps(sent, ensure_ascii=False).lower()
    assert "nik" in words


def test_rasa_keeps_its_trackers_and_locks_in_redis(stack: Stack) -> None:
    """With REDIS_URL set, Rasa's tracker store is Redis: another Rasa process would see the
    same conversations."""
    import redis

    from .conftest import STACK_REDIS_URL

    httpx.post(f"http://127.0.0.1:{PORTS.gateway}/api/chat",
               json={"sender": "tracker-check", "text": "halo"}, timeout=30).raise_for_status()
    client = redis.Redis.from_url(STACK_REDIS_URL)
    try:
        keys = [k.decode() for k in client.scan_iter("rasa:tracker:*")]
    finally:
        client.close()
    assert any("api:tracker-check" in key for key in keys), keys
