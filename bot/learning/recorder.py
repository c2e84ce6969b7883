"""Predictions on their way to PostgreSQL: one Redis push on the resident's path, written in
batches by a background task.

A message's reply must not wait for bookkeeping, and one insert and commit per message cost the
end-to-end latency its tail on a 2-core machine (docs/benchmarks.md, "Channels"). The row is built
(and masked) before it is pushed, so Redis never holds an unmasked number. Several worker
processes may drain the same list: `LPOP key count` hands each item to one of them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from ..aio import raise_if_cancelled
from ..db import in_transaction
from ..rasa_client import Understanding
from . import predictions

log = logging.getLogger(__name__)

KEY = "nlu:predictions"
BATCH = 500
# A batch that cannot be written waits in Redis; past this many the oldest are dropped (the
# database has been down long enough that the review queue is the least of the city's worries).
MAX_WAITING = 100_000


class PredictionRecorder:
    def __init__(self, redis: Redis, sessions: sessionmaker, *, review_below: float,
                 interval_s: float = 1.0) -> None:
        self._redis = redis
        self._sessions = sessions
        self._review_below = review_below
        self._interval_s = interval_s

    async def add(self, *, channel: str, message_id: int | None, text: str,
                  understanding: Understanding) -> None:
        """Queues one prediction (nothing for a button press). Raises redis errors."""
        row = predictions.row(channel=channel, message_id=message_id, text=text,
                              understanding=understanding, review_below=self._review_below)
        if row is not None:
            await self._redis.rpush(KEY, json.dumps(row, ensure_ascii=False))

    async def flush(self) -> int:
        """Writes what is waiting, a batch at a time; the number written."""
        written = 0
        while True:
            raw: Any = await self._redis.lpop(KEY, BATCH)
            if not raw:
                return written
            rows = [json.loads(item) for item in raw]
            try:
                await asyncio.to_thread(in_transaction, self._sessions, predictions.insert_rows,
                                        rows)
            except SQLAlchemyError as exc:
                log.error("predictions not recorded yet (%d waiting): %s", len(rows),
                          type(exc).__name__)
                await self._redis.lpush(KEY, *reversed(raw))  # back in front, in order
                await self._redis.ltrim(KEY, 0, MAX_WAITING - 1)
                raise
            written += len(rows)
            if len(rows) < BATCH:
                return written

    async def run(self) -> None:
        """Flushes every `interval_s` until cancelled; a failed round is retried next round."""
        while True:
            raise_if_cancelled()
            try:
                await self.flush()
            except SQLAlchemyError:
                pass  # logged; the rows wait in Redis for the next round
            except RedisError as exc:
                log.error("prediction recorder cannot reach Redis: %s", type(exc).__name__)
            await asyncio.sleep(self._interval_s)
