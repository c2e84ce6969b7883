"""Queue (antrean online): services, offices, free slots, bookings and cancellations.

Rules: no Sundays or holidays, Saturdays only where the office opens (half quota), not in the
past, at most 14 days ahead, today only before noon, a daily quota per office and service, and one
active booking per holder, service and day. Repeating the same booking returns it (idempotent).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from .. import queue_rules as rules
from ..catalog import BOOKING_STATUSES, label
from ..clock import wib
from ..errors import ApiError, error_responses
from ..models import Booking, BookingEvent, Office, QueueService, Quota
from .common import HistoryItem, LockDep, NowDep, SessionDep, history, opaque_ref

router = APIRouter(prefix="/queue/v1", tags=["Queue"], responses=error_responses(422))
HOURS = "Senin-Jumat 08.00-15.00"


class ServiceOut(BaseModel):
    code: str
    name: str
    agency: str
    queue_letter: str
    requirements: list[str]
    offices: list[str]


class OfficeOut(BaseModel):
    code: str
    name: str
    kecamatan: str
    address: str | None
    hours: str
    services: list[str]


class WindowOut(BaseModel):
    start: str = Field(examples=["08:00"])
    end: str
    available: int


class DayOut(BaseModel):
    date: date
    open: bool
    closed_reason: str | None = None
    closed_label: str | None = None
    quota: int = 0
    booked: int = 0
    available: int = 0
    windows: list[WindowOut] = Field(default_factory=list)


class SlotsOut(BaseModel):
    service: str
    office: str
    days: list[DayOut]


class BookingIn(BaseModel):
    service: str = Field(examples=["ktp_el"])
    office: str = Field(examples=["disdukcapil"])
    date: date
    holder_ref: str = Field(min_length=3, max_length=64, description="opaque id of the resident")


class BookingOut(BaseModel):
    booking_number: str
    service: str
    service_name: str
    office: str
    office_name: str
    date: date
    queue_number: str = Field(examples=["A-017"])
    window_start: str
    window_end: str
    status: str
    status_label: str
    requirements: list[str]
    created_at: datetime
    updated_at: datetime
    created: bool = Field(default=False, description="false when an existing booking is returned")
    history: list[HistoryItem]


def _service(session: SessionDep, code: str) -> QueueService:
    service = session.get(QueueService, code)
    if service is None:
        raise ApiError(404, "service_not_found", "Layanan tidak dikenal.")
    return service


def _office(session: SessionDep, code: str) -> Office:
    office = session.get(Office, code)
    if office is None:
        raise ApiError(404, "office_not_found", "Kantor tidak dikenal.")
    return office


def _quota(session: SessionDep, office: Office, service: QueueService) -> Quota:
    quota = session.get(Quota, (office.code, service.code))
    if quota is None:
        raise ApiError(422, "service_not_offered", f"{service.name} tidak dilayani di "
                       f"{office.name}.")
    return quota


def _effective_status(row: Booking, now: datetime) -> str:
    if row.status == rules.ACTIVE and row.day < now.date():
        return "kedaluwarsa"
    return row.status


def _booking_out(session: SessionDep, row: Booking, now: datetime, created: bool = False
                 ) -> BookingOut:
    service, office = _service(session, row.service_code), _office(session, row.office_code)
    quota = session.get(Quota, (row.office_code, row.service_code))
    start, end = rules.window_of(row.seq, rules.day_quota(quota.daily if quota else 1, row.day),
                                 row.day)
    status = _effective_status(row, now)
    return BookingOut(
        booking_number=row.number, service=service.code, service_name=service.name,
        office=office.code, office_name=office.name, date=row.day,
        queue_number=rules.queue_number(service.letter, row.seq), window_start=f"{start:%H:%M}",
        window_end=f"{end:%H:%M}", status=status, status_label=label(BOOKING_STATUSES, status),
        requirements=service.requirements, created_at=wib(row.created_at),
        updated_at=wib(row.updated_at), created=created,
        history=history(row.events, BOOKING_STATUSES))


@router.get("/services", response_model=list[ServiceOut], summary="Services that take bookings")
def services(session: SessionDep) -> list[ServiceOut]:
    quotas = session.scalars(select(Quota)).all()
    return [ServiceOut(code=s.code, name=s.name, agency=s.agency, queue_letter=s.letter,
                       requirements=s.requirements,
                       offices=[q.office_code for q in quotas if q.service_code == s.code])
            for s in session.scalars(select(QueueService).order_by(QueueService.letter))]


@router.get("/offices", response_model=list[OfficeOut], summary="Offices, optionally by service")
def offices(session: SessionDep, service: str | None = None) -> list[OfficeOut]:
    quotas = session.scalars(select(Quota)).all()
    out = []
    for office in session.scalars(select(Office).order_by(Office.name)):
        codes = [q.service_code for q in quotas if q.office_code == office.code]
        if service and service not in codes:
            continue
        hours = HOURS + ("; Sabtu 08.00-12.00" if office.open_saturday else "")
        out.append(OfficeOut(code=office.code, name=office.name, kecamatan=office.kecamatan,
                             address=office.address, hours=hours, services=codes))
    return out


def _day(session: SessionDep, office: Office, service: QueueService, quota: Quota, day: date,
         now: datetime) -> DayOut:
    shut = rules.closed(session, office, day, now)
    if shut is not None:
        return DayOut(date=day, open=False, closed_reason=shut.code, closed_label=shut.message)
    total = rules.day_quota(quota.daily, day)
    taken = rules.active_seqs(session, office.code, service.code, day)
    per_window: dict[str, WindowOut] = {}
    for seq in range(1, total + 1):
        start, end = rules.window_of(seq, total, day)
        window = per_window.setdefault(f"{start:%H:%M}", WindowOut(
            start=f"{start:%H:%M}", end=f"{end:%H:%M}", available=0))
        window.available += seq not in taken
    return DayOut(date=day, open=True, quota=total, booked=len(taken),
                  available=max(0, total - len(taken)), windows=list(per_window.values()))


@router.get("/slots", response_model=SlotsOut, responses=error_responses(404, 422),
            summary="Free places for one day, or for the next 14 days when no date is given")
def slots(session: SessionDep, now: NowDep, service: str, office: str,
          day: Annotated[date | None, Query(alias="date")] = None) -> SlotsOut:
    svc, off = _service(session, service), _office(session, office)
    quota = _quota(session, off, svc)
    days = [day] if day else [date.fromordinal(now.date().toordinal() + i)
                              for i in range(rules.HORIZON_DAYS + 1)]
    return SlotsOut(service=svc.code, office=off.code,
                    days=[_day(session, off, svc, quota, d, now) for d in days])


@router.post("/bookings", response_model=BookingOut, status_code=201,
             responses={200: {"model": BookingOut, "description": "the same booking again"},
                        **error_responses(404, 409, 422)},
             summary="Book a queue number")
def book(body: BookingIn, session: SessionDep, now: NowDep, lock: LockDep,
         response: Response) -> BookingOut:
    opaque_ref(body.holder_ref, "holder_ref")
    service, office = _service(session, body.service), _office(session, body.office)
    quota = _quota(session, office, service)
    shut = rules.closed(session, office, body.date, now)
    if shut is not None:
        raise ApiError(422, shut.code, shut.message)
    with lock:
        mine = session.scalar(select(Booking).where(
            Booking.holder_ref == body.holder_ref, Booking.service_code == service.code,
            Booking.day == body.date, Booking.status == rules.ACTIVE))
        if mine is not None and mine.office_code == office.code:
            response.status_code = 200
            return _booking_out(session, mine, now)
        if mine is not None:
            raise ApiError(409, "duplicate_booking", f"Anda sudah punya antrean {service.name} "
                           f"pada tanggal ini ({mine.number}). Batalkan dulu bila ingin pindah "
                           "kantor.")
        total = rules.day_quota(quota.daily, body.date)
        seq = rules.first_free(rules.active_seqs(session, office.code, service.code, body.date),
                               total)
        if seq is None:
            raise ApiError(409, "fully_booked", "Kuota antrean hari itu sudah habis. Pilih hari "
                           "atau kantor lain.")
        row = Booking(number=_free_number(session), service_code=service.code,
                      office_code=office.code, day=body.date, seq=seq,
                      holder_ref=body.holder_ref, status=rules.ACTIVE, created_at=now,
                      updated_at=now,
                      events=[BookingEvent(status=rules.ACTIVE, at=now, note="Nomor antrean "
                                           f"{rules.queue_number(service.letter, seq)} dipesan.")])
        session.add(row)
        session.commit()
    return _booking_out(session, row, now, created=True)


def _free_number(session: SessionDep) -> str:
    """A random unused ANT- number (random, so numbers do not reveal how busy an office is)."""
    while True:
        number = f"ANT-{secrets.randbelow(900000) + 100000}"
        if session.scalar(select(Booking.id).where(Booking.number == number)) is None:
            return number


def _find(session: SessionDep, number: str) -> Booking:
    row = session.scalar(select(Booking).where(Booking.number == number.strip().upper()))
    if row is None:
        raise ApiError(404, "booking_not_found", "Nomor antrean tidak ditemukan.")
    return row


@router.get("/bookings/{number}", response_model=BookingOut, responses=error_responses(404),
            summary="A booking with its history")
def get_booking(number: str, session: SessionDep, now: NowDep) -> BookingOut:
    return _booking_out(session, _find(session, number), now)


@router.delete("/bookings/{number}", response_model=BookingOut,
               responses=error_responses(404, 409),
               summary="Cancel a booking (cancelling twice is harmless)")
def cancel(number: str, session: SessionDep, now: NowDep, lock: LockDep) -> BookingOut:
    with lock:
        row = _find(session, number)
        status = _effective_status(row, now)
        if status == "dibatalkan":
            return _booking_out(session, row, now)
        if status != rules.ACTIVE:
            raise ApiError(409, "booking_not_cancellable", "Antrean ini tidak bisa dibatalkan "
                           f"lagi ({label(BOOKING_STATUSES, status).lower()}).")
        row.status, row.updated_at = "dibatalkan", now
        row.events.append(BookingEvent(status="dibatalkan", at=now, note="Dibatalkan pemesan."))
        session.commit()
    return _booking_out(session, row, now)
