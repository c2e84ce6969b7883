"""HTTP lanes: httpx clients of one keep-alive connection each, lent out one request at a time.

One `httpx.AsyncClient` shared by many concurrent senders keeps many connections, and httpcore
looks at every one of them (a `poll` system call for each idle one, and a scan of the whole pool
for idle ones) twice for every request. With 16 WhatsApp senders that was more than half of a
send's CPU (bench/dispatch.py). Lending whole single-connection clients from a queue makes
choosing a connection a queue operation; the last one returned is lent first, so only as many
connections open as requests are ever in flight at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx


class Lanes:
    """`size` single-connection clients made by `make(limits)`; `borrow()` lends one."""

    def __init__(self, size: int,
                 make: Callable[[httpx.Limits], httpx.AsyncClient]) -> None:
        if size < 1:
            raise ValueError("lanes need at least one client")
        self.size = size
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self._all = [make(one) for _ in range(size)]
        self._idle: asyncio.LifoQueue[httpx.AsyncClient] = asyncio.LifoQueue()
        for client in self._all:
            self._idle.put_nowait(client)

    @asynccontextmanager
    async def borrow(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client for one request; waits while every lane is busy."""
        client = await self._idle.get()
        try:
            yield client
        finally:
            self._idle.put_nowait(client)

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self._all))
