"""When Rasa or the action server fails, no resident is left in silence and nobody waits for a
long backoff once they are back (real gateway, PostgreSQL, Redis, fake Rasa and Bot API)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.conversation import APOLOGY
from bot.inbox import NO_ANSWER
from tests.gateway.fakes import FakeRasa

from .conftest import Gateway, text_update, wait_for

pytestmark = pytest.mark.integration


class Switch:
    """The bot's health as the gateway's probe sees it, set by the test."""

    def __init__(self) -> None:
        self.up = False

    async def __call__(self) -> bool:
        return self.up


def texts(gw: Gateway) -> list[str]:
    return [str(c.params["text"]) for c in gw.telegram.calls("sendMessage")]


def test_an_answer_lost_to_a_dead_action_server_comes_as_soon_as_it_is_back(
        make_gateway: Any) -> None:
    answering = {"on": False}

    def reply(body: dict[str, Any]) -> list[dict[str, Any]]:
        # Rasa with its action server down: the action's messages are dropped, nothing said.
        return [{"text": f"jawaban: {body['message']}"}] if answering["on"] else []

    gw: Gateway = make_gateway(FakeRasa(reply), rasa_retry_max_s=60)
    health = Switch()
    gw.services.inbox.bot_ready = health
    gw.telegram_update(text_update("cek status ktp", 84001))
    wait_for(lambda: texts(gw) == [APOLOGY], what="one apology")
    time.sleep(2.5)  # the retries back off: 2 s, then 4 s, ...
    assert texts(gw) == [APOLOGY]
    answering["on"], health.up = True, True
    back = time.monotonic()
    wait_for(lambda: len(texts(gw)) == 2, timeout=5, what="the answer")
    assert time.monotonic() - back < 3.0  # woken, not left to its 4-8 s backoff
    assert texts(gw)[1] == "jawaban: cek status ktp"
    assert gw.rows("SELECT count(*) FROM messages WHERE direction = 'in'") == [(1,)]


def test_nothing_from_a_healthy_bot_still_gets_an_answer(make_gateway: Any) -> None:
    gw: Gateway = make_gateway(FakeRasa(lambda body: []))
    health = Switch()
    health.up = True
    gw.services.inbox.bot_ready = health
    gw.telegram_update(text_update("hmm", 84011))
    wait_for(lambda: texts(gw) == [NO_ANSWER], what="the honest answer")


def test_a_message_that_meets_the_database_away_is_answered_once_soon_after_it_returns(
        make_gateway: Any, caplog: pytest.LogCaptureFixture) -> None:
    from sqlalchemy import text

    gw: Gateway = make_gateway(FakeRasa())
    with gw.services.engine.begin() as conn:  # as the database looks from here: gone
        conn.execute(text("ALTER TABLE conversations RENAME TO conversations_away"))
    try:
        gw.telegram_update(text_update("halo", 84021))
        wait_for(lambda: "message not handled yet (database" in caplog.text, what="the retry")
        assert texts(gw) == []  # nothing said while it cannot be recorded
    finally:
        with gw.services.engine.begin() as conn:
            conn.execute(text("ALTER TABLE conversations_away RENAME TO conversations"))
    back = time.monotonic()
    wait_for(lambda: texts(gw), timeout=12, what="the answer")
    assert time.monotonic() - back < 10.0  # not a whole lease (120 s)
    time.sleep(1.0)
    assert texts(gw) == ["echo: halo"]
    assert gw.rows("SELECT direction, status FROM messages ORDER BY id") == [
        ("in", "processed"), ("out", "sent")]


def test_a_message_that_meets_a_broken_redis_connection_is_answered_once_within_seconds(
        make_gateway: Any, caplog: pytest.LogCaptureFixture) -> None:
    """As around a Redis restart: a pooled connection fails once, and Redis is still away for
    the first tries to postpone the message (found by bench/faults.py, where the message then
    waited for its whole lease)."""
    import redis.exceptions

    gw: Gateway = make_gateway(FakeRasa())
    inbox = gw.services.inbox
    real_answer = inbox._answer
    failed: list[bool] = []

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        if not failed:
            failed.append(True)
            raise redis.exceptions.ConnectionError("Connection lost")
        return await real_answer(*args, **kwargs)

    real_retry = inbox.messages.retry
    postponing: list[bool] = []

    async def retry_when_redis_is_back(*args: Any, **kwargs: Any) -> Any:
        if len(postponing) < 2:  # Redis still away for the first two tries
            postponing.append(True)
            raise redis.exceptions.ConnectionError("Connection refused")
        return await real_retry(*args, **kwargs)

    inbox._answer = flaky  # type: ignore[method-assign]
    inbox.messages.retry = retry_when_redis_is_back  # type: ignore[method-assign]
    start = time.monotonic()
    gw.telegram_update(text_update("halo", 84031))
    wait_for(lambda: texts(gw), timeout=12, what="the answer")
    assert time.monotonic() - start < 10.0  # not a whole lease (120 s)
    time.sleep(1.0)
    assert texts(gw) == ["echo: halo"]
    assert "message not handled yet (ConnectionError)" in caplog.text
    assert gw.rows("SELECT direction, status FROM messages ORDER BY id") == [
        ("in", "processed"), ("out", "sent")]
