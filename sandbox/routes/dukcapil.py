"""Dukcapil (population registry): identity checks, KTP-el status, KK members, birth registration.

Identity failures answer the same 404 `identity_not_verified` whether the NIK is unknown or the KK
does not match, from one query, so neither the body nor the timing tells which. A birth
registration's status is told the same way: only for its number together with a parent's NIK.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import or_, select

from ..catalog import BIRTH_STATUSES, KTP_STATUSES, label
from ..clock import wib
from ..errors import ApiError, error_responses
from ..models import BirthEvent, BirthRegistration, Family, Resident
from ..nik import initials, parse_nik
from .common import HistoryItem, KkNumber, LockDep, Nik, NowDep, SessionDep, history

router = APIRouter(prefix="/dukcapil/v1", tags=["Dukcapil"], responses=error_responses(422))


class IdentityIn(BaseModel):
    nik: Nik
    kk_number: KkNumber


class VerifyOut(BaseModel):
    verified: bool
    resident_ref: str = Field(description="opaque, stable id of the resident")


class KtpStatusOut(BaseModel):
    resident_ref: str = Field(description="opaque, stable id of the resident: the `ref` of "
                                          "this KTP's status webhooks")
    status: str = Field(description=", ".join(KTP_STATUSES))
    status_label: str
    office: str | None = Field(description="where to collect (siap_diambil, sudah_diambil)")
    ready_since: date | None
    collected_on: date | None
    note: str | None = Field(description="what to fix (perlu_perbaikan)")
    updated_at: datetime


class KkMemberOut(BaseModel):
    initials: str
    relation: str
    gender: str = Field(description="L or P")


class KkMembersOut(BaseModel):
    members: list[KkMemberOut]


class DocumentIn(BaseModel):
    kind: str = Field(min_length=1, max_length=40, examples=["surat_keterangan_lahir"])
    ref: str = Field(min_length=1, max_length=300, description="where the upload is stored")


class BirthRegistrationIn(BaseModel):
    child_name: str = Field(min_length=2, max_length=80, pattern=r"^[A-Za-z][A-Za-z .'-]*$")
    birth_date: date
    birth_place: str = Field(min_length=3, max_length=120)
    father_nik: Nik
    mother_nik: Nik
    documents: list[DocumentIn] = Field(min_length=1, max_length=20)
    external_ref: str | None = Field(default=None, min_length=3, max_length=64,
                                     description="optional idempotency key: a repeat returns "
                                                 "the first registration")


class BirthReceiptOut(BaseModel):
    registration_number: str
    status: str
    status_label: str
    submitted_at: datetime
    created: bool


class BirthRegistrationOut(BaseModel):
    registration_number: str
    status: str
    status_label: str
    child_initials: str
    certificate_number: str | None
    submitted_at: datetime
    updated_at: datetime
    history: list[HistoryItem]


def _not_verified() -> ApiError:
    return ApiError(404, "identity_not_verified",
                    "NIK dan Nomor KK tidak cocok dengan data kependudukan.")


def _resident(session: SessionDep, body: IdentityIn) -> Resident:
    resident = session.scalar(select(Resident).join(Family).where(
        Resident.nik == body.nik, Family.kk_number == body.kk_number))
    if resident is None:
        raise _not_verified()
    return resident


IDENTITY_ERRORS = error_responses(404, 422)


@router.post("/identity/verify", response_model=VerifyOut, responses=IDENTITY_ERRORS,
             summary="Check that a NIK belongs to a KK")
def verify_identity(body: IdentityIn, session: SessionDep) -> VerifyOut:
    return VerifyOut(verified=True, resident_ref=_resident(session, body).ref)


@router.post("/ktp/status", response_model=KtpStatusOut, responses=IDENTITY_ERRORS,
             summary="KTP-el status (POST: NIK and KK never go in a URL or an access log)")
def ktp_status(body: IdentityIn, session: SessionDep) -> KtpStatusOut:
    r = _resident(session, body)
    return KtpStatusOut(resident_ref=r.ref, status=r.ktp_status,
                        status_label=label(KTP_STATUSES, r.ktp_status),
                        office=r.ktp_office, ready_since=r.ktp_ready_since,
                        collected_on=r.ktp_collected_on, note=r.ktp_note,
                        updated_at=wib(r.ktp_updated_at))


@router.post("/kk/members", response_model=KkMembersOut, responses=IDENTITY_ERRORS,
             summary="Members of the KK, initials only")
def kk_members(body: IdentityIn, session: SessionDep) -> KkMembersOut:
    family = _resident(session, body).family
    return KkMembersOut(members=[KkMemberOut(initials=initials(m.full_name), relation=m.relation,
                                             gender=m.gender) for m in family.members])


def _check_parent(nik: str, field: str, who: str, female: bool) -> None:
    facts = parse_nik(nik)
    if facts is None:
        raise ApiError(422, f"invalid_{field}", f"NIK {who} tidak valid.")
    if facts.female != female:
        raise ApiError(422, f"invalid_{field}", f"NIK {who} tercatat sebagai "
                       f"{'perempuan' if facts.female else 'laki-laki'}.")


def _free_number(session: SessionDep) -> str:
    """A random unused AKL- number (random, so numbers do not reveal how many were filed)."""
    while True:
        number = f"AKL-{secrets.randbelow(900000) + 100000}"
        if session.scalar(select(BirthRegistration.id).where(
                BirthRegistration.number == number)) is None:
            return number


def _receipt(row: BirthRegistration, created: bool) -> BirthReceiptOut:
    return BirthReceiptOut(registration_number=row.number, status=row.status,
                           status_label=label(BIRTH_STATUSES, row.status),
                           submitted_at=wib(row.submitted_at), created=created)


@router.post("/birth-registrations", response_model=BirthReceiptOut, status_code=201,
             responses={200: {"model": BirthReceiptOut, "description": "repeat of external_ref"},
                        **error_responses(422)},
             summary="Apply for a birth certificate online")
def submit_birth_registration(body: BirthRegistrationIn, session: SessionDep, now: NowDep,
                              lock: LockDep, response: Response) -> BirthReceiptOut:
    # Parent NIKs are checked for structure only: whether they exist is for the officer to
    # verify, or this route would tell anyone which NIKs are real.
    _check_parent(body.father_nik, "father_nik", "ayah", female=False)
    _check_parent(body.mother_nik, "mother_nik", "ibu", female=True)
    if body.birth_date > now.date():
        raise ApiError(422, "birth_date_in_future", "Tanggal lahir tidak boleh di masa depan.")
    if body.birth_date < now.date() - timedelta(days=365 * 100):
        raise ApiError(422, "birth_date_too_old", "Tanggal lahir tidak masuk akal.")
    with lock:
        if body.external_ref:
            existing = session.scalar(select(BirthRegistration).where(
                BirthRegistration.external_ref == body.external_ref))
            if existing is not None:
                response.status_code = 200
                return _receipt(existing, created=False)
        number = _free_number(session)
        row = BirthRegistration(
            number=number, external_ref=body.external_ref,
            child_name=" ".join(body.child_name.split()),
            birth_date=body.birth_date, birth_place=body.birth_place.strip(),
            father_nik=body.father_nik, mother_nik=body.mother_nik,
            documents=[d.model_dump() for d in body.documents], status="diajukan",
            submitted_at=now, updated_at=now,
            events=[BirthEvent(status="diajukan", at=now,
                               note="Pengajuan diterima secara online.")])
        session.add(row)
        session.commit()
    return _receipt(row, created=True)


class BirthStatusIn(BaseModel):
    registration_number: str = Field(pattern=r"^[Aa][Kk][Ll]-\d{6}$",
                                     examples=["AKL-100001"])
    nik: Nik = Field(description="NIK of the father or the mother, as recorded in the "
                                 "registration")


@router.post("/birth-registrations/status", response_model=BirthRegistrationOut,
             responses=IDENTITY_ERRORS,
             summary="Status and history of a birth registration, for a parent named in it")
def birth_registration(body: BirthStatusIn, session: SessionDep) -> BirthRegistrationOut:
    # One query for every case: an unknown number, a NIK that is no parent's and a NIK of
    # another registration do the same work and get the same answer.
    row = session.scalar(select(BirthRegistration).where(
        BirthRegistration.number == body.registration_number.upper(),
        or_(BirthRegistration.father_nik == body.nik, BirthRegistration.mother_nik == body.nik)))
    if row is None:
        raise ApiError(404, "identity_not_verified",
                       "Nomor registrasi dan NIK tidak cocok dengan data pengajuan.")
    return BirthRegistrationOut(
        registration_number=row.number, status=row.status,
        status_label=label(BIRTH_STATUSES, row.status), child_initials=initials(row.child_name),
        certificate_number=row.certificate_number, submitted_at=wib(row.submitted_at),
        updated_at=wib(row.updated_at), history=history(row.events, BIRTH_STATUSES))
