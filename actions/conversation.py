"""Greeting, menu, thanks, goodbye, bot challenge, handoff, out-of-scope, fallback and cancel."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import context
from .common import (
    MAIN_MENU,
    MORE_MENU,
    PintuAction,
    choice,
    latest_attachments,
    latest_text,
    say,
)
from .gateway_client import GatewayError
from .logic.fallback import fallback_options
from .logic.locations import resolve_location
from .logic.tickets import normalize_ticket
from .subscribe import KEC_PREFIX, offer_link_kecamatan
from .tickets import needs_identity, status_or_form

log = logging.getLogger(__name__)

MENU_TEXT = "Silakan pilih layanan, atau ketik pertanyaan Anda dengan kata-kata sendiri."


class ActionGreet(PintuAction):
    def name(self) -> str:
        return "action_greet"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        say(dispatcher,
            "Halo, selamat datang di Pintu, layanan chat Pemkot Tangerang. " + MENU_TEXT,
            MAIN_MENU)
        picked = choice(tracker) or ""
        if picked.startswith(KEC_PREFIX):  # came through a kelurahan or kecamatan poster
            await offer_link_kecamatan(dispatcher, tracker.sender_id, picked[len(KEC_PREFIX):])
        return [SlotSet("choice", None)] if picked else []


class ActionHelp(PintuAction):
    def name(self) -> str:
        return "action_help"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if choice(tracker) == "more":
            say(dispatcher, "Layanan lainnya:", MORE_MENU)
        else:
            say(dispatcher, "Saya bisa membantu urusan KTP, KK, akta, laporan warga, antrean, "
                "kesehatan, pajak, dan lainnya. " + MENU_TEXT, MAIN_MENU)
        return []


class ActionGoodbye(PintuAction):
    def name(self) -> str:
        return "action_goodbye"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        say(dispatcher, "Terima kasih sudah menghubungi Pintu. Ketik menu kapan saja bila perlu "
            "bantuan lagi.")
        return [AllSlotsReset()]


class ActionThank(PintuAction):
    def name(self) -> str:
        return "action_thank"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        say(dispatcher, "Sama-sama. Ada lagi yang bisa dibantu? Ketik menu untuk melihat layanan.")
        return []


class ActionBotChallenge(PintuAction):
    def name(self) -> str:
        return "action_bot_challenge"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        say(dispatcher, "Saya Pintu, asisten otomatis (bot) Pemkot Tangerang, bukan manusia. "
            "Bila ingin bicara dengan petugas, pilih tombol di bawah atau ketik petugas.",
            [("Bicara dengan petugas", "/human_handoff")])
        return []


# Intents that say something about the conversation, not which service it is about.
NOT_A_SERVICE = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "help", "bot_challenge",
                           "human_handoff", "out_of_scope", "inform", "nlu_fallback"})


def current_service(tracker: Tracker) -> str | None:
    """The service the resident was last asking about (shown to the officer who takes over)."""
    for event in reversed(tracker.events or []):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent and intent not in NOT_A_SERVICE:
            return str(intent)
    return None


async def record_handoff(tracker: Tracker, reason: str, urgent: bool = False,
                         note: str | None = None) -> bool:
    """Asks the gateway to queue the chat for an officer; False when that could not be recorded."""
    try:
        await context.gateway().request_handoff(tracker.sender_id, reason, urgent, note,
                                                service=current_service(tracker))
    except GatewayError as exc:
        log.error("handoff request not recorded: %s", exc)
        return False
    return True


class ActionHumanHandoff(PintuAction):
    def name(self) -> str:
        return "action_human_handoff"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if await record_handoff(tracker, "permintaan_warga"):
            say(dispatcher, "Baik, Anda kami sambungkan dengan petugas. Mohon tunggu, petugas "
                "akan membalas di chat ini (jam kerja Senin-Jumat 08.00-16.00 WIB). Ketik BATAL "
                "bila tidak jadi. Untuk darurat, hubungi 112.")
        else:
            say(dispatcher, "Maaf, permintaan bicara dengan petugas belum bisa dicatat saat ini. "
                "Silakan hubungi call center 112 (gratis) atau coba lagi sebentar lagi.")
        return []


class ActionOutOfScope(PintuAction):
    def name(self) -> str:
        return "action_out_of_scope"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        say(dispatcher, "Maaf, itu di luar layanan Pintu. Saya hanya bisa membantu layanan Pemkot "
            "Tangerang. " + MENU_TEXT, MAIN_MENU)
        return []


class ActionDefaultFallback(PintuAction):
    """First miss: offer the likeliest services; second miss: offer an officer."""

    resets_fallback = False

    def name(self) -> str:
        return "action_default_fallback"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        misses = int(tracker.get_slot("fallback_count") or 0) + 1
        ranking = (tracker.latest_message or {}).get("intent_ranking") or []
        if misses >= 2 and await record_handoff(tracker, "tidak_dipahami"):
            # Two misses in a row: a person takes over rather than a third guess.
            say(dispatcher, "Maaf, saya masih belum paham. Anda kami sambungkan dengan petugas; "
                "mohon tunggu balasan di chat ini. Ketik BATAL bila tidak jadi.")
            return [SlotSet("fallback_count", 0.0)]
        if misses >= 2:
            say(dispatcher, "Maaf, saya masih belum paham. Mau saya sambungkan ke petugas?",
                [("Ya, sambungkan petugas", "/human_handoff"), ("Lihat menu", "/help")])
        else:
            options = fallback_options(ranking)
            if options:
                say(dispatcher, "Maaf, saya belum yakin maksud Anda. Apakah tentang ini?", options)
            else:
                say(dispatcher, "Maaf, saya belum paham. " + MENU_TEXT, MAIN_MENU)
        return [SlotSet("fallback_count", float(misses))]


class ActionStrayAnswer(PintuAction):
    """A yes, no or bare value when no question is open."""

    def name(self) -> str:
        return "action_stray_answer"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if tracker.get_slot("urgent") and intent != "deny":
            return await self.emergency_location(dispatcher, tracker)
        number = normalize_ticket(latest_text(tracker))
        if number and needs_identity(number) and intent != "inform":
            # Only a bare value (inform) has a rule that opens status_form after this action.
            say(dispatcher, f"Untuk cek status, ketik: status {number}")
            return []
        if number:  # a bare "LKS-670214" asks for its status (an AKL- number, the NIK first)
            return await status_or_form(dispatcher, tracker, number)
        if intent == "deny":
            say(dispatcher, "Baik. Ada lagi yang bisa dibantu?", MAIN_MENU)
            return [AllSlotsReset()]  # a "no" also drops anything left from an unfinished flow
        else:
            say(dispatcher, "Terima kasih. Supaya saya bisa membantu, pilih dulu layanannya:",
                MAIN_MENU)
        return []

    async def emergency_location(self, dispatcher: CollectingDispatcher,
                                 tracker: Tracker) -> list[EventType]:
        """After an emergency, the next answer is where it happens: pass it on to staff."""
        place = resolve_location(latest_text(tracker), latest_attachments(tracker))
        where = place.label if place.ok else latest_text(tracker).strip()[:200]
        if not where or where == "/inform":
            say(dispatcher, "Kirim lokasi (share location) atau ketik alamat lengkapnya. "
                "Bila mendesak, telepon 112 (gratis).")
            return []
        recorded = await record_handoff(tracker, "darurat_lokasi", urgent=True, note=where)
        text = f"Lokasi diterima: {where}."
        text += (" Petugas Tangerang Live Room sudah diberi tahu." if recorded
                 else " Sistem kami sedang gangguan, jadi mohon langsung telepon 112.")
        say(dispatcher, text + " Tetap telepon 112 (gratis) bila belum.")
        return [SlotSet("urgent", False)]


class ActionCancelForm(PintuAction):
    """Leaves whatever form is open; what was typed so far is forgotten."""

    def name(self) -> str:
        return "action_cancel_form"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent == "deny":
            say(dispatcher, "Baik, dibatalkan. Ketik menu untuk melihat layanan lain.")
        return [ActiveLoop(None), AllSlotsReset()]
