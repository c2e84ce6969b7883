"""What every Pintu action shares: the reply helper, menus, and the base class."""

from __future__ import annotations

import json
import logging
import os
from abc import ABCMeta, abstractmethod
from collections.abc import Sequence
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

log = logging.getLogger(__name__)

Button = tuple[str, str]  # (title, payload)


def payload(intent: str, choice: str | None = None) -> str:
    """A button payload that triggers an intent directly, optionally with a choice."""
    if choice is None:
        return f"/{intent}"
    return f"/{intent}{json.dumps({'choice': choice})}"


MAIN_MENU: Sequence[Button] = (
    ("KTP-el", payload("ktp")),
    ("Kartu Keluarga", payload("kk")),
    ("Akta kelahiran", payload("birth_certificate")),
    ("Lapor masalah", payload("complaint")),
    ("Cek status laporan", payload("request_status")),
    ("Ambil antrean", payload("queue_booking")),
    ("Kesehatan & RS", payload("health_service")),
    ("Pajak & PDAM", payload("tax_payment")),
    ("Layanan lain", payload("help", "more")),
    ("Darurat", payload("emergency")),
)

MORE_MENU: Sequence[Button] = (
    ("Lowongan kerja", payload("job_info")),
    ("Sekolah (PPDB)", payload("school_enrollment")),
    ("Akun Tangerang LIVE", payload("account_registration")),
    ("Alamat & jam kantor", payload("office_info")),
    ("Akta kematian", payload("death_certificate")),
    ("Pindah domisili", payload("relocation")),
    ("Info & berita kota", payload("subscribe")),
    ("Bicara dengan petugas", payload("human_handoff")),
)

# Titles offered when the bot is unsure which service the resident means.
SERVICE_TITLES: dict[str, str] = {
    "ktp": "KTP-el",
    "kk": "Kartu Keluarga",
    "birth_certificate": "Akta kelahiran",
    "death_certificate": "Akta kematian",
    "relocation": "Pindah domisili",
    "request_status": "Cek status laporan",
    "complaint": "Lapor masalah",
    "queue_booking": "Ambil antrean",
    "emergency": "Darurat",
    "health_service": "Kesehatan & RS",
    "tax_payment": "Pajak & PDAM",
    "job_info": "Lowongan kerja",
    "school_enrollment": "Sekolah (PPDB)",
    "account_registration": "Akun Tangerang LIVE",
    "office_info": "Alamat & jam kantor",
    "subscribe": "Info & berita kota",
    "unsubscribe": "Berhenti langganan info",
    "human_handoff": "Bicara dengan petugas",
    "help": "Lihat menu",
}


def say(dispatcher: CollectingDispatcher, text: str, buttons: Sequence[Button] = ()) -> None:
    """One short message, with buttons when there is a choice to make."""
    dispatcher.utter_message(
        text=text, buttons=[{"title": t, "payload": p} for t, p in buttons] or None
    )


# Answered by the gateway itself (bot/outreach/consent.py), never by the NLU.
UPDATES_QUESTION: Sequence[Button] = (("Ya, kirim kabar", "#pintu:consent:own_updates"),
                                      ("Tidak usah", "#pintu:consent:no"))
UPDATES_ON = "Kabar perkembangannya akan dikirim ke chat ini."


def offer_updates(dispatcher: CollectingDispatcher, consented: bool, what: str) -> None:
    """Says that updates will come, or asks once whether they may (consent is the resident's
    choice: nothing is sent unasked without it)."""
    if consented:
        say(dispatcher, UPDATES_ON)
    else:
        say(dispatcher, f"Mau kami kabari di chat ini saat {what} berubah status?",
            UPDATES_QUESTION)


async def follow(dispatcher: CollectingDispatcher, sender_id: str, *, agency: str, kind: str,
                 ref: str, label: str, what: str) -> None:
    """Asks the gateway to tell the resident when the agency reports on the record, then says
    so or asks for consent; when the gateway is away the resident can still ask for the status."""
    from . import context
    from .gateway_client import GatewayError

    try:
        consented = await context.gateway().watch(sender_id, agency=agency, kind=kind, ref=ref,
                                                  label=label)
    except GatewayError as exc:
        log.warning("status watch not recorded: %s", exc)
        return
    offer_updates(dispatcher, consented, what)


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def latest_entities(tracker: Tracker, name: str) -> list[str]:
    return [
        str(e.get("value"))
        for e in (tracker.latest_message or {}).get("entities") or []
        if e.get("entity") == name and e.get("value") not in (None, "")
    ]


def latest_attachments(tracker: Tracker) -> list[dict[str, Any]]:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return [a for a in metadata.get("attachments") or [] if isinstance(a, dict)]


def choice(tracker: Tracker) -> str | None:
    """The choice a button carried in the latest message, if any."""
    values = latest_entities(tracker, "choice")
    return values[0] if values else None


# Below this intent confidence an answer is a guess: the bot asks back instead (docs/nlu.md).
LOW_CONFIDENCE = float(os.environ.get("PINTU_LOW_CONFIDENCE", "0.5"))


def is_unsure(tracker: Tracker) -> bool:
    """True when this action answers a typed message whose intent the model is unsure of."""
    if tracker.latest_action_name != "action_listen" or tracker.active_loop_name:
        return False  # a form's answer, a button flow or a follow-up: the question gave context
    message = tracker.latest_message or {}
    if (message.get("text") or "").startswith("/"):
        return False  # a button press names its intent
    confidence = float((message.get("intent") or {}).get("confidence") or 0.0)
    return confidence < LOW_CONFIDENCE


class PintuAction(Action, metaclass=ABCMeta):
    """Base of Pintu's actions: unsure messages are asked back; an answer resets the counter.

    Abstract bases are skipped by the action server's registration, so only concrete actions
    (with a name) are served.
    """

    resets_fallback = True

    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if self.resets_fallback and is_unsure(tracker):
            from .conversation import ActionDefaultFallback

            events = await ActionDefaultFallback().act(dispatcher, tracker, domain)
            return [*events, SlotSet("route", None)]
        events = await self.act(dispatcher, tracker, domain)
        if not any(e.get("event") == "slot" and e.get("name") == "route" for e in events):
            events.append(SlotSet("route", None))  # only a routing action opens a form
        if self.resets_fallback and (tracker.get_slot("fallback_count") or 0) > 0:
            events.append(SlotSet("fallback_count", 0.0))
        return events
