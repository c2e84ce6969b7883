"""The whole stack for a benchmark: PostgreSQL and Redis made fresh, a fake Graph API in this
process, and `bot.stack.Stack` on the benchmark's own ports."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.stack import ROOT, Ports, Stack
from tests.fakes.graph_api import PHONE_NUMBER_ID, FakeGraph
from tests.fakes.server import ThreadedServer

# Benchmark-only credentials: the gateway runs in development mode against fakes.
WA_TOKEN = "bench-wa-token"  # noqa: S105
WA_APP_SECRET = "bench-wa-app-secret"  # noqa: S105


@dataclass
class Running:
    """What a benchmark talks to."""

    stack: Stack
    graph: FakeGraph
    graph_url: str
    gateway_url: str
    rasa_url: str
    redis_url: str
    log_dir: Path

    @property
    def pids(self) -> dict[str, int]:
        """The stack's processes by service name."""
        return {s.name: s.process.pid for s in self.stack.services if s.process is not None}


def fresh_database(url: str) -> None:
    """Creates the database if missing and migrates it afresh (as the integration tests do)."""
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
                  start_timeout_s: float = 300.0) -> Iterator[Running]:
    """Starts everything and stops it again on the way out, also on Ctrl-C or an error."""
    log_dir = ROOT / "var" / "bench" / "log"
    work = ROOT / "var" / "bench"
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
            "INTERNAL_API_TOKEN": "bench-internal-token",
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
                          log_dir=log_dir)
        finally:
            print("stopping the stack", file=sys.stderr)
            stack.stop()


def database_url_default() -> str:
    return os.environ.get("BENCH_DATABASE_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/pintu_bench")
