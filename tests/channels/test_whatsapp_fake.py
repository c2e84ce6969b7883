"""The fake Graph API itself: real wire shapes, the validation it enforces, its control surface."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrations.whatsapp import check_signature, parse_webhook
from tests.fakes.graph_api import (
    FakeGraph,
    button_reply,
    encode,
    image_message,
    list_reply,
    location_message,
    sign,
    status_update,
    text_message,
    webhook_payload,
)
from tests.fakes.server import free_port

from .conftest import WA_TOKEN

TOKEN = WA_TOKEN
TO = "6281234567890"
MESSAGES = "/v21.0/109876543210987/messages"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def fake(graph_server: tuple[FakeGraph, str]) -> FakeGraph:
    graph_server[0].reset()
    return graph_server[0]


@pytest.fixture
def http(graph_server: tuple[FakeGraph, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=graph_server[1], timeout=5) as client:
        yield client


def envelope(kind: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": TO,
            "type": kind, kind: content}


def buttons(*titles: str, ids: list[str] | None = None) -> dict[str, Any]:
    ids = ids or [f"b{i}" for i in range(len(titles))]
    return envelope("interactive", {"type": "button", "body": {"text": "Pilih"}, "action": {
        "buttons": [{"type": "reply", "reply": {"id": i, "title": t}}
                    for i, t in zip(ids, titles, strict=True)]}})


def listing(rows: list[dict[str, Any]], button: str = "Pilih",
            body: str = "Pilih") -> dict[str, Any]:
    return envelope("interactive", {"type": "list", "body": {"text": body}, "action": {
        "button": button, "sections": [{"title": "Pilihan", "rows": rows}]}})


def rows(count: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"id": f"r{i}", "title": f"Baris {i}", **extra} for i in range(count)]


def test_send_answers_like_the_cloud_api(fake: FakeGraph, http: httpx.Client) -> None:
    body = envelope("text", {"preview_url": False, "body": "halo"})
    answer = http.post(MESSAGES, json=body, headers=AUTH)
    assert answer.status_code == 200
    data = answer.json()
    assert data["messaging_product"] == "whatsapp"
    assert data["contacts"] == [{"input": TO, "wa_id": TO}]
    [message] = data["messages"]
    assert message["id"].startswith("wamid.HBgN")
    again = http.post(MESSAGES, json=body, headers=AUTH).json()["messages"][0]["id"]
    assert again != message["id"]
    assert fake.sent() == [body, body]
    first, second = fake.calls("message")
    assert first.path == MESSAGES and first.method == "POST"
    assert first.monotonic <= second.monotonic and abs(first.wall - time.time()) < 60


def test_missing_or_wrong_token_gets_the_oauth_error(fake: FakeGraph,
                                                     http: httpx.Client) -> None:
    body = envelope("text", {"body": "halo"})
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}):
        answer = http.post(MESSAGES, json=body, headers=headers)
        assert answer.status_code == 401
        error = answer.json()["error"]
        assert error["code"] == 190 and error["type"] == "OAuthException"
        assert error["fbtrace_id"]
        assert "invalid_token" in answer.headers["www-authenticate"]
    assert fake.sent() == []


INVALID = [
    ({**envelope("text", {"body": "halo"}), "messaging_product": "sms"}, 100),
    (envelope("text", {"body": "x" * 4097}), 100),
    (envelope("text", {"body": ""}), 100),
    (buttons("Satu", "Dua", "Tiga", "Empat"), 131009),
    (buttons("Judul tombol yang kepanjangan"), 131009),
    (buttons("Satu", "Dua", ids=["a", "a"]), 131009),
    (buttons("Sama", "Sama"), 131009),
    (buttons("Satu", ids=["x" * 257]), 131009),
    (listing(rows(11)), 131009),
    (listing([{"id": "a", "title": "Judul baris yang terlalu panjang"}]), 131009),
    (listing(rows(1, description="d" * 73)), 131009),
    (listing([{"id": "x" * 201, "title": "A"}]), 131009),
    (listing(rows(2), button="Tombol daftar yang panjang"), 131009),
    (listing(rows(2), body="b" * 1025), 131009),
    (envelope("image", {"link": "https://pintu.example/a.png", "caption": "c" * 1025}), 100),
    (envelope("image", {"caption": "tanpa link"}), 100),
    (envelope("document", {"id": "123"}), 131053),
    (envelope("interactive", {"type": "location_request_message", "body": {"text": "Lokasi?"},
                              "action": {"name": "send_contact"}}), 131009),
    (envelope("template", {"name": "status_laporan"}), 100),
]


@pytest.mark.parametrize(("body", "code"), INVALID)
def test_invalid_bodies_get_the_real_error_shape(fake: FakeGraph, http: httpx.Client,
                                                 body: dict[str, Any], code: int) -> None:
    answer = http.post(MESSAGES, json=body, headers=AUTH)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == code
    assert error["message"].startswith(f"(#{code}) ")
    assert error["type"] == "OAuthException"
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert error["error_data"]["details"]
    assert error["fbtrace_id"]
    assert fake.sent() == []


def test_limits_themselves_are_accepted(fake: FakeGraph, http: httpx.Client) -> None:
    valid = [
        envelope("text", {"body": "x" * 4096}),
        buttons("a" * 20, "Dua", "Tiga"),
        listing([*rows(9), {"id": "y" * 200, "title": "t" * 24, "description": "d" * 72}],
                button="b" * 20, body="b" * 1024),
        envelope("image", {"link": "https://pintu.example/a.png", "caption": "c" * 1024}),
        envelope("template", {"name": "status_laporan", "language": {"code": "id"}}),
    ]
    for body in valid:
        answer = http.post(MESSAGES, json=body, headers=AUTH)
        assert answer.status_code == 200, answer.json()
    template = http.post(MESSAGES, json=valid[-1], headers=AUTH).json()
    assert template["messages"][0]["message_status"] == "accepted"


def test_read_receipt(fake: FakeGraph, http: httpx.Client) -> None:
    body = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"}
    answer = http.post(MESSAGES, json=body, headers=AUTH)
    assert answer.json() == {"success": True}
    assert [call.body for call in fake.calls("read")] == [body]
    assert fake.sent() == []


def test_upload_info_and_download(fake: FakeGraph, http: httpx.Client) -> None:
    content = b"\x89PNG\r\n\x1a\n peta kantor"
    uploaded = http.post("/v21.0/109876543210987/media", headers=AUTH,
                         data={"messaging_product": "whatsapp", "type": "image/png"},
                         files={"file": ("peta.png", content, "image/png")})
    media_id = uploaded.json()["id"]
    assert media_id.isdigit()
    info = http.get(f"/v21.0/{media_id}", headers=AUTH).json()
    assert info["mime_type"] == "image/png" and info["file_size"] == len(content)
    assert info["messaging_product"] == "whatsapp" and info["id"] == media_id
    assert len(info["sha256"]) == 64
    assert info["url"].startswith(str(http.base_url).rstrip("/") + "/whatsapp_business/")
    assert http.get(info["url"]).status_code == 401
    assert http.get(info["url"], headers=AUTH).content == content
    assert [c.kind for c in fake.calls()] == ["upload", "media_info", "download", "download"]


def test_unknown_media_id(fake: FakeGraph, http: httpx.Client) -> None:
    answer = http.get("/v21.0/424242", headers=AUTH)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["error_subcode"], error["type"]) == \
        (100, 33, "GraphMethodException")


def test_scripted_failures_then_recovery(fake: FakeGraph, http: httpx.Client) -> None:
    fake.fail(status=429, code=130429, count=2, retry_after=2.5)
    body = envelope("text", {"body": "halo"})
    for _ in range(2):
        answer = http.post(MESSAGES, json=body, headers=AUTH)
        assert answer.status_code == 429
        assert answer.headers["retry-after"] == "2.5"
        assert answer.json()["error"]["message"] == "(#130429) Rate limit hit"
    assert http.post(MESSAGES, json=body, headers=AUTH).status_code == 200
    fake.fail(status=500)
    error = http.post(MESSAGES, json=body, headers=AUTH).json()["error"]
    assert (error["code"], error["is_transient"]) == (131000, True)
    assert [c.status for c in fake.calls("message")] == [429, 429, 200, 500]
    assert len(fake.sent()) == 1


def test_control_routes_for_other_processes(fake: FakeGraph, http: httpx.Client) -> None:
    body = envelope("text", {"body": "halo"})
    assert http.post("/_fake/fail", json={"status": 400, "code": 131047}).json() == {"ok": True}
    assert http.post(MESSAGES, json=body, headers=AUTH).json()["error"]["code"] == 131047
    calls = http.get("/_fake/calls", params={"kind": "message"}).json()
    assert [(c["status"], c["body"]) for c in calls] == [(400, body)]
    assert {"wall", "monotonic", "path"} <= set(calls[0])
    http.post("/_fake/delay", json={"seconds": 0.2})
    started = time.monotonic()
    http.post(MESSAGES, json=body, headers=AUTH)
    assert time.monotonic() - started >= 0.2
    http.post("/_fake/reset")
    assert http.get("/_fake/calls").json() == []


# -- webhook builders ------------------------------------------------------------------------------


def test_webhook_builders_parse_and_sign() -> None:
    payload = webhook_payload(
        messages=[text_message(TO, "halo", timestamp=100),
                  button_reply(TO, "/affirm", "Ya"),
                  list_reply(TO, "/kk", "Kartu Keluarga", "Cek status KK"),
                  image_message(TO, "1234", caption="foto"),
                  location_message(TO, -6.1783, 106.6319)],
        statuses=[status_update("wamid.Y", "delivered", TO)])
    messages, statuses = parse_webhook(payload)
    assert [m.kind for m in messages] == ["text", "button", "button", "image", "location"]
    assert messages[0].timestamp == 100.0
    assert [s.status for s in statuses] == ["delivered"]
    assert payload["entry"][0]["changes"][0]["value"]["contacts"] == [
        {"profile": {"name": "Warga Tangerang"}, "wa_id": TO}]
    raw = encode(payload)
    assert check_signature(raw, sign(raw, "rahasia"), "rahasia")


def test_standalone_main_serves_the_fake() -> None:
    port = free_port()
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "tests.fakes.graph_api", "--port", str(port), "--token", TOKEN],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}{MESSAGES}", headers=AUTH,
                                    json=envelope("text", {"body": "halo"}), timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
