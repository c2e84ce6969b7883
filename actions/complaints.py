"""LAKSA complaints: category, description, location, optional photo, confirmation, ticket."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from . import context
from .common import (
    PintuAction,
    choice,
    latest_attachments,
    latest_text,
    offer_updates,
    payload,
    say,
)
from .forms import AskAction, asker, confirmation, open_form
from .gateway_client import GatewayError
from .logic.locations import resolve_location
from .logic.words import is_skip

log = logging.getLogger(__name__)

MIN_DESCRIPTION_WORDS = 4


def category_from_text(text: str) -> str | None:
    """A category id from a button payload or the resident's words; None when unsure."""
    kb = context.knowledge()
    cleaned = text.strip().lower()
    ids = {c.id for c in kb.complaint_categories()}
    if cleaned in ids:
        return cleaned
    category = kb.classify_complaint(text)
    return None if category.id == "lainnya" else category.id


class ActionComplaintStart(PintuAction):
    """Starts the complaint form, keeping what the first message already said."""

    def name(self) -> str:
        return "action_complaint_start"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = latest_text(tracker)
        if choice(tracker) == "retry" and tracker.get_slot("complaint_description"):
            return [SlotSet("choice", None), *open_form("complaint_form")]
        known: dict[str, Any] = {}
        if not text.startswith("/"):
            category = category_from_text(text)
            if category:
                known["complaint_category"] = category
                if len(re.findall(r"\w+", text)) >= MIN_DESCRIPTION_WORDS + 2:
                    known["complaint_description"] = text.strip()[:1000]
            if known.get("complaint_description"):
                place = resolve_location(text)
                if place.ok:  # the names only: the whole message is already the description
                    label = ", ".join(p for p in (place.kelurahan, place.kecamatan) if p)
                    known.update(complaint_location=label,
                                 complaint_kecamatan=place.kecamatan,
                                 complaint_kelurahan=place.kelurahan)
        say(dispatcher, "Baik, saya bantu buat laporan (LAKSA). Ketik batal untuk berhenti.")
        return open_form("complaint_form", known)


@asker("complaint_category")
async def ask_category(dispatcher: CollectingDispatcher, tracker: Tracker,
                       known: dict[str, Any]) -> None:
    categories = context.knowledge().complaint_categories()
    say(dispatcher, "Laporan tentang apa?", [(c.label, c.id) for c in categories][:10])


@asker("complaint_confirm")
async def ask_confirm(dispatcher: CollectingDispatcher, tracker: Tracker,
                      known: dict[str, Any]) -> None:
    def value(slot: str) -> Any:
        return known.get(slot, tracker.get_slot(slot))

    category = context.knowledge().complaint_category(value("complaint_category"))
    photos = value("complaint_photo_refs") or []
    summary = (f"Periksa laporan Anda:\n- Jenis: {category.label}\n"
               f"- Lokasi: {value('complaint_location')}\n"
               f"- Isi: {value('complaint_description')}\n"
               f"- Foto: {len(photos)} foto\nKirim laporan ini?")
    say(dispatcher, summary, [("Ya, kirim", "ya"), ("Batal", "batal")])


class ActionAskComplaintCategory(AskAction):
    slot = "complaint_category"


class ActionAskComplaintConfirm(AskAction):
    slot = "complaint_confirm"


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    def validate_complaint_category(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        category = category_from_text(str(value or ""))
        if category is None:
            ids = {c.id for c in context.knowledge().complaint_categories()}
            if "lainnya" in ids and str(value or "").strip():
                return {"complaint_category": "lainnya",
                        "complaint_description": tracker.get_slot("complaint_description")
                        or None}
            say(dispatcher, "Maaf, pilih salah satu jenis laporan dari daftar.")
            return {"complaint_category": None}
        return {"complaint_category": category}

    def validate_complaint_description(self, value: Any, dispatcher: CollectingDispatcher,
                                       tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        text = str(value or "").strip()
        if len(re.findall(r"\w+", text)) < MIN_DESCRIPTION_WORDS:
            say(dispatcher, "Mohon ceritakan sedikit lebih jelas (minimal satu kalimat), misalnya: "
                "lampu jalan mati sudah 3 hari di depan masjid.")
            return {"complaint_description": None}
        return {"complaint_description": text[:1000]}

    def validate_complaint_location(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        result = resolve_location(str(value or ""), latest_attachments(tracker))
        if not result.ok:
            say(dispatcher, result.message)
            return {"complaint_location": None}
        return {
            "complaint_location": result.label,
            "complaint_kecamatan": result.kecamatan,
            "complaint_kelurahan": result.kelurahan,
            "complaint_coordinates": result.coordinates,
        }

    def validate_complaint_photo(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        photos = [a.get("url") or a.get("ref") for a in latest_attachments(tracker)
                  if a.get("type") in ("image", "document")]
        if photos:
            known = tracker.get_slot("complaint_photo_refs") or []
            return {"complaint_photo": "ada", "complaint_photo_refs": [*known, *photos][:5]}
        if is_skip(str(value or "")):
            return {"complaint_photo": "lewati"}
        say(dispatcher, "Kirim foto kejadian, atau pilih Lewati bila tidak ada foto.",
            [("Lewati", "lewati")])
        return {"complaint_photo": None}

    def validate_complaint_confirm(self, value: Any, dispatcher: CollectingDispatcher,
                 tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        return confirmation("complaint_confirm", value, tracker, dispatcher, "mengirim laporan")


class ActionComplaintSubmit(PintuAction):
    """Files the complaint through the gateway: the ticket number comes at once, even when LAKSA
    is down (the gateway keeps it and forwards it later)."""

    def name(self) -> str:
        return "action_complaint_submit"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("complaint_confirm") != "ya":
            say(dispatcher, "Baik, laporan dibatalkan dan tidak dikirim.")
            return [AllSlotsReset()]
        kb = context.knowledge()
        category = kb.complaint_category(tracker.get_slot("complaint_category"))
        coordinates = tracker.get_slot("complaint_coordinates") or {}
        complaint = {
            "category": category.id,
            "agency": category.agency,
            "expected_response_days": category.response_days,
            "description": tracker.get_slot("complaint_description"),
            "kecamatan": tracker.get_slot("complaint_kecamatan"),
            "kelurahan": tracker.get_slot("complaint_kelurahan"),
            "latitude": coordinates.get("latitude"),
            "longitude": coordinates.get("longitude"),
            "photo_refs": tracker.get_slot("complaint_photo_refs") or [],
        }
        try:
            receipt = await context.gateway().file_complaint(tracker.sender_id, complaint)
        except GatewayError as exc:
            log.error("complaint not filed: %s", exc)
            say(dispatcher, "Maaf, laporan belum bisa disimpan karena gangguan sistem. Isi laporan "
                "Anda masih kami ingat; coba kirim lagi sebentar lagi.",
                [("Coba kirim lagi", payload("complaint", "retry")), ("Batal", "/deny")])
            return [SlotSet("complaint_confirm", None)]
        text = (f"Laporan diterima. Nomor tiket: {receipt.ticket_id}\n"
                f"Ditangani: {receipt.agency}. Tanggapan pertama paling lambat "
                f"{receipt.expected_response_days} hari kerja.")
        if not receipt.forwarded:
            text += ("\nSistem LAKSA sedang gangguan; laporan Anda sudah tersimpan dan akan "
                     "diteruskan otomatis begitu sistem pulih.")
        text += ("\nSimpan nomor tiket ini untuk cek status (ketik: status "
                 + receipt.ticket_id + ").")
        say(dispatcher, text, [("Cek status laporan", payload("request_status"))])
        offer_updates(dispatcher, receipt.updates, "laporan ini")
        return [AllSlotsReset()]
