"""`POST /api/chat` against a fake Rasa: replies, numbered buttons, choices and outages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bot.app import build_services, create_app
from bot.db import upgrade
from bot.rasa_client import RasaClient
from bot.settings import Settings

from .fakes import FakeRasa


def menu_reply(body: dict) -> list[dict]:
    if body["message"] == "menu":
        return [{"recipient_id": body["sender"], "text": "Pilih layanan:",
                 "buttons": [{"title": "KTP-el", "payload": "/ktp"},
                             {"title": "Darurat", "payload": "/emergency"}]}]
    return [{"recipient_id": body["sender"], "text": f"dapat: {body['message']}"}]


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa(menu_reply)


@pytest.fixture
def client(rasa: FakeRasa, tmp_path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'gw.db'}", redis_url=None)
    services = build_services(settings, rasa=RasaClient("http://rasa.test", client=rasa.client()))
    upgrade(services.engine)
    with TestClient(create_app(services=services)) as test_client:
        yield test_client


def test_chat_returns_the_bot_replies_with_numbered_buttons(client: TestClient,
                                                           rasa: FakeRasa) -> None:
    response = client.post("/api/chat", json={"sender": "w1", "text": "menu"})
    assert response.status_code == 200
    message = response.json()["messages"][0]
    assert message["buttons"] == [{"title": "KTP-el", "payload": "/ktp"},
                                  {"title": "Darurat", "payload": "/emergency"}]
    assert "1. KTP-el" in message["text"] and "2. Darurat" in message["text"]
    assert rasa.received[0]["sender"] == "api:w1"


def test_typing_a_number_sends_that_buttons_payload(client: TestClient, rasa: FakeRasa) -> None:
    client.post("/api/chat", json={"sender": "w2", "text": "menu"})
    response = client.post("/api/chat", json={"sender": "w2", "text": "2"})
    assert rasa.received[-1]["message"] == "/emergency"
    assert response.json()["messages"][0]["text"] == "dapat: /emergency"


def test_an_empty_message_gets_a_polite_answer_without_calling_rasa(client: TestClient,
                                                                   rasa: FakeRasa) -> None:
    response = client.post("/api/chat", json={"sender": "w3", "text": "   "})
    assert response.status_code == 200
    assert "kosong" in response.json()["messages"][0]["text"]
    assert rasa.received == []


def test_a_shared_location_alone_reaches_rasa_as_inform_with_metadata(client: TestClient,
                                                                      rasa: FakeRasa) -> None:
    client.post("/api/chat", json={"sender": "w4", "attachments": [
        {"type": "location", "latitude": -6.17, "longitude": 106.63}]})
    sent = rasa.received[-1]
    assert sent["message"] == "/inform"
    assert sent["metadata"]["attachments"][0]["latitude"] == -6.17


def test_rasa_down_gets_a_short_apology(tmp_path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'gw.db'}")
    down = FakeRasa(status_code=503)
    services = build_services(settings, rasa=RasaClient("http://rasa.test", client=down.client()))
    upgrade(services.engine)
    with TestClient(create_app(services=services)) as client:
        response = client.post("/api/chat", json={"sender": "w5", "text": "halo"})
    assert response.status_code == 200
    assert "gangguan" in response.json()["messages"][0]["text"]


def test_bad_body_is_refused_with_422(client: TestClient) -> None:
    assert client.post("/api/chat", json={"text": "tanpa pengirim"}).status_code == 422


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
