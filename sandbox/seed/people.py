"""The synthetic population: families of 1-6 residents with NIKs, KK numbers and KTP-el states."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

from ..geo import KECAMATAN, Kecamatan
from ..nik import make_kk_number, make_nik
from . import names

# Ages, and so the KTP-el duty, are reckoned on a fixed day: the same seed gives the same people
# whatever day the database is created.
REFERENCE_DAY = date(2026, 1, 1)
ADULT_STATES = (("sudah_diambil", 70), ("siap_diambil", 6), ("dicetak", 5), ("sudah_rekam", 8),
                ("belum_rekam", 6), ("perlu_perbaikan", 5))
REPAIR_NOTES = (
    "Nama ibu kandung tidak sesuai data KK. Bawa KK asli ke Disdukcapil.",
    "Foto atau sidik jari perlu direkam ulang. Datang ke kantor kecamatan.",
    "Tanggal lahir berbeda dengan akta kelahiran. Bawa akta kelahiran asli.",
    "Data ganda (NIK tercatat dua kali). Hubungi Disdukcapil dengan membawa KK.",
)


@dataclass
class Person:
    name: str
    gender: str  # L / P
    birth_date: date
    relation: str
    birth_place: str
    nik: str = ""


@dataclass
class FamilyDraft:
    kecamatan: Kecamatan
    kelurahan: str
    address: str
    issued_on: date
    members: list[Person]
    kk_number: str = ""


@dataclass(frozen=True)
class KtpState:
    status: str
    office: str | None
    days_ago: int
    ready_days_ago: int | None = None
    collected_days_ago: int | None = None
    note: str | None = None


def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def _name(rng: random.Random, gender: str, second: str | None = None) -> str:
    first = rng.choice(names.MALE if gender == "L" else names.FEMALE)
    if second is None and rng.random() < 0.2:
        return first  # many Indonesians carry a single name
    if second is None:
        options = [s for s in names.SECOND if gender == "P" or s not in names.FEMALE_SECOND]
        second = rng.choice(options)
    return f"{first} {second}"


def _person(rng: random.Random, gender: str, born: date, relation: str,
            second: str | None = None) -> Person:
    return Person(_name(rng, gender, second), gender, born, relation,
                  rng.choice(names.BIRTH_PLACES))


def _members(rng: random.Random) -> list[Person]:
    size = rng.choices((1, 2, 3, 4, 5, 6), weights=(10, 18, 24, 26, 14, 8))[0]
    head_gender = "L" if size > 1 and rng.random() < 0.88 else rng.choice("LP")
    head_born = _day(rng, date(1950, 1, 1), date(1998, 12, 31))
    head = _person(rng, head_gender, head_born, "KEPALA KELUARGA")
    family = [head]
    family_name = head.name.split()[-1] if " " in head.name and head_gender == "L" else None
    if size > 1 and head_gender == "L":
        spouse_born = _day(rng, head_born - timedelta(days=365 * 3),
                           head_born + timedelta(days=365 * 8))
        family.append(_person(rng, "P", min(spouse_born, date(2000, 12, 31)), "ISTRI"))
    youngest_parent = max(p.birth_date for p in family)
    while len(family) < size:
        if len(family) >= 3 and head_born.year >= 1965 and rng.random() < 0.12:
            elder = _day(rng, head_born - timedelta(days=365 * 45),
                         head_born - timedelta(days=365 * 20))
            family.append(_person(rng, rng.choice("LP"), elder,
                                  rng.choice(("ORANG TUA", "MERTUA", "FAMILI LAIN"))))
            continue
        earliest = youngest_parent + timedelta(days=365 * 19)
        latest = min(youngest_parent + timedelta(days=365 * 42), date(2025, 10, 31))
        born = _day(rng, min(earliest, latest), latest)
        gender = rng.choice("LP")
        second = family_name if gender == "L" and family_name and rng.random() < 0.5 else None
        family.append(_person(rng, gender, born, "ANAK", second))
    return family


def draft_families(rng: random.Random, residents: int) -> Iterator[FamilyDraft]:
    """Families until `residents` people exist; NIKs and KK numbers are given by `number`."""
    made = 0
    while made < residents:
        kecamatan = rng.choice(KECAMATAN)
        draft = FamilyDraft(
            kecamatan=kecamatan,
            kelurahan=rng.choice(kecamatan.kelurahan),
            address=(f"{rng.choice(names.STREETS)} No. {rng.randint(1, 120)}, "
                     f"RT {rng.randint(1, 12):03d}/RW {rng.randint(1, 15):03d}"),
            issued_on=_day(rng, date(2005, 1, 1), date(2025, 10, 31)),
            members=_members(rng),
        )
        made += len(draft.members)
        yield draft


class Numberer:
    """Gives NIK and KK serials per region and date, skipping numbers already taken."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = taken
        self._serials: dict[str, int] = defaultdict(int)

    def _next(self, prefix: str, build: Callable[[int], str]) -> str:
        while True:
            self._serials[prefix] += 1
            number = build(self._serials[prefix])
            if number not in self.taken:
                self.taken.add(number)
                return number

    def number(self, draft: FamilyDraft) -> None:
        code = draft.kecamatan.code
        kk_prefix = make_kk_number(code, draft.issued_on, 0)[:12]
        draft.kk_number = self._next(kk_prefix, lambda s: make_kk_number(code, draft.issued_on, s))
        for person in draft.members:
            build = partial(make_nik, code, person.birth_date, person.gender == "P")
            person.nik = self._next(build(0)[:12], build)


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def ktp_state(rng: random.Random, person: Person, kecamatan: str) -> KtpState:
    """A KTP-el state; the same number of draws for everyone keeps later people stable."""
    draws = [rng.random() for _ in range(5)]
    married = person.relation in ("KEPALA KELUARGA", "ISTRI", "SUAMI")
    if age_on(person.birth_date, REFERENCE_DAY) < 17 and not married:
        return KtpState("belum_wajib", None, 0)
    statuses, weights = zip(*ADULT_STATES, strict=True)
    status = rng.choices(statuses, weights=weights)[0]
    offices = ("Disdukcapil Kota Tangerang (Puspemkot)", f"Kantor Kecamatan {kecamatan}",
               "Mal Pelayanan Publik Kota Tangerang")
    office = offices[int(draws[0] * len(offices))]
    if status == "sudah_diambil":
        ready = 30 + int(draws[1] * 2500)
        collected = max(1, ready - 1 - int(draws[2] * 25))
        return KtpState(status, office, collected, ready, collected)
    if status == "siap_diambil":
        ready = 1 + int(draws[1] * 60)
        return KtpState(status, office, ready, ready)
    if status == "dicetak":
        return KtpState(status, office, int(draws[1] * 5))
    if status == "sudah_rekam":
        return KtpState(status, None, 3 + int(draws[1] * 90))
    if status == "perlu_perbaikan":
        note = REPAIR_NOTES[int(draws[3] * len(REPAIR_NOTES))]
        return KtpState(status, None, 1 + int(draws[1] * 40), note=note)
    return KtpState(status, None, 30 + int(draws[1] * 400))
