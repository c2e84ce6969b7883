"""The actions keep personal data out of the logs and out of the action server's error answers
(issue 8): NIK validation errors, identity failures, agency errors and complaints run with the
canaries of `tests.shared.leaks` under a capture of every record (the actions and rasa_sdk at
DEBUG, httpx at INFO) and of stdout/stderr."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.complaints import ActionComplaintSubmit
from actions.documents import ActionDocumentStatus, ValidateDocStatusForm
from tests.shared import leaks
from tests.shared.leaks import LogCapture, assert_clean

from .conftest import FakeServer, make_tracker

SENDER = f"telegram:{leaks.TELEGRAM_CHAT}"
WORDS = f"{leaks.SENTENCES[0]}. {leaks.NAME}, {leaks.ADDRESS}, hp {leaks.PHONE_FORMS[1]}"


def status_tracker(kind: str = "ktp", text: str = leaks.KK) -> Any:
    return make_tracker(text, latest_action="doc_status_form", sender=SENDER,
                        slots={"nik": leaks.NIK, "kk_number": leaks.KK, "doc_kind": kind})


def agency_error(status: int, code: str) -> Any:
    """An agency that repeats what it was sent in its error message (some do)."""
    return lambda _r: httpx.Response(status, json={"error": {
        "code": code, "message": f"NIK {leaks.NIK} KK {leaks.KK} atas nama {leaks.NAME}"}})


def raising(_request: httpx.Request) -> httpx.Response:
    raise KeyError(f"{leaks.NIK} {leaks.NAME}")  # a bug deep in a client, quoting its input


async def test_action_flows_with_personal_data_log_none_of_it(
        agency: FakeServer, gateway: FakeServer, domain: dict[str, Any],
        leak_capture: LogCapture) -> None:
    form = ValidateDocStatusForm()
    for typed in (leaks.NIK.replace("0", "O", 1), leaks.NIK[:9], leaks.NIK + "5",
                  "9" + leaks.NIK[1:], leaks.PHONE, leaks.PHONE_FORMS[1], WORDS):
        form.validate_nik(typed, CollectingDispatcher(), make_tracker(typed, sender=SENDER),
                          domain)
        form.validate_kk_number(typed, CollectingDispatcher(),
                                make_tracker(typed, sender=SENDER), domain)
    # Identity failures, then every kind of agency error, on both document kinds.
    for route, handler in (
            ("/dukcapil/v1/ktp/status", agency_error(404, "identity_not_verified")),
            ("/dukcapil/v1/ktp/status", agency_error(400, "invalid_request")),
            ("/dukcapil/v1/ktp/status", agency_error(503, "down")),
            ("/dukcapil/v1/ktp/status", agency_error(429, "slow_down")),
            ("/dukcapil/v1/kk/members", agency_error(500, "error")),
            ("/dukcapil/v1/kk/members", lambda _r: httpx.Response(200, text=WORDS)),
            ("/dukcapil/v1/ktp/status", lambda r: (_ for _ in ()).throw(
                httpx.ConnectError(f"refused {leaks.NIK}", request=r)))):
        agency.on("POST", route, handler=handler)
        kind = "kk" if "members" in route else "ktp"
        await ActionDocumentStatus().run(CollectingDispatcher(), status_tracker(kind), domain)
    # A complaint with the canaries in its words: filed, the gateway failing, unreachable.
    slots = {"complaint_confirm": "ya", "complaint_category": "banjir",
             "complaint_description": WORDS, "complaint_kecamatan": "Cipondoh",
             "complaint_location": leaks.ADDRESS}
    tracker = make_tracker("ya", latest_action="complaint_form", slots=slots, sender=SENDER)
    for status in (200, 422, 500):
        gateway.on("POST", "/internal/v1/complaints", status=status, body={
            "ticket_id": "LKS-482913", "status": "menunggu_diteruskan", "agency": "BPBD",
            "expected_response_days": 3, "forwarded": False,
            "detail": [{"loc": ["body", "description"], "input": WORDS}]})
        await ActionComplaintSubmit().run(CollectingDispatcher(), tracker, domain)
    gateway.on("POST", "/internal/v1/complaints", handler=lambda r: (_ for _ in ()).throw(
        httpx.ReadTimeout(f"timeout {leaks.PHONE}", request=r)))
    await ActionComplaintSubmit().run(CollectingDispatcher(), tracker, domain)
    assert len(agency.requests) >= 7 and len(gateway.requests) >= 4
    leak_capture.assert_clean()


@pytest.fixture
def action_server() -> Iterator[str]:
    """rasa_sdk's own action server app (as `rasa run actions` builds it) on a free port, with
    the guards the actions package installs when rasa_sdk imports it."""
    from rasa_sdk.endpoint import create_app
    from sanic import Sanic

    import actions

    test_mode, Sanic.test_mode = Sanic.test_mode, True  # several apps of one name in a process
    app = create_app("actions")
    importlib.reload(actions)  # already imported by the tests: its guards run as in a server
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True))
    assert server is not None
    loop.run_until_complete(server.startup())
    serving = loop.create_task(server.serve_forever())

    def serve() -> None:
        with contextlib.suppress(asyncio.CancelledError):  # cancelled at the end of the test
            loop.run_until_complete(serving)

    def stop() -> None:
        server.close()
        serving.cancel()  # closing alone can leave serve_forever waiting on a busy machine

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(stop)
    thread.join(timeout=60)
    assert not thread.is_alive(), "the action server did not stop"
    loop.close()
    Sanic.test_mode = test_mode


def test_a_failing_action_answers_without_the_tracker_or_the_message(
        agency: FakeServer, domain: dict[str, Any], action_server: str,
        leak_capture: LogCapture) -> None:
    agency.on("POST", "/dukcapil/v1/ktp/status", handler=raising)
    tracker = status_tracker()
    call = {"next_action": "action_document_status", "sender_id": SENDER, "version": "3.6.21",
            "domain": domain, "tracker": {
                "sender_id": SENDER, "slots": tracker.slots, "latest_message": {
                    "text": WORDS, "intent": {"name": "inform", "confidence": 0.99},
                    "entities": [], "metadata": {}},
                "events": [{"event": "user", "text": WORDS, "parse_data": {}}],
                "paused": False, "followup_action": None, "active_loop": {},
                "latest_action_name": "doc_status_form"}}
    answer = httpx.post(f"{action_server}/webhook", json=call, timeout=10)
    assert answer.status_code == 500  # Rasa sees the failure as before
    assert answer.json() == {"error": "action action_document_status failed (KeyError)",
                             "action_name": "action_document_status"}
    assert_clean(json.dumps(answer.json()), "the action server's error answer")
    leak_capture.assert_clean()
    assert leak_capture.contains("action action_document_status failed: KeyError")
