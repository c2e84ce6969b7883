"""The Rasa client over several servers (RASA_URLS): senders spread, failover, cool-down."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.rasa_client import RasaClient, RasaRefused, RasaUnavailable
from tests.fakes.server import ThreadedServer, free_port

A, B = "http://rasa-a.test", "http://rasa-b.test"
PINTU = "/webhooks/pintu/webhook"


class Fleet:
    """Fake Rasa servers behind one MockTransport: who got what, and which are down."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []  # (server, path)
        self.down: set[str] = set()
        self.answer: Callable[[httpx.Request], httpx.Response] = lambda request: httpx.Response(
            200, json={"messages": [{"text": f"dari {request.url.host}"}], "understanding": None})

    def handler(self, request: httpx.Request) -> httpx.Response:
        server = f"http://{request.url.host}"
        self.seen.append((server, request.url.path))
        if server in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/status":
            return httpx.Response(200, json={"model_id": "m1"})
        return self.answer(request)

    def client(self, *urls: str, cooldown_s: float = 5.0) -> RasaClient:
        return RasaClient(list(urls or (A, B)), cooldown_s=cooldown_s,
                          client=httpx.AsyncClient(transport=httpx.MockTransport(self.handler)))

    def served(self, path: str = PINTU) -> list[str]:
        return [server for server, p in self.seen if p == path]


async def _sender_for(server: str) -> str:
    """A sender whose preferred server is `server` (of A, B)."""
    fleet = Fleet()
    client = fleet.client()
    for i in range(100):
        sender = f"warga-{i}"
        await client.converse(sender, "halo")
        if fleet.served()[-1] == server:
            return sender
    raise AssertionError("no sender prefers " + server)


async def test_senders_are_spread_and_each_keeps_its_server() -> None:
    fleet = Fleet()
    first, second = fleet.client(), fleet.client()  # two gateway processes
    chosen: dict[str, set[str]] = {}
    for i in range(40):
        for client in (first, second, first):
            await client.converse(f"warga-{i}", "halo")
            chosen.setdefault(f"warga-{i}", set()).add(fleet.served()[-1])
    assert all(len(servers) == 1 for servers in chosen.values())
    per_server = [sum(1 for s in chosen.values() if server in s) for server in (A, B)]
    assert min(per_server) >= 10, per_server


async def test_a_server_that_refuses_is_skipped_then_checked_and_used_again() -> None:
    fleet = Fleet()
    client = fleet.client(cooldown_s=0.3)
    sender = await _sender_for(A)
    fleet.down.add(A)
    turn = await client.converse(sender, "halo")
    assert turn.replies[0].text == "dari rasa-b.test"
    assert fleet.served() == [A, B]
    await client.converse(sender, "lagi")  # cooling down: not even tried
    assert fleet.served() == [A, B, B]
    fleet.down.discard(A)
    await asyncio.sleep(0.35)
    await client.converse(sender, "sudah kembali")
    assert fleet.seen[-2:] == [(A, "/status"), (A, PINTU)]


async def test_a_server_whose_status_fails_after_the_cool_down_stays_out() -> None:
    fleet = Fleet()
    client = fleet.client(cooldown_s=0.2)
    sender = await _sender_for(A)
    fleet.down.add(A)
    await client.converse(sender, "halo")
    await asyncio.sleep(0.25)
    await client.converse(sender, "masih mati")
    assert fleet.seen[-2:] == [(A, "/status"), (B, PINTU)]


async def test_every_server_down_is_unavailable_and_each_is_tried() -> None:
    fleet = Fleet()
    fleet.down |= {A, B}
    client = fleet.client()
    with pytest.raises(RasaUnavailable, match="unreachable: ConnectError"):
        await client.converse("warga", "halo")
    # Both cooling down: still tried (a lone server must not be locked out by its cool-down).
    with pytest.raises(RasaUnavailable, match="unreachable: ConnectError"):
        await client.converse("warga", "halo")
    assert sorted(fleet.served()) == [A, A, B, B]


@pytest.mark.parametrize(("failure", "error"), [
    (lambda r: httpx.Response(500, json={"message": "boom"}), RasaUnavailable),
    (lambda r: httpx.Response(400, json={"message": "bad"}), RasaRefused),
])
async def test_an_answer_is_never_retried_elsewhere(
        failure: Callable[[httpx.Request], httpx.Response], error: type[Exception]) -> None:
    fleet = Fleet()
    fleet.answer = failure
    with pytest.raises(error):
        await fleet.client().converse("warga", "halo")
    assert len(fleet.served()) == 1


async def test_a_read_timeout_is_not_retried_elsewhere() -> None:
    """The server got the message and may still run the turn: another would run it twice."""
    fleet = Fleet()

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    fleet.answer = slow
    with pytest.raises(RasaUnavailable, match="ReadTimeout"):
        await fleet.client().converse("warga", "halo")
    assert len(fleet.served()) == 1


async def test_failover_between_real_servers_logs_no_personal_data(
        caplog: pytest.LogCaptureFixture) -> None:
    async def webhook(request: Request) -> JSONResponse:  # the pintu channel, as it answers
        body = await request.json()
        return JSONResponse({"messages": [{"text": f"halo {body['sender']}"}],
                             "understanding": None})

    app = Starlette(routes=[Route(PINTU, webhook, methods=["POST"])])
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused
    with ThreadedServer(app) as live, caplog.at_level(logging.INFO):
        client = RasaClient([closed, live.url], cooldown_s=60)
        try:
            replies = [(await client.converse(f"628123456{i:04d}", "nik 3671051207800002")).replies
                       for i in range(6)]
        finally:
            await client.aclose()
    assert [r[0].text for r in replies] == [f"halo 628123456{i:04d}" for i in range(6)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and closed in warnings[0]
    assert "628123456" not in caplog.text and "3671051207800002" not in caplog.text
