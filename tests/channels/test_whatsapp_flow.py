"""WhatsApp end to end through a real gateway: signed webhooks, queue, worker, fake Rasa, sender,
fake Graph API (real PostgreSQL and Redis)."""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

import pytest

from tests.fakes.graph_api import (
    encode,
    image_message,
    new_wamid,
    sign,
    status_update,
    text_message,
    webhook_payload,
)
from tests.gateway.fakes import FakeRasa

from .conftest import WA_APP_SECRET, WA_VERIFY, Gateway, fixture, wait_for

pytestmark = pytest.mark.integration

WA_ID = "6281234567890"


def menu_reply(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"text": "Pilih layanan:",
             "buttons": [{"title": "Cek status KTP", "payload": "/ktp"},
                         {"title": "Pengaduan", "payload": "/complaint"}]}]


def test_handshake_answers_the_challenge_only_with_the_right_token(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    ok = gw.http.get("/webhooks/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": WA_VERIFY, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    bad = gw.http.get("/webhooks/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"})
    assert bad.status_code == 403


def test_a_message_gets_one_reply_with_reply_buttons(make_gateway: Any) -> None:
    gw: Gateway = make_gateway(FakeRasa(menu_reply))
    assert gw.whatsapp_post(fixture("whatsapp", "text")).status_code == 200
    body = wait_for(lambda: gw.graph.sent(), what="a reply")[0]
    assert body["type"] == "interactive"
    assert body["interactive"]["type"] == "button"
    titles = [b["reply"]["title"] for b in body["interactive"]["action"]["buttons"]]
    assert titles == ["Cek status KTP", "Pengaduan"]
    assert gw.rasa.received[0]["message"] == "ktp saya sudah jadi belum"


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "md5=abc", "garbage"])
def test_a_bad_signature_is_refused_logged_and_nothing_is_processed(
        make_gateway: Any, caplog: pytest.LogCaptureFixture, signature: str) -> None:
    gw: Gateway = make_gateway()
    response = gw.whatsapp_post(fixture("whatsapp", "text"), signature=signature)
    assert response.status_code == 401
    time.sleep(0.3)
    assert gw.rasa.received == [] and gw.graph.sent() == []
    assert "X-Hub-Signature-256" in caplog.text


def test_a_body_signed_with_another_secret_is_refused(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    assert gw.whatsapp_post(fixture("whatsapp", "text"), secret="other").status_code == 401


def test_the_same_message_three_times_at_once_gets_exactly_one_reply(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    body = encode(webhook_payload([text_message(WA_ID, "halo", wamid=new_wamid(WA_ID))]))
    headers = {"content-type": "application/json",
               "X-Hub-Signature-256": sign(body, WA_APP_SECRET)}
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        codes = list(pool.map(
            lambda _: gw.http.post("/webhooks/whatsapp", content=body, headers=headers)
            .status_code, range(3)))
    assert codes == [200, 200, 200]
    wait_for(lambda: gw.graph.sent(), what="a reply")
    time.sleep(0.5)
    assert len(gw.graph.sent()) == 1 and len(gw.rasa.received) == 1


def test_receipts_move_the_stored_message_forward_never_back(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    gw.whatsapp_post(webhook_payload([text_message(WA_ID, "halo")]))
    wait_for(lambda: gw.rows("SELECT channel_message_id FROM messages "
                             "WHERE direction = 'out' AND status = 'sent'"), what="sent")
    wamid = gw.graph.wamids()[0]
    for status in ("delivered", "read", "sent"):
        gw.whatsapp_post(webhook_payload(statuses=[status_update(wamid, status, WA_ID)]))
    wait_for(lambda: gw.rows("SELECT 1 FROM messages WHERE status = 'read'"), what="read")
    time.sleep(0.3)
    assert gw.rows("SELECT status FROM messages WHERE direction = 'out'") == [("read",)]


def test_a_failed_receipt_records_the_error(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    gw.whatsapp_post(webhook_payload([text_message(WA_ID, "halo")]))
    wait_for(lambda: gw.rows("SELECT 1 FROM messages WHERE direction = 'out' "
                             "AND status = 'sent'"), what="sent")
    wamid = gw.graph.wamids()[0]
    failed = fixture("whatsapp", "status_failed")
    value = failed["entry"][0]["changes"][0]["value"]
    value["statuses"][0].update(id=wamid, recipient_id=WA_ID)
    gw.whatsapp_post(failed)
    row = wait_for(lambda: gw.rows("SELECT status, error FROM messages WHERE status = 'failed'"),
                   what="failed")
    assert "131047" in row[0][1]


def test_an_image_is_downloaded_through_the_graph_api_and_stored(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    jpeg = b"\xff\xd8\xff\xe0" + b"1" * 3000
    gw.graph.add_media("1048576000000001", jpeg, "image/jpeg")
    message = image_message(WA_ID, "1048576000000001", caption="jalan rusak di cipondoh")
    message["image"].pop("sha256")  # the webhook's hash is of the real file, not of this one
    gw.whatsapp_post(webhook_payload([message]))
    body = wait_for(lambda: gw.rasa.received, what="the photo at Rasa")[0]
    ref = body["metadata"]["attachments"][0]["ref"]
    assert gw.services.media.open(ref)[0] == jpeg
    assert body["message"] == "jalan rusak di cipondoh"


def test_throttling_pauses_the_number_and_the_message_still_goes(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    gw.graph.fail(status=429, code=130429, retry_after=1)
    gw.whatsapp_post(webhook_payload([text_message(WA_ID, "halo")]))
    wait_for(lambda: gw.graph.sent(), timeout=15, what="the reply after the pause")
    calls = gw.graph.calls("message")
    assert calls[0].status != 200 and calls[-1].status == 200
    assert calls[-1].monotonic - calls[0].monotonic >= 0.9


def test_a_phone_number_rate_limit_is_obeyed(make_gateway: Any) -> None:
    gw: Gateway = make_gateway(whatsapp_rate_per_s=20)
    payload = webhook_payload([text_message(f"62812000000{n:02d}", f"halo {n}")
                               for n in range(12)])
    gw.whatsapp_post(payload)
    wait_for(lambda: len(gw.graph.sent()) == 12, timeout=20, what="twelve replies")
    times = sorted(c.monotonic for c in gw.graph.calls("message"))
    # 20 per second: slots are 50 ms apart, so the twelve sends span about 11 slots (550 ms) and
    # no five in a row arrive together. The slack is for a busy 2-core machine, where a send can
    # leave well after its slot (the slots themselves are exact: tests/gateway/test_queues.py).
    spans = [b - a for a, b in zip(times, times[4:], strict=False)]
    assert min(spans) >= 0.1, spans
    assert times[-1] - times[0] >= 0.4
