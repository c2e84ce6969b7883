"""Small asyncio helpers shared by the gateway's long-running loops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def raise_if_cancelled() -> None:
    """Ends a loop whose task was asked to stop, even if the request was swallowed.

    redis-py's asyncio client (8.x) sometimes swallows a cancellation that arrives during a
    blocking call: BLPOP then returns normally (13 times in 300 here). A `while True` loop would
    go on for ever and a shutdown would hang, so every loop that runs until cancelled calls this
    once a round. (Python 3.10 cannot tell; there the loop ends at its next await instead.)
    """
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    if cancelling is not None and cancelling():
        raise asyncio.CancelledError


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """`asyncio.to_thread(fn, *args)` for loops that run until cancelled: when cancelled, it
    waits for the thread's work (a database transaction) to end before passing the cancellation
    on, so a shutdown never disposes of the engine under a transaction still running."""
    future = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait({future})
        raise
