"""What the NLU understood of each resident's message is kept for the admins' review (issue 5):
through a real gateway (webhook, queue, worker, fake Rasa with the pintu channel, fake Bot API)
on real PostgreSQL and Redis."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.models import Message, Prediction
from tests.gateway.fakes import FakeRasa, understood

from .conftest import Gateway, fixture, text_update, wait_for

pytestmark = pytest.mark.integration

NIK = "3671015503920008"


def unsure(body: dict[str, Any]) -> dict[str, Any]:
    return {**understood(body), "intent": "kk", "confidence": 0.41,
            "intent_ranking": [{"name": "kk", "confidence": 0.41},
                               {"name": "ktp", "confidence": 0.38}]}



def test_an_unsure_answer_is_recorded_masked_after_the_reply(make_gateway: Any) -> None:
    gw: Gateway = make_gateway(FakeRasa(understand=unsure))
    gw.telegram_update(text_update(f"nik {NIK} kok belum jadi", 70001))
    wait_for(lambda: gw.telegram.calls("sendMessage"), what="the reply")
    rows = wait_for(lambda: gw.rows(select(
        Prediction.text, Prediction.intent, Prediction.confidence, Prediction.review,
        Prediction.model_version, Prediction.channel, Message.direction)
        .join(Message, Message.id == Prediction.message_id)), what="the prediction")
    (text, intent, confidence, review, model, channel, direction), = rows
    assert NIK not in text and text.startswith("nik ") and len(text) == len(f"nik {NIK} kok "
                                                                           "belum jadi")
    assert (intent, review, model, channel, direction) == ("kk", "pending", "test-model",
                                                           "telegram", "in")
    assert confidence == pytest.approx(0.41)


def test_a_sure_answer_is_recorded_but_not_queued_and_a_button_not_at_all(
        make_gateway: Any) -> None:
    gw: Gateway = make_gateway(FakeRasa())
    gw.telegram_update(text_update("halo min", 70011))
    wait_for(lambda: gw.rows("SELECT 1 FROM nlu_predictions"), what="the prediction")
    gw.telegram_update(fixture("telegram", "callback_query"))  # a button: nothing was guessed
    wait_for(lambda: len(gw.telegram.calls("sendMessage")) >= 2, what="both replies")
    assert gw.rows(select(Prediction.text, Prediction.review)) == [("halo min", "none")]


def test_a_database_outage_costs_the_resident_nothing_and_loses_no_prediction(
        make_gateway: Any, caplog: pytest.LogCaptureFixture) -> None:
    from sqlalchemy import text

    gw: Gateway = make_gateway(FakeRasa(understand=unsure))
    with gw.services.engine.begin() as conn:  # the table is gone while residents write
        conn.execute(text("ALTER TABLE nlu_predictions RENAME TO nlu_predictions_gone"))
    try:
        gw.telegram_update(text_update("gimana caranya ya", 70021))
        wait_for(lambda: gw.telegram.calls("sendMessage"), what="the reply")
        gw.telegram_update(text_update("halo", 70022))
        wait_for(lambda: len(gw.telegram.calls("sendMessage")) >= 2, what="the next reply")
        wait_for(lambda: "predictions not recorded yet" in caplog.text, what="the log line")
    finally:
        with gw.services.engine.begin() as conn:
            conn.execute(text("ALTER TABLE nlu_predictions_gone RENAME TO nlu_predictions"))
    rows = wait_for(lambda: gw.rows(select(Prediction.text).order_by(Prediction.id)),
                    what="the rows, once the table is back")
    assert [r[0] for r in rows] == ["gimana caranya ya", "halo"]
