"""The whole stack on 127.0.0.1 for end-to-end tests: agency sandbox, action server, Rasa server
and gateway, with the gateway on real PostgreSQL and Redis (as in production)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.stack import Ports, Stack
from tests.gateway.conftest import PG_URL, REDIS_URL, _ensure_database

PORTS = Ports(gateway=18000, rasa=15005, actions=15055, sandbox=18100)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    _ensure_database(PG_URL)
    from bot.db import Base, make_engine, upgrade

    engine = make_engine(PG_URL)
    Base.metadata.drop_all(engine)
    upgrade(engine)
    engine.dispose()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    tmp = tmp_path_factory.mktemp("stack")
    env = {
        "DATABASE_URL": PG_URL,
        "REDIS_URL": REDIS_URL,
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp / 'sandbox.db'}",
        "OUTBOX_INTERVAL_S": "1",
        "INTERNAL_API_TOKEN": "integration-token",
    }
    running = Stack(ports=PORTS, env=env, log_dir=Path(tmp) / "log")
    running.start(timeout_s=float(os.environ.get("PINTU_STACK_TIMEOUT", "240")))
    yield running
    running.stop()


@pytest.fixture
def chat(stack: Stack) -> Iterator[Chat]:
    with httpx.Client(base_url=f"http://127.0.0.1:{PORTS.gateway}", timeout=30) as client:
        yield Chat(client)


@pytest.fixture
def sandbox(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{PORTS.sandbox}", timeout=10) as client:
        yield client
        client.post("/_sandbox/faults", json={"mode": "none"})


class Chat:
    """One resident talking to the gateway's local chat API."""

    counter = 0

    def __init__(self, client: httpx.Client) -> None:
        Chat.counter += 1
        self.client = client
        self.sender = f"it-{os.getpid()}-{Chat.counter}"

    def say(self, text: str = "", **extra: object) -> str:
        response = self.client.post("/api/chat", json={"sender": self.sender, "text": text,
                                                       **extra})
        response.raise_for_status()
        self.last = response.json()["messages"]
        return "\n".join(m["text"] for m in self.last)

    def buttons(self) -> list[str]:
        return [b["title"] for m in self.last for b in m["buttons"]]
