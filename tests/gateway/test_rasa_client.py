"""The Rasa client against the pintu channel's wire format (nlu/serving.py), over MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bot.rasa_client import (
    BotMessage,
    RasaClient,
    RasaError,
    RasaRefused,
    RasaUnavailable,
    Understanding,
)

Handler = Callable[[httpx.Request], httpx.Response]
BASE = "http://rasa.test"

# As the pintu channel answers "cek status ktp saya nik ..." (shape taken from a real server).
UNDERSTANDING = {
    "text": "cek status ktp saya nik 3671051207800002",
    "intent": "ktp",
    "confidence": 0.96,
    "intent_ranking": [{"name": "ktp", "confidence": 0.96},
                       {"name": "request_status", "confidence": 0.03}],
    "entities": [{"entity": "nik", "value": "3671051207800002", "start": 24, "end": 40,
                  "extractor": "PintuEntityExtractor", "confidence": 1.0}],
    "fallback": False,
    "actions": ["action_ktp", "doc_status_form", "action_listen"],
    "model": "pintu-20261125-010756",
}


def _client(handler: Handler) -> RasaClient:
    return RasaClient(BASE, client=httpx.AsyncClient(base_url=BASE,
                                                     transport=httpx.MockTransport(handler)))


async def test_converse_posts_to_the_pintu_channel_and_parses_the_turn() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"messages": [
            {"recipient_id": "warga", "text": "Ketik Nomor KK Anda."},
            {"recipient_id": "warga", "text": "Pilih:", "buttons": [
                {"title": "Batal", "payload": "/deny"}]}],
            "understanding": UNDERSTANDING})

    turn = await _client(handler).converse("warga", "cek status ktp saya", {"channel": "tg"})
    assert seen[0].method == "POST" and seen[0].url.path == "/webhooks/pintu/webhook"
    assert json.loads(seen[0].content) == {"sender": "warga", "message": "cek status ktp saya",
                                           "metadata": {"channel": "tg"}}
    assert turn.replies == [BotMessage(text="Ketik Nomor KK Anda."),
                            BotMessage(text="Pilih:",
                                       buttons=({"title": "Batal", "payload": "/deny"},))]
    u = turn.understanding
    assert u == Understanding(
        text=UNDERSTANDING["text"], intent="ktp", confidence=0.96,
        ranking=(("ktp", 0.96), ("request_status", 0.03)),
        entities=(UNDERSTANDING["entities"][0],), fallback=False,
        actions=("action_ktp", "doc_status_form", "action_listen"),
        model="pintu-20261125-010756")


async def test_converse_without_understanding() -> None:
    turn = await _client(lambda _r: httpx.Response(
        200, json={"messages": [], "understanding": None})).converse("warga", "halo")
    assert turn.replies == [] and turn.understanding is None


def test_understanding_tolerates_missing_keys() -> None:
    assert Understanding.from_json({}) == Understanding(text="", intent=None, confidence=0.0)
    partial = Understanding.from_json({"intent": "greet", "confidence": None,
                                       "intent_ranking": [{"name": "greet"}, "junk"],
                                       "entities": [{"entity": "nik"}, 3]})
    assert partial.intent == "greet" and partial.confidence == 0.0
    assert partial.ranking == (("greet", 0.0),)
    assert partial.entities == ({"entity": "nik"},)
    assert partial.fallback is False and partial.actions == () and partial.model is None


@pytest.mark.parametrize(("status", "body", "error"), [
    (500, {"error": "boom"}, RasaUnavailable),
    (503, None, RasaUnavailable),
    (400, {"error": {"code": "bad_request", "message": "expected JSON"}}, RasaRefused),
])
async def test_converse_maps_errors_like_send(status: int, body: Any,
                                              error: type[RasaError]) -> None:
    client = _client(lambda _r: httpx.Response(status, json=body))
    with pytest.raises(error):
        await client.converse("warga", "halo")
    with pytest.raises(error):
        await client.send("warga", "halo")


async def test_unreachable_rasa_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(RasaUnavailable, match="unreachable: ConnectError"):
        await _client(handler).converse("warga", "halo")


async def test_model_info() -> None:
    info = {"model": "pintu-1", "model_id": "abc", "path": "/srv/models/pintu-1.tar.gz",
            "loaded_at": "2026-11-25T01:13:06+00:00", "swapping": False}

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET" and request.url.path == "/webhooks/pintu/model"
        return httpx.Response(200, json=info)

    assert await _client(handler).model_info() == info


async def test_swap_model_sends_the_token_and_the_file() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"model": "pintu-2", "previous": "pintu-1",
                                         "load_seconds": 21.5})

    result = await _client(handler).swap_model("/srv/models/pintu-2.tar.gz", "s3cret", timeout=9)
    assert result == {"model": "pintu-2", "previous": "pintu-1", "load_seconds": 21.5}
    request = seen[0]
    assert request.method == "PUT" and request.url.path == "/webhooks/pintu/model"
    assert request.headers["authorization"] == "Bearer s3cret"
    assert json.loads(request.content) == {"model_file": "/srv/models/pintu-2.tar.gz"}
    assert request.extensions["timeout"]["read"] == 9


@pytest.mark.parametrize(("status", "message"), [
    (401, "a valid bearer token is required"),
    (400, "no model file at /srv/models/x.tar.gz"),
    (409, "another model swap is running"),
])
async def test_swap_model_refusals_carry_status_and_message(status: int, message: str) -> None:
    client = _client(lambda _r: httpx.Response(
        status, json={"error": {"code": "x", "message": message}}))
    with pytest.raises(RasaRefused) as refused:
        await client.swap_model("/srv/models/x.tar.gz", "wrong")
    assert refused.value.status_code == status
    assert refused.value.message == message
    assert message in str(refused.value)
    assert "wrong" not in str(refused.value)  # never the token


async def test_swap_model_load_failure_is_unavailable_with_the_reason() -> None:
    client = _client(lambda _r: httpx.Response(500, json={"error": {
        "code": "load_failed",
        "message": "model x failed to load (ModelNotFound); pintu-1 keeps serving"}}))
    with pytest.raises(RasaUnavailable, match="500 model x failed to load"):
        await client.swap_model("/srv/models/x.tar.gz", "t")


async def test_refusal_with_rasa_error_body_or_no_json() -> None:
    rasa_body = {"version": "3.6.21", "status": "failure", "message": "No such route",
                 "reason": "NotFound", "code": 404}
    with pytest.raises(RasaRefused, match="404 No such route"):
        await _client(lambda _r: httpx.Response(404, json=rasa_body)).model_info()
    with pytest.raises(RasaRefused) as refused:
        await _client(lambda _r: httpx.Response(405, text="<html>")).model_info()
    assert refused.value.status_code == 405 and refused.value.message == ""
