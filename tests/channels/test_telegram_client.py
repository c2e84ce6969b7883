"""The real python-telegram-bot client against the fake Bot API, and its typed errors."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram.error import RetryAfter
from telegram.request import BaseRequest, RequestData

from integrations.channel_errors import (
    RateLimited,
    RecipientUnavailable,
    Rejected,
    TemporaryFailure,
)
from integrations.replies import Media, Option, Reply
from integrations.telegram import TelegramClient, check_secret, parse_update, render
from tests.channels.conftest import wait_for
from tests.fakes.server import free_port
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram

CHAT = "5123456789"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram"
STORED = {"var/media/lks.pdf": b"%PDF-1.4 bukti pengaduan"}


@pytest.fixture
def fake(telegram_server: tuple[FakeTelegram, str]) -> FakeTelegram:
    telegram_server[0].reset()
    return telegram_server[0]


@pytest.fixture
async def client(fake: FakeTelegram,
                 telegram_server: tuple[FakeTelegram, str]) -> AsyncIterator[TelegramClient]:
    client = TelegramClient(DEFAULT_TOKEN, f"{telegram_server[1]}/bot", read_timeout=5,
                            open_media=STORED.__getitem__)
    await client.initialize()
    yield client
    await client.shutdown()


async def test_initialize_checks_the_token_with_get_me(client: TelegramClient,
                                                       fake: FakeTelegram) -> None:
    assert [c.method for c in fake.calls()] == ["getMe"]


async def test_refused_token_is_rejected_without_showing_it(
        fake: FakeTelegram, telegram_server: tuple[FakeTelegram, str]) -> None:
    client = TelegramClient("999:WrongSecretToken", f"{telegram_server[1]}/bot")
    with pytest.raises(Rejected) as caught:
        await client.initialize()
    await client.shutdown()
    assert "WrongSecretToken" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert "WrongSecretToken" not in repr(client)


async def test_message_with_keyboard_arrives_with_decoded_reply_markup(
        client: TelegramClient, fake: FakeTelegram) -> None:
    reply = Reply(text="Layanan apa yang Anda perlukan?", options=(
        Option("KTP elektronik", '/pilih{"choice":"ktp"}'),
        Option("Akta kelahiran",
               '/pilih{"choice":"akta_kelahiran","sumber":"menu_utama_layanan_dukcapil"}')))
    (call,) = render(reply, CHAT)
    assert await client.send(call) == f"{CHAT}:1"
    (received,) = fake.calls("sendMessage")
    assert received.params == call.body
    assert received.params["reply_markup"]["inline_keyboard"][1][0]["callback_data"] \
        .startswith("k:")
    assert "parse_mode" not in received.params


async def test_every_part_of_a_long_reply_is_accepted(client: TelegramClient,
                                                      fake: FakeTelegram) -> None:
    reply = Reply(text="informasi " * 1000, request_location=True,
                  options=(Option("Menu", "/menu"),))
    ids = [await client.send(call) for call in render(reply, CHAT)]
    assert ids == [f"{CHAT}:{n}" for n in range(1, len(ids) + 1)]
    assert len(ids) == 4  # three chunks and the location prompt


async def test_stored_document_is_uploaded(client: TelegramClient, fake: FakeTelegram) -> None:
    reply = Reply(text="Bukti pengaduan Anda",
                  media=Media("document", ref="var/media/lks.pdf", filename="LKS-123456.pdf"))
    (call,) = render(reply, CHAT)
    assert await client.send(call) == f"{CHAT}:1"
    (received,) = fake.calls("sendDocument")
    assert received.files["document"] == STORED["var/media/lks.pdf"]
    assert received.params["document"]["file_name"] == "LKS-123456.pdf"
    assert received.params["caption"] == "Bukti pengaduan Anda"


async def test_missing_stored_file_is_rejected(telegram_server: tuple[FakeTelegram, str]) -> None:
    def missing(ref: str) -> bytes:
        raise FileNotFoundError(ref)

    (call,) = render(Reply(media=Media("image", ref="var/media/hilang.jpg")), CHAT)
    async with TelegramClient(
            DEFAULT_TOKEN, f"{telegram_server[1]}/bot", open_media=missing) as client:
        with pytest.raises(Rejected, match="stored media not found"):
            await client.send(call)


async def test_flood_control_is_rate_limited_with_its_wait(client: TelegramClient,
                                                           fake: FakeTelegram) -> None:
    fake.fail("sendMessage", status=429, retry_after=7)
    with pytest.raises(RateLimited) as caught:
        await client.send(render(Reply(text="halo"), CHAT)[0])
    assert caught.value.retry_after == 7.0
    assert caught.value.retryable


@pytest.mark.parametrize(("status", "description", "error"), [
    (500, None, TemporaryFailure),
    (502, None, TemporaryFailure),
    (403, None, RecipientUnavailable),
    (403, "Forbidden: user is deactivated", RecipientUnavailable),
    (400, "Bad Request: chat not found", RecipientUnavailable),
    (400, "Bad Request: message text is empty", Rejected),
])
async def test_errors_are_typed(client: TelegramClient, fake: FakeTelegram, status: int,
                                description: str | None, error: type[Exception]) -> None:
    fake.fail("sendMessage", status=status, description=description)
    with pytest.raises(error) as caught:
        await client.send(render(Reply(text="halo"), CHAT)[0])
    assert type(caught.value) is error


async def test_error_messages_and_logs_hold_no_personal_data(
        client: TelegramClient, fake: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    secret_text = "NIK saya 3671012304560001, hp 081234567890"
    fake.fail("sendMessage", status=400, description="Bad Request: can't parse entities")
    caplog.set_level(logging.INFO)
    with pytest.raises(Rejected) as caught:
        await client.send(render(Reply(text=secret_text), CHAT)[0])
    for shown in (str(caught.value), caplog.text):
        assert "3671012304560001" not in shown
        assert "081234567890" not in shown


async def test_slow_answer_is_a_temporary_failure(
        fake: FakeTelegram, telegram_server: tuple[FakeTelegram, str]) -> None:
    async with TelegramClient(
            DEFAULT_TOKEN, f"{telegram_server[1]}/bot", read_timeout=0.2) as client:
        fake.delay(1)
        with pytest.raises(TemporaryFailure, match="timed out"):
            await client.send(render(Reply(text="halo"), CHAT)[0])
        fake.delay(0)
    # The server still answers the abandoned call a second later: wait for it here, or it lands
    # among the next test's calls (the fake is shared by the module).
    await asyncio.to_thread(wait_for, lambda: fake.calls("sendMessage"), 3.0, "the late answer")


async def test_nothing_listening_is_a_temporary_failure() -> None:
    client = TelegramClient(DEFAULT_TOKEN, f"http://127.0.0.1:{free_port()}/bot",
                            connect_timeout=1)
    with pytest.raises(TemporaryFailure):
        await client.send(render(Reply(text="halo"), CHAT)[0])
    await client.shutdown()


async def test_download_a_file(client: TelegramClient, fake: FakeTelegram) -> None:
    fake.add_file("AgACAgUAAxkBAAIGBGdDq1x", b"\xff\xd8\xff jpeg", file_path="photos/file_7.jpg")
    assert await client.download("AgACAgUAAxkBAAIGBGdDq1x", max_bytes=1024) == b"\xff\xd8\xff jpeg"
    with pytest.raises(Rejected, match="larger than allowed"):
        await client.download("AgACAgUAAxkBAAIGBGdDq1x", max_bytes=4)
    with pytest.raises(Rejected):
        await client.download("unknown", max_bytes=1024)


async def test_answer_callback(client: TelegramClient, fake: FakeTelegram) -> None:
    await client.answer_callback("2200434570231784512")
    (call,) = fake.calls("answerCallbackQuery")
    assert call.params == {"callback_query_id": "2200434570231784512"}


async def test_get_updates_long_poll_returns_a_pushed_update(client: TelegramClient,
                                                             fake: FakeTelegram) -> None:
    update = json.loads((FIXTURES / "photo.json").read_text(encoding="utf-8"))
    timer = threading.Timer(0.3, fake.push_update, args=(update,))
    timer.start()
    started = time.monotonic()
    (received,) = await client.get_updates(offset=None, timeout=5)
    assert time.monotonic() - started < 3
    assert received["update_id"] == update["update_id"]
    assert parse_update(received) == parse_update(update)
    assert await client.get_updates(offset=update["update_id"] + 1, timeout=0) == []


async def test_webhook_set_and_deleted(client: TelegramClient, fake: FakeTelegram) -> None:
    await client.set_webhook("https://pintu.example/telegram/webhook", secret_token="s3cr3t_1")
    assert fake.webhook is not None
    assert fake.webhook["secret_token"] == "s3cr3t_1"
    assert fake.webhook["url"] == "https://pintu.example/telegram/webhook"
    await client.delete_webhook()
    assert fake.webhook is None


class Scripted(BaseRequest):
    """An injected request object that fails every call with `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None,
                         ) -> tuple[int, bytes]:
        raise self.error


async def test_retry_after_as_timedelta_is_handled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB 22's opt-in: retry_after is a timedelta
    client = TelegramClient(DEFAULT_TOKEN,
                            request=Scripted(RetryAfter(dtm.timedelta(seconds=2.5))))
    with pytest.raises(RateLimited) as caught:
        await client.send(render(Reply(text="halo"), CHAT)[0])
    await client.shutdown()
    assert caught.value.retry_after == 2.5


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_retry_after_as_int_is_handled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    client = TelegramClient(DEFAULT_TOKEN, request=Scripted(RetryAfter(4)))
    with pytest.raises(RateLimited) as caught:
        await client.send(render(Reply(text="halo"), CHAT)[0])
    await client.shutdown()
    assert caught.value.retry_after == 4.0


def test_check_secret() -> None:
    assert check_secret("s3cr3t-token_1", "s3cr3t-token_1")
    assert not check_secret("s3cr3t-token_2", "s3cr3t-token_1")
    assert not check_secret("s3cr3t-token_1x", "s3cr3t-token_1")
    assert not check_secret(None, "s3cr3t-token_1")
    assert not check_secret("", "s3cr3t-token_1")
    assert not check_secret("", "")
    assert check_secret("rahasia-ü", "rahasia-ü")


def test_check_secret_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[object, object]] = []

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return a == b

    monkeypatch.setattr("integrations.telegram.webhook.hmac.compare_digest", spy)
    check_secret("abc", "abd")
    assert seen == [(b"abc", b"abd")]
