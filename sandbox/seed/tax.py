"""Tax records: PBB (land and building tax) objects with five years of bills, PDAM water bills."""

from __future__ import annotations

import random
from datetime import date, datetime

from sqlalchemy.orm import Session

from ..geo import KECAMATAN
from ..models import PbbBill, PbbObject, PdamBill, PdamCustomer
from . import demo, names

PBB_DUE = (8, 31)  # 31 August each year
NJOPTKP = 10_000_000  # the untaxed part of a property's value


def nop_for(kecamatan_code: str, kelurahan_index: int, block: int, number: int) -> str:
    """NOP: 36.71.KKK.LLL.BBB-NNNN.J as 18 digits (kecamatan as 010..130, J = 0)."""
    return f"3671{int(kecamatan_code) * 10:03d}{kelurahan_index:03d}{block:03d}{number:04d}0"


def pbb_amount(land_m2: int, building_m2: int, land_price: int, building_price: int) -> int:
    njop = land_m2 * land_price + building_m2 * building_price
    rate = 0.001 if njop <= 1_000_000_000 else 0.002
    return max(0, int((njop - NJOPTKP) * rate) // 100 * 100)


def _pbb(session: Session, rng: random.Random, nop: str, owner: str, kecamatan: str,
         kelurahan: str, address: str, land: int, building: int, unpaid: int, today: date) -> None:
    year = today.year
    land_price, building_price = rng.randint(15, 80) * 100_000, rng.randint(20, 45) * 100_000
    session.add(PbbObject(nop=nop, owner_name=owner, kecamatan=kecamatan, kelurahan=kelurahan,
                          address=address, land_m2=land, building_m2=building))
    for i, bill_year in enumerate(range(year - 4, year + 1)):
        due = date(bill_year, *PBB_DUE)
        # Values grow a little every year, as NJOP is revised.
        amount = pbb_amount(land, building, land_price * (100 + 4 * i) // 100, building_price)
        paid = None if bill_year > year - unpaid else date(bill_year, rng.randint(3, 8),
                                                           rng.randint(1, 28))
        paid = paid if paid and paid <= today else None  # not paid yet this year
        session.add(PbbBill(nop=nop, year=bill_year, amount=amount, due_date=due, paid_on=paid))


def pdam_amount(usage: int, group: str) -> int:
    """Block tariff (Rp per m3 for 0-10, 11-20, above 20) plus a fixed charge."""
    blocks = {"R1": (2_900, 3_800, 5_200), "R2": (4_200, 5_500, 7_000),
              "N1": (7_500, 9_000, 10_500)}
    low, mid, high = blocks[group]
    cost = min(usage, 10) * low + max(0, min(usage, 20) - 10) * mid + max(0, usage - 20) * high
    return cost + 7_500


def _month(year: int, month: int, back: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) - back
    return index // 12, index % 12 + 1


def _pdam(session: Session, rng: random.Random, number: str, name: str, kecamatan: str,
          kelurahan: str, group: str, unpaid: int, today: date) -> None:
    session.add(PdamCustomer(customer_no=number, name=name, kecamatan=kecamatan,
                             kelurahan=kelurahan, tariff_group=group))
    for back in range(3, 0, -1):  # the three months before this one
        year, month = _month(today.year, today.month, back)
        due_year, due_month = _month(year, month, -1)
        usage = rng.randint(8, 38)
        paid = None if back <= unpaid else date(due_year, due_month, rng.randint(1, 19))
        paid = paid if paid and paid <= today else None
        session.add(PdamBill(customer_no=number, period=f"{year:04d}-{month:02d}", usage_m3=usage,
                             amount=pdam_amount(usage, group),
                             due_date=date(due_year, due_month, 20), paid_on=paid))


def seed_tax(session: Session, rng: random.Random, now: datetime, count: int = 250) -> None:
    today = now.date()
    for nop, owner, kec, kel, address, land, building, unpaid in demo.DEMO_PBB:
        _pbb(session, random.Random(nop), nop, owner, kec, kel, address, land, building, unpaid,
             today)
    for number, name, kec, kel, group, unpaid in demo.DEMO_PDAM:
        _pdam(session, random.Random(number), number, name, kec, kel, group, unpaid, today)
    nops = {n[0] for n in demo.DEMO_PBB}
    customers = {c[0] for c in demo.DEMO_PDAM}
    for _ in range(count):
        area = rng.choice(KECAMATAN)
        kel_index = rng.randrange(len(area.kelurahan))
        owner = f"{rng.choice(names.MALE + names.FEMALE)} {rng.choice(names.SECOND)}"
        nop = nop_for(area.code, kel_index + 1, rng.randint(1, 30), rng.randint(1, 400))
        unpaid = rng.choices((0, 1, 2, 3), weights=(70, 15, 10, 5))[0]
        if nop not in nops:
            nops.add(nop)
            _pbb(session, rng, nop, owner, area.name, area.kelurahan[kel_index],
                 f"{rng.choice(names.STREETS)} No. {rng.randint(1, 150)}", rng.randint(60, 400),
                 rng.randint(0, 300), unpaid, today)
        number = f"{area.code}{rng.randint(1, 40):02d}{rng.randint(1, 999_999):06d}"
        if number not in customers:
            customers.add(number)
            _pdam(session, rng, number, owner, area.name, area.kelurahan[kel_index],
                  rng.choice(("R1", "R2", "R2", "R2", "N1")), rng.choices((0, 1, 2),
                                                                      weights=(80, 15, 5))[0],
                  today)

