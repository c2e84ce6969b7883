"""Health: free hospital beds per class, all hospitals or those in or near one kecamatan."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from ..catalog import BED_CLASSES
from ..clock import wib
from ..errors import ApiError, error_responses
from ..geo import KECAMATAN, distance_km, find_kecamatan
from ..models import Hospital
from .common import SessionDep

router = APIRouter(prefix="/health/v1", tags=["Health"], responses=error_responses(422))
NEAR_KM = 6.0  # "near" a kecamatan: its centre within this distance


class BedOut(BaseModel):
    bed_class: str = Field(description=", ".join(BED_CLASSES))
    label: str
    capacity: int
    free: int


class HospitalOut(BaseModel):
    code: str
    name: str
    kind: str = Field(description="RSUD, RSUP or swasta")
    kecamatan: str
    phone: str | None
    distance_km: float | None = Field(description="from the kecamatan asked for")
    total_free: int
    beds: list[BedOut]
    updated_at: datetime


class BedsOut(BaseModel):
    kecamatan: str | None
    updated_at: datetime | None
    hospitals: list[HospitalOut]


@router.get("/beds", response_model=BedsOut, responses=error_responses(422),
            summary="Free beds; with kecamatan, hospitals within 6 km of it, nearest first")
def beds(session: SessionDep, kecamatan: str | None = None) -> BedsOut:
    hospitals = list(session.scalars(select(Hospital).order_by(Hospital.name)))
    kec = find_kecamatan(kecamatan)
    if kecamatan and kec is None:
        raise ApiError(422, "unknown_kecamatan", "Kecamatan tidak dikenal. Pilih salah satu: "
                       + ", ".join(k.name for k in KECAMATAN) + ".")
    out = []
    for h in hospitals:
        distance = (round(distance_km(kec.latitude, kec.longitude, h.latitude, h.longitude), 1)
                    if kec else None)
        if distance is not None and distance > NEAR_KM:
            continue
        beds = [BedOut(bed_class=b.bed_class, label=BED_CLASSES.get(b.bed_class, b.bed_class),
                       capacity=b.capacity, free=b.free) for b in h.beds]
        out.append(HospitalOut(code=h.code, name=h.name, kind=h.kind, kecamatan=h.kecamatan,
                               phone=h.phone, distance_km=distance,
                               total_free=sum(b.free for b in beds), beds=beds,
                               updated_at=wib(h.updated_at)))
    out.sort(key=lambda h: (h.distance_km or 0.0, -h.total_free))
    latest = max((h.updated_at for h in out), default=None)
    return BedsOut(kecamatan=kec.name if kec else None, updated_at=latest, hospitals=out)
