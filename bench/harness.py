"""The whole stack for a benchmark: PostgreSQL and Redis made fresh, a fake Graph API in this
process, and `bot.stack.Stack` on the benchmark's own ports."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bot.stack import ROOT, Ports, Stack
from tests.fakes.graph_api import PHONE_NUMBER_ID, Call, FakeGraph
from tests.fakes.server import ThreadedServer

from .load import run
from .report import machine, say, stop_on_sigterm

# Benchmark-only credentials: the gateway runs in development mode against fakes.
WA_TOKEN = "bench-wa-token"  # noqa: S105
WA_APP_SECRET = "bench-wa-app-secret"  # noqa: S105
INTERNAL_API_TOKEN = "bench-internal-token"  # noqa: S105


@dataclass
class Running:
    """What a benchmark talks to."""

    stack: Stack
    graph: FakeGraph
    graph_url: str
    gateway_url: str
    rasa_url: str
    redis_url: str
    database_url: str
    log_dir: Path

    @property
    def pids(self) -> dict[str, int]:
        """The stack's processes by service name."""
        return {s.name: s.process.pid for s in self.stack.services if s.process is not None}


def fresh_database(url: str) -> None:
    """Creates the database if missing and migrates it afresh (as the integration tests do)."""
    import bot.models  # noqa: F401 - registers the tables that drop_all drops
    from bot.db import Base, make_engine, upgrade
    from tests.gateway.conftest import _ensure_database

    _ensure_database(url)
    engine = make_engine(url)
    try:
        Base.metadata.drop_all(engine)
        upgrade(engine)
    finally:
        engine.dispose()


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@contextmanager
def running_stack(ports: Ports, *, database_url: str, redis_url: str, graph_port: int = 0,
                  extra_env: Mapping[str, str] | None = None,
                  start_timeout_s: float = 300.0,
                  work: Path | None = None) -> Iterator[Running]:
    """Starts everything and stops it again on the way out, also on Ctrl-C or an error.
    `work` holds the logs, the sandbox's database and the media (default var/bench)."""
    work = work or ROOT / "var" / "bench"
    log_dir = work / "log"
    print(f"preparing database {database_url.rsplit('/', 1)[-1]} and Redis {redis_url}",
          file=sys.stderr)
    fresh_database(database_url)
    flush_redis(redis_url)
    graph = FakeGraph(WA_TOKEN)
    with ThreadedServer(graph.app, port=graph_port) as graph_server:
        env = {
            "PINTU_ENV": "development",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SANDBOX_DATABASE_URL": f"sqlite:///{work / 'sandbox.db'}",
            "INTERNAL_API_TOKEN": INTERNAL_API_TOKEN,
            "MEDIA_DIR": str(work / "media"),
            "WHATSAPP_ACCESS_TOKEN": WA_TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_APP_SECRET": WA_APP_SECRET,
            "WHATSAPP_VERIFY_TOKEN": "bench-verify",
            "WHATSAPP_API_BASE_URL": graph_server.url,
            # Telegram stays off: a token left in the caller's environment must not enable it.
            "TELEGRAM_BOT_TOKEN": "",
            **(extra_env or {}),
        }
        stack = Stack(ports=ports, env=env, log_dir=log_dir)
        print(f"starting the stack (gateway :{ports.gateway}, rasa :{ports.rasa}, actions "
              f":{ports.actions}, sandbox :{ports.sandbox}; logs in {log_dir})", file=sys.stderr)
        stack.start(timeout_s=start_timeout_s)
        try:
            yield Running(stack=stack, graph=graph, graph_url=graph_server.url,
                          gateway_url=f"http://127.0.0.1:{ports.gateway}",
                          rasa_url=f"http://127.0.0.1:{ports.rasa}", redis_url=redis_url,
                          database_url=database_url, log_dir=log_dir)
        finally:
            print("stopping the stack", file=sys.stderr)
            stack.stop()


def database_url_default() -> str:
    return os.environ.get("BENCH_DATABASE_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/pintu_bench")


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that place the stack: ports, database, Redis db, extra gateway settings."""
    parser.add_argument("--gateway-port", type=int, default=28000)
    parser.add_argument("--rasa-port", type=int, default=25005)
    parser.add_argument("--actions-port", type=int, default=25055)
    parser.add_argument("--sandbox-port", type=int, default=28100)
    parser.add_argument("--graph-port", type=int, default=0, help="fake Graph API (0: any free)")
    parser.add_argument("--database-url", default=database_url_default())
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14",
                        help="flushed at the start (db 14 by default)")
    parser.add_argument("--gateway-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra gateway setting, e.g. INBOUND_WORKERS=32 (repeatable)")
    parser.add_argument("--start-timeout", type=float, default=300.0)


def check_stack_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Turns `--gateway-env` into `args.gateway_env_map` (or stops with a usage error)."""
    if any("=" not in item for item in args.gateway_env):
        parser.error("--gateway-env takes NAME=VALUE")
    args.gateway_env_map = dict(item.split("=", 1) for item in args.gateway_env)


def stack_from(args: argparse.Namespace) -> AbstractContextManager[Running]:
    """`running_stack` as the options of `add_stack_arguments` place it."""
    ports = Ports(gateway=args.gateway_port, rasa=args.rasa_port, actions=args.actions_port,
                  sandbox=args.sandbox_port)
    return running_stack(ports, database_url=args.database_url, redis_url=args.redis_url,
                         graph_port=args.graph_port, extra_env=args.gateway_env_map,
                         start_timeout_s=args.start_timeout,
                         work=getattr(args, "work_dir", None))


def measure(args: argparse.Namespace, name: str, config: dict[str, Any],
            scenario: Callable[[Running], Coroutine[Any, Any, dict[str, Any]]],
            **head: Any) -> dict[str, Any] | None:
    """Runs `scenario` against a fresh stack placed by `args` (see `add_stack_arguments`);
    returns the result object: `name`, then `head`, date, machine, config and what the
    scenario returned, and `wall_s`. None when interrupted (the stack is stopped either way)."""
    stop_on_sigterm()
    result: dict[str, Any] = {
        "name": name, **head,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "config": {**config, "gateway_env": args.gateway_env_map},
    }
    started = time.monotonic()
    try:
        with stack_from(args) as running:
            result.update(run(scenario(running)))
    except KeyboardInterrupt:
        say("interrupted: the stack is stopped, no results written")
        return None
    result["machine"]["load_average_1m_at_end"] = os.getloadavg()[0]
    result["wall_s"] = round(time.monotonic() - started, 1)
    return result


def replies(running: Running, numbers: set[str]) -> tuple[dict[str, Call], list[float]]:
    """The first reply to each of these numbers at the fake Graph API, and every reply's time
    (monotonic)."""
    first: dict[str, Call] = {}
    every: list[float] = []
    for call in running.graph.calls("message"):
        to = call.body.get("to") if isinstance(call.body, dict) else None
        if call.status != 200 or to not in numbers:
            continue
        every.append(call.monotonic)
        first.setdefault(to, call)
    return first, every


def duplicate_replies(running: Running, numbers: set[str]) -> int:
    """Replies the fake Graph API accepted more than once: the same body to the same number
    (each simulated resident sends one message, so a repeated body is a repeated send)."""
    seen: set[tuple[str, str]] = set()
    repeated = 0
    for call in running.graph.calls("message"):
        to = call.body.get("to") if isinstance(call.body, dict) else None
        if call.status != 200 or to not in numbers:
            continue
        key = (str(to), json.dumps(call.body, sort_keys=True))
        repeated += key in seen
        seen.add(key)
    return repeated


async def wait_for_replies(running: Running, numbers: set[str], timeout_s: float, *,
                           quiet_s: float = 2.0, progress: Callable[[str], None] | None = None,
                           ) -> tuple[dict[str, Call], list[float]]:
    """Waits until every number has a reply and no reply came for `quiet_s`, or the timeout."""
    deadline = time.monotonic() + timeout_s
    next_report = time.monotonic() + 5.0
    while True:
        first, every = replies(running, numbers)
        now = time.monotonic()
        settled = len(first) == len(numbers) and (not every or now - max(every) >= quiet_s)
        if settled or now > deadline:
            return first, every
        if progress is not None and now >= next_report:
            progress(f"  answered {len(first)}/{len(numbers)} ({len(every)} replies)")
            next_report += 5.0
        await asyncio.sleep(0.25)
