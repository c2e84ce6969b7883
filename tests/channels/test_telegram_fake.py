"""The fake Telegram Bot API answers like the real one, on the wire."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram

CHAT = 5123456789


@pytest.fixture
def fake(telegram_server: tuple[FakeTelegram, str]) -> FakeTelegram:
    telegram_server[0].reset()
    return telegram_server[0]


@pytest.fixture
def http(telegram_server: tuple[FakeTelegram, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=telegram_server[1], timeout=10) as client:
        yield client


def api(http: httpx.Client, method: str, token: str = DEFAULT_TOKEN,
        **kwargs: Any) -> httpx.Response:
    return http.post(f"/bot{token}/{method}", **kwargs)


def test_get_me_is_a_bot_user(fake: FakeTelegram, http: httpx.Client) -> None:
    answer = api(http, "getMe").json()
    assert answer["ok"] is True
    assert answer["result"]["is_bot"] is True
    assert answer["result"]["id"] == 7012345678


def test_wrong_token_is_401(fake: FakeTelegram, http: httpx.Client) -> None:
    response = api(http, "getMe", token="123:wrong")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_unknown_method_is_404(fake: FakeTelegram, http: httpx.Client) -> None:
    response = api(http, "sendTelepathy", json={"chat_id": CHAT})
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


def test_json_body_message_ids_count_per_chat(fake: FakeTelegram, http: httpx.Client) -> None:
    first = api(http, "sendMessage", json={"chat_id": CHAT, "text": "satu"}).json()["result"]
    second = api(http, "sendMessage", json={"chat_id": CHAT, "text": "dua"}).json()["result"]
    other = api(http, "sendMessage", json={"chat_id": 6234567890, "text": "x"}).json()["result"]
    assert (first["message_id"], second["message_id"], other["message_id"]) == (1, 2, 1)
    assert first["chat"] == {"id": CHAT, "first_name": "Warga", "type": "private"}
    assert first["from"]["is_bot"] is True
    assert first["text"] == "satu"
    assert abs(first["date"] - time.time()) < 5


def test_form_body_nested_params_are_decoded(fake: FakeTelegram, http: httpx.Client) -> None:
    markup = {"inline_keyboard": [[{"text": "1. Ya", "callback_data": "/affirm"}]]}
    answer = api(http, "sendMessage", data={"chat_id": str(CHAT), "text": "123",
                                            "reply_markup": json.dumps(markup)}).json()
    assert answer["result"]["reply_markup"] == markup
    (call,) = fake.calls("sendMessage")
    assert call.params == {"chat_id": CHAT, "text": "123", "reply_markup": markup}
    assert call.chat_id == str(CHAT)


def test_multipart_upload_is_recorded_and_downloadable(fake: FakeTelegram,
                                                       http: httpx.Client) -> None:
    content = b"%PDF-1.4\r\n\r\n--binary\x00\xff"
    answer = api(http, "sendDocument", data={"chat_id": str(CHAT), "caption": "Bukti"},
                 files={"document": ("LKS-123456.pdf", content, "application/pdf")}).json()
    document = answer["result"]["document"]
    assert (document["file_name"], document["file_size"]) == ("LKS-123456.pdf", len(content))
    (call,) = fake.calls("sendDocument")
    assert call.files["document"] == content
    assert call.params["caption"] == "Bukti"
    path = api(http, "getFile", json={"file_id": document["file_id"]}).json()["result"]
    assert http.get(f"/file/bot{DEFAULT_TOKEN}/{path['file_path']}").content == content


@pytest.mark.parametrize(("status", "retry_after", "body"), [
    (429, 7, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
              "parameters": {"retry_after": 7}}),
    (403, None, {"ok": False, "error_code": 403,
                 "description": "Forbidden: bot was blocked by the user"}),
    (500, None, {"ok": False, "error_code": 500, "description": "Internal Server Error"}),
    (400, None, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
])
def test_planned_failures_have_the_real_bodies(fake: FakeTelegram, http: httpx.Client,
                                               status: int, retry_after: int | None,
                                               body: dict[str, Any]) -> None:
    fake.fail("sendMessage", status=status, retry_after=retry_after, count=2)
    for _ in range(2):
        response = api(http, "sendMessage", json={"chat_id": CHAT, "text": "halo"})
        assert (response.status_code, response.json()) == (status, body)
    assert api(http, "sendMessage", json={"chat_id": CHAT, "text": "halo"}).json()["ok"]
    assert [c.status for c in fake.calls()] == [status, status, 200]


def test_failure_for_one_method_leaves_others_alone(fake: FakeTelegram,
                                                    http: httpx.Client) -> None:
    fake.fail("sendPhoto", status=500)
    assert api(http, "sendMessage", json={"chat_id": CHAT, "text": "halo"}).json()["ok"]


@pytest.mark.parametrize(("body", "description"), [
    ({"chat_id": CHAT, "text": "x" * 4097}, "Bad Request: message is too long"),
    ({"chat_id": CHAT, "text": ""}, "Bad Request: message text is empty"),
    ({"chat_id": CHAT, "text": "a", "reply_markup": {"inline_keyboard": [
        [{"text": "1. A", "callback_data": "x" * 65}]]}}, "Bad Request: BUTTON_DATA_INVALID"),
])
def test_real_limits_are_enforced(fake: FakeTelegram, http: httpx.Client, body: dict[str, Any],
                                  description: str) -> None:
    answer = api(http, "sendMessage", json=body).json()
    assert (answer["ok"], answer["description"]) == (False, description)


def test_get_updates_long_poll_waits_for_a_pushed_update(fake: FakeTelegram,
                                                         http: httpx.Client) -> None:
    timer = threading.Timer(0.3, fake.push_update, args=({"update_id": 500, "message": {}},))
    timer.start()
    started = time.monotonic()
    result = api(http, "getUpdates", json={"offset": 0, "timeout": 5}).json()["result"]
    assert [u["update_id"] for u in result] == [500]
    assert 0.25 < time.monotonic() - started < 3
    # the next offset confirms it
    assert api(http, "getUpdates", json={"offset": 501, "timeout": 0}).json()["result"] == []


def test_get_updates_while_webhook_is_set_is_a_conflict(fake: FakeTelegram,
                                                        http: httpx.Client) -> None:
    api(http, "setWebhook", json={"url": "https://pintu.example/tg", "secret_token": "s3"})
    assert fake.webhook == {"url": "https://pintu.example/tg", "secret_token": "s3"}
    assert api(http, "getUpdates", json={}).status_code == 409
    api(http, "deleteWebhook", json={})
    assert api(http, "getUpdates", json={}).json() == {"ok": True, "result": []}


def test_delay_slows_every_answer(fake: FakeTelegram, http: httpx.Client) -> None:
    fake.delay(0.3)
    started = time.monotonic()
    api(http, "getMe")
    assert time.monotonic() - started >= 0.3


def test_http_control_routes(fake: FakeTelegram, http: httpx.Client) -> None:
    http.post("/_fake/fail", json={"method": "sendMessage", "status": 429, "retry_after": 2})
    assert api(http, "sendMessage", json={"chat_id": CHAT, "text": "a"}).status_code == 429
    ids = http.post("/_fake/updates", json=[{"message": {}}, {"message": {}}]).json()
    assert len(ids["update_ids"]) == 2
    calls = http.get("/_fake/calls", params={"method": "sendMessage"}).json()["calls"]
    assert [(c["method"], c["status"], c["chat_id"]) for c in calls] == \
        [("sendMessage", 429, str(CHAT))]
    assert calls[0]["wall"] <= time.time()
    http.post("/_fake/reset")
    assert fake.calls() == []
    assert api(http, "getUpdates", json={"timeout": 0}).json()["result"] == []
