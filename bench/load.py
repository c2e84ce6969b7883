"""An open-loop load generator: requests leave on a fixed clock, whatever the answers do.

A closed loop (send, wait for the answer, send the next) slows down with the server it measures
and hides queueing; here request `i` is due at `t0 + i / rate` (or at Poisson arrival times of
that mean rate) and is started then, with at most one request per connection of a `ClientPool`
(more wait for a connection, and that wait counts as latency). Each sample keeps its due, start
and finish times on the process's monotonic clock, so latencies can also be taken from the due
time (coordinated omission) and matched with other events in this process.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


@dataclass
class Sample:
    """One request: due, started and finished on `time.monotonic()` (and started and finished
    on the wall clock, to line up with other processes' timestamps); status 0 on a network
    error."""

    index: int
    due: float
    started: float
    started_wall: float
    finished: float = 0.0
    finished_wall: float = 0.0
    status: int = 0
    error: str | None = None

    @property
    def latency(self) -> float:
        return self.finished - self.started

    @property
    def lag(self) -> float:
        """How late the generator started the request (its own slowness, not the server's)."""
        return self.started - self.due


Send = Callable[[httpx.AsyncClient, int], Awaitable[int]]


class ClientPool:
    """`size` httpx clients of one keep-alive connection each, lent out one request at a time.

    One shared client with hundreds of connections spends most of its time choosing a connection
    (httpcore scans its whole pool for every request), which on a 2-core machine starves the
    server being measured and inflates the latencies measured. Here picking a connection is a
    queue operation; the last one returned is lent first, so only as many connections open as
    requests are ever in flight at once. Waiting for a free one counts as latency.
    """

    def __init__(self, size: int, timeout_s: float = 60.0,
                 keepalive_expiry_s: float = 5.0) -> None:
        """`keepalive_expiry_s`: an idle connection older than this is not reused; under the
        server's own keep-alive timeout (uvicorn's and Sanic's 5 s), so that a request never
        races the server closing its connection."""
        self.size = size
        self._idle: asyncio.LifoQueue[httpx.AsyncClient] = asyncio.LifoQueue()
        # One TLS context for all: building one per client (loading the CA bundle) takes
        # seconds for a thousand clients, though the benchmarks speak plain HTTP.
        tls = httpx.create_ssl_context()
        self._all = [httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), verify=tls,
                                       limits=httpx.Limits(max_connections=1,
                                                           max_keepalive_connections=1,
                                                           keepalive_expiry=keepalive_expiry_s))
                     for _ in range(size)]
        for client in self._all:
            self._idle.put_nowait(client)

    async def call(self, send: Send, index: int) -> int:
        client = await self._idle.get()
        try:
            return await send(client, index)
        finally:
            self._idle.put_nowait(client)

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self._all))


def schedule(rate: float, count: int, *, poisson: bool = False, seed: int = 0) -> list[float]:
    """When each of `count` requests is due, in seconds from the start: every `1 / rate`, or
    with `poisson` at random (exponential) gaps of that mean, as independent residents write;
    the same `seed` gives the same times."""
    if not poisson:
        return [i / rate for i in range(count)]
    draw = random.Random(seed)
    due, at = [], 0.0
    for _ in range(count):
        due.append(at)
        at += draw.expovariate(rate)
    return due


async def open_loop(send: Send, pool: ClientPool, *, rate: float, count: int,
                    progress: Callable[[str], None] | None = None,
                    poisson: bool = False, seed: int = 0) -> list[Sample]:
    """Calls `send(client, i)` for i in range(count) at `rate` per second (see `schedule`), at
    most `pool.size` at once; returns the samples in order.

    `send` returns the HTTP status. Exceptions become status 0 with the exception's type name.
    """
    samples: list[Sample] = []
    tasks: list[asyncio.Task[None]] = []

    async def one(sample: Sample) -> None:
        try:
            sample.status = await pool.call(send, sample.index)
        except Exception as exc:  # a failed request is a result, not a crash
            sample.error = type(exc).__name__
        finally:
            sample.finished = time.monotonic()
            sample.finished_wall = time.time()

    offsets = schedule(rate, count, poisson=poisson, seed=seed)
    t0 = time.monotonic() + 0.05
    next_report = t0 + 5.0
    for i in range(count):
        due = t0 + offsets[i]
        now = time.monotonic()
        if due > now:
            await asyncio.sleep(due - now)
        sample = Sample(i, due, time.monotonic(), time.time())
        samples.append(sample)
        tasks.append(asyncio.create_task(one(sample)))
        if progress is not None and sample.started >= next_report:
            done = sum(1 for s in samples if s.finished)
            progress(f"  sent {i + 1}/{count}, answered {done}")
            next_report += 5.0
    await asyncio.gather(*tasks)
    return samples


def run(main: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine on uvloop when it is installed (as uvicorn does), else asyncio's loop:
    the generator's own overhead is part of what it measures."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    result: T = uvloop.run(main)
    return result
