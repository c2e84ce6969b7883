"""Sandbox control: move a complaint or a birth registration on, as an officer would.

Only mounted when faults are allowed (SANDBOX_ALLOW_FAULTS, default on); no real agency has these.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import or_, select

from ..catalog import BIRTH_STATUSES, COMPLAINT_STATUSES
from ..errors import ApiError, error_responses
from ..models import BirthEvent, BirthRegistration, Complaint, ComplaintEvent
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
    session.commit()
    return Updated(ref=row.number, status=row.status)
