"""Keyed FIFO queues and the shared rate limiter, on real Redis and on the in-process stand-in."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.kv import make_redis
from bot.queues import Claim, KeyedQueue, LeaseLost, RateLimiter

from .conftest import REDIS_URL


@pytest.fixture(params=["redis", "in-process"])
async def redis(request: pytest.FixtureRequest) -> AsyncIterator[Redis]:
    client = make_redis(REDIS_URL if request.param == "redis" else None)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


async def _claim(queue: KeyedQueue) -> Claim:
    got = await queue.claim()
    assert isinstance(got, Claim), got
    return got


async def test_items_of_one_key_come_in_order_and_one_at_a_time(redis: Redis) -> None:
    queue = KeyedQueue(redis, "t")
    for n in range(3):
        await queue.push("warga-a", {"n": n})
    first = await _claim(queue)
    assert first.item == {"n": 0}
    # The key is leased: its second item is not handed to another worker meanwhile.
    assert not isinstance(await queue.claim(), Claim)
    await queue.ack(first)
    assert (await _claim(queue)).item == {"n": 1}


async def test_different_keys_are_worked_on_side_by_side(redis: Redis) -> None:
    queue = KeyedQueue(redis, "t")
    await queue.push("a", {"n": 1})
    await queue.push("b", {"n": 2})
    one, two = await _claim(queue), await _claim(queue)
    assert {one.key, two.key} == {"a", "b"}


async def test_the_same_delivery_three_times_at_once_is_queued_once(redis: Redis) -> None:
    queue = KeyedQueue(redis, "t")
    results = await asyncio.gather(
        *(queue.push("a", {"text": "halo"}, dedup_id="wamid.1") for _ in range(3)))
    assert sorted(results) == [False, False, True]
    assert await queue.pending("a") == 1
    assert 7 * 24 * 3600 - 5 < await redis.ttl("pintu:seen:t:wamid.1") <= 7 * 24 * 3600


async def test_a_dead_workers_item_is_taken_again_after_its_lease(redis: Redis) -> None:
    queue = KeyedQueue(redis, "t", lease_s=0.2)
    await queue.push("a", {"n": 1})
    lost = await _claim(queue)
    await asyncio.sleep(0.25)
    again = await _claim(queue)
    assert again.item == {"n": 1}
    with pytest.raises(LeaseLost):
        await queue.ack(lost)  # the first worker's late result does not remove anything
    await queue.ack(again)
    assert await queue.claim() is None


async def test_retry_keeps_the_head_and_delays_the_key(redis: Redis) -> None:
    queue = KeyedQueue(redis, "t")
    await queue.push("a", {"n": 1, "attempts": 0})
    await queue.push("a", {"n": 2})
    claim = await _claim(queue)
    asked = time.time()
    await queue.retry(claim, 0.3, {"n": 1, "attempts": 1})
    done = time.time()
    wait = await queue.claim()
    assert isinstance(wait, float)
    # The key is ready again 0.3 s after the retry (however slow this busy machine is).
    ready_at = time.time() + wait
    assert asked + 0.3 - 0.01 <= ready_at <= done + 0.3 + 0.01
    await asyncio.sleep(wait + 0.02)
    assert (await _claim(queue)).item == {"n": 1, "attempts": 1}


async def test_pacing_spaces_a_keys_items(redis: Redis) -> None:
    queue = KeyedQueue(redis, "t", pace_ms=300)
    await queue.push("chat", {"n": 1})
    claim = await _claim(queue)
    asked = time.time()
    await queue.ack(claim)
    done = time.time()
    # A new item for a chat that was just served waits out the gap too.
    await queue.push("chat", {"n": 2})
    wait = await queue.claim()
    assert isinstance(wait, float)
    ready_at = time.time() + wait
    assert asked + 0.3 - 0.01 <= ready_at <= done + 0.3 + 0.01
    await queue.push("other", {"n": 3})
    assert (await _claim(queue)).key == "other"


async def test_wait_returns_when_something_is_pushed(redis: Redis) -> None:
    queue = KeyedQueue(redis, "t")
    await redis.delete(queue.wake_key)
    waiter = asyncio.create_task(queue.wait(3.0))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await queue.push("a", {"n": 1})
    await waiter
    assert time.monotonic() - started < 1.0


async def test_rate_limiter_spaces_calls_across_users(redis: Redis) -> None:
    limiter = RateLimiter(redis, "test", rate_per_s=50)
    other = RateLimiter(redis, "test", rate_per_s=50)  # a second process, same limit
    slots = []
    for n in range(10):
        asked = time.time()
        slots.append(asked + await (limiter if n % 2 else other).delay())
    # No two calls get slots closer than 20 ms, across both users (a few ms of slack for the
    # round trip between reading the clock here and in Redis), and back-to-back calls wait.
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert all(gap >= 0.015 for gap in gaps), gaps
    assert slots[-1] - slots[0] >= 9 * 0.02 - 0.005


async def test_rate_limiter_pause_holds_everyone(redis: Redis) -> None:
    limiter = RateLimiter(redis, "test", rate_per_s=1000)
    paused = time.time()
    await limiter.pause(0.5)
    wait = await limiter.delay()
    assert paused + 0.5 - 0.01 <= time.time() + wait <= paused + 0.5 + 0.05


async def test_a_claim_reserves_the_limiters_next_slot(redis: Redis) -> None:
    """Two queues (replies, broadcasts) sharing one account's limit, and a plain limiter user
    (another process), all take slots from the same budget: claims never beat the rate."""
    limiter = RateLimiter(redis, "acct", rate_per_s=50)
    replies = KeyedQueue(redis, "r", limiter=limiter)
    bulk = KeyedQueue(redis, "b", limiter=RateLimiter(redis, "acct", rate_per_s=50))
    for n in range(4):
        await replies.push(f"chat-{n}", {"n": n})
        await bulk.push(f"chat-{n}", {"n": n})
    slots = []
    for n in range(12):
        asked = time.time()
        if n % 3 == 2:
            slots.append(asked + await limiter.delay())
            continue
        claim = await _claim(replies if n % 3 == 0 else bulk)
        assert claim.rate_wait_s >= 0
        slots.append(asked + claim.rate_wait_s)
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert all(gap >= 0.015 for gap in gaps), gaps
    assert slots[-1] - slots[0] >= 11 * 0.02 - 0.005
    # Without a limiter a claim waits for nothing and touches no rate key.
    plain = KeyedQueue(redis, "p")
    await plain.push("a", {"n": 1})
    assert (await _claim(plain)).rate_wait_s == 0
    assert await redis.keys("pintu:rate:*") == ["pintu:rate:acct"]
