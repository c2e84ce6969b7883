"""Outreach links (issue 6, slice 4) through a real gateway (webhooks, queue, worker, fake Rasa,
fake Bot API and Graph API) on real PostgreSQL and Redis: a poster's Telegram start code and
WhatsApp prefilled words are counted, the first one a contact came through is its source, and
the newcomer is answered with the menu."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest

from bot.outreach import links
from tests.fakes.graph_api import text_message, webhook_payload

from .conftest import Gateway, fixture, text_update, wait_for

pytestmark = pytest.mark.integration

CHAT = "5123456789"
WA_ID = "6281234567890"


def start_update(param: str, update_id: int) -> dict[str, Any]:
    body = copy.deepcopy(fixture("telegram", "start_deeplink"))
    body["update_id"] = update_id
    body["message"]["message_id"] = update_id
    body["message"]["text"] = f"/start {param}"
    return body


def make_links(gw: Gateway, *wanted: tuple[str, str]) -> list[str]:
    with gw.services.sessions.begin() as session:
        return [links.create(session, kind, name, None).code for kind, name in wanted]


def visits(gw: Gateway) -> list[tuple[Any, ...]]:
    return gw.rows("SELECT l.code, v.channel, v.brought FROM outreach_visits v "
                   "JOIN outreach_links l ON l.id = v.link_id ORDER BY v.id")


def rasa_got(gw: Gateway, n: int) -> list[str]:
    wait_for(lambda: len(gw.rasa.received) >= n, what=f"{n} messages to Rasa")
    return [str(m["message"]) for m in gw.rasa.received]


def test_a_telegram_poster_link_brings_a_newcomer_once_and_later_links_only_visit(
        make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    kel, kmp = make_links(gw, ("kelurahan", "Poris Plawad"), ("campaign", "Festival Cisadane"))
    assert (kel, kmp) == ("kel-poris-plawad", "kmp-festival-cisadane")
    gw.telegram_update(start_update(kel, 91001))
    # The greeting menu, not the code; the place's kecamatan for the announcements offer.
    assert rasa_got(gw, 1) == ['/greet{"choice": "kec:Cipondoh"}']
    wait_for(lambda: visits(gw), what="the visit")
    gw.telegram_update(start_update(kmp, 91002))
    assert rasa_got(gw, 2)[1] == links.NEWCOMER_MENU
    wait_for(lambda: len(visits(gw)) == 2, what="the second visit")
    assert visits(gw) == [(kel, "telegram", True), (kmp, "telegram", False)]
    with gw.services.sessions() as session:
        contact_id = gw.rows("SELECT id FROM contacts")[0][0]
        assert links.source_of(session, contact_id) == kel  # the first link stays the source
        assert links.known_kecamatan(session, contact_id) == "Cipondoh"
        report = {r.link.code: (r.brought, r.visits) for r in links.report(session)}
    assert report == {kel: (1, 1), kmp: (0, 1)}


def test_a_resident_who_chatted_before_is_counted_as_a_visit_not_as_brought(
        make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    (kec,) = make_links(gw, ("kecamatan", "Benda"))
    gw.telegram_update(text_update("halo", 91011))
    rasa_got(gw, 1)
    wait_for(lambda: gw.rows("SELECT 1 FROM contacts"), what="the contact")
    gw.telegram_update(start_update(kec, 91012))
    assert rasa_got(gw, 2)[1] == '/greet{"choice": "kec:Benda"}'
    wait_for(lambda: visits(gw), what="the visit")
    assert visits(gw) == [(kec, "telegram", False)]


def test_service_deep_links_and_unknown_codes_are_not_counted(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    make_links(gw, ("kelurahan", "Cipondoh"))
    gw.telegram_update(start_update("laksa", 91021))
    gw.telegram_update(start_update("kel-tidak-ada", 91022))
    assert rasa_got(gw, 2) == ["/complaint", links.NEWCOMER_MENU]
    wait_for(lambda: len(gw.telegram.calls("sendMessage")) >= 2, what="two replies")
    assert visits(gw) == []


def test_whatsapp_prefilled_words_are_recognised_before_rasa(make_gateway: Any,
                                                             caplog: Any) -> None:
    caplog.set_level(logging.INFO)
    gw: Gateway = make_gateway()
    (kel,) = make_links(gw, ("kelurahan", "Sudimara Pinang"))
    words = links.PREFILLED.format(code=kel)
    assert links.whatsapp_url("0811-0000-2024", kel) == \
        "https://wa.me/6281100002024?text=Halo%20Pintu%20%28kode%3A%20kel-sudimara-pinang%29"
    gw.whatsapp_post(webhook_payload([text_message(WA_ID, words)]))
    assert rasa_got(gw, 1) == ['/greet{"choice": "kec:Pinang"}']
    wait_for(lambda: visits(gw), what="the visit")
    assert visits(gw) == [(kel, "whatsapp", True)]
    # Retyped by hand, the code still counts; the same delivery again does not.
    again = webhook_payload([text_message(WA_ID, f"halo pintu kode {kel.upper()}")])
    gw.whatsapp_post(again)
    gw.whatsapp_post(again)
    assert rasa_got(gw, 2)[1] == '/greet{"choice": "kec:Pinang"}'
    wait_for(lambda: len(visits(gw)) == 2, what="the second visit")
    wait_for(lambda: len(gw.graph.sent()) >= 2, what="two replies")
    assert len(visits(gw)) == 2
    assert WA_ID not in caplog.text and "sudimara" not in caplog.text.lower()


def test_a_question_that_only_mentions_a_code_word_goes_to_rasa(make_gateway: Any) -> None:
    gw: Gateway = make_gateway()
    gw.whatsapp_post(webhook_payload([text_message(WA_ID, "kode pos kelurahan cipondoh apa")]))
    assert rasa_got(gw, 1) == ["kode pos kelurahan cipondoh apa"]


@pytest.mark.parametrize(("text", "code"), [
    ("Halo Pintu (kode: kel-cipondoh)", "kel-cipondoh"),
    ("halo pintu kode:KMP-Festival-2026", "kmp-festival-2026"),
    ("Kode = kec-benda ya", "kec-benda"),
    ("kode booking saya ABC123", None),
    ("kel-cipondoh", None),  # the code alone, without the word, is not our words
    ("kode: kel-", None),
    ("x" * 301 + " kode: kel-cipondoh", None),
])
def test_the_code_is_found_only_in_our_words(text: str, code: str | None) -> None:
    assert links.code_in_text(text) == code


def test_codes_urls_and_refusals() -> None:
    assert links.make_code("kelurahan", "Poris Plawad Utara") == "kel-poris-plawad-utara"
    assert links.make_code("campaign", "Pekan Layanan: Dukcapil Keliling!") == \
        "kmp-pekan-layanan-dukcapil-keliling"
    assert len(links.make_code("campaign", "a" * 200)) == 64
    assert links.start_code("KEL-Cipondoh") == "kel-cipondoh"
    assert links.start_code("laksa") is None and links.start_code(None) is None
    assert links.telegram_url("@PintuTangerangBot", "kec-benda") == \
        "https://t.me/PintuTangerangBot?start=kec-benda"
    assert links.phone_digits("+62 811-0000-2024") == "6281100002024"
    assert sum(len(kel) for _, kel in links.kelurahan_choices()) == 104
