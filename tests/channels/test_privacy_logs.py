"""No NIK, phone number or message text reaches the INFO logs, on good paths and bad ones."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.fakes.graph_api import text_message, webhook_payload
from tests.fakes.telegram_api import DEFAULT_TOKEN
from tests.gateway.fakes import FakeRasa

from .conftest import WA_APP_SECRET, WA_TOKEN, Gateway, fixture, wait_for

pytestmark = pytest.mark.integration

NIK = "3671015503920008"
PHONE = "081298765432"
WA_ID = "6281355501234"
SECRET_WORDS = "rumah saya kebanjiran tolong"


def test_personal_data_stays_out_of_info_logs(make_gateway: Any,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    rasa = FakeRasa(lambda body: [{"text": f"NIK {NIK} diterima"}])
    gw: Gateway = make_gateway(rasa, send_max_attempts=2)
    text = f"{SECRET_WORDS} nik {NIK} hp {PHONE}"
    update = fixture("telegram", "text")
    update["message"]["text"] = text
    gw.telegram_update(update)
    gw.whatsapp_post(webhook_payload([text_message(WA_ID, text)]))
    wait_for(lambda: len(rasa.received) == 2, what="both messages at Rasa")
    wait_for(lambda: gw.graph.sent() and gw.telegram.calls("sendMessage"), what="replies")
    # Bad paths log too: refused webhooks, Rasa down, a send given up.
    gw.telegram_update(update, secret="wrong")
    gw.whatsapp_post(webhook_payload([text_message(WA_ID, text)]), signature="sha256=00")
    rasa.status_code = 503
    gw.telegram.fail("sendMessage", status=500, count=10)
    update2 = {**update, "update_id": update["update_id"] + 1,
               "message": {**update["message"], "message_id": 9999}}
    gw.telegram_update(update2)
    wait_for(lambda: gw.rows("SELECT 1 FROM dead_letters"), what="the apology given up")
    logged = caplog.text
    assert "rasa unavailable" in logged and "refused" in logged  # the logs did capture
    for secret in (NIK, PHONE, WA_ID, SECRET_WORDS, "kebanjiran", DEFAULT_TOKEN, WA_TOKEN,
                   WA_APP_SECRET):
        assert secret not in logged, secret


def test_the_log_handler_masks_what_slips_through() -> None:
    from bot.logs import RedactingFilter

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "nik %s hp %s url %s", (
        NIK, PHONE, f"https://api.telegram.org/bot{DEFAULT_TOKEN}/sendMessage"), None)
    RedactingFilter().filter(record)
    message = record.getMessage()
    assert NIK not in message and PHONE not in message and DEFAULT_TOKEN not in message
    assert "<16 digit>" in message and "<phone>" in message
