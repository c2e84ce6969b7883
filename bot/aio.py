"""Small asyncio helpers shared by the gateway's long-running loops."""

from __future__ import annotations

import asyncio


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
