"""Live events for the staff inbox: Redis publish/subscribe, fanned out to each open browser.

Workers (in their own process) and web handlers publish small events that name what changed,
never the personal data itself: `{"type": "message", "handoff_id": 12}` or `{"type": "queue"}`.
Each web process keeps one subscription and hands every event to the server-sent-event streams
of the browsers connected to it; a browser then fetches what it is allowed to see through the
staff API, masked like every other view.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis

from .aio import raise_if_cancelled

log = logging.getLogger(__name__)

CHANNEL = "pintu:staff:events"
QUEUE_LIMIT = 1000  # a browser that falls this far behind reloads its lists (see `lagged`)


async def publish(redis: Redis, event: dict[str, Any]) -> None:
    """Tells every connected staff browser that something changed (best effort)."""
    try:
        await redis.publish(CHANNEL, json.dumps(event, separators=(",", ":")))
    except Exception as exc:  # the inbox refreshes on its own timer too; never fail the caller
        log.warning("staff event not published: %s", type(exc).__name__)


class EventHub:
    """One Redis subscription per process, fanned out to any number of listeners."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._listeners: set[asyncio.Queue[dict[str, Any]]] = set()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def _run(self) -> None:
        while True:
            raise_if_cancelled()
            try:
                pubsub = self._redis.pubsub()
                await pubsub.subscribe(CHANNEL)
                self._ready.set()
                try:
                    async for message in pubsub.listen():
                        raise_if_cancelled()
                        if message.get("type") != "message":
                            continue
                        self._dispatch(json.loads(message["data"]))
                finally:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("staff event subscription lost (%s); reconnecting",
                            type(exc).__name__)
                # Listeners reload everything after a gap, since events may have been missed.
                self._dispatch({"type": "lagged"})
                await asyncio.sleep(1.0)

    def _dispatch(self, event: dict[str, Any]) -> None:
        for queue in list(self._listeners):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    while True:
                        queue.get_nowait()
                queue.put_nowait({"type": "lagged"})

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=5.0)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    @contextlib.asynccontextmanager
    async def listen(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue of events for one browser, for as long as the block runs."""
        await self.start()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self._listeners.add(queue)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)
