"""Action-test fixtures: real rasa-sdk Trackers and dispatchers, fakes of the agencies and gateway
speaking their HTTP wire format through httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from rasa_sdk import Tracker

from actions import context
from actions.gateway_client import GatewayClient
from actions.logic.attempts import IdentityGuard, MemoryAttemptStore
from integrations.agency import AgencyClients, RetryPolicy

ROOT = Path(__file__).resolve().parents[2]
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text())


def make_tracker(text: str = "", intent: str = "inform", confidence: float = 0.95,
                 entities: list[dict[str, Any]] | None = None, slots: dict[str, Any] | None = None,
                 latest_action: str = "action_listen", active_loop: str | None = None,
                 metadata: dict[str, Any] | None = None, sender: str = "api:warga") -> Tracker:
    """A tracker as the action server receives it right after a resident's message."""
    message = {"text": text, "intent": {"name": intent, "confidence": confidence},
               "entities": entities or [], "metadata": metadata or {},
               "intent_ranking": [{"name": intent, "confidence": confidence}]}
    return Tracker(sender, slots or {}, message, [], False, None,
                   {"name": active_loop} if active_loop else {}, latest_action)


class FakeServer:
    """Routes requests to handlers by (method, path); records every request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, status: int = 200, body: Any = None,
           handler: Handler | None = None) -> None:
        self.routes[(method, path)] = handler or (lambda _r: httpx.Response(status, json=body))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get((request.method, request.url.path))
        if route is None:
            return httpx.Response(404, json={"error": {"code": "not_found", "message": "no"}})
        return route(request)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path == path]

    def client(self, base_url: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base_url, transport=httpx.MockTransport(self.handle))


@pytest.fixture
def agency() -> Iterator[FakeServer]:
    server = FakeServer()

    async def no_sleep(_seconds: float) -> None:
        return None

    clients = AgencyClients.from_client(server.client("http://agency.test"),
                                        retry=RetryPolicy(attempts=2), sleep=no_sleep)
    context.override(agency=clients)
    yield server
    context.reset()


@pytest.fixture
def gateway() -> Iterator[FakeServer]:
    server = FakeServer()
    context.override(gateway=GatewayClient("http://gateway.test", "t",
                                           client=server.client("http://gateway.test")))
    yield server
    context.reset()


@pytest.fixture(autouse=True)
def limiter() -> Iterator[IdentityGuard]:
    instance = IdentityGuard(MemoryAttemptStore(), on_alarm=context.report_alarm)
    context.override(limiter=instance)
    yield instance
    context.reset()
