"""The whole stack on 127.0.0.1 for end-to-end tests: agency sandbox, action server, Rasa server
and gateway, with the gateway on real PostgreSQL and Redis (as in production)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.stack import ROOT, Ports, Stack
from tests.fakes.graph_api import PHONE_NUMBER_ID, FakeGraph
from tests.fakes.server import ThreadedServer
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram
from tests.gateway.conftest import PG_URL, _ensure_database

PORTS = Ports(gateway=18000, rasa=15005, actions=15055, sandbox=18100)
# The stack lives for the whole session (starting Rasa takes a minute), while later tests drop
# and rebuild their own database and flush their Redis db: it gets a database and a Redis db of
# its own, or its worker would take their messages and its connections block their schema.
STACK_PG_URL = os.environ.get(
    "TEST_STACK_DATABASE_URL",
    make_url(PG_URL).set(database=f"{make_url(PG_URL).database}_stack")
    .render_as_string(hide_password=False))
STACK_REDIS_URL = os.environ.get("TEST_STACK_REDIS_URL", "redis://127.0.0.1:6379/13")


TG_SECRET = "integration-telegram-secret"
WA_TOKEN = "integration-wa-token"
WA_APP_SECRET = "integration-wa-app-secret"


@pytest.fixture(scope="session")
def channel_fakes() -> Iterator[tuple[FakeTelegram, str, FakeGraph, str]]:
    """Fake Bot API and Graph API servers the stack's gateway sends to."""
    telegram, graph = FakeTelegram(), FakeGraph(WA_TOKEN)
    with ThreadedServer(telegram.app) as tg_server, ThreadedServer(graph.app) as graph_server:
        yield telegram, tg_server.url, graph, graph_server.url


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory,
          channel_fakes: tuple[FakeTelegram, str, FakeGraph, str]) -> Iterator[Stack]:
    _ensure_database(STACK_PG_URL)
    from bot.db import Base, make_engine, upgrade

    engine = make_engine(STACK_PG_URL)
    Base.metadata.drop_all(engine)
    upgrade(engine)
    engine.dispose()
    import redis

    redis.Redis.from_url(STACK_REDIS_URL).flushdb()
    tmp = tmp_path_factory.mktemp("stack")
    env = {
        # The stack's own models folder (the trained model linked in): promotions and candidates
        # of the retraining tests never touch the project's models/.
        "MODELS_DIR": str(_models_dir(tmp / "models")),
        "NLU_CV_FOLDS": "2",
        "DATABASE_URL": STACK_PG_URL,
        "REDIS_URL": STACK_REDIS_URL,
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp / 'sandbox.db'}",
        "OUTBOX_INTERVAL_S": "1",
        "INTERNAL_API_TOKEN": "integration-token",
        "MEDIA_DIR": str(tmp / "media"),
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
        "TELEGRAM_API_BASE_URL": f"{channel_fakes[1]}/bot",
        "WHATSAPP_ACCESS_TOKEN": WA_TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_APP_SECRET": WA_APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": "integration-verify",
        "WHATSAPP_API_BASE_URL": channel_fakes[3],
    }
    running = Stack(ports=PORTS, env=env, log_dir=Path(tmp) / "log")
    running.start(timeout_s=float(os.environ.get("PINTU_STACK_TIMEOUT", "240")))
    yield running
    running.stop()


def _models_dir(folder: Path) -> Path:
    from bot.learning.registry import serving_file

    trained = serving_file(ROOT / "models")
    if trained is None:
        pytest.fail("no trained model in models/: run `make setup`")
    folder.mkdir(parents=True)
    (folder / trained.name).symlink_to(trained)
    return folder


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
