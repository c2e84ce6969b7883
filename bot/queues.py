"""Keyed FIFO queues in Redis: in order per key, in parallel across keys, nothing lost on a crash.

Inbound messages are keyed by resident, outbound ones by chat. Each key has its own list; a sorted
set `ready` holds the keys that have work, scored by the time (epoch ms) the head may be taken. A
worker *claims* a key by pushing its score into the future (a lease): no other worker takes that key
until the worker acknowledges the head (or the lease runs out because the worker died, and then the
same head is taken again). So one resident's messages are handled one at a time and in order, while
different residents' messages run side by side in any number of processes.

Pushing can carry a deduplication id, checked and recorded in the same Lua script as the push: a
webhook delivered three times at once is queued exactly once, and the id is remembered for
`dedup_ttl_s` (7 days by default). A per-key pacing interval (Telegram's one message per second per
chat) delays the next head of a key after each acknowledgement.

The scripts name the per-key list inside Lua, so this needs one Redis server (or fakeredis), not a
Redis Cluster.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

_PUSH = """
-- KEYS: list, ready, wake, seen, pace   ARGV: item, key, now_ms, dedup_ttl_s, use_dedup
if ARGV[5] == '1' then
  if not redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[4]) then return 0 end
end
redis.call('RPUSH', KEYS[1], ARGV[1])
local at = tonumber(ARGV[3])
local pace = redis.call('GET', KEYS[5])
if pace and tonumber(pace) > at then at = tonumber(pace) end
redis.call('ZADD', KEYS[2], 'NX', at, ARGV[2])
redis.call('LPUSH', KEYS[3], '1')
redis.call('LTRIM', KEYS[3], 0, 9999)
return 1
"""

# GCRA (see RateLimiter): reserves the next slot of a shared rate limit, returns the wait (µs).
_GCRA_FN = """
local function gcra(key, now, interval, burst)
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local wait = tat - burst - now
  if wait < 0 then wait = 0 end
  local new = tat + interval
  redis.call('SET', key, tostring(new), 'PX', math.ceil((new - now) / 1000) + 1000)
  return wait
end
"""

_CLAIM = _GCRA_FN + """
-- KEYS: ready, rate, peek keys...
-- ARGV: now_ms, lease_ms, list_prefix, rate interval_us ('' without), burst_us, now_us,
--       peek prefixes...
local found = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #found == 0 then
  local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if #nxt == 0 then return {0} end
  return {0, nxt[2]}
end
local key = found[1]
local item = redis.call('LINDEX', ARGV[3] .. key, 0)
if not item then
  redis.call('ZREM', KEYS[1], key)
  return {2}
end
local token = tonumber(ARGV[1]) + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], token, key)
local wait = 0
if ARGV[4] ~= '' then
  wait = gcra(KEYS[2], tonumber(ARGV[6]), tonumber(ARGV[4]), tonumber(ARGV[5]))
end
local result = {1, key, item, tostring(token), tostring(wait)}
for i = 7, #ARGV do
  table.insert(result, redis.call('GET', ARGV[i] .. key) or '')
end
for i = 3, #KEYS do
  table.insert(result, redis.call('GET', KEYS[i]) or '')
end
return result
"""

_ACK = """
-- KEYS: list, ready, wake, pace   ARGV: key, token, now_ms, pace_ms
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return -1 end
redis.call('LPOP', KEYS[1])
local pace = tonumber(ARGV[4])
local at = tonumber(ARGV[3]) + pace
if pace > 0 then redis.call('SET', KEYS[4], tostring(at), 'PX', ARGV[4]) end
if redis.call('LLEN', KEYS[1]) > 0 then
  redis.call('ZADD', KEYS[2], at, ARGV[1])
  redis.call('LPUSH', KEYS[3], '1')
  return 1
end
redis.call('ZREM', KEYS[2], ARGV[1])
return 0
"""

_RETRY = """
-- KEYS: list, ready   ARGV: key, token, at_ms, new_item ('' keeps the item)
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return -1 end
if ARGV[4] ~= '' then redis.call('LSET', KEYS[1], 0, ARGV[4]) end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
"""

_WAKE = """
-- KEYS: ready, waiting, wake   ARGV: now_ms
local items = redis.call('ZRANGE', KEYS[2], 0, 999, 'WITHSCORES')
local woken = 0
for i = 1, #items, 2 do
  local score = tonumber(redis.call('ZSCORE', KEYS[1], items[i]) or '-1')
  if score == tonumber(items[i + 1]) and score > tonumber(ARGV[1]) then
    redis.call('ZADD', KEYS[1], ARGV[1], items[i])
    woken = woken + 1
  end
  redis.call('ZREM', KEYS[2], items[i])
end
if woken > 0 then redis.call('LPUSH', KEYS[3], '1') end
return woken
"""


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Claim:
    """The head item of one key, held by this worker until `token`'s lease runs out."""

    key: str
    item: dict[str, Any]
    token: str
    # Values read in the same step (see KeyedQueue's `peek`): None where unset.
    peeked: tuple[str | None, ...] = ()
    # With the queue's `limiter`: the seconds to wait for the rate-limit slot reserved with it.
    rate_wait_s: float = 0.0


class LeaseLost(Exception):
    """The lease ran out and another worker may have taken the key: this result is dropped."""


class KeyedQueue:
    """One named keyed FIFO queue (see the module docstring)."""

    def __init__(self, redis: Redis, name: str, *, lease_s: float = 120.0,
                 pace_ms: int = 0, pace_prefix: str | None = None,
                 dedup_ttl_s: int = 7 * 24 * 3600,
                 peek: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
                 limiter: RateLimiter | None = None) -> None:
        """`peek` = (prefixes, keys): a claim also reads `<prefix><item key>` for each prefix
        and each of the keys, in the same step, into `Claim.peeked` (state the worker needs
        before it can act, such as whether the resident is with an officer).

        `limiter`: a claim also reserves the limiter's next slot, in the same step
        (`Claim.rate_wait_s`): one round trip to Redis a message less for the senders."""
        self._redis = redis
        self.name = name
        self._prefix = f"pintu:{name}:"
        self._lease_ms = int(lease_s * 1000)
        self._pace_ms = pace_ms
        self._pace_prefix = f"pintu:pace:{pace_prefix or name}:"
        self._dedup_ttl_s = dedup_ttl_s
        self._peek_prefixes, self._peek_keys = peek
        # The claim's rate key and GCRA arguments ('' without a limiter: no slot reserved).
        self._rate_key = limiter.key if limiter else self._prefix + "unused"
        self._rate_args: list[int | str] = \
            [limiter.interval_us, limiter.burst_us] if limiter else ["", ""]
        self._ready = self._prefix + "ready"
        self.wake_key = self._prefix + "wake"
        self._push = redis.register_script(_PUSH)
        self._claim = redis.register_script(_CLAIM)
        self._ack = redis.register_script(_ACK)
        self._retry = redis.register_script(_RETRY)
        self._wake = redis.register_script(_WAKE)

    def _list(self, key: str) -> str:
        return f"{self._prefix}q:{key}"

    async def push(self, key: str, item: dict[str, Any], *, dedup_id: str | None = None) -> bool:
        """Queues `item` behind the key's earlier items; False when `dedup_id` was seen before."""
        seen = f"pintu:seen:{self.name}:{dedup_id}" if dedup_id else self._prefix + "unused"
        result = await self._push(
            keys=[self._list(key), self._ready, self.wake_key, seen, self._pace_prefix + key],
            args=[json.dumps(item, separators=(",", ":")), key, now_ms(), self._dedup_ttl_s,
                  "1" if dedup_id else "0"],
        )
        return bool(result)

    async def push_many(self, key: str, items: list[dict[str, Any]],
                        dedup_ids: list[str] | None = None) -> None:
        """Queues `items` behind the key's earlier items, in order, in one round trip; with
        `dedup_ids` (one per item), an item whose id was pushed before is left out."""
        if not items:
            return
        ids: list[str | None] = list(dedup_ids) if dedup_ids is not None else [None] * len(items)
        async with self._redis.pipeline(transaction=False) as pipe:
            for item, dedup_id in zip(items, ids, strict=True):
                seen = f"pintu:seen:{self.name}:{dedup_id}" if dedup_id else \
                    self._prefix + "unused"
                await self._push(keys=[self._list(key), self._ready, self.wake_key, seen,
                                       self._pace_prefix + key],
                                 args=[json.dumps(item, separators=(",", ":")), key, now_ms(),
                                       self._dedup_ttl_s, "1" if dedup_id else "0"], client=pipe)
            await pipe.execute()

    async def push_each(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Queues one item under each of many keys ((key, item) pairs), in one round trip."""
        if not items:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for key, item in items:
                await self._push(keys=[self._list(key), self._ready, self.wake_key,
                                       self._prefix + "unused", self._pace_prefix + key],
                                 args=[json.dumps(item, separators=(",", ":")), key, now_ms(),
                                       self._dedup_ttl_s, "0"], client=pipe)
            await pipe.execute()

    async def claim(self) -> Claim | float | None:
        """The next ready head; else the seconds until one is due (float), or None when empty."""
        while True:
            raw = await self._claim(keys=[self._ready, self._rate_key, *self._peek_keys],
                                    args=[now_ms(), self._lease_ms, self._prefix + "q:",
                                          *self._rate_args, _micros(), *self._peek_prefixes])
            state = int(raw[0])
            if state == 1:
                key, item, token, wait = (_text(v) for v in raw[1:5])
                peeked = tuple(_text(v) or None for v in raw[5:])
                return Claim(key=key, item=json.loads(item), token=token, peeked=peeked,
                             rate_wait_s=float(wait) / 1_000_000)
            if state == 0:
                if len(raw) == 1:
                    return None
                return max(0.0, (float(_text(raw[1])) - now_ms()) / 1000)
            # state 2: a key without items was left in `ready`; it is gone now, look again

    async def ack(self, claim: Claim) -> None:
        """Removes the claimed head; the key's next item becomes ready (after the pacing gap)."""
        result = await self._ack(
            keys=[self._list(claim.key), self._ready, self.wake_key,
                  self._pace_prefix + claim.key],
            args=[claim.key, claim.token, now_ms(), self._pace_ms],
        )
        if int(result) == -1:
            raise LeaseLost(self.name)

    async def retry(self, claim: Claim, delay_s: float,
                    item: dict[str, Any] | None = None) -> int:
        """Keeps the head (optionally updated) and makes the key ready again after `delay_s`;
        returns when (epoch ms), which `wake` needs."""
        at = now_ms() + int(delay_s * 1000)
        result = await self._retry(
            keys=[self._list(claim.key), self._ready],
            args=[claim.key, claim.token, at,
                  json.dumps(item, separators=(",", ":")) if item is not None else ""],
        )
        if int(result) == -1:
            raise LeaseLost(self.name)
        return at

    async def wake(self, waiting: str) -> int:
        """Makes ready now the keys listed in the sorted set `waiting` (key -> the time `retry`
        returned) that still wait for exactly that retry, and empties it; how many woke. A key
        claimed or retried again since is left alone (waking it would break a worker's
        lease)."""
        return int(await self._wake(keys=[self._ready, waiting, self.wake_key],
                                    args=[now_ms()]))

    async def wait(self, timeout_s: float) -> None:
        """Sleeps until something is pushed or acknowledged, or `timeout_s` passes."""
        await self._redis.blpop([self.wake_key], timeout=max(0.01, min(timeout_s, 5.0)))

    async def depth(self) -> int:
        """How many keys have work waiting (a gauge for /metrics)."""
        return int(await self._redis.zcard(self._ready))

    async def pending(self, key: str) -> int:
        return int(await self._redis.llen(self._list(key)))


# Lua prints numbers with 14 significant digits: microseconds since 2025 stay exact for years.
_EPOCH_S = 1_735_689_600  # 2025-01-01T00:00:00Z


def _micros() -> int:
    return int((time.time() - _EPOCH_S) * 1_000_000)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RateLimiter:
    """A shared rate limit (generic cell rate algorithm): at most one call per `1/rate` seconds
    across every process, with a burst of `burst` calls. `delay()` reserves a slot and says how long
    to wait for it."""

    _GCRA = _GCRA_FN + """
    -- KEYS: tat   ARGV: now_us, interval_us, burst_us
    return tostring(gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])))
    """

    _PAUSE = """
    -- KEYS: tat   ARGV: until_us, ttl_ms
    local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
    if tat < tonumber(ARGV[1]) then
      redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    end
    return 1
    """

    def __init__(self, redis: Redis, name: str, rate_per_s: float, burst: int = 1) -> None:
        self.key = f"pintu:rate:{name}"
        self.interval_us = int(1_000_000 / rate_per_s)
        self.burst_us = self.interval_us * max(0, burst - 1)
        self._gcra = redis.register_script(self._GCRA)
        self._pause = redis.register_script(self._PAUSE)

    async def delay(self) -> float:
        """Reserves the next slot; returns the seconds to wait before using it."""
        now_us = _micros()
        wait = await self._gcra(keys=[self.key], args=[now_us, self.interval_us, self.burst_us])
        return float(_text(wait)) / 1_000_000

    async def pause(self, seconds: float) -> None:
        """Nobody sends for `seconds` (the channel asked everyone to slow down)."""
        until = _micros() + int(seconds * 1_000_000)
        await self._pause(keys=[self.key], args=[until, int(seconds * 1000) + 1000])
