"""LAKSA (complaints, run by the Tangerang Live Room): file a complaint, follow its status.

Filing is idempotent on `external_ref` (the caller's own ticket number): a repeat, say after a lost
answer, returns the first complaint's receipt and creates nothing.
"""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from ..catalog import COMPLAINT_ROUTES, COMPLAINT_STATUSES, complaint_route, label
from ..clock import wib
from ..errors import ApiError, error_responses
from ..geo import find_kecamatan
from ..models import Complaint, ComplaintEvent
from ..queue_rules import add_working_days
from .common import HistoryItem, LockDep, NowDep, SessionDep, history, opaque_ref

router = APIRouter(prefix="/laksa/v1", tags=["LAKSA"], responses=error_responses(422))


class ComplaintIn(BaseModel):
    external_ref: str = Field(min_length=3, max_length=64, examples=["LKS-123456"])
    category: str = Field(pattern=r"^[a-z0-9_]{2,40}$", examples=["jalan_rusak"],
                          description="see GET /laksa/v1/categories; unknown codes go to the "
                                      "Tangerang Live Room")
    description: str = Field(min_length=3, max_length=2000)
    kecamatan: str | None = Field(default=None, max_length=40)
    kelurahan: str | None = Field(default=None, max_length=40)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    photo_refs: list[str] = Field(default_factory=list, max_length=10)
    reporter_ref: str = Field(min_length=3, max_length=64,
                              description="opaque id of the reporter; never a phone number")


class ReceiptOut(BaseModel):
    agency_ref: str
    external_ref: str
    assigned_agency: str
    expected_response_days: int = Field(description="working days")
    status: str
    status_label: str
    created_at: datetime
    created: bool = Field(description="false when this was a repeat of external_ref")


class ComplaintOut(BaseModel):
    agency_ref: str
    external_ref: str | None
    category: str
    category_label: str
    kecamatan: str | None
    kelurahan: str | None
    assigned_agency: str
    expected_response_days: int
    respond_by: date
    status: str
    status_label: str
    created_at: datetime
    updated_at: datetime
    history: list[HistoryItem]


class CategoryOut(BaseModel):
    code: str
    label: str
    assigned_agency: str
    expected_response_days: int


def _receipt(row: Complaint, created: bool) -> ReceiptOut:
    return ReceiptOut(agency_ref=row.agency_ref, external_ref=row.external_ref or "",
                      assigned_agency=row.assigned_agency,
                      expected_response_days=row.expected_response_days, status=row.status,
                      status_label=label(COMPLAINT_STATUSES, row.status),
                      created_at=wib(row.created_at), created=created)


def _by_external_ref(session: SessionDep, ref: str) -> Complaint | None:
    return session.scalar(select(Complaint).where(Complaint.external_ref == ref))


@router.get("/categories", response_model=list[CategoryOut], summary="Categories and routing")
def categories() -> list[CategoryOut]:
    return [CategoryOut(code=code, label=r.label, assigned_agency=r.agency,
                        expected_response_days=r.response_days)
            for code, r in COMPLAINT_ROUTES.items()]


@router.post("/complaints", response_model=ReceiptOut, status_code=201,
             responses={200: {"model": ReceiptOut, "description": "repeat of external_ref"},
                        **error_responses(422)},
             summary="File a complaint (idempotent on external_ref)")
def submit_complaint(body: ComplaintIn, session: SessionDep, now: NowDep, lock: LockDep,
                     response: Response) -> ReceiptOut:
    opaque_ref(body.reporter_ref, "reporter_ref")
    with lock:
        existing = _by_external_ref(session, body.external_ref)
        if existing is not None:
            response.status_code = 200
            return _receipt(existing, created=False)
        route = complaint_route(body.category)
        kecamatan = find_kecamatan(body.kecamatan)
        last = session.scalar(select(func.max(Complaint.agency_ref))) or "TLR-100000"
        row = Complaint(
            agency_ref=f"TLR-{int(last[4:]) + 1}", external_ref=body.external_ref, channel="api",
            category=body.category, description=body.description.strip(),
            kecamatan=kecamatan.name if kecamatan else body.kecamatan,
            kelurahan=body.kelurahan, latitude=body.latitude, longitude=body.longitude,
            photo_refs=body.photo_refs, reporter_ref=body.reporter_ref,
            assigned_agency=route.agency, expected_response_days=route.response_days,
            status="diteruskan", created_at=now, updated_at=now,
            events=[ComplaintEvent(status="diterima", at=now, photo_refs=[],
                                   note="Laporan diterima Tangerang Live Room."),
                    ComplaintEvent(status="diteruskan", at=now, photo_refs=[],
                                   note=f"Diteruskan ke {route.agency}.")])
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # another process filed the same external_ref first
            session.rollback()
            existing = _by_external_ref(session, body.external_ref)
            if existing is None:
                raise
            response.status_code = 200
            return _receipt(existing, created=False)
    return _receipt(row, created=True)


@router.get("/complaints/{ref}", response_model=ComplaintOut, responses=error_responses(404),
            summary="Status and history, by LAKSA's agency_ref or the caller's external_ref")
def complaint(ref: str, session: SessionDep) -> ComplaintOut:
    ref = ref.strip()
    row = session.scalar(select(Complaint).where(
        or_(Complaint.agency_ref == ref.upper(), Complaint.external_ref == ref)))
    if row is None:
        raise ApiError(404, "complaint_not_found", "Laporan tidak ditemukan.")
    created = wib(row.created_at)
    return ComplaintOut(
        agency_ref=row.agency_ref, external_ref=row.external_ref, category=row.category,
        category_label=complaint_route(row.category).label if row.category in COMPLAINT_ROUTES
        else row.category, kecamatan=row.kecamatan, kelurahan=row.kelurahan,
        assigned_agency=row.assigned_agency, expected_response_days=row.expected_response_days,
        respond_by=add_working_days(session, created.date(), row.expected_response_days),
        status=row.status, status_label=label(COMPLAINT_STATUSES, row.status),
        created_at=created, updated_at=wib(row.updated_at),
        history=history(row.events, COMPLAINT_STATUSES))
