"""Sandbox control: move a complaint, a birth registration or a KTP on, as an officer would, and
see or push the status webhooks each change queues for Pintu (`sandbox.webhooks`).

Only mounted when faults are allowed (SANDBOX_ALLOW_FAULTS, default on); no real agency has these.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import or_, select

from ..catalog import BIRTH_STATUSES, COMPLAINT_STATUSES, KTP_STATUSES, label
from ..errors import ApiError, error_responses
from ..models import (
    BirthEvent,
    BirthRegistration,
    Complaint,
    ComplaintEvent,
    Resident,
    WebhookDelivery,
)
from ..nik import initials
from ..webhooks import queue_event
from .common import NowDep, SessionDep

router = APIRouter(prefix="/_sandbox", tags=["sandbox control"], responses=error_responses(422))


class ComplaintUpdate(BaseModel):
    status: str = Field(description=", ".join(COMPLAINT_STATUSES))
    note: str = Field(min_length=1, max_length=300)
    photo_refs: list[str] = Field(default_factory=list, max_length=10)


class BirthUpdate(BaseModel):
    status: str = Field(description=", ".join(BIRTH_STATUSES))
    note: str = Field(min_length=1, max_length=200)
    certificate_number: str | None = Field(default=None, max_length=30)


class Updated(BaseModel):
    ref: str
    status: str


@router.post("/complaints/{ref}/status", response_model=Updated,
             responses=error_responses(404, 422), summary="Advance a complaint")
def advance_complaint(ref: str, body: ComplaintUpdate, session: SessionDep,
                      now: NowDep) -> Updated:
    if body.status not in COMPLAINT_STATUSES:
        raise ApiError(422, "unknown_status", "Status tidak dikenal.")
    row = session.scalar(select(Complaint).where(
        or_(Complaint.agency_ref == ref, Complaint.external_ref == ref)))
    if row is None:
        raise ApiError(404, "complaint_not_found", "Laporan tidak ditemukan.")
    row.status, row.updated_at = body.status, now
    row.events.append(ComplaintEvent(status=body.status, at=now, note=body.note,
                                     photo_refs=body.photo_refs))
    queue_event(session, agency="laksa", kind="complaint", ref=row.external_ref or row.agency_ref,
                status=body.status, status_label=label(COMPLAINT_STATUSES, body.status),
                note=body.note, at=now)
    session.commit()
    return Updated(ref=row.agency_ref, status=row.status)


@router.post("/birth-registrations/{number}/status", response_model=Updated,
             responses=error_responses(404, 422), summary="Advance a birth registration")
def advance_birth(number: str, body: BirthUpdate, session: SessionDep, now: NowDep) -> Updated:
    if body.status not in BIRTH_STATUSES:
        raise ApiError(422, "unknown_status", "Status tidak dikenal.")
    row = session.scalar(select(BirthRegistration).where(
        BirthRegistration.number == number.upper()))
    if row is None:
        raise ApiError(404, "registration_not_found", "Nomor registrasi tidak ditemukan.")
    row.status, row.updated_at = body.status, now
    if body.certificate_number:
        row.certificate_number = body.certificate_number
    row.events.append(BirthEvent(status=body.status, at=now, note=body.note))
    document = None
    if body.status == "selesai":  # an electronic certificate: nothing to collect
        document = {"label": f"Akta kelahiran {row.number}",
                    "holder_initials": initials(row.child_name), "office": None}
    queue_event(session, agency="dukcapil", kind="birth_registration", ref=row.number,
                status=body.status, status_label=label(BIRTH_STATUSES, body.status),
                note=body.note, at=now, document=document)
    session.commit()
    return Updated(ref=row.number, status=row.status)


class KtpUpdate(BaseModel):
    status: str = Field(description=", ".join(KTP_STATUSES))
    office: str | None = Field(default=None, max_length=80,
                               description="where to collect it (siap_diambil)")
    note: str | None = Field(default=None, max_length=200)


@router.post("/ktp/{resident_ref}/status", response_model=Updated,
             responses=error_responses(404, 422), summary="Advance a resident's KTP-el")
def advance_ktp(resident_ref: str, body: KtpUpdate, session: SessionDep,
                now: NowDep) -> Updated:
    if body.status not in KTP_STATUSES:
        raise ApiError(422, "unknown_status", "Status tidak dikenal.")
    row = session.scalar(select(Resident).where(Resident.ref == resident_ref))
    if row is None:
        raise ApiError(404, "resident_not_found", "Penduduk tidak ditemukan.")
    row.ktp_status, row.ktp_updated_at, row.ktp_note = body.status, now, body.note
    if body.office:
        row.ktp_office = body.office
    document = None
    if body.status == "siap_diambil":
        row.ktp_ready_since = now.date()
        document = {"label": "KTP-el", "holder_initials": initials(row.full_name),
                    "office": row.ktp_office}
    queue_event(session, agency="dukcapil", kind="ktp", ref=row.ref, status=body.status,
                status_label=label(KTP_STATUSES, body.status), note=body.note, at=now,
                document=document)
    session.commit()
    return Updated(ref=row.ref, status=row.ktp_status)


class DeliveryOut(BaseModel):
    event_id: str
    agency: str
    kind: str
    ref: str
    status: str
    attempts: int
    delivered_at: datetime | None
    failed_at: datetime | None
    last_error: str | None


@router.get("/webhooks", response_model=list[DeliveryOut],
            summary="The status webhooks queued for Pintu, newest first")
def webhooks(session: SessionDep, limit: int = 50) -> list[DeliveryOut]:
    rows = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id.desc())
                           .limit(max(1, min(limit, 500)))).all()
    return [DeliveryOut(event_id=d.event_id, agency=d.agency, kind=d.body["kind"],
                        ref=d.body["ref"], status=d.body["status"], attempts=d.attempts,
                        delivered_at=d.delivered_at, failed_at=d.failed_at,
                        last_error=d.last_error) for d in rows]


class Delivered(BaseModel):
    delivered: int


@router.post("/webhooks/deliver", response_model=Delivered, responses=error_responses(409),
             summary="Send the due status webhooks now (rather than at the next round)")
async def deliver_now(request: Request) -> Delivered:
    dispatcher = request.app.state.dispatcher
    if dispatcher is None:
        raise ApiError(409, "webhooks_off", "SANDBOX_WEBHOOK_URL belum diatur.")
    return Delivered(delivered=await dispatcher.deliver_due())
