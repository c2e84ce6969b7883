"""HTTP lanes (integrations.lanes) and the WhatsApp client sending through them."""

from __future__ import annotations

import asyncio
import json

import httpx

from integrations.lanes import Lanes
from integrations.replies import Reply
from integrations.whatsapp import WhatsAppClient, render
from tests.fakes.graph_api import FakeGraph

from .conftest import WA_TOKEN

PHONE_ID = "109876543210987"


async def test_lanes_lend_each_client_to_one_request_at_a_time() -> None:
    in_flight: dict[int, int] = {}
    most: dict[int, int] = {}
    made: list[httpx.AsyncClient] = []

    def make(limits: httpx.Limits) -> httpx.AsyncClient:
        assert limits.max_connections == 1 and limits.max_keepalive_connections == 1
        lane = len(made)

        async def handler(request: httpx.Request) -> httpx.Response:
            in_flight[lane] = in_flight.get(lane, 0) + 1
            most[lane] = max(most.get(lane, 0), in_flight[lane])
            await asyncio.sleep(0.01)
            in_flight[lane] -= 1
            return httpx.Response(200, json={"lane": lane})

        client = httpx.AsyncClient(transport=httpx.MockTransport(handler), limits=limits)
        made.append(client)
        return client

    lanes = Lanes(3, make)

    async def one() -> int:
        async with lanes.borrow() as http:
            return int((await http.get("http://lane.test/")).json()["lane"])

    used = await asyncio.gather(*(one() for _ in range(30)))
    assert len(made) == 3 and set(used) == {0, 1, 2}
    assert max(most.values()) == 1  # never two requests on one connection's client
    # Alone, a request always gets the lane returned last: one warm connection, not three.
    assert {await one() for _ in range(5)} == {await one()}
    await lanes.aclose()
    assert all(client.is_closed for client in made)


async def test_whatsapp_sends_through_lanes_to_the_fake(
        graph_server: tuple[FakeGraph, str]) -> None:
    fake, url = graph_server
    fake.reset()
    client = WhatsAppClient(WA_TOKEN, PHONE_ID, base_url=url, lanes=3)
    try:
        numbers = [f"62812000000{n:02d}" for n in range(12)]
        wamids = await asyncio.gather(*(
            client.send(render(Reply(text=f"pesan {n}"), number)[0])
            for n, number in enumerate(numbers)))
        assert len(set(wamids)) == 12
        assert sorted(body["to"] for body in fake.sent()) == numbers
        await client.mark_read("wamid.abc")
        assert json.loads(json.dumps(fake.calls("read")[0].body))["message_id"] == "wamid.abc"
    finally:
        await client.aclose()
