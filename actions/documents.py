"""KTP-el, KK, birth and death certificates, relocation: status checks and information."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from nlu.nik import normalize_nik, validate_kk_number, validate_nik

from . import context
from .common import PintuAction, choice, follow, latest_entities, latest_text, payload, say
from .forms import open_form
from .identity import checked, refused_before_asking
from .logic.documents import INFO, STATUS, UNCLEAR, DocumentRequest, classify_document_request
from .logic.replies import family_reply, ktp_status_reply

# KTP states that will still change: the resident may want to hear when (siap_diambil above all).
IN_PROGRESS = frozenset({"belum_rekam", "sudah_rekam", "dicetak", "perlu_perbaikan"})

# intent -> (knowledge-base document id, name residents know it by)
DOCUMENTS = {
    "ktp": ("ktp", "KTP-el"),
    "kk": ("kk", "Kartu Keluarga (KK)"),
    "birth_certificate": ("akta_kelahiran", "akta kelahiran"),
    "death_certificate": ("akta_kematian", "akta kematian"),
    "relocation": ("pindah", "surat pindah"),
}
ASPECT_TITLES = (
    ("persyaratan", "Syarat"),
    ("prosedur", "Cara mengurus"),
    ("biaya", "Biaya"),
    ("lama", "Lama proses"),
    ("tempat", "Tempat"),
)


def info_choice(case: str | None, aspect: str) -> str:
    return f"info:{case or 'baru'}:{aspect}"


def parse_choice(value: str | None) -> DocumentRequest | None:
    """Reads a button's choice ("status", "info", "info:hilang:biaya")."""
    if not value:
        return None
    parts = value.split(":")
    if parts[0] == STATUS:
        return DocumentRequest(STATUS)
    if parts[0] == INFO:
        case = parts[1] if len(parts) > 1 and parts[1] else None
        aspect = parts[2] if len(parts) > 2 and parts[2] else None
        return DocumentRequest(INFO, case, aspect)
    if parts[0] == "apply":
        return DocumentRequest("apply")
    return None


def answer_info(dispatcher: CollectingDispatcher, intent: str, request: DocumentRequest) -> None:
    """One knowledge-base answer, then buttons for the document's other aspects."""
    kb = context.knowledge()
    document, label = DOCUMENTS[intent]
    cases = dict(kb.document_cases(document))
    case = request.case if request.case in cases else None
    if request.aspect is None and case is None and len(cases) > 1:
        say(dispatcher, f"Info {label}: untuk keperluan apa?",
            [(title, payload(intent, f"info:{cid}:")) for cid, title in cases.items()])
        return
    aspect = request.aspect or "persyaratan"
    text = kb.document_answer(document, case, aspect)
    others = [(title, payload(intent, info_choice(case, a)))
              for a, title in ASPECT_TITLES if a != aspect]
    say(dispatcher, text, others[:4])


class DocumentRouter(PintuAction):
    """Status, information, or a question back when the message does not say which."""

    has_status = True

    @property
    @abstractmethod
    def intent(self) -> str: ...

    def name(self) -> str:
        return f"action_{self.intent}"

    def start_status(self, tracker: Tracker) -> list[EventType]:
        known: dict[str, Any] = {"doc_kind": self.intent}
        # A valid NIK/KK given with the request is not asked again.
        for slot, values, check in (
            ("nik", latest_entities(tracker, "nik"), validate_nik),
            ("kk_number", latest_entities(tracker, "kk_number"), validate_kk_number),
        ):
            if values and check(values[0]).ok:
                known[slot] = normalize_nik(values[0])
        return open_form("doc_status_form", known)

    def unclear(self, dispatcher: CollectingDispatcher) -> None:
        _, label = DOCUMENTS[self.intent]
        buttons = [("Syarat & cara mengurus", payload(self.intent, "info"))]
        if self.has_status:
            buttons.insert(0, (f"Cek status {label} saya", payload(self.intent, "status")))
        buttons.append(("Ambil antrean", payload("queue_booking")))
        say(dispatcher, f"Tentang {label}, apa yang Anda perlukan?", buttons)

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        request = parse_choice(choice(tracker)) or classify_document_request(latest_text(tracker))
        if request.mode == STATUS and self.has_status:
            if await refused_before_asking(dispatcher, tracker.sender_id):
                return [SlotSet("choice", None)]
            return [SlotSet("choice", None), *self.start_status(tracker)]
        if request.mode == UNCLEAR:
            self.unclear(dispatcher)
            return []
        answer_info(dispatcher, self.intent, request if request.mode == INFO else
                    DocumentRequest(INFO))
        return [SlotSet("choice", None)]


class ActionKtp(DocumentRouter):
    intent = "ktp"


class ActionKk(DocumentRouter):
    intent = "kk"


class ActionDeathCertificate(DocumentRouter):
    intent = "death_certificate"
    has_status = False


class ActionRelocation(DocumentRouter):
    intent = "relocation"
    has_status = False


class ValidateDocStatusForm(FormValidationAction):
    """Explains a malformed NIK or KK precisely; nothing is checked with Dukcapil here."""

    def name(self) -> str:
        return "validate_doc_status_form"

    def validate_nik(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                     domain: DomainDict) -> dict[str, Any]:
        values = latest_entities(tracker, "nik") or [str(value or "")]
        check = validate_nik(values[0])
        if not check.ok:
            say(dispatcher, check.message + " Coba ketik lagi NIK Anda, atau ketik batal.")
            return {"nik": None}
        return {"nik": normalize_nik(values[0])}

    def validate_kk_number(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> dict[str, Any]:
        values = (latest_entities(tracker, "kk_number") or latest_entities(tracker, "nik")
                  or [str(value or "")])
        check = validate_kk_number(values[0])
        if not check.ok:
            say(dispatcher, check.message + " Coba ketik lagi Nomor KK Anda, atau ketik batal.")
            return {"kk_number": None}
        return {"kk_number": normalize_nik(values[0])}


class ActionDocumentStatus(PintuAction):
    """Verifies NIK + KK with Dukcapil, then answers the KTP status or the KK members (masked)."""

    def name(self) -> str:
        return "action_document_status"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        nik, kk = str(tracker.get_slot("nik") or ""), str(tracker.get_slot("kk_number") or "")
        kind = tracker.get_slot("doc_kind") or "ktp"
        forget = [SlotSet("nik", None), SlotSet("kk_number", None), SlotSet("doc_kind", None)]
        dukcapil = context.agency().dukcapil
        sender = tracker.sender_id
        check = dict(what="NIK dan Nomor KK Anda", retry=payload(kind, "status"))
        if kind == "kk":
            members = await checked(dispatcher, sender, nik, lambda: dukcapil.kk_members(nik, kk),
                                    **check)
            if members is not None:
                say(dispatcher, family_reply(members))
            return forget
        status = await checked(dispatcher, sender, nik, lambda: dukcapil.ktp_status(nik, kk),
                               **check)
        if status is None:
            return forget
        say(dispatcher, ktp_status_reply(status))
        if status.status in IN_PROGRESS and status.resident_ref:
            # Only after NIK and KK matched: the chat is the holder's.
            await follow(dispatcher, sender, agency="dukcapil", kind="ktp",
                         ref=status.resident_ref, label="KTP-el", what="KTP-el Anda")
        return forget
