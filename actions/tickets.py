"""Status tracking: any ticket or registration number gives its status and history."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from integrations.agency import AgencyError, AgencyNotFound, AgencyUnavailable

from . import context
from .common import PintuAction, latest_entities, latest_text, payload, say
from .forms import open_form
from .gateway_client import GatewayError, TicketNotFound
from .logic.tickets import history_reply, normalize_ticket

log = logging.getLogger(__name__)

NOT_FOUND = ("Nomor {number} tidak kami temukan. Periksa lagi nomornya (contoh: LKS-123456), "
             "atau hubungi petugas.")


async def lookup(number: str) -> str:
    """The resident-facing status text for a ticket number (raises on outages)."""
    prefix = number[:3]
    if prefix == "LKS":
        ticket = await context.gateway().ticket(number)
        return history_reply(number, ticket.status_label, ticket.history)
    clients = context.agency()
    if prefix == "AKL":
        registration = await clients.dukcapil.birth_registration(number)
        return history_reply(number, registration.status_label, registration.history)
    booking = await clients.queue.booking(number)
    return history_reply(number, booking.status_label, booking.history)


class ActionRequestStatus(PintuAction):
    def name(self) -> str:
        return "action_request_status"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        numbers = [n for n in (normalize_ticket(v) for v in latest_entities(tracker, "ticket_id"))
                   if n] or [n for n in [normalize_ticket(latest_text(tracker))] if n]
        if numbers:
            await answer_status(dispatcher, numbers[0])
            return []
        return open_form("status_form")


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


class ActionTicketStatus(PintuAction):
    def name(self) -> str:
        return "action_ticket_status"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        await answer_status(dispatcher, tracker.get_slot("ticket_id") or "")
        return [SlotSet("ticket_id", None)]


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
