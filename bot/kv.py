"""Redis for the gateway: the real server when REDIS_URL is set, else an in-process stand-in.

The stand-in is fakeredis (same commands and Lua scripts as the server), so queues, dedup keys,
locks and menus have one code path; it only works inside one process, which the log says clearly.
"""

from __future__ import annotations

import logging
from typing import Protocol

from redis.asyncio import Redis

log = logging.getLogger(__name__)


def make_redis(redis_url: str | None) -> Redis:
    """A client for REDIS_URL, or the in-process stand-in when it is unset."""
    if redis_url:
        return Redis.from_url(redis_url, decode_responses=True, health_check_interval=30)
    import fakeredis

    log.warning("REDIS_URL is not set: using in-process stores and queues "
                "(run only one gateway process; queued messages do not survive a restart)")
    return fakeredis.FakeAsyncRedis(decode_responses=True)


class KeyValueStore(Protocol):
    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, ttl_s: int | None = None) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def ping(self) -> bool: ...
    async def aclose(self) -> None: ...


class RedisStore:
    """Small key-value store over a Redis client (shared by every gateway process)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def get(self, key: str) -> str | None:
        value = await self.redis.get(key)
        return None if value is None else str(value)

    async def set(self, key: str, value: str, ttl_s: int | None = None) -> None:
        await self.redis.set(key, value, ex=ttl_s)

    async def delete(self, key: str) -> None:
        await self.redis.delete(key)

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def aclose(self) -> None:
        await self.redis.aclose()


def make_store(redis_url: str | None) -> RedisStore:
    """The store for the configured URL (see `make_redis`)."""
    return RedisStore(make_redis(redis_url))
