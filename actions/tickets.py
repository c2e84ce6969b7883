"""Status tracking: a ticket or registration number gives its status and history.

A birth registration (AKL-) is personal: its status is told only after a parent's NIK recorded in
it matches too, checked by Dukcapil behind the identity-check limits (actions/identity.py).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from integrations.agency import AgencyError, AgencyNotFound, AgencyUnavailable
from nlu.nik import normalize_nik, validate_nik

from . import context
from .common import PintuAction, latest_entities, latest_text, payload, say
from .forms import open_form
from .gateway_client import GatewayError, TicketNotFound
from .identity import checked, refused_before_asking
from .logic.tickets import history_reply, normalize_ticket

log = logging.getLogger(__name__)

NOT_FOUND = ("Nomor {number} tidak kami temukan. Periksa lagi nomornya (contoh: LKS-123456), "
             "atau hubungi petugas.")


async def lookup(number: str) -> str:
    """The resident-facing status text for a complaint or booking number (raises on outages)."""
    prefix = number[:3]
    if prefix == "LKS":
        ticket = await context.gateway().ticket(number)
        return history_reply(number, ticket.status_label, ticket.history)
    booking = await context.agency().queue.booking(number)
    return history_reply(number, booking.status_label, booking.history)


class ActionRequestStatus(PintuAction):
    def name(self) -> str:
        return "action_request_status"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        numbers = [n for n in (normalize_ticket(v) for v in latest_entities(tracker, "ticket_id"))
                   if n] or [n for n in [normalize_ticket(latest_text(tracker))] if n]
        if numbers:
            return await status_or_form(dispatcher, tracker, numbers[0])
        return open_form("status_form")


def needs_identity(number: str) -> bool:
    """Birth registrations are told only with a parent's NIK."""
    return number.startswith("AKL-")


def given_nik(tracker: Tracker) -> str | None:
    """A valid NIK in the latest message, normalized (None: none given)."""
    values = latest_entities(tracker, "nik")
    return normalize_nik(values[0]) if values and validate_nik(values[0]).ok else None


async def status_or_form(dispatcher: CollectingDispatcher, tracker: Tracker,
                         number: str) -> list[EventType]:
    """Answers a number's status, or opens status_form to ask the NIK it needs first."""
    if needs_identity(number):
        if await refused_before_asking(dispatcher, tracker.sender_id):
            return []
        return open_form("status_form", {"ticket_id": number, "parent_nik": given_nik(tracker)})
    await answer_status(dispatcher, number)
    return []


class ValidateStatusForm(FormValidationAction):
    def name(self) -> str:
        return "validate_status_form"

    def validate_ticket_id(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> dict[str, Any]:
        number = normalize_ticket(str(value or ""))
        if number is None:
            say(dispatcher, "Nomor tiket terdiri dari 3 huruf dan 6 angka, misalnya LKS-123456 "
                "(laporan), AKL-123456 (akta kelahiran) atau ANT-123456 (antrean). "
                "Coba ketik lagi, atau ketik batal.")
            return {"ticket_id": None}
        return {"ticket_id": number}

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        """A parent's NIK is asked for a birth registration number only."""
        number = tracker.get_slot("ticket_id")
        if number and needs_identity(str(number)):
            return domain_slots
        return [slot for slot in domain_slots if slot != "parent_nik"]

    def validate_parent_nik(self, value: Any, dispatcher: CollectingDispatcher,
                            tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        values = latest_entities(tracker, "nik") or [str(value or "")]
        check = validate_nik(values[0])
        if not check.ok:
            say(dispatcher, check.message + " Coba ketik lagi NIK ayah atau ibu, atau ketik "
                "batal.")
            return {"parent_nik": None}
        return {"parent_nik": normalize_nik(values[0])}


class ActionTicketStatus(PintuAction):
    def name(self) -> str:
        return "action_ticket_status"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        number = str(tracker.get_slot("ticket_id") or "")
        forget = [SlotSet("ticket_id", None), SlotSet("parent_nik", None)]
        nik = tracker.get_slot("parent_nik")
        if needs_identity(number):
            if nik:
                await answer_birth_status(dispatcher, tracker.sender_id, number, str(nik))
            else:  # the form always asks it; never answer a birth registration without it
                say(dispatcher, "Untuk cek status akta kelahiran, ketik: status " + number)
            return forget
        await answer_status(dispatcher, number)
        return forget


async def answer_birth_status(dispatcher: CollectingDispatcher, sender_id: str, number: str,
                              nik: str) -> None:
    """A birth registration's status, after Dukcapil matched the number with a parent's NIK."""
    dukcapil = context.agency().dukcapil
    registration = await checked(
        dispatcher, sender_id, nik, lambda: dukcapil.birth_registration(number, nik),
        what="nomor registrasi dan NIK ayah atau ibu yang tercatat di pengajuan",
        retry=payload("birth_certificate", "status"))
    if registration is not None:
        say(dispatcher, history_reply(number, registration.status_label, registration.history))


async def answer_status(dispatcher: CollectingDispatcher, number: str) -> None:
    """Says the status of any ticket number, or why it cannot be said now."""
    try:
        say(dispatcher, await lookup(number))
    except (TicketNotFound, AgencyNotFound):
        say(dispatcher, NOT_FOUND.format(number=number),
            [("Coba nomor lain", payload("request_status")),
             ("Bicara dengan petugas", payload("human_handoff"))])
    except (GatewayError, AgencyUnavailable):
        say(dispatcher, "Maaf, status belum bisa dicek karena gangguan sistem. Silakan coba lagi "
            "beberapa saat lagi.", [("Coba lagi", payload("request_status"))])
    except AgencyError as exc:
        log.error("status lookup refused: %s", type(exc).__name__)
        say(dispatcher, NOT_FOUND.format(number=number))
