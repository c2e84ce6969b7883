"""Queue numbers for face-to-face service: book, show and cancel."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import AllSlotsReset, EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from integrations.agency import AgencyError, AgencyNotFound, AgencyRejected, AgencyUnavailable

from . import context
from .common import PintuAction, latest_text, payload, say
from .forms import AskAction, asker, confirmation, open_form
from .logic.dates import first_bookable_day, next_service_days, parse_date, today_in_city
from .logic.replies import format_date
from .logic.tickets import normalize_ticket

log = logging.getLogger(__name__)
_CANCEL_WORDS = re.compile(r"\b(batal|batalkan|membatalkan|cancel|hapus|tidak\s+jadi|gak\s+jadi)\b",
                           re.I)


def holder_ref(sender_id: str) -> str:
    """The queue system sees an opaque holder, never the chat id or phone number."""
    return hashlib.sha256(f"pintu-queue:{sender_id}".encode()).hexdigest()[:20]


def time_window(booking: Any) -> str:
    """"pukul 08.00-09.00", or nothing when the office gave no window."""
    if booking.window_start is None or booking.window_end is None:
        return ""
    return (f"pukul {booking.window_start.strftime('%H.%M')}-"
            f"{booking.window_end.strftime('%H.%M')}")


def _match(options: list[Any], text: str) -> Any | None:
    """The option whose id or name the resident picked or typed."""
    cleaned = text.strip().lower()
    for option in options:
        if cleaned in (str(option.code).lower(), str(option.name).lower()):
            return option
    hits = [o for o in options if cleaned and cleaned in str(o.name).lower()]
    return hits[0] if len(hits) == 1 else None


class ActionQueueStart(PintuAction):
    """Starts booking, or shows/cancels a booking named by its ANT- number."""

    def name(self) -> str:
        return "action_queue_start"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = latest_text(tracker)
        number = normalize_ticket(text)
        if number and number.startswith("ANT"):
            queue = context.agency().queue
            try:
                if _CANCEL_WORDS.search(text):
                    await queue.cancel(number)
                    say(dispatcher, f"Antrean {number} sudah dibatalkan.")
                else:
                    booking = await queue.booking(number)
                    say(dispatcher, f"Antrean {number}: nomor {booking.queue_number}, "
                        f"{booking.service_name} di {booking.office_name}, "
                        f"{format_date(booking.date)} {time_window(booking)}. "
                        f"Status: {booking.status_label}.")
            except AgencyNotFound:
                say(dispatcher, f"Antrean {number} tidak ditemukan.")
            except AgencyError:
                say(dispatcher,
                    "Maaf, sistem antrean sedang tidak dapat dihubungi. Coba lagi nanti.")
            return []
        return open_form("queue_form")


@asker("queue_service")
async def ask_service(dispatcher: CollectingDispatcher, tracker: Tracker,
                      known: dict[str, Any]) -> None:
    try:
        services = await context.agency().queue.services()
    except AgencyError:
        say(dispatcher, "Maaf, sistem antrean sedang tidak dapat dihubungi. Ketik batal, lalu "
            "coba lagi nanti.")
        return
    say(dispatcher, "Ambil antrean untuk layanan apa?", [(s.name, s.code) for s in services][:10])


@asker("queue_office")
async def ask_office(dispatcher: CollectingDispatcher, tracker: Tracker,
                     known: dict[str, Any]) -> None:
    service = known.get("queue_service", tracker.get_slot("queue_service"))
    try:
        offices = await context.agency().queue.offices(service=service)
    except AgencyError:
        say(dispatcher, "Maaf, sistem antrean sedang tidak dapat dihubungi. Coba lagi nanti.")
        return
    say(dispatcher, "Di kantor mana? Pilih, atau ketik nama kecamatannya.",
        [(o.name, o.code) for o in offices][:10])


@asker("queue_date")
async def ask_date(dispatcher: CollectingDispatcher, tracker: Tracker,
                   known: dict[str, Any]) -> None:
    days = next_service_days(first_bookable_day(), 3)
    say(dispatcher, "Untuk tanggal berapa? Pilih atau ketik tanggalnya (contoh: 27-11-2026).",
        [(format_date(d), d.isoformat()) for d in days])


@asker("queue_confirm")
async def ask_confirm(dispatcher: CollectingDispatcher, tracker: Tracker,
                      known: dict[str, Any]) -> None:
    service, office = tracker.get_slot("queue_service"), tracker.get_slot("queue_office")
    queue = context.agency().queue
    try:  # the resident picked names; the slots hold the agency's codes
        service = next((s.name for s in await queue.services() if s.code == service), service)
        office = next((o.name for o in await queue.offices() if o.code == office), office)
    except AgencyError:
        pass
    say(dispatcher, f"Ambil antrean {service} di {office} tanggal "
        f"{format_date(tracker.get_slot('queue_date'))}?",
        [("Ya, ambil", "ya"), ("Batal", "batal")])


class ActionAskQueueService(AskAction):
    slot = "queue_service"


class ActionAskQueueOffice(AskAction):
    slot = "queue_office"


class ActionAskQueueDate(AskAction):
    slot = "queue_date"


class ActionAskQueueConfirm(AskAction):
    slot = "queue_confirm"


class ValidateQueueForm(FormValidationAction):
    def name(self) -> str:
        return "validate_queue_form"

    async def validate_queue_service(self, value: Any, dispatcher: CollectingDispatcher,
                                     tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        try:
            services = await context.agency().queue.services()
        except AgencyError:
            return {"queue_service": None}
        picked = _match(services, str(value or ""))
        if picked is None:
            say(dispatcher, "Pilih salah satu layanan dari daftar.")
            return {"queue_service": None}
        return {"queue_service": picked.code}

    async def validate_queue_office(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        service = tracker.get_slot("queue_service")
        try:
            offices = await context.agency().queue.offices(service=service)
        except AgencyError:
            return {"queue_office": None}
        picked = _match(offices, str(value or ""))
        if picked is None:
            say(dispatcher, "Pilih salah satu kantor dari daftar.")
            return {"queue_office": None}
        return {"queue_office": picked.code}

    async def validate_queue_date(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        wanted = parse_date(str(value or ""))
        today = today_in_city()
        if wanted is None:
            say(dispatcher, "Tanggal belum bisa saya baca. Tulis seperti 27-11-2026.")
            return {"queue_date": None}
        if wanted < today or wanted > today + timedelta(days=30):
            say(dispatcher, "Antrean bisa diambil untuk hari ini sampai 30 hari ke depan.")
            return {"queue_date": None}
        if wanted.weekday() >= 5:
            say(dispatcher, "Kantor tutup pada Sabtu dan Minggu. Pilih hari kerja.")
            return {"queue_date": None}
        return {"queue_date": wanted.isoformat()}

    def validate_queue_confirm(self, value: Any, dispatcher: CollectingDispatcher,
                 tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        return confirmation("queue_confirm", value, tracker, dispatcher, "mengambil antrean")


class ActionQueueSubmit(PintuAction):
    def name(self) -> str:
        return "action_queue_submit"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("queue_confirm") != "ya":
            say(dispatcher, "Baik, antrean tidak diambil.")
            return [AllSlotsReset()]
        try:
            booking = await context.agency().queue.book(
                service=tracker.get_slot("queue_service"),
                office=tracker.get_slot("queue_office"),
                day=tracker.get_slot("queue_date"),
                holder_ref=holder_ref(tracker.sender_id),
            )
        except AgencyRejected as exc:
            say(dispatcher, f"Antrean belum bisa diambil: {exc.public_message}",
                [("Pilih tanggal lain", payload("queue_booking"))])
            return [AllSlotsReset()]
        except AgencyUnavailable:
            say(dispatcher, "Maaf, sistem antrean sedang tidak dapat dihubungi. Silakan coba lagi.",
                [("Coba lagi", payload("queue_booking"))])
            return [AllSlotsReset()]
        say(dispatcher, f"Antrean berhasil diambil.\nNomor antrean: {booking.queue_number}\n"
            f"Kode booking: {booking.booking_number}\n{booking.office_name}, "
            f"{format_date(booking.date)} {time_window(booking)}.\nDatang 15 menit lebih awal dan "
            f"bawa dokumen asli. Untuk membatalkan, ketik: batal antrean {booking.booking_number}")
        return [AllSlotsReset()]
