"""Emergency, health, tax, jobs, schools, accounts, offices and news subscriptions."""

from __future__ import annotations

import logging
import re
from abc import abstractmethod
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from integrations.agency import AgencyError, AgencyNotFound, AgencyUnavailable

from . import context
from .common import PintuAction, choice, latest_entities, latest_text, payload, say
from .conversation import record_handoff
from .forms import open_form
from .gateway_client import GatewayError
from .logic.replies import beds_reply, pbb_reply, pdam_reply
from .logic.services import (
    mentions_beds,
    normalize_nop,
    pdam_customer_number,
    wants_pbb_check,
)

log = logging.getLogger(__name__)


def topic_reply(dispatcher: CollectingDispatcher, intent: str, topic_id: str) -> None:
    """A knowledge-base topic as one message; its options become buttons of the same intent."""
    topic = context.knowledge().topic(topic_id)
    buttons = [(title, payload(intent, option)) for option, title in topic.options][:6]
    say(dispatcher, topic.text, buttons)


class TopicAction(PintuAction):
    """Answers from the knowledge base; a button's choice picks a sub-topic."""

    @property
    @abstractmethod
    def intent(self) -> str: ...

    @property
    @abstractmethod
    def topic(self) -> str: ...

    def name(self) -> str:
        return f"action_{self.intent}"

    def pick_topic(self, tracker: Tracker) -> str:
        return choice(tracker) or self.topic

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        topic_reply(dispatcher, self.intent, self.pick_topic(tracker))
        return [SlotSet("choice", None)]


class ActionEmergency(PintuAction):
    """Numbers first, at once; then the location; the chat is marked urgent for staff."""

    def name(self) -> str:
        return "action_emergency"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        say(dispatcher, context.knowledge().emergency_text())
        say(dispatcher, "Kirim lokasi Anda (share location) atau ketik alamat lengkapnya, agar "
            "petugas Tangerang Live Room bisa membantu.")
        await record_handoff(tracker, "darurat", urgent=True)
        return [SlotSet("urgent", True)]


class ActionHealthService(TopicAction):
    intent = "health_service"
    topic = "kesehatan"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if choice(tracker) == "tempat_tidur" or mentions_beds(latest_text(tracker)):
            kecamatan = (latest_entities(tracker, "kecamatan") or [None])[0]
            try:
                beds = await context.agency().health.free_beds(kecamatan=kecamatan)
            except AgencyError:
                say(dispatcher, "Maaf, data tempat tidur rumah sakit sedang tidak dapat diambil. "
                    "Untuk keadaan darurat hubungi 112 (gratis).")
                return [SlotSet("choice", None)]
            say(dispatcher, beds_reply(beds, kecamatan))
            return [SlotSet("choice", None)]
        return await super().act(dispatcher, tracker, domain)


class ActionTaxPayment(TopicAction):
    intent = "tax_payment"
    topic = "pajak"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = latest_text(tracker)
        nop = normalize_nop(text)
        if nop:
            await answer_pbb(dispatcher, nop)
            return []
        customer = pdam_customer_number(text)
        if customer:
            await answer_pdam(dispatcher, customer)
            return []
        if choice(tracker) == "cek_pbb" or wants_pbb_check(text):
            return [SlotSet("choice", None), *open_form("nop_form")]
        return await super().act(dispatcher, tracker, domain)


class ValidateNopForm(FormValidationAction):
    def name(self) -> str:
        return "validate_nop_form"

    def validate_nop(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> dict[str, Any]:
        nop = normalize_nop(str(value or ""))
        if nop is None:
            digits = len(re.sub(r"\D", "", str(value or "")))
            say(dispatcher, f"NOP PBB terdiri dari 18 angka; yang Anda ketik {digits} angka. "
                "Lihat di lembar SPPT PBB, lalu ketik lagi, atau ketik batal.")
            return {"nop": None}
        return {"nop": nop}


class ActionPbbBill(PintuAction):
    def name(self) -> str:
        return "action_pbb_bill"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        await answer_pbb(dispatcher, tracker.get_slot("nop") or "")
        return [SlotSet("nop", None)]


async def answer_pdam(dispatcher: CollectingDispatcher, customer: str) -> None:
    try:
        say(dispatcher, pdam_reply(await context.agency().tax.pdam_bill(customer)))
    except AgencyNotFound:
        say(dispatcher, "Nomor pelanggan PDAM tersebut tidak ditemukan. Periksa lagi 10 angka di "
            "struk atau tagihan PDAM Anda.")
    except AgencyError:
        say(dispatcher, "Maaf, data PDAM sedang tidak dapat diambil. Silakan coba lagi nanti.")


async def answer_pbb(dispatcher: CollectingDispatcher, nop: str) -> None:
    try:
        bill = await context.agency().tax.pbb_bill(nop)
        say(dispatcher, pbb_reply(bill))
    except AgencyNotFound:
        say(dispatcher, "NOP tersebut tidak ditemukan di data Bapenda. Periksa lagi angka di "
            "SPPT PBB Anda.", [("Cek NOP lain", payload("tax_payment", "cek_pbb"))])
    except AgencyUnavailable:
        say(dispatcher, "Maaf, data PBB sedang tidak dapat diambil. Silakan coba lagi nanti.",
            [("Coba lagi", payload("tax_payment", "cek_pbb"))])
    except AgencyError as exc:
        log.error("pbb lookup refused: %s", type(exc).__name__)
        say(dispatcher, "Maaf, NOP tersebut belum dapat diperiksa. Silakan hubungi Bapenda.")


class ActionJobInfo(TopicAction):
    intent = "job_info"
    topic = "kerja"


class ActionSchoolEnrollment(TopicAction):
    intent = "school_enrollment"
    topic = "sekolah"


class ActionAccountRegistration(TopicAction):
    intent = "account_registration"
    topic = "akun"


class ActionUnsubscribe(PintuAction):
    def name(self) -> str:
        return "action_unsubscribe"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            say(dispatcher, await context.gateway().stop_broadcasts(tracker.sender_id))
        except GatewayError as exc:
            log.error("unsubscribe not recorded: %s", exc)
            say(dispatcher, "Maaf, permintaan berhenti belum tercatat. Silakan ketik STOP "
                "sebentar lagi.")
        return []


class ActionOfficeInfo(PintuAction):
    def name(self) -> str:
        return "action_office_info"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        kb = context.knowledge()
        office = kb.office(choice(tracker)) if choice(tracker) else None
        office = office or kb.find_office(latest_text(tracker))
        if office is None:
            kecamatan: str | None = (latest_entities(tracker, "kecamatan") or [None])[0]
            office = kb.find_office(f"kecamatan {kecamatan}") if kecamatan else None
        if office is not None:
            say(dispatcher, office.text())
            return [SlotSet("choice", None)]
        say(dispatcher, "Kantor mana yang Anda cari?",
            [(o.name, payload("office_info", o.id)) for o in kb.main_offices()][:8])
        return [SlotSet("choice", None)]
