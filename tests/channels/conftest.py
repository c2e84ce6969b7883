"""A real gateway (uvicorn in a thread, real PostgreSQL and Redis) wired to fake channel APIs and a
fake Rasa, for tests of whole channel flows."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.sql import Executable

from bot.app import Services, build_services, create_app
from bot.rasa_client import RasaClient
from bot.settings import Settings
from tests.fakes.graph_api import PHONE_NUMBER_ID as WA_PHONE_ID
from tests.fakes.graph_api import FakeGraph
from tests.fakes.server import ThreadedServer
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram
from tests.gateway.conftest import pg_engine, pg_url, redis_url  # noqa: F401 - fixtures
from tests.gateway.fakes import FakeRasa

TG_SECRET = "tg-webhook-secret-for-tests"
WA_TOKEN = "EAAG-test-access-token"
WA_APP_SECRET = "wa-app-secret-for-tests"
WA_VERIFY = "wa-verify-token-for-tests"

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture(channel: str, name: str) -> dict[str, Any]:
    import json

    return dict(json.loads((FIXTURES / channel / f"{name}.json").read_text()))


def text_update(text: str, update_id: int) -> dict[str, Any]:
    """The fixture Telegram text message with other words and ids."""
    body = fixture("telegram", "text")
    body["update_id"] = update_id
    body["message"]["message_id"] = update_id
    body["message"]["text"] = text
    return body


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Gateway:
    url: str
    services: Services
    rasa: FakeRasa
    telegram: FakeTelegram
    graph: FakeGraph
    http: httpx.Client
    server: ThreadedServer | None = None

    def call(self, coroutine: Any) -> Any:
        """Runs a service coroutine (`gw.call(gw.services.handoffs.take(...))`) on the
        gateway's event loop and returns its result (or raises its exception)."""
        assert self.server is not None
        return self.server.call(coroutine)

    def telegram_update(self, update: dict[str, Any], secret: str = TG_SECRET) -> httpx.Response:
        return self.http.post("/webhooks/telegram", json=update,
                              headers={"X-Telegram-Bot-Api-Secret-Token": secret})

    def whatsapp_post(self, payload: dict[str, Any], *, secret: str = WA_APP_SECRET,
                      signature: str | None = None) -> httpx.Response:
        import json

        from tests.fakes.graph_api import sign

        body = json.dumps(payload).encode()
        header = signature if signature is not None else sign(body, secret)
        return self.http.post("/webhooks/whatsapp", content=body,
                              headers={"content-type": "application/json",
                                       "X-Hub-Signature-256": header})

    def sent_texts(self, chat_id: str | None = None) -> list[str]:
        texts = []
        for call in self.telegram.calls():
            if call.method in ("sendMessage", "sendPhoto", "sendDocument") and \
                    (chat_id is None or call.chat_id == chat_id):
                texts.append(str(call.params.get("text") or call.params.get("caption") or ""))
        return texts

    def whatsapp_texts(self) -> list[str]:
        """The words of every message the fake Graph API accepted, in order."""
        texts = []
        for body in self.graph.sent():
            if body.get("type") == "text":
                texts.append(str(body["text"]["body"]))
            elif body.get("type") == "interactive":
                texts.append(str(body["interactive"]["body"]["text"]))
        return texts

    def rows(self, sql: str | Executable, **params: Any) -> list[Any]:
        """Rows of raw SQL (encrypted columns as stored) or of a select() over the models
        (encrypted columns decrypted)."""
        from sqlalchemy import text

        with self.services.engine.connect() as conn:
            return list(conn.execute(text(sql) if isinstance(sql, str) else sql, params))


@pytest.fixture(scope="module")
def telegram_server() -> Iterator[tuple[FakeTelegram, str]]:
    """A fake Bot API on a socket, shared by a module's tests (reset by `fake_telegram`)."""
    fake = FakeTelegram()
    with ThreadedServer(fake.app) as server:
        yield fake, server.url


@pytest.fixture(scope="module")
def graph_server() -> Iterator[tuple[FakeGraph, str]]:
    """A fake Graph API on a socket, shared by a module's tests (reset by `fake_graph`)."""
    fake = FakeGraph(WA_TOKEN)
    with ThreadedServer(fake.app) as server:
        yield fake, server.url


@pytest.fixture
def fake_telegram(telegram_server: tuple[FakeTelegram, str]) -> tuple[FakeTelegram, str]:
    telegram_server[0].reset()
    return telegram_server


@pytest.fixture
def fake_graph(graph_server: tuple[FakeGraph, str]) -> tuple[FakeGraph, str]:
    graph_server[0].reset()
    return graph_server


@pytest.fixture
def make_gateway(
    pg_engine: Engine,  # noqa: F811 - a fixture
    redis_url: str,  # noqa: F811
    fake_telegram: tuple[FakeTelegram, str],
    fake_graph: tuple[FakeGraph, str],
    tmp_path: Path,
) -> Iterator[Callable[..., Gateway]]:
    started: list[tuple[ThreadedServer, httpx.Client]] = []

    def start(rasa: FakeRasa | None = None, **overrides: Any) -> Gateway:
        telegram, telegram_url = fake_telegram
        graph, graph_url = fake_graph
        values: dict[str, Any] = {
            "database_url": pg_engine.url.render_as_string(hide_password=False),
            "redis_url": redis_url,
            "telegram_bot_token": DEFAULT_TOKEN,
            "telegram_webhook_secret": TG_SECRET,
            "telegram_api_base_url": f"{telegram_url}/bot",
            "whatsapp_access_token": WA_TOKEN,
            "whatsapp_phone_number_id": WA_PHONE_ID,
            "whatsapp_app_secret": WA_APP_SECRET,
            "whatsapp_verify_token": WA_VERIFY,
            "whatsapp_api_base_url": graph_url,
            "media_dir": tmp_path / "media",
            "send_backoff_base_s": 0.05,
            "send_backoff_max_s": 0.2,
            "rasa_retry_max_s": 0.3,
            "telegram_chat_interval_ms": 0,
            "inbound_workers": 4,
            "sender_concurrency": 4,
            "outbox_interval_s": 3600,
        }
        values.update(overrides)
        settings = Settings(_env_file=None, **values)
        rasa = rasa or FakeRasa()
        services = build_services(settings, rasa=RasaClient("http://rasa.test",
                                                            client=rasa.client()))
        server = ThreadedServer(create_app(services=services), lifespan=True).start()
        http = httpx.Client(base_url=server.url, timeout=10)
        started.append((server, http))
        return Gateway(server.url, services, rasa, telegram, graph, http, server)

    yield start
    for server, http in started:
        http.close()
        server.stop()
