"""Limits identity-verification attempts per sender, so NIK/KK pairs cannot be guessed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class AttemptStore(Protocol):
    async def record(self, key: str, now: float, window_s: float) -> int: ...
    async def count(self, key: str, now: float, window_s: float) -> int: ...
    async def clear(self, key: str) -> None: ...


class MemoryAttemptStore:
    """In-process store (one action server process only)."""

    def __init__(self) -> None:
        self._times: dict[str, list[float]] = {}

    async def record(self, key: str, now: float, window_s: float) -> int:
        times = [t for t in self._times.get(key, []) if t > now - window_s]
        times.append(now)
        self._times[key] = times
        return len(times)

    async def count(self, key: str, now: float, window_s: float) -> int:
        return len([t for t in self._times.get(key, []) if t > now - window_s])

    async def clear(self, key: str) -> None:
        self._times.pop(key, None)


class RedisAttemptStore:
    """Sorted set per sender in Redis, shared by every action server process."""

    def __init__(self, url: str) -> None:
        from redis import asyncio as aioredis

        self._redis = aioredis.from_url(url)

    async def record(self, key: str, now: float, window_s: float) -> int:
        pipe = self._redis.pipeline()
        pipe.zremrangebyscore(key, 0, now - window_s)
        pipe.zadd(key, {f"{now:.6f}": now})
        pipe.zcard(key)
        pipe.expire(key, int(window_s) + 1)
        results = await pipe.execute()
        return int(results[2])

    async def count(self, key: str, now: float, window_s: float) -> int:
        await self._redis.zremrangebyscore(key, 0, now - window_s)
        return int(await self._redis.zcard(key))

    async def clear(self, key: str) -> None:
        await self._redis.delete(key)


def make_attempt_store(redis_url: str | None) -> AttemptStore:
    return RedisAttemptStore(redis_url) if redis_url else MemoryAttemptStore()


@dataclass
class AttemptLimiter:
    """At most `max_failures` failed verifications per sender within `window_s`."""

    store: AttemptStore
    max_failures: int = 3
    window_s: float = 3600.0
    clock: Callable[[], float] = time.time

    @staticmethod
    def _key(sender_id: str) -> str:
        return f"pintu:verify-fail:{sender_id}"

    async def locked(self, sender_id: str) -> bool:
        count = await self.store.count(self._key(sender_id), self.clock(), self.window_s)
        return count >= self.max_failures

    async def failed(self, sender_id: str) -> int:
        """Records a failure; returns how many tries are left."""
        count = await self.store.record(self._key(sender_id), self.clock(), self.window_s)
        return max(0, self.max_failures - count)

    async def succeeded(self, sender_id: str) -> None:
        await self.store.clear(self._key(sender_id))
