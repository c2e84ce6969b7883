"""Birth certificates: information, the online application, and its status."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from integrations.agency import AgencyError, AgencyRejected, AgencyUnavailable
from nlu.nik import normalize_nik, validate_nik

from . import context
from .common import (
    PintuAction,
    choice,
    follow,
    latest_attachments,
    latest_text,
    payload,
    say,
)
from .documents import DOCUMENTS, answer_info, parse_choice
from .forms import confirmation, open_form
from .logic.dates import parse_date, today_in_city
from .logic.documents import INFO, STATUS, DocumentRequest, classify_document_request
from .logic.replies import format_date
from .logic.tickets import normalize_ticket
from .tickets import status_or_form

log = logging.getLogger(__name__)

REQUIRED_DOCUMENTS = ("surat keterangan lahir", "KK", "KTP ayah dan ibu", "buku nikah/akta kawin")
_DONE = {
    "selesai", "sudah", "udah", "done", "cukup", "sdh", "udh", "lanjut", "beres", "sudah semua",
    "itu saja",
}
_APPLY = re.compile(r"\b(online|daring|daftarkan|ajukan|mengajukan|apply)\b", re.I)


class ActionBirthCertificate(PintuAction):
    """Applies online, checks an application's status, or answers requirements."""

    def name(self) -> str:
        return "action_birth_certificate"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = latest_text(tracker)
        request = parse_choice(choice(tracker)) or classify_document_request(text)
        if request.mode != STATUS and _APPLY.search(text) and request.aspect != "persyaratan":
            request = DocumentRequest("apply")
        if choice(tracker) == "retry" and tracker.get_slot("child_name"):
            return [SlotSet("choice", None), *open_form("birth_form")]
        if request.mode == "apply":
            return [SlotSet("choice", None), *open_form("birth_form")]
        if request.mode == STATUS:
            number = normalize_ticket(text)
            if number:
                return [SlotSet("choice", None), *await status_or_form(dispatcher, tracker,
                                                                       number)]
            return [SlotSet("choice", None), *open_form("status_form")]
        if request.mode == INFO:
            answer_info(dispatcher, "birth_certificate", request)
            say(dispatcher, "Akta kelahiran bisa diajukan online lewat chat ini.",
                [("Ajukan online sekarang", payload("birth_certificate", "apply"))])
            return [SlotSet("choice", None)]
        _, label = DOCUMENTS["birth_certificate"]
        buttons = [("Ajukan online", payload("birth_certificate", "apply")),
                   ("Syarat & cara", payload("birth_certificate", "info:baru:persyaratan")),
                   ("Cek status pengajuan", payload("birth_certificate", "status"))]
        say(dispatcher, f"Tentang {label}, apa yang Anda perlukan?", buttons)
        return []


class ValidateBirthForm(FormValidationAction):
    def name(self) -> str:
        return "validate_birth_form"

    def validate_child_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> dict[str, Any]:
        name = " ".join(str(value or "").split())
        if not re.fullmatch(r"[A-Za-z][A-Za-z .'-]{1,79}", name):
            say(dispatcher, "Nama anak hanya boleh berisi huruf (2-80 huruf), sesuai surat "
                "keterangan lahir. Coba ketik lagi.")
            return {"child_name": None}
        return {"child_name": name.title()}

    def validate_birth_date(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> dict[str, Any]:
        born = parse_date(str(value or ""))
        if born is None:
            say(dispatcher, "Tanggal belum bisa saya baca. Tulis seperti 12-01-2026 atau "
                "12 Januari 2026.")
            return {"birth_date": None}
        if born > today_in_city():
            say(dispatcher, "Tanggal lahir tidak boleh di masa depan. Coba ketik lagi.")
            return {"birth_date": None}
        return {"birth_date": born.isoformat()}

    def validate_birth_place(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> dict[str, Any]:
        place = " ".join(str(value or "").split())
        if len(place) < 3:
            say(dispatcher, "Tulis tempat lahir, misalnya RSUD Kota Tangerang.")
            return {"birth_place": None}
        return {"birth_place": place[:120]}

    def _parent(self, slot: str, who: str, value: Any, dispatcher: CollectingDispatcher,
                expect_female: bool) -> dict[str, Any]:
        check = validate_nik(str(value or ""))
        if not check.ok:
            say(dispatcher, f"NIK {who}: {check.message} Coba ketik lagi.")
            return {slot: None}
        if check.is_female != expect_female:
            sex = "perempuan" if check.is_female else "laki-laki"
            say(dispatcher, f"NIK ini tercatat sebagai {sex}. Mohon ketik NIK {who}.")
            return {slot: None}
        return {slot: normalize_nik(str(value))}

    def validate_father_nik(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> dict[str, Any]:
        return self._parent("father_nik", "ayah", value, dispatcher, expect_female=False)

    def validate_mother_nik(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> dict[str, Any]:
        return self._parent("mother_nik", "ibu", value, dispatcher, expect_female=True)

    def validate_birth_documents(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        refs = list(tracker.get_slot("birth_document_refs") or [])
        new = [a.get("url") or a.get("ref") for a in latest_attachments(tracker)
               if a.get("type") in ("image", "document")]
        refs = [*refs, *[r for r in new if r]][:10]
        done = str(value or "").strip().lower() in _DONE
        if done and len(refs) >= len(REQUIRED_DOCUMENTS):
            return {"birth_documents": "lengkap", "birth_document_refs": refs}
        if new:
            left = max(0, len(REQUIRED_DOCUMENTS) - len(refs))
            more = f" Masih perlu {left} dokumen lagi." if left else " Ketik selesai bila sudah."
            say(dispatcher, f"Dokumen diterima ({len(refs)}).{more}")
        else:
            say(dispatcher, f"Kami perlu {len(REQUIRED_DOCUMENTS)} dokumen: "
                + ", ".join(REQUIRED_DOCUMENTS)
                + f". Sudah diterima: {len(refs)}. Kirim foto/PDF-nya.")
        return {"birth_documents": None, "birth_document_refs": refs}

    def validate_birth_confirm(self, value: Any, dispatcher: CollectingDispatcher,
                 tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        return confirmation("birth_confirm", value, tracker, dispatcher, "mengirim pengajuan")


class ActionAskBirthConfirm(Action):
    def name(self) -> str:
        return "action_ask_birth_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        born = tracker.get_slot("birth_date")
        say(dispatcher, "Periksa pengajuan akta kelahiran:\n"
            f"- Nama anak: {tracker.get_slot('child_name')}\n"
            f"- Lahir: {tracker.get_slot('birth_place')}, {format_date(born)}\n"
            f"- Dokumen: {len(tracker.get_slot('birth_document_refs') or [])} berkas\n"
            "Kirim pengajuan ini?", [("Ya, kirim", "ya"), ("Batal", "batal")])
        return []


def application_ref(tracker: Tracker) -> str:
    """Our reference for one application, so a retry after a lost answer cannot file it twice."""
    parts = [tracker.sender_id, *(str(tracker.get_slot(s)) for s in
             ("child_name", "birth_date", "father_nik", "mother_nik"))]
    return "pintu-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


class ActionBirthSubmit(PintuAction):
    def name(self) -> str:
        return "action_birth_submit"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("birth_confirm") != "ya":
            say(dispatcher, "Baik, pengajuan akta kelahiran dibatalkan dan tidak dikirim.")
            return [AllSlotsReset()]
        refs = tracker.get_slot("birth_document_refs") or []
        try:
            registration = await context.agency().dukcapil.submit_birth_registration(
                child_name=tracker.get_slot("child_name"),
                birth_date=tracker.get_slot("birth_date"),
                birth_place=tracker.get_slot("birth_place"),
                father_nik=tracker.get_slot("father_nik"),
                mother_nik=tracker.get_slot("mother_nik"),
                documents=[{"kind": "lampiran", "ref": str(r)} for r in refs],
                external_ref=application_ref(tracker),
            )
        except AgencyUnavailable:
            say(dispatcher, "Maaf, sistem Disdukcapil sedang tidak dapat dihubungi. Data pengajuan "
                "masih saya ingat; coba kirim lagi sebentar lagi.",
                [("Coba kirim lagi", payload("birth_certificate", "retry")), ("Batal", "/deny")])
            return [SlotSet("birth_confirm", None)]
        except AgencyRejected as exc:
            say(dispatcher, f"Pengajuan ditolak sistem Disdukcapil: {exc.public_message}. "
                "Silakan periksa data lalu ajukan lagi, atau hubungi petugas.",
                [("Bicara dengan petugas", payload("human_handoff"))])
            return [AllSlotsReset()]
        except AgencyError as exc:
            log.error("birth registration failed: %s", type(exc).__name__)
            say(dispatcher, "Maaf, pengajuan belum dapat diproses. Silakan hubungi petugas.",
                [("Bicara dengan petugas", payload("human_handoff"))])
            return [AllSlotsReset()]
        say(dispatcher, "Pengajuan akta kelahiran terkirim.\n"
            f"Nomor registrasi: {registration.registration_number}\n"
            "Petugas Disdukcapil memverifikasi dalam 1-3 hari kerja. Cek status kapan saja dengan "
            f"mengetik: status {registration.registration_number}. Gratis, tanpa biaya.")
        number = registration.registration_number
        await follow(dispatcher, tracker.sender_id, agency="dukcapil", kind="birth_registration",
                     ref=number, label=f"akta kelahiran {number}", what="pengajuan ini")
        return [AllSlotsReset()]


