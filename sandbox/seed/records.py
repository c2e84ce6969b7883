"""Case records: complaints, birth registrations and queue bookings, with their histories."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import queue_rules
from ..catalog import COMPLAINT_ROUTES, complaint_route
from ..clock import WIB
from ..geo import KECAMATAN, find_kecamatan
from ..models import (
    BirthEvent,
    BirthRegistration,
    Booking,
    BookingEvent,
    Complaint,
    ComplaintEvent,
    Office,
    QueueService,
    Quota,
)
from . import demo, names

DESCRIPTIONS = {
    "jalan_rusak": "Jalan berlubang cukup dalam di {k}, sering membuat motor jatuh saat hujan.",
    "banjir": "Saluran air di {k} tersumbat, air menggenang setinggi betis setiap hujan deras.",
    "sampah": "Tumpukan sampah liar di {k} belum diangkut beberapa hari dan mulai berbau.",
    "lampu_jalan": "Lampu penerangan jalan di {k} mati sudah seminggu, jalan gelap di malam hari.",
    "pohon_tumbang": "Ada pohon tumbang menutup sebagian jalan di {k}, mohon segera dievakuasi.",
    "air_pdam": "Air PDAM di rumah kami di {k} tidak mengalir sejak tiga hari lalu.",
    "parkir_liar": "Parkir liar di bahu jalan {k} menyebabkan macet setiap sore.",
    "kebisingan": "Suara mesin dari bengkel di {k} bising sampai larut malam.",
    "fasilitas_umum": "Ayunan di taman {k} rusak dan berbahaya untuk anak-anak.",
    "pungli": "Ada pungutan saat mengurus surat pengantar di {k}, padahal seharusnya gratis.",
    "pelayanan_lambat": "Antrean pelayanan di kantor kelurahan {k} sangat lama, petugas sedikit.",
    "adminduk": "KTP-el saya belum jadi sejak perekaman beberapa bulan lalu di {k}.",
    "lainnya": "Mohon informasi jadwal kegiatan posyandu di {k}.",
}
REJECTIONS = ("Lokasi di luar wilayah Kota Tangerang.", "Laporan ganda dengan laporan sebelumnya.",
              "Informasi belum cukup untuk ditindaklanjuti; silakan lapor ulang dengan lokasi "
              "jelas.")
BIRTH_PLACES = ("RSUD Kota Tangerang", "RS Sari Asih Karawaci", "RS Hermina Tangerang",
                "Puskesmas Cipondoh", "Puskesmas Periuk Jaya", "Klinik Bidan Sehati", "Rumah")


def _at(now: datetime, days_ago: float) -> datetime:
    return (now - timedelta(days=days_ago)).replace(microsecond=0)


def _later(at: datetime, **delta: float) -> datetime:
    """A later moment, to the second (histories read better without microseconds)."""
    return (at + timedelta(**delta)).replace(microsecond=0)


def complaint(session: Session, *, agency_ref: str, external_ref: str | None, channel: str,
              category: str, kecamatan: str, kelurahan: str, description: str, status: str,
              created: datetime, rng: random.Random) -> None:
    """One complaint with the history its final status implies."""
    route = complaint_route(category)
    kec = find_kecamatan(kecamatan)
    lat = (kec.latitude if kec else -6.18) + rng.uniform(-0.01, 0.01)
    lon = (kec.longitude if kec else 106.63) + rng.uniform(-0.01, 0.01)
    row = Complaint(agency_ref=agency_ref, external_ref=external_ref, channel=channel,
                    category=category, description=description, kecamatan=kecamatan,
                    kelurahan=kelurahan, latitude=round(lat, 6), longitude=round(lon, 6),
                    photo_refs=[f"foto-{agency_ref.lower()}-1.jpg"],
                    reporter_ref=f"warga-{rng.getrandbits(40):010x}",
                    assigned_agency=route.agency, expected_response_days=route.response_days,
                    status=status, created_at=created, updated_at=created)
    steps: list[tuple[str, datetime, str, list[str]]] = [
        ("diterima", created, "Laporan diterima Tangerang Live Room.", [])]
    at = _later(created, hours=rng.uniform(1, 20))
    if status == "ditolak":
        steps.append(("ditolak", at, rng.choice(REJECTIONS), []))
    else:
        steps.append(("diteruskan", at, f"Diteruskan ke {route.agency}.", []))
    if status in ("diproses", "selesai"):
        at = _later(at, days=rng.uniform(0.5, 3))
        steps.append(("diproses", at, "Petugas dijadwalkan meninjau lokasi.", []))
    if status == "selesai":
        at = _later(at, days=rng.uniform(1, 8))
        steps.append(("selesai", at, "Sudah ditangani. Foto hasil perbaikan terlampir.",
                      [f"bukti-{agency_ref.lower()}.jpg"]))
    row.events = [ComplaintEvent(status=s, at=a, note=n, photo_refs=p) for s, a, n, p in steps]
    row.updated_at = steps[-1][1]
    session.add(row)


def seed_complaints(session: Session, rng: random.Random, now: datetime, count: int = 150) -> None:
    for agency_ref, external_ref, category, kec, kel, text, status, days in demo.DEMO_COMPLAINTS:
        complaint(session, agency_ref=agency_ref, external_ref=external_ref, channel="pintu",
                  category=category, kecamatan=kec, kelurahan=kel, description=text,
                  status=status, created=_at(now, days), rng=random.Random(agency_ref))
    categories = [c for c in COMPLAINT_ROUTES if c in DESCRIPTIONS]
    for i in range(count):
        area = rng.choice(KECAMATAN)
        kel = rng.choice(area.kelurahan)
        category = rng.choice(categories)
        days_ago = rng.uniform(0.2, 120)
        roll = rng.random()
        if days_ago < 2:
            status = "diteruskan" if roll < 0.8 else "diterima"
        else:
            status = "selesai" if roll < 0.7 else "diproses" if roll < 0.9 else "ditolak"
        complaint(session, agency_ref=f"TLR-{100101 + i}", external_ref=None,
                  channel=rng.choice(("tangerang_live", "tangerang_live", "web", "lapor")),
                  category=category, kecamatan=area.name, kelurahan=kel,
                  description=DESCRIPTIONS[category].format(k=f"kelurahan {kel}"), status=status,
                  created=_at(now, days_ago), rng=rng)


def birth(session: Session, *, number: str, child: str, born: date, place: str, father: str,
          mother: str, status: str, submitted: datetime, rng: random.Random) -> None:
    """One birth registration with the history its status implies."""
    row = BirthRegistration(number=number, child_name=child, birth_date=born, birth_place=place,
                            father_nik=father, mother_nik=mother, status=status,
                            documents=[{"kind": k, "ref": f"{number.lower()}-{k}.pdf"}
                                       for k in ("surat_keterangan_lahir", "kk", "ktp_ortu",
                                                 "buku_nikah")],
                            submitted_at=submitted, updated_at=submitted)
    steps = [("diajukan", submitted, "Pengajuan diterima secara online.")]
    at = _later(submitted, hours=rng.uniform(3, 30))
    if status == "perlu_perbaikan":
        steps.append(("perlu_perbaikan", at, "Foto buku nikah tidak terbaca. Unggah ulang "
                      "dokumen yang jelas."))
    elif status == "ditolak":
        steps.append(("ditolak", at, "Data orang tua tidak sesuai dengan data kependudukan."))
    elif status in ("diverifikasi", "selesai"):
        steps.append(("diverifikasi", at, "Berkas lengkap dan sesuai."))
    if status == "selesai":
        at = _later(at, days=rng.uniform(1, 3))
        row.certificate_number = f"3671-LT-{at:%d%m%Y}-{rng.randint(1, 9999):04d}"
        steps.append(("selesai", at, f"Akta kelahiran terbit ({row.certificate_number}); dokumen "
                      "elektronik ber-TTE dikirim, tidak perlu datang ke kantor."))
    row.events = [BirthEvent(status=s, at=a, note=n) for s, a, n in steps]
    row.updated_at = steps[-1][1]
    session.add(row)


def seed_births(session: Session, rng: random.Random, now: datetime,
                couples: list[tuple[str, str, str]], count: int = 60) -> None:
    for number, child, days, place, father, mother, status in demo.DEMO_BIRTHS:
        born = (now - timedelta(days=days)).date()
        birth(session, number=number, child=child, born=born, place=place, father=father,
              mother=mother, status=status, submitted=_at(now, days - 3),
              rng=random.Random(number))
    taken = {n for n, *_ in demo.DEMO_BIRTHS}
    for _ in range(count):
        number = f"AKL-{rng.randint(200000, 999999)}"
        if number in taken:
            continue
        taken.add(number)
        father, mother, family_name = rng.choice(couples)
        gender = rng.choice("LP")
        first = rng.choice(names.MALE if gender == "L" else names.FEMALE)
        days = rng.randint(2, 150)
        roll = rng.random()
        status = ("diajukan" if days < 4 else "selesai" if roll < 0.75 else "diverifikasi"
                  if roll < 0.85 else "perlu_perbaikan" if roll < 0.95 else "ditolak")
        birth(session, number=number, child=f"{first} {family_name}",
              born=(now - timedelta(days=days + 1)).date(), place=rng.choice(BIRTH_PLACES),
              father=father, mother=mother, status=status, submitted=_at(now, days),
              rng=rng)


def booking(session: Session, *, number: str, service: QueueService, office: str, day: date,
            seq: int, holder: str, status: str, created: datetime) -> None:
    row = Booking(number=number, service_code=service.code, office_code=office, day=day, seq=seq,
                  holder_ref=holder, status=status, created_at=created, updated_at=created)
    steps = [("aktif", created, f"Nomor antrean {queue_rules.queue_number(service.letter, seq)} "
              "dipesan.")]
    if status == "selesai":
        served = datetime.combine(day, time(10, 0), tzinfo=WIB)
        steps.append(("selesai", served, "Sudah dilayani."))
    elif status == "tidak_hadir":
        closed = datetime.combine(day, time(15, 0), tzinfo=WIB)
        steps.append(("tidak_hadir", closed, "Tidak hadir sampai loket tutup."))
    row.events = [BookingEvent(status=s, at=a, note=n) for s, a, n in steps]
    row.updated_at = steps[-1][1]
    session.add(row)


def seed_bookings(session: Session, rng: random.Random, now: datetime) -> None:
    """The demo booking, then partly filled days: a week back (served) and a week ahead."""
    # Holidays are looked up for every day; flushing all pending rows before each would be slow.
    with session.no_autoflush:
        _fill_bookings(session, rng, now)


def _fill_bookings(session: Session, rng: random.Random, now: datetime) -> None:
    services = {s.code: s for s in session.scalars(select(QueueService))}
    offices = {o.code: o for o in session.scalars(select(Office))}
    number, service, office, holder = demo.DEMO_BOOKING
    first_day = queue_rules.next_open_days(session, offices[office], now + timedelta(days=1), 1)
    booking(session, number=number, service=services[service], office=office, day=first_day[0],
            seq=1, holder=holder, status="aktif", created=now - timedelta(hours=2))
    taken = {number}
    for quota in session.scalars(select(Quota).order_by(Quota.office_code, Quota.service_code)):
        if quota.service_code not in ("ktp_el", "kk", "akta_kelahiran"):
            continue
        for offset in range(-7, 8):
            day = now.date() + timedelta(days=offset)
            if queue_rules.day_closed(session, offices[quota.office_code], day):
                continue
            fill = int(queue_rules.day_quota(quota.daily, day) * rng.uniform(0.05, 0.35))
            for seq in range(1, fill + 1):
                if (quota.office_code, quota.service_code, seq) == (office, service, 1) and \
                        day == first_day[0]:
                    continue  # the demo booking holds this number
                while (number := f"ANT-{rng.randint(200000, 999999)}") in taken:
                    pass
                taken.add(number)
                status = "aktif" if offset >= 0 else ("selesai" if rng.random() < 0.85
                                                      else "tidak_hadir")
                booking(session, number=number, service=services[quota.service_code],
                        office=quota.office_code, day=day, seq=seq,
                        holder=f"warga-{rng.getrandbits(40):010x}", status=status,
                        created=now - timedelta(days=max(1, 3 - offset), hours=rng.randint(0, 9)))
