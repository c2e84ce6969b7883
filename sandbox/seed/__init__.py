"""Creates the schema and, on first start, fills it with deterministic synthetic data.

Everything is drawn from `random.Random` seeded per domain ("<seed>:people", "<seed>:tax" ...), so
the same seed gives the same residents, numbers and states on every machine; only the dates of
events are counted back from the moment of seeding.
"""

from __future__ import annotations

import logging
import random
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from ..clock import Clock
from ..db import Base
from ..models import Family, Meta, Resident
from . import demo
from .people import KtpState, Numberer, Person, draft_families, ktp_state
from .records import seed_births, seed_bookings, seed_complaints
from .reference import seed_reference
from .tax import seed_tax

log = logging.getLogger(__name__)
SEED_VERSION = "1"


def _resident(person: Person, family: Family, state: KtpState, ref: str,
              now: datetime) -> Resident:
    today = now.date()

    def back(days: int | None) -> date | None:
        return None if days is None else today - timedelta(days=days)

    return Resident(
        ref=ref, nik=person.nik, family=family, full_name=person.name, gender=person.gender,
        birth_date=person.birth_date, birth_place=person.birth_place, relation=person.relation,
        ktp_status=state.status, ktp_office=state.office,
        ktp_ready_since=back(state.ready_days_ago),
        ktp_collected_on=back(state.collected_days_ago), ktp_note=state.note,
        ktp_updated_at=now - timedelta(days=state.days_ago, hours=3),
    )


def _seed_demo(session: Session, refs: random.Random, now: datetime) -> None:
    for fam in demo.DEMO_FAMILIES:
        family = Family(kk_number=fam.kk_number, kecamatan=fam.kecamatan, kelurahan=fam.kelurahan,
                        address=fam.address, issued_on=date(2000 + int(fam.kk_number[10:12]),
                                                            int(fam.kk_number[8:10]),
                                                            int(fam.kk_number[6:8])))
        session.add(family)
        for p in fam.members:
            ready = p.days_ago if p.ktp_status in ("siap_diambil", "sudah_diambil") else None
            state = KtpState(p.ktp_status, p.ktp_office, p.days_ago, ready_days_ago=ready,
                             collected_days_ago=p.days_ago // 2 if p.ktp_status == "sudah_diambil"
                             else None, note=p.note)
            person = Person(p.name, p.gender, p.birth_date, p.relation, "Tangerang", p.nik)
            session.add(_resident(person, family, state, f"RES-{refs.getrandbits(48):012x}", now))


def _seed_people(session: Session, seed: int, residents: int,
                 now: datetime) -> list[tuple[str, str, str]]:
    """The random population; returns (father NIK, mother NIK, family name) of couples."""
    rng, refs = random.Random(f"{seed}:people"), random.Random(f"{seed}:refs")
    _seed_demo(session, random.Random(f"{seed}:demo-refs"), now)
    taken = {p.nik for f in demo.DEMO_FAMILIES for p in f.members}
    taken |= {f.kk_number for f in demo.DEMO_FAMILIES}
    numberer = Numberer(taken)
    couples: list[tuple[str, str, str]] = []
    for draft in draft_families(rng, residents):
        numberer.number(draft)
        family = Family(kk_number=draft.kk_number, kecamatan=draft.kecamatan.name,
                        kelurahan=draft.kelurahan, address=draft.address, issued_on=draft.issued_on)
        session.add(family)
        for person in draft.members:
            state = ktp_state(rng, person, draft.kecamatan.name)
            session.add(_resident(person, family, state, f"RES-{refs.getrandbits(48):012x}", now))
        head, *rest = draft.members
        wife = next((p for p in rest if p.relation == "ISTRI"), None)
        if wife is not None:
            couples.append((head.nik, wife.nik, head.name.split()[-1]))
    return couples


def seed_database(session: Session, *, seed: int, residents: int, now: datetime) -> None:
    """Fills an empty database; deterministic for a given seed."""
    seed_reference(session, random.Random(f"{seed}:reference"), now)
    session.flush()
    couples = _seed_people(session, seed, residents, now)
    seed_complaints(session, random.Random(f"{seed}:laksa"), now)
    seed_births(session, random.Random(f"{seed}:births"), now, couples)
    session.flush()
    seed_bookings(session, random.Random(f"{seed}:queue"), now)
    seed_tax(session, random.Random(f"{seed}:tax"), now)
    session.add_all([Meta(key="seed", value=str(seed)), Meta(key="version", value=SEED_VERSION),
                     Meta(key="seeded_at", value=now.isoformat())])


def prepare_database(engine: Engine, sessions: sessionmaker[Session], *, seed: int,
                     residents: int, clock: Clock) -> bool:
    """Creates missing tables and seeds an empty database; True when it seeded.

    A database seeded by another SEED_VERSION is rebuilt: its data is synthetic, and the docs'
    demo table must match what the code seeds.
    """
    Base.metadata.create_all(engine)
    with sessions() as session:
        version = session.get(Meta, "version")
        if version is not None and version.value == SEED_VERSION:
            return False
        if version is not None:
            log.warning("sandbox data of seed version %s replaced by version %s",
                        version.value, SEED_VERSION)
    if version is not None:
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
    with sessions.begin() as session:
        seed_database(session, seed=seed, residents=residents, now=clock())
    with sessions() as session:
        count = session.scalar(select(func.count()).select_from(Resident))
    log.info("sandbox database seeded: %s residents (seed %s)", count, seed)
    return True
