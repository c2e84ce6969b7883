"""`read_mailbox` waits in reads shorter than redis-py's socket timeout (5 s by default): one
blocking read for the whole `wait` (up to 25 s) timed out and answered 500."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from bot import localchat


class SlowRedis:
    """Blocking reads that wait as long as asked; a message arrives after `arrives_after_s`."""

    def __init__(self, arrives_after_s: float | None) -> None:
        self.started = time.monotonic()
        self.arrives_after_s = arrives_after_s
        self.timeouts: list[float] = []

    async def blpop(self, keys: list[str], timeout: float) -> Any:
        self.timeouts.append(timeout)
        await asyncio.sleep(timeout)
        elapsed = time.monotonic() - self.started
        if self.arrives_after_s is not None and elapsed >= self.arrives_after_s:
            return keys[0], json.dumps({"text": "Balasan petugas"})
        return None

    async def lpop(self, key: str) -> None:
        return None


async def test_a_long_wait_is_made_of_short_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(localchat, "BLOCK_SLICE_S", 0.05)
    redis = SlowRedis(arrives_after_s=None)
    assert await localchat.read_mailbox(redis, "warga", 0.2) == []  # type: ignore[arg-type]
    assert len(redis.timeouts) >= 4 and max(redis.timeouts) <= 0.05
    assert sum(redis.timeouts) == pytest.approx(0.2, abs=0.03)


async def test_a_message_during_the_wait_ends_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(localchat, "BLOCK_SLICE_S", 0.05)
    redis = SlowRedis(arrives_after_s=0.12)
    found = await localchat.read_mailbox(redis, "warga", 5.0)  # type: ignore[arg-type]
    assert found == [{"text": "Balasan petugas"}] and sum(redis.timeouts) < 1.0


def test_the_slice_is_below_redis_pys_socket_timeout() -> None:
    import redis.asyncio

    client = redis.asyncio.Redis.from_url("redis://127.0.0.1:6379/0")  # never connects
    timeout = client.connection_pool.make_connection().socket_timeout
    assert timeout is None or timeout > localchat.BLOCK_SLICE_S
