"""`python -m bot.worker`: the gateway's workers without its web server.

Answers channel messages, sends replies and forwards stored complaints. With REDIS_URL set,
`bot/stack.py` runs this beside a web process started with RUN_WORKERS=false, so that webhooks are
acknowledged by an event loop that does nothing else; any number of either can run side by side.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from .app import background_tasks, build_services, stop_tasks
from .logs import configure
from .settings import get_settings

log = logging.getLogger("bot.worker")


async def run() -> None:
    settings = get_settings()
    if not settings.redis_url:
        raise SystemExit("bot.worker needs REDIS_URL: without it the workers run inside the "
                         "gateway process")
    services = build_services(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await services.channels.start()
    tasks = background_tasks(services)
    log.info("workers running: %s", ", ".join(["inbox", *services.outbox.channels]) or "none")
    try:
        await stop.wait()
    finally:
        await stop_tasks(tasks)
        await services.aclose()
        log.info("workers stopped")


def main() -> None:
    settings = get_settings()  # refused settings stop the worker before anything starts
    configure("DEBUG" if settings.pintu_debug else settings.log_level)
    try:  # the event loop uvicorn uses too (uvicorn[standard]); the standard one otherwise
        import uvloop
    except ImportError:
        asyncio.run(run())
    else:
        uvloop.run(run())


if __name__ == "__main__":
    main()
