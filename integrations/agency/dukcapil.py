"""Dukcapil (population registry): identity checks, KTP-el status, KK members, birth registration.

NIK and KK number travel only in POST bodies, never in URLs, logs or error messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .base import ServiceClient
from .records import StatusEvent, history, optional_str, parse, parse_date, parse_datetime


@dataclass(frozen=True)
class IdentityVerification:
    verified: bool
    resident_ref: str


@dataclass(frozen=True)
class KtpStatus:
    """Where a KTP-el is: belum_wajib, belum_rekam, sudah_rekam, dicetak, siap_diambil,
    sudah_diambil or perlu_perbaikan."""

    status: str
    status_label: str
    office: str | None
    ready_since: date | None
    collected_on: date | None
    note: str | None
    updated_at: datetime | None
    # Dukcapil's opaque id of the resident, which its status webhooks name (None: not given).
    resident_ref: str | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> KtpStatus:
        return cls(status=str(d["status"]), status_label=str(d.get("status_label") or d["status"]),
                   resident_ref=optional_str(d.get("resident_ref")),
                   office=optional_str(d.get("office")),
                   ready_since=parse_date(d.get("ready_since")),
                   collected_on=parse_date(d.get("collected_on")), note=optional_str(d.get("note")),
                   updated_at=parse_datetime(d.get("updated_at")))


@dataclass(frozen=True)
class KkMember:
    """A family member as a chat may show it: initials, never the name."""

    initials: str
    relation: str
    gender: str


@dataclass(frozen=True)
class BirthDocument:
    kind: str
    ref: str


@dataclass(frozen=True)
class BirthRegistrationReceipt:
    registration_number: str
    status: str
    status_label: str
    submitted_at: datetime | None
    created: bool


@dataclass(frozen=True)
class BirthRegistration:
    registration_number: str
    status: str
    status_label: str
    child_initials: str
    certificate_number: str | None
    submitted_at: datetime | None
    updated_at: datetime | None
    history: tuple[StatusEvent, ...]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BirthRegistration:
        return cls(registration_number=str(d["registration_number"]), status=str(d["status"]),
                   status_label=str(d.get("status_label") or d["status"]),
                   child_initials=str(d.get("child_initials") or ""),
                   certificate_number=optional_str(d.get("certificate_number")),
                   submitted_at=parse_datetime(d.get("submitted_at")),
                   updated_at=parse_datetime(d.get("updated_at")),
                   history=history(d.get("history")))


Document = BirthDocument | Mapping[str, Any]


def _document(doc: Document) -> dict[str, str]:
    if isinstance(doc, BirthDocument):
        return {"kind": doc.kind, "ref": doc.ref}
    return {"kind": str(doc["kind"]), "ref": str(doc["ref"])}


class DukcapilClient(ServiceClient):
    """Disdukcapil's API. Every identity call raises IdentityNotVerified on a mismatch (NIK/KK, or
    registration number/parent NIK)."""

    service = "dukcapil"

    async def verify_identity(self, nik: str, kk_number: str) -> IdentityVerification:
        data = await self.http.request("POST", "/dukcapil/v1/identity/verify", idempotent=True,
                                       json={"nik": nik, "kk_number": kk_number})
        return parse(lambda d: IdentityVerification(bool(d["verified"]), str(d["resident_ref"])),
                     data, self.service)

    async def ktp_status(self, nik: str, kk_number: str) -> KtpStatus:
        data = await self.http.request("POST", "/dukcapil/v1/ktp/status", idempotent=True,
                                       json={"nik": nik, "kk_number": kk_number})
        return parse(KtpStatus.from_json, data, self.service)

    async def kk_members(self, nik: str, kk_number: str) -> tuple[KkMember, ...]:
        data = await self.http.request("POST", "/dukcapil/v1/kk/members", idempotent=True,
                                       json={"nik": nik, "kk_number": kk_number})
        return parse(lambda d: tuple(KkMember(str(m["initials"]), str(m["relation"]),
                                              str(m["gender"])) for m in d["members"]),
                     data, self.service)

    async def submit_birth_registration(
            self, *, child_name: str, birth_date: date | str, birth_place: str, father_nik: str,
            mother_nik: str, documents: Iterable[Document],
            external_ref: str | None = None) -> BirthRegistrationReceipt:
        """Applies for a birth certificate.

        Args:
            external_ref: our own reference; when given, the agency de-duplicates on it, so the
                request is retried safely after a lost answer. Without it, it is never retried.
        """
        body = {"child_name": child_name, "birth_place": birth_place, "father_nik": father_nik,
                "mother_nik": mother_nik, "documents": [_document(d) for d in documents],
                "birth_date": birth_date.isoformat() if isinstance(birth_date, date)
                else str(birth_date), "external_ref": external_ref}
        data = await self.http.request("POST", "/dukcapil/v1/birth-registrations", json=body,
                                       idempotent=external_ref is not None)
        return parse(lambda d: BirthRegistrationReceipt(
            registration_number=str(d["registration_number"]), status=str(d["status"]),
            status_label=str(d.get("status_label") or d["status"]),
            submitted_at=parse_datetime(d.get("submitted_at")),
            created=bool(d.get("created", True))), data, self.service)

    async def birth_registration(self, number: str, nik: str) -> BirthRegistration:
        """A birth registration's status, told only when `nik` is a parent's NIK recorded in it.

        Raises:
            IdentityNotVerified: the number is unknown, or the NIK is not a parent's in it (the
                agency does not say which).
        """
        data = await self.http.request("POST", "/dukcapil/v1/birth-registrations/status",
                                       idempotent=True,
                                       json={"registration_number": number.strip().upper(),
                                             "nik": nik})
        return parse(BirthRegistration.from_json, data, self.service)
