"""The WhatsApp client: requests on the wire, Graph errors mapped to channel errors, media.

Against `httpx.MockTransport` for exact wire checks and error shapes, and against the fake Graph
API on a real socket for the whole round trip, both as production runs the client (messages
through its own aiohttp session, media through its own httpx client) and with an httpx client
handed in.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from integrations.channel_errors import (
    ChannelError,
    OutsideWindow,
    RateLimited,
    RecipientUnavailable,
    Rejected,
    TemporaryFailure,
)
from integrations.replies import Media, Option, Reply
from integrations.whatsapp import WhatsAppClient, render
from tests.fakes.graph_api import FakeGraph, graph_error

from .conftest import WA_TOKEN, wait_for

TOKEN = WA_TOKEN  # the token the shared fake Graph API server expects
PHONE_ID = "109876543210987"
TO = "6281234567890"
TEXT = "ktp saya sudah jadi belum"
WAMID = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjNFQjBBMUIyQzNENEU1RjZBNwA="

Handler = Callable[[httpx.Request], httpx.Response]


def client_with(handler: Handler, **kwargs: Any) -> WhatsAppClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return WhatsAppClient(TOKEN, PHONE_ID, http=http, **kwargs)


def sent_ok(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    return httpx.Response(200, json={"messaging_product": "whatsapp",
                                     "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                                     "messages": [{"id": WAMID}]})


def text_message() -> Any:
    return render(Reply(text=TEXT), TO)[0]


async def test_send_posts_the_body_with_the_bearer_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return sent_ok(request)

    client = client_with(handler)
    assert await client.send(text_message()) == WAMID
    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == f"https://graph.facebook.com/v21.0/{PHONE_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.content) == text_message().body


async def test_base_url_and_version_are_configurable() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return sent_ok(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = WhatsAppClient(TOKEN, PHONE_ID, base_url="http://graph.test/", api_version="v23.0",
                            http=http)
    await client.send(text_message())
    assert seen == [f"http://graph.test/v23.0/{PHONE_ID}/messages"]


async def test_mark_read_with_typing_indicator() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"success": True})

    client = client_with(handler)
    await client.mark_read(WAMID)
    await client.mark_read(WAMID, typing=True)
    assert bodies == [
        {"messaging_product": "whatsapp", "status": "read", "message_id": WAMID},
        {"messaging_product": "whatsapp", "status": "read", "message_id": WAMID,
         "typing_indicator": {"type": "text"}},
    ]


ERROR_CASES = [
    (429, 130429, {"Retry-After": "7"}, RateLimited, 7.0),
    (400, 130429, {}, RateLimited, None),
    (400, 131056, {}, RateLimited, None),
    (400, 4, {}, RateLimited, None),
    (400, 80007, {}, RateLimited, None),
    (400, 131048, {}, RateLimited, None),
    (429, None, {}, RateLimited, None),
    (400, 131047, {}, OutsideWindow, None),
    (400, 131026, {}, RecipientUnavailable, None),
    (400, 131050, {}, RecipientUnavailable, None),
    (500, 131000, {}, TemporaryFailure, None),
    (503, 131016, {}, TemporaryFailure, None),
    (500, 1, {}, TemporaryFailure, None),
    (503, 2, {}, TemporaryFailure, None),
    (502, None, {}, TemporaryFailure, None),
    (400, 100, {}, Rejected, None),
    (400, 131009, {}, Rejected, None),
    (400, 131051, {}, Rejected, None),
    (400, 133010, {}, Rejected, None),
    (401, 190, {}, Rejected, None),
    (500, 3, {}, Rejected, None),  # a missing permission answered with a 500: retrying won't help
    (403, 200, {}, Rejected, None),
]


@pytest.mark.parametrize(("status", "code", "headers", "error", "retry_after"), ERROR_CASES)
async def test_graph_errors_are_mapped(status: int, code: int | None, headers: dict[str, str],
                                       error: type[ChannelError],
                                       retry_after: float | None) -> None:
    body = graph_error(code, f"details quoting {TO} and '{TEXT}'") if code is not None else \
        {"error": {"message": "Please reduce the amount of data you're asking for"}}
    client = client_with(lambda request: httpx.Response(status, json=body, headers=headers))
    with pytest.raises(ChannelError) as caught:
        await client.send(text_message())
    assert type(caught.value) is error
    assert caught.value.code == (code if code is not None else status)
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == retry_after
    message = str(caught.value)
    assert TO not in message and TEXT not in message and TOKEN not in message
    if code is not None:
        assert body["error"]["fbtrace_id"] in message


async def test_retry_after_as_http_date() -> None:
    headers = {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}  # long past: no wait
    client = client_with(lambda r: httpx.Response(429, json=graph_error(130429), headers=headers))
    with pytest.raises(RateLimited) as caught:
        await client.send(text_message())
    assert caught.value.retry_after == 0.0


async def test_error_answer_that_is_not_json() -> None:
    client = client_with(lambda request: httpx.Response(502, text="<html>Bad Gateway</html>"))
    with pytest.raises(TemporaryFailure):
        await client.send(text_message())


@pytest.mark.parametrize("failure", [
    httpx.ConnectError("connection refused"), httpx.ReadTimeout("read timed out"),
    httpx.ConnectTimeout("connect timed out"), httpx.RemoteProtocolError("peer closed"),
])
async def test_network_errors_are_temporary(failure: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(TemporaryFailure):
        await client_with(handler).send(text_message())


async def test_success_without_message_id_is_not_retried() -> None:
    client = client_with(lambda request: httpx.Response(200, json={"messages": []}))
    with pytest.raises(Rejected):
        await client.send(text_message())


async def test_logs_and_repr_hold_no_token_number_or_text(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    responses = iter([httpx.Response(400, json=graph_error(131047, f"to {TO}: {TEXT}")),
                      httpx.Response(500, json=graph_error(131000))])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(responses)

    client = client_with(handler)
    for _ in range(2):
        with pytest.raises(ChannelError):
            await client.send(text_message())
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach graph for {TO}")

    with pytest.raises(TemporaryFailure) as caught:
        await client_with(unreachable).send(text_message())
    assert TO not in str(caught.value)
    assert caplog.records, "failures should be logged"
    for text in (caplog.text, repr(client)):
        assert TOKEN not in text and TO not in text and TEXT not in text


# -- media -----------------------------------------------------------------------------------------


def stored_file(ref: str) -> tuple[bytes, str, str]:
    if ref != "var/media/bukti.pdf":
        raise FileNotFoundError(ref)
    return b"%PDF-1.4 bukti pendaftaran", "application/pdf", "bukti.pdf"


async def test_stored_media_is_uploaded_then_sent_by_id() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.url.path.endswith("/media"):
            return httpx.Response(200, json={"id": "1876543210987654"})
        return sent_ok(request)

    client = client_with(handler, open_media=stored_file)
    reply = Reply(text="Bukti pendaftaran", media=Media(kind="document", ref="var/media/bukti.pdf",
                                                        filename="bukti.pdf"))
    assert await client.send(render(reply, TO)[0]) == WAMID
    upload, send = requests
    assert upload.url.path == f"/v21.0/{PHONE_ID}/media"
    assert upload.headers["content-type"].startswith("multipart/form-data")
    assert b'name="messaging_product"' in upload.content
    assert b'filename="bukti.pdf"' in upload.content
    assert b"%PDF-1.4 bukti pendaftaran" in upload.content
    body = json.loads(send.content)
    assert "_local_ref" not in body
    assert body["document"] == {"id": "1876543210987654", "caption": "Bukti pendaftaran",
                                "filename": "bukti.pdf"}


async def test_stored_media_missing_or_no_store() -> None:
    reply = Reply(media=Media(kind="image", ref="var/media/hilang.jpg"))
    message = render(reply, TO)[0]
    with pytest.raises(Rejected):
        await client_with(sent_ok, open_media=stored_file).send(message)
    with pytest.raises(Rejected):
        await client_with(sent_ok).send(message)


def media_server(content: bytes, sha256: str | None = None, file_size: Any = None,
                 declared_length: bool = True) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "lookaside.fbsbx.com":
            assert request.headers["authorization"] == f"Bearer {TOKEN}"
            if declared_length:
                return httpx.Response(200, content=content, headers={"content-type": "image/jpeg"})

            async def chunks() -> Any:
                yield content

            return httpx.Response(200, content=chunks(), headers={"content-type": "image/jpeg"})
        assert request.url.path == "/v21.0/1398475610293847"
        assert request.url.params["phone_number_id"] == PHONE_ID
        return httpx.Response(200, json={
            "messaging_product": "whatsapp",
            "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1398475610293847"
                   "&ext=1767600481&hash=ATuQ",
            "mime_type": "image/jpeg",
            "sha256": sha256 if sha256 is not None else hashlib.sha256(content).hexdigest(),
            "file_size": file_size if file_size is not None else len(content),
            "id": "1398475610293847"})
    return handler


async def test_download_checks_sha256() -> None:
    photo = b"\xff\xd8\xff\xe0 jalan berlubang"
    client = client_with(media_server(photo))
    assert await client.download("1398475610293847", max_bytes=1024) == (photo, "image/jpeg")
    b64 = base64.b64encode(hashlib.sha256(photo).digest()).decode()
    assert (await client_with(media_server(photo, sha256=b64)).download(
        "1398475610293847", 1024))[0] == photo
    with pytest.raises(TemporaryFailure):
        await client_with(media_server(photo, sha256="0" * 64)).download("1398475610293847", 1024)


async def test_download_refuses_files_over_the_limit() -> None:
    photo = b"x" * 2048
    with pytest.raises(Rejected):
        await client_with(media_server(photo)).download("1398475610293847", max_bytes=1000)
    with pytest.raises(Rejected):  # size given as a string, as some API versions do
        await client_with(media_server(photo, file_size="2048")).download("1398475610293847",
                                                                         1000)
    with pytest.raises(Rejected):  # size not announced: stopped while reading
        await client_with(media_server(photo, file_size="", declared_length=False)).download(
            "1398475610293847", 1000)


# -- against the fake Graph API on a socket --------------------------------------------------------


@pytest.fixture
def fake(graph_server: tuple[FakeGraph, str]) -> FakeGraph:
    graph_server[0].reset()
    return graph_server[0]


@pytest.fixture(params=["own clients", "httpx handed in"])
async def live(request: pytest.FixtureRequest, graph_server: tuple[FakeGraph, str]) -> Any:
    if request.param == "own clients":  # as bot/channels.py makes it
        client = WhatsAppClient(TOKEN, PHONE_ID, base_url=graph_server[1],
                                open_media=stored_file, connections=2, timeout_s=5)
        try:
            yield client
        finally:
            await client.aclose()
        return
    async with httpx.AsyncClient(timeout=5) as http:
        yield WhatsAppClient(TOKEN, PHONE_ID, base_url=graph_server[1], http=http,
                             open_media=stored_file)


async def test_fake_send_returns_a_wamid(fake: FakeGraph, live: WhatsAppClient) -> None:
    wamid = await live.send(text_message())
    assert wamid.startswith("wamid.")
    assert fake.sent() == [text_message().body]


@pytest.mark.parametrize(("status", "code", "error"), [
    (429, 130429, RateLimited), (400, 131056, RateLimited), (400, 131047, OutsideWindow),
    (500, 131000, TemporaryFailure), (400, 100, Rejected), (400, 131026, RecipientUnavailable),
])
async def test_fake_failures_are_mapped(fake: FakeGraph, live: WhatsAppClient, status: int,
                                        code: int, error: type[ChannelError]) -> None:
    fake.fail(status=status, code=code, retry_after=3 if status == 429 else None)
    with pytest.raises(error) as caught:
        await live.send(text_message())
    if status == 429:
        assert isinstance(caught.value, RateLimited) and caught.value.retry_after == 3
    assert (await live.send(text_message())).startswith("wamid.")  # only one failure scripted


async def test_fake_rejects_a_wrong_token(graph_server: tuple[FakeGraph, str]) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        client = WhatsAppClient("wrong-token", PHONE_ID, base_url=graph_server[1], http=http)
        with pytest.raises(Rejected) as caught:
            await client.send(text_message())
    assert caught.value.code == 190


@pytest.mark.parametrize("own", [True, False], ids=["own clients", "httpx handed in"])
async def test_fake_timeout_is_temporary(
        fake: FakeGraph, graph_server: tuple[FakeGraph, str], own: bool) -> None:
    fake.delay(0.5)
    async with httpx.AsyncClient(timeout=0.1) as http:
        client = WhatsAppClient(TOKEN, PHONE_ID, base_url=graph_server[1], timeout_s=0.1,
                                http=None if own else http)
        with pytest.raises(TemporaryFailure) as caught:
            await client.send(text_message())
        await client.aclose()
    # The request went out: the message may have been taken (campaigns do not resend it).
    assert caught.value.maybe_delivered
    fake.delay(0)
    # The server still answers the abandoned call half a second later: wait for it here, or it
    # lands among the next test's calls (the fake is shared by the module).
    await asyncio.to_thread(wait_for, lambda: fake.calls("message"), 3.0, "the late answer")


async def test_fake_upload_and_send_stored_document(fake: FakeGraph,
                                                    live: WhatsAppClient) -> None:
    reply = Reply(text="Bukti", media=Media(kind="document", ref="var/media/bukti.pdf",
                                            filename="bukti.pdf"))
    await live.send(render(reply, TO)[0])
    [upload] = fake.calls("upload")
    assert upload.body["type"] == "application/pdf"
    [sent] = fake.sent()
    assert fake.media(sent["document"]["id"]) == (b"%PDF-1.4 bukti pendaftaran",
                                                  "application/pdf")


async def test_fake_media_download(fake: FakeGraph, live: WhatsAppClient) -> None:
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
    fake.add_media("1398475610293847", photo, "image/jpeg")
    assert await live.download("1398475610293847", max_bytes=10_000) == (photo, "image/jpeg")
    with pytest.raises(Rejected):
        await live.download("1398475610293847", max_bytes=100)
    fake.add_media("1398475610293847", photo, "image/jpeg", sha256="ab" * 32)
    with pytest.raises(TemporaryFailure):
        await live.download("1398475610293847", max_bytes=10_000)
    with pytest.raises(Rejected):
        await live.download("999", max_bytes=10_000)


async def test_fake_accepts_every_rendered_form(fake: FakeGraph, live: WhatsAppClient) -> None:
    replies = [
        Reply(text="Halo " * 1000),
        Reply(text="Pilih", options=(Option("Ya", "/affirm"), Option("Tidak", "/deny"))),
        Reply(text="Pilih", options=tuple(Option(f"Layanan kependudukan ke-{i} lengkap", f"/s{i}")
                                          for i in range(10))),
        Reply(text="Pilih", options=tuple(Option(f"Opsi {i}", f"/o{i}") for i in range(12))),
        Reply(text="Lokasi kejadian?", request_location=True),
        Reply(text="Peta", media=Media(kind="image", url="https://pintu.example/peta.png")),
        Reply(text="Bukti", media=Media(kind="document", ref="var/media/bukti.pdf")),
    ]
    count = 0
    for reply in replies:
        for message in render(reply, TO):
            await live.send(message)
            count += 1
    assert len(fake.sent()) == count


async def test_own_clients_nobody_listening_is_temporary_and_surely_not_sent() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = WhatsAppClient(TOKEN, PHONE_ID, base_url=f"http://127.0.0.1:{port}", timeout_s=2)
    try:
        with pytest.raises(TemporaryFailure) as caught:
            await client.send(text_message())
        assert not caught.value.maybe_delivered
        with pytest.raises(TemporaryFailure):
            await client.mark_read("wamid.abc")
    finally:
        await client.aclose()


async def test_own_clients_send_side_by_side_and_close(
        fake: FakeGraph, graph_server: tuple[FakeGraph, str]) -> None:
    client = WhatsAppClient(TOKEN, PHONE_ID, base_url=graph_server[1], connections=3)
    numbers = [f"62812000000{n:02d}" for n in range(12)]
    wamids = await asyncio.gather(*(client.send(render(Reply(text=f"pesan {n}"), number)[0])
                                    for n, number in enumerate(numbers)))
    assert len(set(wamids)) == 12
    assert sorted(body["to"] for body in fake.sent()) == numbers
    await client.mark_read("wamid.abc")
    assert fake.calls("read")[0].body["message_id"] == "wamid.abc"
    await client.aclose()
    await client.aclose()  # twice is harmless (shutdown paths may overlap)


def test_proxy_from_the_environment_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The messages' session uses the HTTPS_PROXY an operator sets, as httpx does, unless
    NO_PROXY names Graph's host."""
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert WhatsAppClient(TOKEN, PHONE_ID)._proxy is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.pemkot.example:3128")
    assert WhatsAppClient(TOKEN, PHONE_ID)._proxy == "http://proxy.pemkot.example:3128"
    monkeypatch.setenv("NO_PROXY", "graph.facebook.com")
    assert WhatsAppClient(TOKEN, PHONE_ID)._proxy is None
