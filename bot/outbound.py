"""Sending to the channels: a Redis-backed queue per channel, rate limits, retries, dead letters.

Every API call a reply needs is one job, queued under its chat in a `KeyedQueue` so a chat's
messages leave in order. Replies go before broadcasts. A shared `RateLimiter` keeps each channel
account under its limit (Telegram about 30 per second overall, WhatsApp 80 per second per phone
number by default) and the queue's pacing keeps each Telegram chat at one message per second.
5xx and network errors are retried with exponential backoff and jitter; a channel's "slow down"
(`retry_after`, WhatsApp throttling codes) pauses the whole account for the time asked; after the
last try the job becomes a dead letter with its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import yaml
from prometheus_client import Counter, Histogram
from redis.asyncio import Redis
from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from integrations.channel_errors import (
    ChannelError,
    OutsideWindow,
    RateLimited,
    RecipientUnavailable,
    Rejected,
)
from integrations.replies import Rendered

from . import records
from .aio import raise_if_cancelled
from .db import utcnow
from .models import Message
from .queues import Claim, KeyedQueue, LeaseLost, RateLimiter

log = logging.getLogger(__name__)

Priority = Literal["reply", "bulk"]
WINDOW_S = 24 * 3600

SENT = Counter("pintu_outbound_sent_total", "Messages the channels accepted", ["channel"])
FAILED = Counter("pintu_outbound_failures_total", "Failed send attempts", ["channel", "kind"])
DEAD = Counter("pintu_outbound_dead_letters_total", "Messages given up on", ["channel"])
QUEUE_TIME = Histogram("pintu_outbound_queue_seconds", "From queued to accepted by the channel",
                       ["channel"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 60, 300))


class ChannelClient(Protocol):
    async def send(self, rendered: Rendered) -> str | None: ...


class JobHook(Protocol):
    """Owns the jobs that name it (`job["hook"]`) instead of `messages` rows (campaigns):
    `before_send` runs after the rate limiter and right before the HTTP call (False: drop the
    job unsent), `release` when the channel answered with an error and a retry follows,
    `uncertain` when the call went out and its answer was lost (no retry: it may have been sent),
    `outcome` with "sent" or "dead" in place of the message row's status."""

    async def before_send(self, channel: str, chat_id: str, job: dict[str, Any]) -> bool: ...

    async def release(self, job: dict[str, Any]) -> None: ...

    async def uncertain(self, job: dict[str, Any], reason: str) -> None: ...

    async def outcome(self, job: dict[str, Any], status: str, channel_message_id: str | None,
                      error: str | None) -> None: ...


@dataclass(frozen=True)
class ChannelLimits:
    rate_per_s: float
    chat_interval_ms: int


TEMPLATES_FILE = Path(__file__).resolve().parent.parent / "data" / "whatsapp" / "templates.yml"


def whatsapp_templates(path: Path = TEMPLATES_FILE) -> dict[str, dict[str, Any]]:
    """The WhatsApp templates Meta approved (data/whatsapp/templates.yml), by name: language,
    category and body with its {{1}}, {{2}} ... placeholders."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(t["name"]): dict(t) for t in data.get("templates") or []}


def approved_whatsapp_templates(path: Path = TEMPLATES_FILE) -> frozenset[str]:
    """The names of the WhatsApp templates Meta approved."""
    return frozenset(whatsapp_templates(path))


OUTCOME_TTL_S = 24 * 3600
RECORDING_PER_SENDER = 4  # "sent" outcomes a sender may leave being written (Outbox._record_sent)


def outcome_key(ref: str) -> str:
    """Where the sender leaves a job's outcome when the job's row is not written yet."""
    return f"pintu:outcome:{ref}"


def window_key(channel: str, chat_id: str) -> str:
    return f"pintu:window:{channel}:{chat_id}"


async def open_window(redis: Redis, channel: str, chat_id: str) -> None:
    """The resident just wrote: WhatsApp allows free-form replies for 24 hours."""
    await redis.set(window_key(channel, chat_id), str(int(time.time())), ex=WINDOW_S)


Outcome = tuple[str, str, str | None, str | None]  # ref, status, channel message id, error


def write_outcomes(session: Session, outcomes: Sequence[Outcome]) -> set[str]:
    """Sets each outcome on the message row its ref names, in two statements whatever their
    number; returns the refs whose rows exist (the others are not written yet).

    Raises:
        IntegrityError: a channel message id is already on another row (see
            `records.set_status_by_ref`, which keeps the status without it).
    """
    refs = [ref for ref, *_ in outcomes]
    found = {ref for ref in session.scalars(select(Message.ref).where(Message.ref.in_(refs)))
             if ref is not None}
    rows = [{"b_ref": ref, "b_status": status, "b_id": channel_message_id,
             "b_error": error[:500] if error else None}
            for ref, status, channel_message_id, error in outcomes if ref in found]
    if rows:
        table = cast(Table, Message.__table__)
        session.execute(
            update(table).where(table.c.ref == bindparam("b_ref")).values(
                status=bindparam("b_status"), updated_at=utcnow(),
                # Typed: the column stores the id's keyed hash (bot.models).
                channel_message_id=func.coalesce(
                    bindparam("b_id", type_=table.c.channel_message_id.type),
                    table.c.channel_message_id),
                error=func.coalesce(bindparam("b_error"), table.c.error)),
            rows)
    return found


class GroupCommit:
    """Outcome writes of many senders in one transaction (group commit): the outcomes that
    arrive while a transaction is under way make the next one, and each sender waits for its
    own, so a sender still moves on only once its row says what happened. One transaction a
    send cost a thread hop and five round trips to PostgreSQL each (bench/dispatch.py)."""

    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions
        self._waiting: list[tuple[Outcome, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, outcome: Outcome) -> bool:
        """Writes the outcome with others; False when its row is not written yet."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((outcome, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        return await asyncio.shield(future)

    async def _write_all(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                found = await asyncio.to_thread(self._write, [o for o, _ in batch])
            except Exception as exc:  # each sender handles it as its own write's failure
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for outcome, future in batch:
                if not future.done():
                    future.set_result(outcome[0] in found)

    def _write(self, outcomes: list[Outcome]) -> set[str]:
        try:
            with self._sessions.begin() as session:
                return write_outcomes(session, outcomes)
        except IntegrityError:  # a reused channel message id: row by row, as before
            found = set()
            for ref, status, channel_message_id, error in outcomes:
                with self._sessions.begin() as session:
                    if records.set_status_by_ref(session, ref, status, error=error,
                                                 channel_message_id=channel_message_id):
                        found.add(ref)
            return found


class Outbox:
    """Queues jobs for sending and runs the senders of every configured channel."""

    def __init__(self, redis: Redis, sessions: sessionmaker, *,
                 limits: dict[str, ChannelLimits], max_attempts: int = 6,
                 backoff_base_s: float = 1.0, backoff_max_s: float = 300.0,
                 approved_templates: frozenset[str] | None = None,
                 bulk_lease_s: float = 120.0) -> None:
        self._redis = redis
        self._sessions = sessions
        self._clients: dict[str, ChannelClient] = {}
        self._limits = limits
        self._max_attempts = max_attempts
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._approved = approved_templates if approved_templates is not None else \
            approved_whatsapp_templates()
        self._queues: dict[tuple[str, str], KeyedQueue] = {}
        self._limiters: dict[str, RateLimiter] = {}
        self.on_sent: Callable[[str, str, dict[str, Any]], Awaitable[None]] | None = None
        self.hooks: dict[str, JobHook] = {}
        self._bulk_lease_s = bulk_lease_s
        self._outcomes = GroupCommit(sessions)
        # "sent" outcomes written behind the sends (`_record_sent`): a bounded number per
        # channel, drained before the process stops.
        self._record_slots: dict[str, asyncio.Semaphore] = {}
        self._recording: set[asyncio.Task[None]] = set()

    def register(self, channel: str, client: ChannelClient, account: str = "") -> None:
        """Enables sending on a channel; `account` separates limits (a WhatsApp phone number)."""
        limits = self._limits[channel]
        self._clients[channel] = client
        self._limiters[channel] = RateLimiter(self._redis, f"{channel}:{account}",
                                              limits.rate_per_s)
        # WhatsApp's claim also reads the chat's 24-hour window, and every claim reserves the
        # account's next rate-limit slot: two round trips to Redis less per send. (A job
        # dropped after its claim leaves its slot unused: never faster than the limit.)
        peek = ((window_key(channel, ""),), ()) if channel == "whatsapp" else ((), ())
        for priority in ("reply", "bulk"):
            self._queues[(channel, priority)] = KeyedQueue(
                self._redis, f"out:{channel}:{priority}", pace_ms=limits.chat_interval_ms,
                pace_prefix=f"out:{channel}", peek=peek, limiter=self._limiters[channel],
                lease_s=self._bulk_lease_s if priority == "bulk" else 120.0)

    @property
    def channels(self) -> list[str]:
        return list(self._clients)

    def rate(self, channel: str) -> float:
        """The channel's configured sends per second (replies and broadcasts together)."""
        return self._limits[channel].rate_per_s

    def approve_templates(self, names: frozenset[str]) -> None:
        """Also allows these templates (registered by admins besides templates.yml)."""
        self._approved = self._approved | names

    def queue(self, channel: str, priority: Priority = "reply") -> KeyedQueue:
        return self._queues[(channel, priority)]

    async def enqueue(self, channel: str, chat_id: str, calls: Sequence[Rendered],
                      refs: Sequence[str | None], priority: Priority = "reply",
                      once: bool = False) -> None:
        """Queues the calls of one turn for a chat, in order, in one round trip to Redis.

        `refs` name the message rows the caller writes (after queueing, so that the row is off
        the resident's wait): the sender records each outcome under its ref, and the caller
        then picks up outcomes that arrived before the row with `apply_early_outcomes`.
        `once`: a call whose ref was queued before (a repeated event) is not queued again."""
        queued_at = time.time()
        await self.queue(channel, priority).push_many(chat_id, [
            {"method": call.method, "body": call.body, "ref": ref, "attempts": 0,
             "queued_at": queued_at}
            for call, ref in zip(calls, refs, strict=True)],
            dedup_ids=[f"ref:{ref}" for ref in refs] if once else None)

    async def apply_early_outcomes(self, refs: Sequence[str]) -> None:
        """Applies outcomes the sender recorded before the rows of `refs` were written.

        Call after the rows are committed. The sender writes the outcome key before its second
        attempt at the row, and this reads the key after the row is committed, so one of the two
        always sees the other."""
        if not refs:
            return
        found = await self._redis.mget([outcome_key(ref) for ref in refs])
        early = {ref: json.loads(raw) for ref, raw in zip(refs, found, strict=True) if raw}
        if not early:
            return
        await asyncio.to_thread(self._write, records.apply_outcomes, early)
        await self._redis.delete(*(outcome_key(ref) for ref in early))

    async def _outcome(self, job: dict[str, Any], status: str, *,
                       channel_message_id: str | None = None, error: str | None = None) -> None:
        """Records a job's outcome on its message row, or in Redis for the row's writer."""
        hook = self.hooks.get(job.get("hook") or "")
        if hook is not None:
            await hook.outcome(job, status, channel_message_id, error)
            return
        ref = job.get("ref")
        if ref is None:
            if job.get("message_id") is not None:  # a job queued before refs existed
                await asyncio.to_thread(self._write, records.set_status, job["message_id"],
                                        status, channel_message_id=channel_message_id,
                                        error=error)
            return

        def write() -> bool:
            with self._sessions.begin() as session:
                return records.set_status_by_ref(session, ref, status,
                                                 channel_message_id=channel_message_id,
                                                 error=error)

        if await self._outcomes.add((ref, status, channel_message_id, error)):
            return
        outcome = {"status": status, "channel_message_id": channel_message_id, "error": error}
        await self._redis.set(outcome_key(ref), json.dumps(outcome), ex=OUTCOME_TTL_S)
        await asyncio.to_thread(write)  # the row may have been committed meanwhile

    # -- sending ---------------------------------------------------------------------------

    async def run(self, channel: str, concurrency: int) -> None:
        """Runs `concurrency` senders for a channel until cancelled."""
        self._record_slots[channel] = asyncio.Semaphore(RECORDING_PER_SENDER * concurrency)
        await asyncio.gather(*(self._sender(channel) for _ in range(concurrency)))

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Waits for the "sent" outcomes still being written (call when the senders stopped)."""
        if self._recording:
            _, late = await asyncio.wait(set(self._recording), timeout=timeout_s)
            if late:
                log.error("%d sent outcomes not written before stopping", len(late))

    async def _record_sent(self, channel: str, job: dict[str, Any],
                           channel_id: str | None) -> None:
        """Records "sent" on the job's row behind the sender, which claims its next job
        meanwhile: waiting for the group commit was most of a send's time (bench/dispatch.py,
        16 senders: 1,100 sends a second waiting, 1,760 with this). At most four times as many
        outcomes as the channel has senders are outstanding: a killed worker may leave that
        many rows not saying "sent" yet (their messages went out, once; before, at most one a
        sender). A stopping worker drains them (`drain`). A hook's outcome (campaigns) is still
        awaited, as is every failure's."""
        slots = self._record_slots.get(channel)
        if slots is None or job.get("hook"):
            await self._outcome(job, "sent", channel_message_id=channel_id)
            return
        held = False

        def done(finished: asyncio.Task[None]) -> None:
            self._recording.discard(finished)
            if held:
                slots.release()
            if not finished.cancelled() and finished.exception() is not None:
                log.error("%s: recording a sent message failed (%s)", channel,
                          type(finished.exception()).__name__)

        try:
            await slots.acquire()
            held = True
        finally:  # cancelled while waiting (the worker stops): recorded all the same
            task = asyncio.create_task(self._outcome(job, "sent", channel_message_id=channel_id))
            self._recording.add(task)
            task.add_done_callback(done)

    async def _sender(self, channel: str) -> None:
        reply, bulk = self.queue(channel, "reply"), self.queue(channel, "bulk")
        while True:
            raise_if_cancelled()
            try:
                waits: list[float] = []
                for queue in (reply, bulk):
                    got = await queue.claim()
                    if isinstance(got, Claim):
                        await self._deliver(channel, queue, got)
                        break
                    if got is not None:
                        waits.append(got)
                else:
                    await self._redis.blpop([reply.wake_key, bulk.wake_key],
                                            timeout=max(0.01, min([*waits, 1.0])))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s sender round failed", channel)
                await asyncio.sleep(1.0)

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with full jitter, capped."""
        ceiling = min(self._backoff_max_s, self._backoff_base_s * 2 ** max(0, attempts - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    async def _deliver(self, channel: str, queue: KeyedQueue, claim: Claim) -> None:
        job = dict(claim.item)
        chat_id = claim.key
        client = self._clients[channel]
        limiter = self._limiters[channel]
        try:
            if channel == "whatsapp":
                self._check_whatsapp(job, window_open=bool(claim.peeked and claim.peeked[0]))
            if claim.rate_wait_s > 0:  # the slot the claim reserved
                await asyncio.sleep(claim.rate_wait_s)
            hook = self.hooks.get(job.get("hook") or "")
            if hook is not None and not await hook.before_send(channel, chat_id, job):
                with contextlib.suppress(LeaseLost):
                    await queue.ack(claim)
                return
            channel_id = await client.send(Rendered(job["method"], job["body"]))
        except RateLimited as exc:
            FAILED.labels(channel, "rate_limited").inc()
            delay = exc.retry_after if exc.retry_after else self.backoff(job["attempts"] + 1)
            await limiter.pause(delay)
            job["throttled"] = job.get("throttled", 0) + 1
            log.warning("%s asked to slow down (code %s): pausing %.1f s", channel, exc.code,
                        delay)
            if job["throttled"] > 3 * self._max_attempts:
                await self._dead(channel, queue, claim, job, f"rate limited: {exc}")
                return
            await self._release(job)
            await self._retry(queue, claim, delay, job)
            return
        except ChannelError as exc:
            FAILED.labels(channel, type(exc).__name__).inc()
            job["attempts"] += 1
            hook = self.hooks.get(job.get("hook") or "")
            if hook is not None and getattr(exc, "maybe_delivered", False):
                await hook.uncertain(job, f"{type(exc).__name__}: {exc}")
                with contextlib.suppress(LeaseLost):
                    await queue.ack(claim)
                return
            if exc.retryable and job["attempts"] < self._max_attempts:
                delay = self.backoff(job["attempts"])
                log.warning("%s send failed (%s), try %d in %.1f s", channel,
                            type(exc).__name__, job["attempts"], delay)
                await self._release(job)
                await self._retry(queue, claim, delay, job)
                return
            if isinstance(exc, RecipientUnavailable):
                await asyncio.to_thread(self._write, records.mark_stopped, channel, chat_id)
            await self._dead(channel, queue, claim, job, f"{type(exc).__name__}: {exc}")
            return
        try:
            await queue.ack(claim)
        except LeaseLost:
            log.warning("%s: a send outlived its lease; the job may be sent twice", channel)
        SENT.labels(channel).inc()
        QUEUE_TIME.labels(channel).observe(max(0.0, time.time() - job["queued_at"]))
        await self._record_sent(channel, job, channel_id)
        if self.on_sent is not None:
            await self.on_sent(channel, chat_id, job)

    def _check_whatsapp(self, job: dict[str, Any], *, window_open: bool) -> None:
        """Outside the 24-hour window only approved templates may go out (`window_open`: the
        chat's window key, read with the claim)."""
        if job["method"] == "template":
            name = str((job["body"].get("template") or {}).get("name", ""))
            if name not in self._approved:
                raise Rejected(f"template {name!r} is not in data/whatsapp/templates.yml")
        elif not window_open:
            raise OutsideWindow("outside the 24-hour customer-service window")

    async def _release(self, job: dict[str, Any]) -> None:
        hook = self.hooks.get(job.get("hook") or "")
        if hook is not None:
            await hook.release(job)

    async def _retry(self, queue: KeyedQueue, claim: Claim, delay: float,
                     job: dict[str, Any]) -> None:
        try:
            await queue.retry(claim, delay, job)
        except LeaseLost:
            log.warning("%s: lease lost while scheduling a retry", queue.name)

    async def _dead(self, channel: str, queue: KeyedQueue, claim: Claim, job: dict[str, Any],
                    reason: str) -> None:
        DEAD.labels(channel).inc()
        log.error("%s message given up after %d tries: %s", channel, job["attempts"],
                  reason.split(":")[0])
        found = await asyncio.to_thread(
            self._write, records.dead_letter, channel=channel, chat_id=claim.key,
            message_id=job.get("message_id"), ref=job.get("ref"),
            request={"method": job["method"], "body": job["body"]},
            reason=reason, attempts=job["attempts"])
        if not found:  # the row is not written yet: its writer marks it dead
            await self._outcome(job, "dead", error=reason)
        with contextlib.suppress(LeaseLost):
            await queue.ack(claim)

    def _write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self._sessions.begin() as session:
            return fn(session, *args, **kwargs)
