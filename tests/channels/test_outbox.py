"""The outbound queue on its own: windows, pacing, priorities, dead letters (real Redis and
PostgreSQL, a recording channel client)."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from bot.db import make_sessionmaker
from bot.kv import make_redis
from bot.models import MESSAGE_ID_HASH, DeadLetter
from bot.outbound import RECORDING_PER_SENDER, ChannelLimits, Outbox, open_window
from bot.privacy.crypto import lookup_hash
from integrations.channel_errors import Rejected, TemporaryFailure
from integrations.replies import Rendered
from tests.gateway.conftest import REDIS_URL

pytestmark = pytest.mark.integration


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[float, Rendered]] = []
        self.failures: list[Exception] = []

    async def send(self, rendered: Rendered) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((time.monotonic(), rendered))
        return f"id-{len(self.sent)}"


@pytest.fixture
async def outbox(pg_engine: Engine) -> AsyncIterator[tuple[Outbox, Recorder, Any]]:
    redis = make_redis(REDIS_URL)
    await redis.flushdb()
    box = Outbox(redis, make_sessionmaker(pg_engine),
                 limits={"telegram": ChannelLimits(50, 300), "whatsapp": ChannelLimits(50, 0)},
                 max_attempts=3, backoff_base_s=0.05, backoff_max_s=0.1)
    recorder = Recorder()
    box.register("telegram", recorder)
    box.register("whatsapp", recorder, account="109876543210987")
    senders = [asyncio.create_task(box.run(channel, 4)) for channel in ("telegram", "whatsapp")]
    yield box, recorder, redis
    for task in senders:
        task.cancel()
    await asyncio.gather(*senders, return_exceptions=True)
    await redis.flushdb()
    await redis.aclose()


async def until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608


def call(text_: str, to: str = "6281234567890", kind: str = "text") -> Rendered:
    if kind == "template":
        return Rendered("template", {"to": to, "type": "template",
                                     "template": {"name": text_ or "pintu_status_update"}})
    return Rendered(kind, {"to": to, "type": kind, "text": {"body": text_}})


async def test_outside_the_24_hour_window_only_templates_go_out(
        outbox: tuple[Outbox, Recorder, Any], pg_engine: Engine) -> None:
    box, recorder, redis = outbox
    await box.enqueue("whatsapp", "6289999999999", [call("Status berubah")], [None])
    await box.enqueue("whatsapp", "6289999999999", [call("", kind="template")], [None])
    await until(lambda: len(recorder.sent) == 1)
    assert recorder.sent[0][1].method == "template"
    # A template Meta has not approved (not listed in data/whatsapp/templates.yml) is refused.
    await box.enqueue("whatsapp", "6289999999999", [call("iklan", kind="template")], [None])
    await until(lambda: _count(pg_engine, "dead_letters") == 2)
    with pg_engine.connect() as conn:
        reasons = list(conn.scalars(text("SELECT reason FROM dead_letters ORDER BY id")))
    assert reasons[0].startswith("OutsideWindow") and "'iklan' is not in" in reasons[1]
    # Once the resident writes, free-form replies go out again.
    await open_window(redis, "whatsapp", "6289999999999")
    await box.enqueue("whatsapp", "6289999999999", [call("Balasan")], [None])
    await until(lambda: len(recorder.sent) == 2)


async def test_a_telegram_chat_gets_at_most_one_message_per_interval(
        outbox: tuple[Outbox, Recorder, Any]) -> None:
    box, recorder, _ = outbox
    calls = [Rendered("sendMessage", {"chat_id": 1, "text": f"bagian {n}"}) for n in range(4)]
    await box.enqueue("telegram", "1", calls, [None] * 4)
    await box.enqueue("telegram", "2", [Rendered("sendMessage", {"chat_id": 2, "text": "x"})],
                      [None])
    await until(lambda: len(recorder.sent) == 5)
    chat_one = [t for t, r in recorder.sent if r.body["chat_id"] == 1]
    assert [r.body["text"] for _, r in recorder.sent if r.body["chat_id"] == 1] == \
        [f"bagian {n}" for n in range(4)]
    gaps = [b - a for a, b in itertools.pairwise(chat_one)]
    assert min(gaps) >= 0.29, gaps  # the configured 300 ms per chat
    # Another chat is not held up by the first one's pacing: it goes before chat 1's second part.
    other = next(t for t, r in recorder.sent if r.body["chat_id"] == 2)
    assert other < chat_one[1]


async def test_replies_go_before_broadcasts(outbox: tuple[Outbox, Recorder, Any]) -> None:
    box, recorder, redis = outbox
    for n in [*range(30), 99]:
        await open_window(redis, "whatsapp", f"62811{n:08d}")
    # Thirty broadcasts queued first, a reply a moment later: the reply does not wait for them
    # all, only for the few the four senders already hold.
    for n in range(30):
        await box.enqueue("whatsapp", f"62811{n:08d}", [call(f"siaran {n}")], [None], "bulk")
    await box.enqueue("whatsapp", "6281100000099", [call("balasan")], [None], "reply")
    await until(lambda: len(recorder.sent) == 31)
    order = [r.body["text"]["body"] for _, r in recorder.sent]
    assert order.index("balasan") <= 10, order


async def test_permanent_refusals_are_dead_letters_at_once(
        outbox: tuple[Outbox, Recorder, Any], pg_engine: Engine) -> None:
    box, recorder, redis = outbox
    await open_window(redis, "whatsapp", "6281234567890")
    recorder.failures = [Rejected("bad parameter", code=100)]
    await box.enqueue("whatsapp", "6281234567890", [call("a"), call("b")], [None, None])
    await until(lambda: len(recorder.sent) == 1)
    with pg_engine.connect() as conn:
        rows = list(conn.execute(select(DeadLetter.reason, DeadLetter.attempts,
                                        DeadLetter.request)))
    assert len(rows) == 1 and rows[0][0].startswith("Rejected") and rows[0][1] == 1
    assert recorder.sent[0][1].body["text"]["body"] == "b"  # the next message still goes


async def test_temporary_failures_are_retried_with_backoff(
        outbox: tuple[Outbox, Recorder, Any]) -> None:
    box, recorder, redis = outbox
    await open_window(redis, "whatsapp", "6281234567890")
    recorder.failures = [TemporaryFailure("HTTP 503"), TemporaryFailure("HTTP 502")]
    started = time.monotonic()
    await box.enqueue("whatsapp", "6281234567890", [call("a")], [None])
    await until(lambda: len(recorder.sent) == 1)
    assert time.monotonic() - started >= 0.05  # two backoffs of at least 25 ms


def hashed(channel_message_id: str) -> str:
    """A channel's message id as stored (bot.models: its keyed hash)."""
    return lookup_hash(channel_message_id, MESSAGE_ID_HASH)


def _message_status(engine: Engine, ref: str) -> tuple[str, str | None] | None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, channel_message_id FROM messages WHERE ref = :r"),
                           {"r": ref}).first()
    return (row[0], row[1]) if row else None


def _write_rows(engine: Engine, chat_id: str, refs: list[str]) -> None:
    from bot import records

    with make_sessionmaker(engine).begin() as session:
        for ref in refs:
            records.record_outbound(session, channel="whatsapp", chat_id=chat_id, kind="text",
                                    content={"text": "x"}, ref=ref)


async def test_an_outcome_that_comes_before_its_row_is_applied_when_the_row_is_written(
        outbox: tuple[Outbox, Recorder, Any], pg_engine: Engine) -> None:
    # Replies are queued first and their rows written afterwards: the send can win the race.
    box, recorder, redis = outbox
    await open_window(redis, "whatsapp", "6281234567890")
    await box.enqueue("whatsapp", "6281234567890", [call("cepat")], ["ref-early"])
    await until(lambda: len(recorder.sent) == 1)
    await until(lambda: _sync_exists(redis, "pintu:outcome:ref-early"))
    assert _message_status(pg_engine, "ref-early") is None

    _write_rows(pg_engine, "6281234567890", ["ref-early"])
    await box.apply_early_outcomes(["ref-early"])

    assert _message_status(pg_engine, "ref-early") == ("sent", hashed("id-1"))
    assert not await redis.exists("pintu:outcome:ref-early")


async def test_an_outcome_after_its_row_goes_straight_to_the_row(
        outbox: tuple[Outbox, Recorder, Any], pg_engine: Engine) -> None:
    box, _, redis = outbox
    await open_window(redis, "whatsapp", "6281234567890")
    _write_rows(pg_engine, "6281234567890", ["ref-late"])
    await box.enqueue("whatsapp", "6281234567890", [call("biasa")], ["ref-late"])
    await until(lambda: _message_status(pg_engine, "ref-late") == ("sent", hashed("id-1")))
    assert not await redis.exists("pintu:outcome:ref-late")


async def test_a_dead_letter_before_its_row_still_marks_the_row_dead(
        outbox: tuple[Outbox, Recorder, Any], pg_engine: Engine) -> None:
    box, recorder, redis = outbox
    await open_window(redis, "whatsapp", "6281234567890")
    recorder.failures = [Rejected("bad parameter", code=100)]
    await box.enqueue("whatsapp", "6281234567890", [call("a")], ["ref-dead"])
    await until(lambda: _count(pg_engine, "dead_letters") == 1)
    await until(lambda: _sync_exists(redis, "pintu:outcome:ref-dead"))
    _write_rows(pg_engine, "6281234567890", ["ref-dead"])
    await box.apply_early_outcomes(["ref-dead"])
    assert _message_status(pg_engine, "ref-dead") == ("dead", None)


def _sync_exists(redis: Any, key: str) -> bool:
    """`until` takes a plain predicate: look the key up on a private connection."""
    import redis as sync_redis

    client = sync_redis.Redis.from_url(REDIS_URL)
    try:
        return bool(client.exists(key))
    finally:
        client.close()


async def test_a_sender_stops_even_when_redis_swallows_the_cancellation(
        pg_engine: Engine) -> None:
    # redis-py's BLPOP sometimes returns normally when its task is cancelled: the sender loop
    # must still end, or shutting down (and every test teardown) hangs.
    redis = make_redis(REDIS_URL)
    box = Outbox(redis, make_sessionmaker(pg_engine),
                 limits={"whatsapp": ChannelLimits(50, 0)})
    box.register("whatsapp", Recorder(), account="109876543210987")

    async def swallowing_blpop(*_: Any, **__: Any) -> None:
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            return None  # what redis-py does now and then

    redis.blpop = swallowing_blpop  # type: ignore[method-assign]
    sender = asyncio.create_task(box.run("whatsapp", 1))
    await asyncio.sleep(0.2)
    sender.cancel()
    done, _ = await asyncio.wait({sender}, timeout=2.0)
    assert sender in done and sender.cancelled()
    await redis.aclose()


class RecordingHook:
    """A JobHook (as campaigns use) that records what the outbox told it."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def before_send(self, channel: str, chat_id: str, job: dict[str, Any]) -> bool:
        self.events.append("before_send")
        return True

    async def release(self, job: dict[str, Any]) -> None:
        self.events.append("release")

    async def uncertain(self, job: dict[str, Any], reason: str) -> None:
        self.events.append(f"uncertain:{reason.split(':')[0]}")

    async def outcome(self, job: dict[str, Any], status: str, channel_message_id: str | None,
                      error: str | None) -> None:
        self.events.append(f"outcome:{status}")


async def test_a_broadcast_whose_answer_was_lost_is_not_sent_again(
        outbox: tuple[Outbox, Recorder, Any]) -> None:
    """A reply is retried after any temporary failure; a hooked job (a campaign's) is retried
    only when the channel surely did not take it, never after a lost answer."""
    box, recorder, redis = outbox
    hook = RecordingHook()
    box.hooks["campaign"] = hook
    await open_window(redis, "whatsapp", "6281234567890")
    queue = box.queue("whatsapp", "bulk")
    recorder.failures = [TemporaryFailure("HTTP 503"),
                         TemporaryFailure("timeout", maybe_delivered=True)]
    job = {"method": "text", "body": call("kabar").body, "ref": "cr1", "attempts": 0,
           "queued_at": time.time(), "hook": "campaign"}
    await queue.push("6281234567890", job)
    await until(lambda: "uncertain:TemporaryFailure" in hook.events)
    await asyncio.sleep(0.3)  # a retry would come within the backoff (at most 0.1 s)
    assert hook.events == ["before_send", "release", "before_send",
                           "uncertain:TemporaryFailure"]
    assert recorder.sent == [] and await queue.pending("6281234567890") == 0
    recorder.failures = [TemporaryFailure("timeout", maybe_delivered=True)]
    await box.enqueue("whatsapp", "6281234567890", [call("balasan")], [None])
    await until(lambda: len(recorder.sent) == 1)  # a reply is retried all the same


async def test_outcomes_of_many_senders_are_written_together(
        outbox: tuple[Outbox, Recorder, Any], pg_engine: Engine) -> None:
    # The senders' outcome writes share transactions (group commit); every row still gets its
    # own status and id, and a ref whose row is not written yet waits in Redis as before.
    box, _, redis = outbox
    chats = [f"62813{n:08d}" for n in range(24)]
    for chat in chats:
        await open_window(redis, "whatsapp", chat)
    for n, chat in enumerate(chats[:20]):
        _write_rows(pg_engine, chat, [f"ref-many-{n}"])
    for n, chat in enumerate(chats):
        await box.enqueue("whatsapp", chat, [call(f"balasan {n}", to=chat)], [f"ref-many-{n}"])
    await until(lambda: all(_message_status(pg_engine, f"ref-many-{n}") is not None
                            and _message_status(pg_engine, f"ref-many-{n}")[0] == "sent"
                            for n in range(20)))
    ids = {_message_status(pg_engine, f"ref-many-{n}")[1] for n in range(20)}
    assert len(ids) == 20 and None not in ids
    await until(lambda: all(_sync_exists(redis, f"pintu:outcome:ref-many-{n}")
                            for n in range(20, 24)))


async def test_a_reused_channel_message_id_keeps_the_status_without_the_id(
        outbox: tuple[Outbox, Recorder, Any], pg_engine: Engine) -> None:
    box, recorder, redis = outbox
    await open_window(redis, "whatsapp", "6281234567890")
    _write_rows(pg_engine, "6281234567890", ["ref-first", "ref-again"])
    recorder.send = _same_id  # type: ignore[method-assign]
    await box.enqueue("whatsapp", "6281234567890", [call("a"), call("b")],
                      ["ref-first", "ref-again"])
    await until(lambda: _message_status(pg_engine, "ref-again") is not None
                and _message_status(pg_engine, "ref-again")[0] == "sent")
    assert _message_status(pg_engine, "ref-first") == ("sent", hashed("id-same"))
    assert _message_status(pg_engine, "ref-again") == ("sent", None)


async def _same_id(rendered: Rendered) -> str:
    return "id-same"


async def test_sent_outcomes_are_written_behind_the_sends_and_drained_on_stop(
        pg_engine: Engine) -> None:
    """A slow database does not hold the next send, up to RECORDING_PER_SENDER outcomes a
    sender; a stopping worker still writes every outcome it holds."""
    redis = make_redis(REDIS_URL)
    await redis.flushdb()
    box = Outbox(redis, make_sessionmaker(pg_engine),
                 limits={"whatsapp": ChannelLimits(1000, 0)})
    recorder = Recorder()
    box.register("whatsapp", recorder, account="109876543210987")
    database = threading.Event()  # closed: every outcome write waits
    write = box._outcomes._write

    def slow_write(outcomes: list[Any]) -> set[str]:
        database.wait(10)
        return write(outcomes)

    box._outcomes._write = slow_write  # type: ignore[method-assign]
    chats = [f"62814{n:08d}" for n in range(8)]
    for n, chat in enumerate(chats):
        await open_window(redis, "whatsapp", chat)
        _write_rows(pg_engine, chat, [f"ref-behind-{n}"])
    sender = asyncio.create_task(box.run("whatsapp", 1))
    try:
        for n, chat in enumerate(chats):
            await box.enqueue("whatsapp", chat, [call(f"balasan {n}", to=chat)],
                              [f"ref-behind-{n}"])
        # One sender went on sending while its outcomes waited, until it held the most allowed
        # and one more send's outcome in hand.
        await until(lambda: len(recorder.sent) == RECORDING_PER_SENDER + 1)
        await asyncio.sleep(0.3)
        assert len(recorder.sent) == RECORDING_PER_SENDER + 1
        assert all(_message_status(pg_engine, f"ref-behind-{n}") == ("queued", None)
                   for n in range(len(chats)))
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
    threading.Timer(0.2, database.set).start()
    await box.drain()
    # The one whose sender stopped while waiting for room is written too.
    sent = RECORDING_PER_SENDER + 1
    assert [_message_status(pg_engine, f"ref-behind-{n}") for n in range(len(chats))] == \
        [("sent", hashed(f"id-{n + 1}")) for n in range(sent)] + \
        [("queued", None)] * (len(chats) - sent)
    await redis.flushdb()
    await redis.aclose()
