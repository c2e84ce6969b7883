"""Choosing topics in chat, the gateway's side (issue 6, consent): `/internal/v1/consent/topics`
gives the action the topics with the exact words their consent is stored with, the kecamatan of
the resident's outreach link, and what is already on; pressing or typing the button records those
same words (real gateway, fake Rasa and Bot API, real PostgreSQL and Redis)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.outreach import links
from tests.gateway.fakes import FakeRasa

from .conftest import Gateway, fixture, text_update, wait_for
from .test_outreach_links import start_update

pytestmark = pytest.mark.integration

CHAT = "5123456789"
SENDER = f"telegram:{CHAT}"
INTERNAL = {"Authorization": "Bearer dev-internal-token"}


def topics(gw: Gateway, kecamatan: str | None = None, sender: str = SENDER) -> dict[str, Any]:
    answer = gw.http.post("/internal/v1/consent/topics", headers=INTERNAL,
                          json={"sender_id": sender, "kecamatan": kecamatan})
    assert answer.status_code == 200
    return dict(answer.json())


def test_the_links_kecamatan_is_offered_and_the_pressed_button_stores_the_words_shown(
        make_gateway: Any) -> None:
    offered: dict[str, Any] = {}

    def menu(body: dict[str, Any]) -> list[dict[str, Any]]:  # what action_subscribe shows
        if not offered:
            return [{"recipient_id": body["sender"], "text": "Selamat datang"}]
        return [{"recipient_id": body["sender"], "text": "Pilih kabar",
                 "buttons": [{"title": t["title"], "payload": t["payload"]}
                             for t in offered["topics"]]}]

    gw: Gateway = make_gateway(FakeRasa(menu))
    with gw.services.sessions.begin() as session:
        links.create(session, "kelurahan", "Poris Plawad", None)
    assert gw.http.post("/internal/v1/consent/topics",
                        json={"sender_id": SENDER}).status_code == 401
    assert topics(gw)["kecamatan"] is None  # not known yet: nothing to offer for a place
    gw.telegram_update(start_update("kel-poris-plawad", 94001))
    wait_for(lambda: gw.rows("SELECT 1 FROM outreach_visits"), what="the visit")
    offered.update(topics(gw))
    assert offered["kecamatan"] == "Cipondoh"
    assert [(t["topic"], t["title"], t["active"]) for t in offered["topics"]] == [
        ("city_news", "Info & berita kota", False),
        ("kecamatan:cipondoh", "Kec. Cipondoh", False),
        ("own_updates", "Status urusan saya", False)]
    assert len(offered["all_kecamatan"]) == 13

    gw.telegram_update(text_update("mau langganan info", 94002))  # Rasa shows the buttons
    wait_for(lambda: len(gw.rasa.received) == 2, what="the subscribe turn")
    wait_for(lambda: len(gw.telegram.calls("sendMessage")) >= 2, what="the topic buttons")
    gw.telegram_update(text_update("2", 94003))  # typed: the second button, the kecamatan
    press = fixture("telegram", "callback_query")
    press["callback_query"]["data"] = offered["topics"][0]["payload"]  # pressed: city news
    gw.telegram_update(press)
    wait_for(lambda: len(gw.rows("SELECT 1 FROM consents")) == 2, what="two consents")
    stored = dict(gw.rows("SELECT topic, wording FROM consents"))
    assert stored == {t["topic"]: t["wording"] for t in offered["topics"][:2]}
    assert len(gw.rasa.received) == 2  # the answers never reached Rasa
    after = topics(gw)
    assert [t["active"] for t in after["topics"]] == [True, True, False]


@pytest.mark.parametrize(("named", "kecamatan"), [
    ("cipondok", "Cipondoh"), ("Kec. Karang Tengah", "Karangtengah"),
    ("poris plawad", "Cipondoh"), ("jakarta", None), ("", None),
])
def test_a_named_place_is_read_as_its_kecamatan(make_gateway: Any, named: str,
                                                kecamatan: str | None) -> None:
    gw: Gateway = make_gateway()
    offered = topics(gw, named, sender="telegram:1")
    assert offered["kecamatan"] == kecamatan
    assert len(offered["topics"]) == (3 if kecamatan else 2)
    assert gw.rows("SELECT 1 FROM contacts") == []  # asking creates nobody
