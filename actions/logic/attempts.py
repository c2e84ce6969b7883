"""Limits on failed identity checks, so NIK/KK pairs and birth registrations cannot be guessed.

Three counts, each a sliding window of failures: per chat (sender), per NIK across chats (many
chats guessing one NIK's second factor), and across everything (a burst means enumeration).
Keys hold keyed hashes (HMAC) of the sender id and the NIK, never the numbers themselves.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from integrations.agency.privacy import keyed_hash

log = logging.getLogger(__name__)

DEV_LOOKUP_KEY = "dev-lookup-key"  # development only; production sets LOOKUP_KEY


class AttemptStore(Protocol):
    async def record(self, key: str, now: float, window_s: float) -> int: ...
    async def count(self, key: str, now: float, window_s: float) -> int: ...
    async def set_once(self, key: str, ttl_s: float) -> bool: ...
    async def exists(self, key: str) -> bool: ...


class MemoryAttemptStore:
    """In-process store (one action server process only)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._times: dict[str, list[float]] = {}
        self._flags: dict[str, float] = {}
        self._clock = clock

    async def record(self, key: str, now: float, window_s: float) -> int:
        times = [t for t in self._times.get(key, []) if t > now - window_s]
        times.append(now)
        self._times[key] = times
        return len(times)

    async def count(self, key: str, now: float, window_s: float) -> int:
        return len([t for t in self._times.get(key, []) if t > now - window_s])

    async def set_once(self, key: str, ttl_s: float) -> bool:
        if await self.exists(key):
            return False
        self._flags[key] = self._clock() + ttl_s
        return True

    async def exists(self, key: str) -> bool:
        return self._flags.get(key, 0.0) > self._clock()


class RedisAttemptStore:
    """A sorted set per key in Redis, shared by every action server process."""

    def __init__(self, url: str) -> None:
        from redis import asyncio as aioredis

        self._redis = aioredis.from_url(url)

    async def record(self, key: str, now: float, window_s: float) -> int:
        pipe = self._redis.pipeline()
        pipe.zremrangebyscore(key, 0, now - window_s)
        # A random suffix: two processes failing in the same microsecond count twice.
        pipe.zadd(key, {f"{now:.6f}:{secrets.token_hex(4)}": now})
        pipe.zcard(key)
        pipe.expire(key, int(window_s) + 1)
        results = await pipe.execute()
        return int(results[2])

    async def count(self, key: str, now: float, window_s: float) -> int:
        return int(await self._redis.zcount(key, f"({now - window_s}", "+inf"))

    async def set_once(self, key: str, ttl_s: float) -> bool:
        return bool(await self._redis.set(key, "1", nx=True, px=max(1, int(ttl_s * 1000))))

    async def exists(self, key: str) -> bool:
        return bool(await self._redis.exists(key))


def make_attempt_store(redis_url: str | None) -> AttemptStore:
    return RedisAttemptStore(redis_url) if redis_url else MemoryAttemptStore()


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = int(env.get(name) or default)
    if value < 1:
        raise ValueError(f"{name} must be 1 or more")
    return value


@dataclass(frozen=True)
class Limits:
    """How many failed identity checks are allowed, and when the burst alarm goes off."""

    per_sender: int = 5
    sender_window_s: float = 3600.0
    per_nik: int = 10
    nik_window_s: float = 86400.0
    burst_threshold: int = 30
    burst_window_s: float = 300.0
    # While the alarm is on, a chat with this many failures in its window is refused.
    per_sender_during_alarm: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Limits:
        """Reads the IDENTITY_* settings (docs/configuration.md)."""
        return cls(
            per_sender=_int(env, "IDENTITY_MAX_FAILURES_PER_SENDER", cls.per_sender),
            sender_window_s=_int(env, "IDENTITY_SENDER_WINDOW_S", int(cls.sender_window_s)),
            per_nik=_int(env, "IDENTITY_MAX_FAILURES_PER_NIK", cls.per_nik),
            nik_window_s=_int(env, "IDENTITY_NIK_WINDOW_S", int(cls.nik_window_s)),
            burst_threshold=_int(env, "IDENTITY_BURST_THRESHOLD", cls.burst_threshold),
            burst_window_s=_int(env, "IDENTITY_BURST_WINDOW_S", int(cls.burst_window_s)),
            per_sender_during_alarm=_int(env, "IDENTITY_MAX_FAILURES_DURING_ALARM",
                                         cls.per_sender_during_alarm))


class Refusal(Enum):
    """Why a check is refused before it reaches the agency."""

    SENDER = "sender"  # this chat failed too often
    NIK = "nik"  # this NIK failed too often, from any chat
    ALARM = "alarm"  # a burst across all chats, and this chat has failed already


@dataclass(frozen=True)
class Burst:
    """What an alarm reports: counts only, nothing about anyone."""

    failures: int
    window_s: float
    threshold: int


@dataclass
class IdentityGuard:
    """Counts failed identity checks per chat, per NIK and in total; refuses checks over the
    limits and raises the burst alarm once per window.

    Args:
        lookup_key: the HMAC key of the keys' hashes (LOOKUP_KEY).
        on_alarm: called once when the alarm goes off (reports it to the gateway).
    """

    store: AttemptStore
    limits: Limits = field(default_factory=Limits)
    lookup_key: str = DEV_LOOKUP_KEY
    on_alarm: Callable[[Burst], Awaitable[None]] | None = None
    clock: Callable[[], float] = time.time

    ALL = "pintu:identity:fail:all"
    ALARM = "pintu:identity:alarm"

    def _sender(self, sender_id: str) -> str:
        return f"pintu:identity:fail:sender:{keyed_hash(self.lookup_key, sender_id, 'sender')}"

    def _nik(self, nik: str) -> str:
        return f"pintu:identity:fail:nik:{keyed_hash(self.lookup_key, nik, 'nik')}"

    async def alarm_on(self) -> bool:
        return await self.store.exists(self.ALARM)

    async def sender_refusal(self, sender_id: str) -> Refusal | None:
        """Why this chat may not check anything now (None: it may), before numbers are asked."""
        lim = self.limits
        failures = await self.store.count(self._sender(sender_id), self.clock(),
                                          lim.sender_window_s)
        if failures >= lim.per_sender:
            return Refusal.SENDER
        if failures >= lim.per_sender_during_alarm and await self.alarm_on():
            return Refusal.ALARM
        return None

    async def refusal(self, sender_id: str, nik: str) -> Refusal | None:
        """Why a check of `nik` from this chat must not be made now (None: it may)."""
        refused = await self.sender_refusal(sender_id)
        if refused is Refusal.SENDER:
            return refused
        if await self.store.count(self._nik(nik), self.clock(),
                                  self.limits.nik_window_s) >= self.limits.per_nik:
            return Refusal.NIK
        return refused

    async def failed(self, sender_id: str, nik: str) -> int:
        """Records a failed check; returns how many tries this chat has left."""
        now, lim = self.clock(), self.limits
        count = await self.store.record(self._sender(sender_id), now, lim.sender_window_s)
        await self.store.record(self._nik(nik), now, lim.nik_window_s)
        total = await self.store.record(self.ALL, now, lim.burst_window_s)
        alarm = await self._burst(total)
        limit = lim.per_sender_during_alarm if alarm else lim.per_sender
        return max(0, limit - count)

    async def _burst(self, total: int) -> bool:
        """Whether the alarm is on; raises it when `total` crosses the threshold."""
        lim = self.limits
        if total <= lim.burst_threshold:
            return await self.alarm_on()
        if not await self.store.set_once(self.ALARM, lim.burst_window_s):
            return True  # already raised in this window
        log.warning("identity check alarm: %d failed checks in %d s across all chats "
                    "(threshold %d); repeat failures are refused until it clears",
                    total, lim.burst_window_s, lim.burst_threshold)
        if self.on_alarm is not None:
            await self.on_alarm(Burst(total, lim.burst_window_s, lim.burst_threshold))
        return True
