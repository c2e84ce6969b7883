"""Consent to unasked messages (issue 6, first slice): STOP and MULAI through a real gateway
(webhook, queue, worker, fake Rasa, fake Bot API) on real PostgreSQL and Redis."""

from __future__ import annotations

from typing import Any

import pytest

from bot.outreach import consent

from .conftest import Gateway, fixture, text_update, wait_for

pytestmark = pytest.mark.integration

CHAT = "5123456789"


@pytest.mark.parametrize(("text", "word"), [
    ("STOP", "stop"), ("stop!!", "stop"), ("Berhentiii", "stop"), (" berhenti langganan ", "stop"),
    ("unsubscribe", "stop"), ("MULAI", "start"), ("langganan.", "start"),
    ("berhenti merokok gimana caranya", None), ("stop kontak", None), ("mulai kapan ppdb", None),
    ("", None),
])
def test_only_a_whole_message_of_the_word_counts(text: str, word: str | None) -> None:
    assert consent.keyword(text) == word



def replies(gw: Gateway, n: int) -> list[str]:
    calls = wait_for(lambda: len(gw.telegram.calls("sendMessage")) >= n and
                     gw.telegram.calls("sendMessage"), what=f"{n} replies")
    return [str(c.params["text"]) for c in calls]


def consents(gw: Gateway) -> list[tuple[Any, ...]]:
    return gw.rows("SELECT topic, source, withdrawn_by, wording_version, "
                   "withdrawn_at IS NULL AS active FROM consents ORDER BY id")


def test_mulai_gives_consent_in_one_message_and_stop_takes_every_topic_back(
        make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    gw.telegram_update(text_update("MULAI", 81001))
    assert replies(gw, 1)[0] == consent.STARTED
    assert consents(gw) == [
        ("city_news", "start_word", None, consent.WORDING_VERSION, True),
        ("own_updates", "start_word", None, consent.WORDING_VERSION, True)]
    wording = gw.rows("SELECT wording FROM consents ORDER BY id")
    assert [w[0] for w in wording] == [consent.WORDING["city_news"],
                                       consent.WORDING["own_updates"]]
    gw.telegram_update(text_update("Stop!", 81002))
    assert replies(gw, 2)[1] == consent.STOPPED
    assert [(t, by, active) for t, _, by, _, active in consents(gw)] == [
        ("city_news", "stop_word", False), ("own_updates", "stop_word", False)]
    gw.telegram_update(text_update("mulai", 81003))  # back again: one message
    replies(gw, 3)
    assert [active for *_, active in consents(gw)] == [False, False, True, True]
    assert gw.rasa.received == []  # the words never reached Rasa
    with gw.services.sessions() as session:
        contact_id = gw.rows("SELECT id FROM contacts")[0][0]
        assert consent.may_send(session, contact_id, "city_news")
        assert not consent.may_send(session, contact_id, "kecamatan:cipondoh")


def test_a_sentence_with_the_word_goes_to_the_bot(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    gw.telegram_update(text_update("berhenti merokok gimana caranya", 81011))
    assert replies(gw, 1)[0] == "echo: berhenti merokok gimana caranya"
    assert consents(gw) == []


def test_a_blocked_bot_withdraws_every_consent(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    gw.telegram_update(text_update("mulai", 81021))
    replies(gw, 1)
    gw.telegram.fail("sendMessage", status=403)
    gw.telegram_update(text_update("halo", 81022))
    wait_for(lambda: gw.rows("SELECT 1 FROM dead_letters"), what="a dead letter")
    assert gw.rows("SELECT status FROM contacts") == [("stopped",)]
    assert [(by, active) for *_, by, _, active in consents(gw)] == [("blocked", False)] * 2
    with gw.services.sessions() as session:
        assert not consent.may_send(session, gw.rows("SELECT id FROM contacts")[0][0],
                                    "city_news")


def test_stop_while_the_database_is_away_is_kept_and_confirmed_later(
        make_gateway: Any, caplog: pytest.LogCaptureFixture) -> None:
    from sqlalchemy import text

    gw: Gateway = make_gateway()
    gw.telegram_update(text_update("mulai", 81031))
    replies(gw, 1)
    with gw.services.engine.begin() as conn:
        conn.execute(text("ALTER TABLE consents RENAME TO consents_gone"))
    try:
        gw.telegram_update(text_update("STOP", 81032))
        wait_for(lambda: "consent keyword not recorded yet" in caplog.text, what="the log")
        assert len(gw.telegram.calls("sendMessage")) == 1  # nothing confirmed yet
    finally:
        with gw.services.engine.begin() as conn:
            conn.execute(text("ALTER TABLE consents_gone RENAME TO consents"))
    assert replies(gw, 2)[1] == consent.STOPPED
    assert [active for *_, active in consents(gw)] == [False, False]


def test_the_unsubscribe_intent_withdraws_through_the_internal_api(make_gateway: Any) -> None:
    from .test_handoff_flow import INTERNAL

    gw: Gateway = make_gateway()
    gw.telegram_update(text_update("mulai", 81041))
    replies(gw, 1)
    refused = gw.http.post("/internal/v1/consent/stop", json={"sender_id": f"telegram:{CHAT}"})
    assert refused.status_code == 401
    assert gw.http.post("/internal/v1/consent/stop", headers=INTERNAL,
                        json={"sender_id": "no-channel"}).status_code == 422
    answer = gw.http.post("/internal/v1/consent/stop", headers=INTERNAL,
                          json={"sender_id": f"telegram:{CHAT}"})
    assert answer.json() == {"withdrawn": 2, "message": consent.STOPPED}
    assert [(by, active) for *_, by, _, active in consents(gw)] == [("intent", False)] * 2


@pytest.mark.parametrize(("payload", "topic"), [
    ("#pintu:consent:own_updates", "own_updates"), ("#pintu:consent:city_news", "city_news"),
    ("#pintu:consent:kecamatan:cipondoh", "kecamatan:cipondoh"), ("#pintu:consent:no", "no"),
    ("#pintu:consent:kecamatan:", None), ("#pintu:consent:everything", None),
    ("/subscribe", None), ("own_updates", None),
])
def test_consent_buttons_name_known_topics_only(payload: str, topic: str | None) -> None:
    assert consent.payload_topic(payload) == topic


def test_a_consent_button_pressed_or_typed_by_number_is_recorded_by_the_gateway(
        make_gateway: Any) -> None:
    from tests.gateway.fakes import FakeRasa

    def ask(body: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"recipient_id": body["sender"], "text": "Kirim kabar status ke chat ini?",
                 "buttons": [{"title": "Ya", "payload": "#pintu:consent:own_updates"},
                             {"title": "Tidak", "payload": "#pintu:consent:no"}]}]

    gw: Gateway = make_gateway(FakeRasa(ask))
    gw.telegram_update(text_update("lapor", 81051))
    replies(gw, 1)
    gw.telegram_update(text_update("1", 81052))  # the numbered fallback of "Ya"
    assert replies(gw, 2)[1] == consent.GRANTED["own_updates"]
    assert [(t, s, active) for t, s, _, _, active in consents(gw)] == [
        ("own_updates", "button", True)]
    assert gw.rows("SELECT wording FROM consents")[0][0] == consent.WORDING["own_updates"]
    callback = fixture("telegram", "callback_query")
    callback["callback_query"]["data"] = "#pintu:consent:kecamatan:cipondoh"
    gw.telegram_update(callback)
    wait_for(lambda: len(consents(gw)) == 2, what="the kecamatan consent")
    assert consents(gw)[1][0] == "kecamatan:cipondoh"
    assert "Kecamatan Cipondoh" in replies(gw, 3)[2]
    assert [b["message"] for b in gw.rasa.received] == ["lapor"]  # no answer reached Rasa
