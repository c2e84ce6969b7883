"""The `subscribe` intent: the resident chooses, in chat, which messages Pintu may send unasked.

The topics, their button payloads and the exact words each consent is stored with come from the
gateway (`/internal/v1/consent/topics`); the buttons (`#pintu:consent:<topic>`) are answered by
the gateway itself, never by Rasa. A kecamatan is confirmed in a second step, with its own words.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import context
from .common import Button, PintuAction, choice, latest_entities, payload, say
from .gateway_client import GatewayError

log = logging.getLogger(__name__)

ASK_KECAMATAN = "kecamatan"  # the choice that lists every kecamatan
KEC_PREFIX = "kec:"  # the choice of one kecamatan: "kec:Cipondoh"
UNAVAILABLE = ("Maaf, pilihan langganan belum bisa dibuka. Silakan coba lagi nanti, atau ketik "
               "MULAI untuk menerima info kota dan kabar status urusan Anda.")
STOP_HINT = "Berhenti kapan saja: ketik STOP."


class ActionSubscribe(PintuAction):
    def name(self) -> str:
        return "action_subscribe"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        picked = choice(tracker) or ""
        named = picked[len(KEC_PREFIX):] if picked.startswith(KEC_PREFIX) else \
            next(iter(latest_entities(tracker, "kecamatan") +
                      latest_entities(tracker, "kelurahan")), None)
        try:
            offer = await context.gateway().consent_topics(tracker.sender_id, named)
        except GatewayError as exc:
            log.error("subscribe topics unavailable: %s", exc)
            say(dispatcher, UNAVAILABLE)
            return [SlotSet("choice", None)]
        if picked == ASK_KECAMATAN:
            say(dispatcher, "Pengumuman untuk kecamatan mana?",
                [(name, payload("subscribe", KEC_PREFIX + name))
                 for name in offer["all_kecamatan"]])
        elif picked.startswith(KEC_PREFIX) and offer.get("kecamatan"):
            confirm_kecamatan(dispatcher, offer)
        else:
            offer_topics(dispatcher, offer)
        return [SlotSet("choice", None)]


def confirm_kecamatan(dispatcher: CollectingDispatcher, offer: dict[str, Any], *,
                      intro: str | None = None) -> None:
    """The kecamatan's own words, and yes or no; `intro` asks a newcomer (and then says nothing
    when the topic is on already)."""
    name = offer["kecamatan"]
    topic = next(t for t in offer["topics"] if t["topic"].startswith("kecamatan:"))
    if topic["active"]:
        if intro is None:
            say(dispatcher, f"Anda sudah menerima pengumuman Kecamatan {name} di chat ini. "
                + STOP_HINT)
        return
    say(dispatcher, f"{intro or f'Pengumuman Kecamatan {name}.'} Dengan menekan \"Ya, "
        f"setuju\", Anda menyatakan: \"{topic['wording']}\"",
        [("Ya, setuju", topic["payload"]), ("Tidak sekarang", offer["decline_payload"])])


async def offer_link_kecamatan(dispatcher: CollectingDispatcher, sender_id: str,
                               name: str) -> None:
    """After the greeting of a resident who came through a kelurahan or kecamatan link: the
    announcements of that kecamatan, if they are not on yet. Without the gateway, nothing."""
    try:
        offer = await context.gateway().consent_topics(sender_id, name)
    except GatewayError as exc:
        log.error("kecamatan offer unavailable: %s", exc)
        return
    if offer.get("kecamatan"):
        confirm_kecamatan(dispatcher, offer, intro=(
            f"Mau menerima pengumuman Kecamatan {offer['kecamatan']} di chat ini?"))


def offer_topics(dispatcher: CollectingDispatcher, offer: dict[str, Any]) -> None:
    """Every topic not yet on, each with the words its consent is stored with."""
    pending = [t for t in offer["topics"] if not t["active"]]
    other: Button = ("Kecamatan lain" if offer.get("kecamatan") else "Pengumuman kecamatan",
                     payload("subscribe", ASK_KECAMATAN))
    if not pending:
        on = ", ".join(t["title"] for t in offer["topics"])
        say(dispatcher, f"Anda sudah menerima kabar ini di chat ini: {on}. {STOP_HINT}", [other])
        return
    lines = [f"• {t['title']}: \"{t['wording']}\"" for t in pending]
    say(dispatcher, "\n".join([
        "Pintu bisa mengirim kabar ke chat ini, gratis. Pilih satu (ulangi untuk memilih yang "
        "lain). Dengan memilih, Anda menyatakan:", *lines, STOP_HINT]),
        [*((t["title"], t["payload"]) for t in pending), other,
         ("Tidak sekarang", offer["decline_payload"])])
