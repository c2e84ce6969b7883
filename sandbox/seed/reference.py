"""Reference data: queue services, offices and quotas, public holidays, hospitals and beds."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from ..catalog import BED_CLASSES
from ..geo import KECAMATAN
from ..models import BedCount, Holiday, Hospital, Office, QueueService, Quota

DUKCAPIL = "Dinas Kependudukan dan Pencatatan Sipil"
# code, name, agency, queue letter, what to bring
SERVICES = (
    ("ktp_el", "Perekaman dan pencetakan KTP-el", DUKCAPIL, "A", ["KK asli"]),
    ("kk", "Kartu Keluarga (baru atau perubahan data)", DUKCAPIL, "B",
     ["KK lama", "dokumen pendukung perubahan"]),
    ("akta_kelahiran", "Akta kelahiran", DUKCAPIL, "C",
     ["surat keterangan lahir", "KK", "KTP-el kedua orang tua", "buku nikah/akta perkawinan"]),
    ("akta_kematian", "Akta kematian", DUKCAPIL, "D",
     ["surat keterangan kematian", "KK", "KTP-el almarhum"]),
    ("pindah_datang", "Surat pindah dan kedatangan", DUKCAPIL, "E", ["KK", "KTP-el"]),
    ("kia", "Kartu Identitas Anak (KIA)", DUKCAPIL, "F",
     ["KK", "akta kelahiran anak", "pas foto untuk anak 5 tahun ke atas"]),
    ("pbb", "PBB dan BPHTB", "Badan Pendapatan Daerah", "G", ["SPPT PBB", "KTP-el"]),
    ("perizinan", "Perizinan usaha dan bangunan",
     "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu", "H", ["KTP-el", "NIB bila ada"]),
)
PUSPEMKOT_ADDRESS = "Pusat Pemerintahan Kota Tangerang, Jl. Satria Sudirman No. 1, Sukaasih"


def _offices() -> list[tuple[str, str, str, str | None, bool, dict[str, int]]]:
    offices = [
        ("disdukcapil", "Disdukcapil Kota Tangerang (Puspemkot)", "Tangerang", PUSPEMKOT_ADDRESS,
         False, {"ktp_el": 120, "kk": 80, "akta_kelahiran": 80, "akta_kematian": 40,
                 "pindah_datang": 60, "kia": 40}),
        ("mpp", "Mal Pelayanan Publik Kota Tangerang", "Tangerang", None, True,
         {"ktp_el": 60, "kk": 40, "akta_kelahiran": 30, "pbb": 60, "perizinan": 60}),
    ]
    for kec in KECAMATAN:
        offices.append((f"kec_{kec.name.lower()}", f"Kantor Kecamatan {kec.name}", kec.name, None,
                        False, {"ktp_el": 30, "kk": 20, "kia": 15}))
    return offices


# National holidays and joint leave (SKB 3 Menteri); lunar dates for 2027 are provisional.
HOLIDAYS = {
    date(2025, 12, 25): "Hari Raya Natal", date(2025, 12, 26): "Cuti bersama Natal",
    date(2026, 1, 1): "Tahun Baru Masehi", date(2026, 1, 16): "Isra Mikraj",
    date(2026, 2, 16): "Cuti bersama Tahun Baru Imlek", date(2026, 2, 17): "Tahun Baru Imlek",
    date(2026, 3, 18): "Cuti bersama Nyepi", date(2026, 3, 19): "Hari Suci Nyepi",
    date(2026, 3, 20): "Idul Fitri", date(2026, 3, 21): "Idul Fitri",
    date(2026, 3, 23): "Cuti bersama Idul Fitri", date(2026, 3, 24): "Cuti bersama Idul Fitri",
    date(2026, 4, 3): "Wafat Yesus Kristus", date(2026, 5, 1): "Hari Buruh",
    date(2026, 5, 14): "Kenaikan Yesus Kristus", date(2026, 5, 27): "Idul Adha",
    date(2026, 5, 31): "Hari Raya Waisak", date(2026, 6, 1): "Hari Lahir Pancasila",
    date(2026, 6, 16): "Tahun Baru Islam", date(2026, 8, 17): "Hari Kemerdekaan RI",
    date(2026, 8, 25): "Maulid Nabi Muhammad SAW", date(2026, 12, 24): "Cuti bersama Natal",
    date(2026, 12, 25): "Hari Raya Natal",
    date(2027, 1, 1): "Tahun Baru Masehi", date(2027, 1, 5): "Isra Mikraj",
    date(2027, 2, 6): "Tahun Baru Imlek", date(2027, 3, 10): "Idul Fitri",
    date(2027, 3, 11): "Idul Fitri", date(2027, 3, 26): "Wafat Yesus Kristus",
    date(2027, 5, 1): "Hari Buruh", date(2027, 5, 6): "Kenaikan Yesus Kristus",
    date(2027, 5, 17): "Idul Adha", date(2027, 6, 1): "Hari Lahir Pancasila",
    date(2027, 8, 17): "Hari Kemerdekaan RI", date(2027, 12, 25): "Hari Raya Natal",
}

# Real hospital names in the city; locations approximate, every bed count synthetic.
HOSPITALS = (
    ("rsud_kota", "RSUD Kota Tangerang", "RSUD", "Tangerang", -6.1960, 106.6400),
    ("rsu_kab", "RSU Kabupaten Tangerang", "RSUD", "Tangerang", -6.1770, 106.6310),
    ("rs_sitanala", "RSUP Dr. Sitanala", "RSUP", "Neglasari", -6.1470, 106.6410),
    ("sari_asih_karawaci", "RS Sari Asih Karawaci", "swasta", "Karawaci", -6.1810, 106.6120),
    ("hermina", "RS Hermina Tangerang", "swasta", "Karawaci", -6.1900, 106.6270),
    ("primaya", "RS Primaya Tangerang", "swasta", "Tangerang", -6.2020, 106.6330),
    ("mayapada", "RS Mayapada Tangerang", "swasta", "Tangerang", -6.2000, 106.6460),
    ("bhakti_asih", "RS Bhakti Asih", "swasta", "Karangtengah", -6.2210, 106.7140),
    ("sari_asih_ciledug", "RS Sari Asih Ciledug", "swasta", "Ciledug", -6.2310, 106.7160),
    ("an_nisa", "RS An-Nisa Tangerang", "swasta", "Cibodas", -6.2030, 106.6080),
    ("mulya", "RS Mulya", "swasta", "Pinang", -6.2170, 106.6740),
    ("sari_asih_sangiang", "RS Sari Asih Sangiang", "swasta", "Periuk", -6.1600, 106.5920),
    ("permata_ibu", "RS Permata Ibu", "swasta", "Pinang", -6.2240, 106.6830),
)


def seed_reference(session: Session, rng: random.Random, now: datetime) -> None:
    for code, name, agency, letter, requirements in SERVICES:
        session.add(QueueService(code=code, name=name, agency=agency, letter=letter,
                                 requirements=requirements))
    for code, name, kecamatan, address, saturday, quotas in _offices():
        session.add(Office(code=code, name=name, kecamatan=kecamatan, address=address,
                           open_saturday=saturday))
        session.flush()
        for service, daily in quotas.items():
            session.add(Quota(office_code=code, service_code=service, daily=daily))
    for day, name in sorted(HOLIDAYS.items()):
        session.add(Holiday(day=day, name=name))
    for code, name, kind, kecamatan, lat, lon in HOSPITALS:
        hospital = Hospital(code=code, name=name, kind=kind, kecamatan=kecamatan, latitude=lat,
                            longitude=lon, phone=None,
                            updated_at=now - timedelta(minutes=rng.randint(2, 90)))
        session.add(hospital)
        big = kind != "swasta"
        for position, bed_class in enumerate(BED_CLASSES):
            if bed_class in ("nicu", "picu") and not big and rng.random() < 0.5:
                continue
            capacity = rng.randint(4, 12) if bed_class in ("icu", "nicu", "picu", "isolasi",
                                                           "vip") else rng.randint(15, 90)
            # Kelas 3 and ICU run fuller than the rest, as residents report.
            busy = 0.92 if bed_class in ("kelas_3", "icu", "nicu", "picu") else 0.75
            free = max(0, int(capacity * (1 - busy) * rng.uniform(0.0, 2.2)))
            session.add(BedCount(hospital_code=code, bed_class=bed_class, position=position,
                                 capacity=capacity, free=min(free, capacity)))
