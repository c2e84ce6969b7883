"""Tax and levies: PBB (land and building tax) by NOP, PDAM water bills by customer number.

Penalties are reckoned on the day asked: PBB 1% a month late (at most 24 months), PDAM a fixed
late fee per overdue bill.
"""

from __future__ import annotations

import re
from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..errors import ApiError, error_responses
from ..models import PbbObject, PdamCustomer
from ..nik import initials
from .common import NowDep, SessionDep

router = APIRouter(prefix="/tax/v1", tags=["Tax"], responses=error_responses(422))
PBB_PENALTY_PER_MONTH = 0.01
PBB_PENALTY_MAX_MONTHS = 24
PDAM_LATE_FEE = 10_000


class PbbYearOut(BaseModel):
    year: int
    amount: int = Field(description="principal, rupiah")
    penalty: int
    total: int
    due_date: date
    paid: bool
    paid_on: date | None
    overdue_months: int


class PbbOut(BaseModel):
    nop: str = Field(description="18 digits")
    nop_formatted: str = Field(examples=["36.71.010.001.002-0034.0"])
    owner_initials: str
    location: str
    land_m2: int
    building_m2: int
    years: list[PbbYearOut]
    arrears: int = Field(description="unpaid and past due, penalties included")
    total_due: int = Field(description="everything unpaid, penalties included")
    due_date: date | None = Field(description="earliest unpaid due date")
    as_of: date


class PdamBillOut(BaseModel):
    period: str = Field(examples=["2026-10"])
    usage_m3: int
    amount: int
    late_fee: int
    total: int
    due_date: date
    paid: bool
    paid_on: date | None


class PdamOut(BaseModel):
    customer_no: str
    name_initials: str
    location: str
    tariff_group: str
    bills: list[PdamBillOut]
    arrears_months: int
    total_due: int
    as_of: date


def format_nop(nop: str) -> str:
    return f"{nop[:2]}.{nop[2:4]}.{nop[4:7]}.{nop[7:10]}.{nop[10:13]}-{nop[13:17]}.{nop[17]}"


def months_late(due: date, today: date) -> int:
    """Started months after the due date (one day late counts as one month)."""
    if today <= due:
        return 0
    months = (today.year - due.year) * 12 + today.month - due.month
    return months + (1 if today.day > due.day else 0)


@router.get("/pbb/{nop}", response_model=PbbOut, responses=error_responses(404, 422),
            summary="PBB bill by NOP (digits, dots and dashes allowed)")
def pbb(nop: str, session: SessionDep, now: NowDep) -> PbbOut:
    digits = re.sub(r"[\s.-]", "", nop)
    if not re.fullmatch(r"3671\d{14}", digits):
        raise ApiError(422, "invalid_nop", "NOP terdiri dari 18 angka dan diawali 36.71 "
                       "(Kota Tangerang).")
    obj = session.get(PbbObject, digits)
    if obj is None:
        raise ApiError(404, "nop_not_found", "NOP tidak ditemukan.")
    today = now.date()
    years = []
    for bill in obj.bills:
        late = 0 if bill.paid_on else min(months_late(bill.due_date, today),
                                          PBB_PENALTY_MAX_MONTHS)
        penalty = int(bill.amount * PBB_PENALTY_PER_MONTH * late)
        years.append(PbbYearOut(year=bill.year, amount=bill.amount, penalty=penalty,
                                total=bill.amount + penalty, due_date=bill.due_date,
                                paid=bill.paid_on is not None, paid_on=bill.paid_on,
                                overdue_months=late))
    unpaid = [y for y in years if not y.paid]
    return PbbOut(nop=digits, nop_formatted=format_nop(digits),
                  owner_initials=initials(obj.owner_name),
                  location=f"{obj.kelurahan}, {obj.kecamatan}", land_m2=obj.land_m2,
                  building_m2=obj.building_m2, years=years,
                  arrears=sum(y.total for y in unpaid if y.due_date < today),
                  total_due=sum(y.total for y in unpaid),
                  due_date=min((y.due_date for y in unpaid), default=None), as_of=today)


@router.get("/pdam/{customer_no}", response_model=PdamOut, responses=error_responses(404, 422),
            summary="PDAM (Tirta Benteng) water bill by customer number")
def pdam(customer_no: str, session: SessionDep, now: NowDep) -> PdamOut:
    digits = re.sub(r"[\s.-]", "", customer_no)
    if not re.fullmatch(r"\d{10}", digits):
        raise ApiError(422, "invalid_customer_no", "Nomor pelanggan PDAM terdiri dari 10 angka.")
    customer = session.get(PdamCustomer, digits)
    if customer is None:
        raise ApiError(404, "customer_not_found", "Nomor pelanggan tidak ditemukan.")
    today = now.date()
    bills = []
    for bill in customer.bills:
        fee = PDAM_LATE_FEE if bill.paid_on is None and today > bill.due_date else 0
        bills.append(PdamBillOut(period=bill.period, usage_m3=bill.usage_m3, amount=bill.amount,
                                 late_fee=fee, total=bill.amount + fee, due_date=bill.due_date,
                                 paid=bill.paid_on is not None, paid_on=bill.paid_on))
    unpaid = [b for b in bills if not b.paid]
    return PdamOut(customer_no=digits, name_initials=initials(customer.name),
                   location=f"{customer.kelurahan}, {customer.kecamatan}",
                   tariff_group=customer.tariff_group, bills=bills,
                   arrears_months=sum(1 for b in unpaid if b.due_date < today),
                   total_due=sum(b.total for b in unpaid), as_of=today)
