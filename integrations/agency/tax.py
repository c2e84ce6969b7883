"""Tax and levies: PBB (land and building tax) and PDAM water bills."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from .base import ServiceClient
from .records import parse, parse_date


@dataclass(frozen=True)
class PbbYear:
    year: int
    amount: int  # principal, rupiah
    penalty: int
    total: int
    due_date: date | None
    paid: bool
    paid_on: date | None
    overdue_months: int


@dataclass(frozen=True)
class PbbBill:
    nop: str
    nop_formatted: str
    owner_initials: str
    location: str
    land_m2: int
    building_m2: int
    years: tuple[PbbYear, ...]
    arrears: int  # unpaid and past due, penalties included
    total_due: int  # everything unpaid, penalties included
    due_date: date | None  # the earliest unpaid due date
    as_of: date | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PbbBill:
        years = tuple(PbbYear(year=int(y["year"]), amount=int(y["amount"]),
                              penalty=int(y.get("penalty", 0)), total=int(y["total"]),
                              due_date=parse_date(y.get("due_date")), paid=bool(y["paid"]),
                              paid_on=parse_date(y.get("paid_on")),
                              overdue_months=int(y.get("overdue_months", 0))) for y in d["years"])
        return cls(nop=str(d["nop"]), nop_formatted=str(d.get("nop_formatted") or d["nop"]),
                   owner_initials=str(d.get("owner_initials") or ""),
                   location=str(d.get("location") or ""), land_m2=int(d.get("land_m2", 0)),
                   building_m2=int(d.get("building_m2", 0)), years=years,
                   arrears=int(d.get("arrears", 0)), total_due=int(d["total_due"]),
                   due_date=parse_date(d.get("due_date")), as_of=parse_date(d.get("as_of")))


@dataclass(frozen=True)
class PdamPeriod:
    period: str  # YYYY-MM
    usage_m3: int
    amount: int
    late_fee: int
    total: int
    due_date: date | None
    paid: bool
    paid_on: date | None


@dataclass(frozen=True)
class PdamBill:
    customer_no: str
    name_initials: str
    location: str
    tariff_group: str
    bills: tuple[PdamPeriod, ...]
    arrears_months: int
    total_due: int
    as_of: date | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PdamBill:
        bills = tuple(PdamPeriod(period=str(b["period"]), usage_m3=int(b["usage_m3"]),
                                 amount=int(b["amount"]), late_fee=int(b.get("late_fee", 0)),
                                 total=int(b["total"]), due_date=parse_date(b.get("due_date")),
                                 paid=bool(b["paid"]), paid_on=parse_date(b.get("paid_on")))
                      for b in d["bills"])
        return cls(customer_no=str(d["customer_no"]),
                   name_initials=str(d.get("name_initials") or ""),
                   location=str(d.get("location") or ""),
                   tariff_group=str(d.get("tariff_group") or ""), bills=bills,
                   arrears_months=int(d.get("arrears_months", 0)), total_due=int(d["total_due"]),
                   as_of=parse_date(d.get("as_of")))


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


class TaxClient(ServiceClient):
    """PBB by NOP, PDAM by customer number; both accept dots, dashes and spaces."""

    service = "tax"

    async def pbb_bill(self, nop: str) -> PbbBill:
        data = await self.http.request("GET", "/tax/v1/pbb/{nop}",
                                       path_params={"nop": _digits(nop)})
        return parse(PbbBill.from_json, data, self.service)

    async def pdam_bill(self, customer_no: str) -> PdamBill:
        data = await self.http.request("GET", "/tax/v1/pdam/{customer_no}",
                                       path_params={"customer_no": _digits(customer_no)})
        return parse(PdamBill.from_json, data, self.service)
