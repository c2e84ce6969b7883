"""The `subscribe` action with real Trackers and a fake gateway: topics offered as buttons with
the exact words each consent is stored with, a kecamatan asked for or taken from the message or
the resident's link, and an honest answer when the gateway is away; and the greeting of a
resident who came through a kelurahan's poster, which offers that kecamatan's announcements."""

from __future__ import annotations

import json
from typing import Any

import httpx
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import ActionGreet
from actions.subscribe import UNAVAILABLE, ActionSubscribe

from .conftest import FakeServer, make_tracker

SENDER = "telegram:5123456789"
KECAMATAN = ["Batuceper", "Benda", "Cibodas", "Ciledug", "Cipondoh", "Jatiuwung", "Karangtengah",
             "Karawaci", "Larangan", "Neglasari", "Periuk", "Pinang", "Tangerang"]
WORDS = {"city_news": "Saya setuju menerima info dan berita Pemkot Tangerang di chat ini.",
         "own_updates": "Saya setuju menerima kabar status dokumen dan laporan saya di chat ini."}


def offer(kecamatan: str | None, active: tuple[str, ...] = ()) -> dict[str, Any]:
    """What the gateway answers (bot/outreach/topics.py)."""
    topics = ["city_news", "own_updates"]
    if kecamatan:
        topics.insert(1, f"kecamatan:{kecamatan.lower()}")
    titles = {"city_news": "Info & berita kota", "own_updates": "Status urusan saya"}
    return {"topics": [
        {"topic": t, "title": titles.get(t, f"Kec. {kecamatan}"), "payload": f"#pintu:consent:{t}",
         "wording": WORDS.get(t, f"Saya setuju menerima pengumuman untuk Kecamatan {kecamatan} "
                                 "di chat ini."), "active": t in active} for t in topics],
        "kecamatan": kecamatan, "decline_payload": "#pintu:consent:no",
        "all_kecamatan": KECAMATAN}


def answering(gateway: FakeServer, active: tuple[str, ...] = (), link: str | None = None) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        named = json.loads(request.content).get("kecamatan")
        return httpx.Response(200, json=offer(named or link, active))
    gateway.on("POST", "/internal/v1/consent/topics", handler=handler)


def shown(dispatcher: CollectingDispatcher) -> tuple[str, list[tuple[str, str]]]:
    text = "\n".join(m.get("text") or "" for m in dispatcher.messages)
    return text, [(b["title"], b["payload"]) for m in dispatcher.messages
                  for b in m.get("buttons") or []]


async def run(tracker: Any, domain: dict[str, Any]) -> tuple[CollectingDispatcher, list[Any]]:
    dispatcher = CollectingDispatcher()
    events = await ActionSubscribe().run(dispatcher, tracker, domain)
    return dispatcher, events


async def test_topics_are_offered_as_buttons_with_the_words_stored(
        gateway: FakeServer, domain: dict[str, Any]) -> None:
    answering(gateway)
    dispatcher, events = await run(make_tracker("mau dapat info kota", "subscribe",
                                                sender=SENDER), domain)
    text, buttons = shown(dispatcher)
    assert buttons == [("Info & berita kota", "#pintu:consent:city_news"),
                       ("Status urusan saya", "#pintu:consent:own_updates"),
                       ("Pengumuman kecamatan", '/subscribe{"choice": "kecamatan"}'),
                       ("Tidak sekarang", "#pintu:consent:no")]
    assert WORDS["city_news"] in text and WORDS["own_updates"] in text
    assert "STOP" in text
    assert all(len(title) <= 20 for title, _ in buttons)  # WhatsApp's reply-button limit
    assert gateway.bodies("/internal/v1/consent/topics") == [
        {"sender_id": SENDER, "kecamatan": None}]
    assert SlotSet("choice", None) in events


async def test_the_kecamatan_of_the_residents_link_is_offered_directly(
        gateway: FakeServer, domain: dict[str, Any]) -> None:
    answering(gateway, active=("city_news",), link="Cipondoh")
    dispatcher, _ = await run(make_tracker("langganan pengumuman", "subscribe", sender=SENDER),
                              domain)
    text, buttons = shown(dispatcher)
    assert [title for title, _ in buttons] == [
        "Kec. Cipondoh", "Status urusan saya", "Kecamatan lain", "Tidak sekarang"]
    assert ("Kec. Cipondoh", "#pintu:consent:kecamatan:cipondoh") in buttons
    assert "Saya setuju menerima pengumuman untuk Kecamatan Cipondoh di chat ini." in text
    assert WORDS["city_news"] not in text  # already on: not offered again


async def test_a_kecamatan_is_asked_for_then_confirmed_with_its_own_words(
        gateway: FakeServer, domain: dict[str, Any]) -> None:
    answering(gateway)
    dispatcher, _ = await run(make_tracker('/subscribe{"choice": "kecamatan"}', "subscribe",
                                           entities=[{"entity": "choice",
                                                      "value": "kecamatan"}],
                                           sender=SENDER), domain)
    _, buttons = shown(dispatcher)
    assert [title for title, _ in buttons] == KECAMATAN
    assert buttons[6] == ("Karangtengah", '/subscribe{"choice": "kec:Karangtengah"}')
    dispatcher, _ = await run(make_tracker(buttons[6][1], "subscribe",
                                           entities=[{"entity": "choice",
                                                      "value": "kec:Karangtengah"}],
                                           sender=SENDER), domain)
    text, buttons = shown(dispatcher)
    assert buttons == [("Ya, setuju", "#pintu:consent:kecamatan:karangtengah"),
                       ("Tidak sekarang", "#pintu:consent:no")]
    assert "Saya setuju menerima pengumuman untuk Kecamatan Karangtengah di chat ini." in text
    assert gateway.bodies("/internal/v1/consent/topics")[-1]["kecamatan"] == "Karangtengah"


async def test_a_kecamatan_named_in_the_message_is_passed_to_the_gateway(
        gateway: FakeServer, domain: dict[str, Any]) -> None:
    answering(gateway)
    tracker = make_tracker("mau info pengumuman kecamatan benda", "subscribe", sender=SENDER,
                           entities=[{"entity": "kecamatan", "value": "Benda"}])
    dispatcher, _ = await run(tracker, domain)
    assert gateway.bodies("/internal/v1/consent/topics")[0]["kecamatan"] == "Benda"
    assert ("Kec. Benda", "#pintu:consent:kecamatan:benda") in shown(dispatcher)[1]


async def test_everything_on_says_so_and_offers_another_kecamatan(
        gateway: FakeServer, domain: dict[str, Any]) -> None:
    answering(gateway, active=("city_news", "kecamatan:benda", "own_updates"), link="Benda")
    dispatcher, _ = await run(make_tracker("langganan", "subscribe", sender=SENDER), domain)
    text, buttons = shown(dispatcher)
    assert "sudah menerima" in text and "STOP" in text
    assert buttons == [("Kecamatan lain", '/subscribe{"choice": "kecamatan"}')]


async def test_without_the_gateway_the_resident_is_told_honestly(
        gateway: FakeServer, domain: dict[str, Any]) -> None:
    gateway.on("POST", "/internal/v1/consent/topics", status=503, body={})
    dispatcher, events = await run(make_tracker("langganan info", "subscribe", sender=SENDER),
                                   domain)
    assert shown(dispatcher) == (UNAVAILABLE, [])
    assert SlotSet("choice", None) in events


async def test_a_poster_newcomer_is_greeted_then_offered_the_kecamatan_announcements(
        gateway: FakeServer, domain: dict[str, Any]) -> None:
    answering(gateway)
    tracker = make_tracker('/greet{"choice": "kec:Cipondoh"}', "greet", sender=SENDER,
                           entities=[{"entity": "choice", "value": "kec:Cipondoh"}])
    dispatcher = CollectingDispatcher()
    events = await ActionGreet().run(dispatcher, tracker, domain)
    assert len(dispatcher.messages) == 2
    assert "selamat datang" in dispatcher.messages[0]["text"]  # the menu first, unchanged
    text, buttons = shown(dispatcher)
    assert buttons[-2:] == [("Ya, setuju", "#pintu:consent:kecamatan:cipondoh"),
                            ("Tidak sekarang", "#pintu:consent:no")]
    assert "Saya setuju menerima pengumuman untuk Kecamatan Cipondoh di chat ini." in text
    assert SlotSet("choice", None) in events


async def test_the_greeting_alone_when_the_topic_is_on_or_the_gateway_is_away(
        gateway: FakeServer, domain: dict[str, Any]) -> None:
    tracker = make_tracker('/greet{"choice": "kec:Benda"}', "greet", sender=SENDER,
                           entities=[{"entity": "choice", "value": "kec:Benda"}])
    answering(gateway, active=("kecamatan:benda",))
    dispatcher = CollectingDispatcher()
    await ActionGreet().run(dispatcher, tracker, domain)
    assert len(dispatcher.messages) == 1
    gateway.on("POST", "/internal/v1/consent/topics", status=503, body={})
    dispatcher = CollectingDispatcher()
    await ActionGreet().run(dispatcher, tracker, domain)
    assert len(dispatcher.messages) == 1
    dispatcher = CollectingDispatcher()
    events = await ActionGreet().run(dispatcher, make_tracker("halo", "greet"), domain)
    assert SlotSet("choice", None) not in events
    assert len(gateway.bodies("/internal/v1/consent/topics")) == 2  # a plain hello asks nothing
