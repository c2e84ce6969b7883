"""Well-known demo records, created before the random population so docs/sandbox.md stays true.

Identities, numbers and states here are fixed; only their dates move with the day the database
was seeded (ready since, submitted at ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class DemoPerson:
    nik: str
    name: str
    gender: str
    birth_date: date
    relation: str
    ktp_status: str
    ktp_office: str | None = None
    days_ago: int = 0  # when the status last changed, counted back from the seed day
    note: str | None = None


@dataclass(frozen=True)
class DemoFamily:
    kk_number: str
    kecamatan: str
    kelurahan: str
    address: str
    members: tuple[DemoPerson, ...] = field(default_factory=tuple)


PUSPEMKOT = "Disdukcapil Kota Tangerang (Puspemkot)"

DEMO_FAMILIES = (
    # The family for KK member checks: six members, every relation a KK commonly shows.
    DemoFamily("3671051403150007", "Cipondoh", "Poris Plawad", "Jl. Mawar No. 12, RT 003/RW 005", (
        DemoPerson("3671051207800002", "Hendra Wijaya", "L", date(1980, 7, 12), "KEPALA KELUARGA",
                   "sudah_diambil", PUSPEMKOT, 900),
        DemoPerson("3671056502830005", "Ratna Sari", "P", date(1983, 2, 25), "ISTRI",
                   "sudah_diambil", "Kantor Kecamatan Cipondoh", 850),
        DemoPerson("3671050310060001", "Fajar Wijaya", "L", date(2006, 10, 3), "ANAK",
                   "sudah_diambil", "Kantor Kecamatan Cipondoh", 200),
        DemoPerson("3671055804120003", "Aulia Rahma", "P", date(2012, 4, 18), "ANAK",
                   "belum_wajib"),
        DemoPerson("3671050108190002", "Bima Saputra", "L", date(2019, 8, 1), "ANAK",
                   "belum_wajib"),
        DemoPerson("3671054505500001", "Sumiati", "P", date(1950, 5, 5), "MERTUA",
                   "sudah_diambil", PUSPEMKOT, 2400),
    )),
    DemoFamily("3671072208120004", "Karawaci", "Cimone", "Jl. Cisadane No. 4, RT 002/RW 007", (
        DemoPerson("3671071103720006", "Slamet Riyadi", "L", date(1972, 3, 11), "KEPALA KELUARGA",
                   "sudah_diambil", PUSPEMKOT, 1500),
        DemoPerson("3671070209080011", "Rizky Pratama", "L", date(2008, 9, 2), "ANAK",
                   "belum_rekam"),
    )),
    DemoFamily("3671060902210002", "Ciledug", "Sudimara Timur", "Jl. Melati No. 8, RT 001/RW 004", (
        DemoPerson("3671066106950003", "Dewi Lestari", "P", date(1995, 6, 21), "KEPALA KELUARGA",
                   "sudah_rekam", None, 12),
    )),
    DemoFamily("3671071705190012", "Karawaci", "Nusa Jaya", "Jl. Anggrek No. 21, RT 005/RW 002", (
        DemoPerson("3671070411880021", "Agus Setiawan", "L", date(1988, 11, 4), "KEPALA KELUARGA",
                   "dicetak", "Kantor Kecamatan Karawaci", 2),
        DemoPerson("3671076701900009", "Intan Puspita", "P", date(1990, 1, 27), "ISTRI",
                   "sudah_diambil", "Kantor Kecamatan Karawaci", 1200),
    )),
    DemoFamily("3671010306180003", "Tangerang", "Sukaasih", "Jl. Kenanga No. 3, RT 004/RW 001", (
        DemoPerson("3671012012890004", "Imam Hidayat", "L", date(1989, 12, 20), "KEPALA KELUARGA",
                   "sudah_diambil", PUSPEMKOT, 1000),
        DemoPerson("3671015503920008", "Siti Rahmawati", "P", date(1992, 3, 15), "ISTRI",
                   "siap_diambil", "Kantor Kecamatan Tangerang", 4),
    )),
    DemoFamily("3671132511040001", "Larangan", "Larangan Utara",
               "Jl. Flamboyan No. 17, RT 006/RW 003", (
        DemoPerson("3671133001750004", "Bambang Hermawan", "L", date(1975, 1, 30),
                   "KEPALA KELUARGA", "sudah_diambil", "Kantor Kecamatan Larangan", 30),
    )),
    DemoFamily("3671111010200006", "Pinang", "Kunciran Indah",
               "Jl. Raden Saleh No. 9, RT 002/RW 008", (
        DemoPerson("3671115408680002", "Endang Kusuma", "P", date(1968, 8, 14), "KEPALA KELUARGA",
                   "sudah_diambil", PUSPEMKOT, 1800),
        DemoPerson("3671114912990015", "Yuliana Putri", "P", date(1999, 12, 9), "ANAK",
                   "perlu_perbaikan", None, 6,
                   "Nama ibu kandung pada formulir berbeda dengan data KK. Bawa KK asli dan akta "
                   "kelahiran ke Disdukcapil untuk perbaikan data."),
    )),
)

# Complaints Pintu "filed earlier": (agency_ref, external_ref, category, kecamatan, kelurahan,
# description, final status, days ago).
DEMO_COMPLAINTS = (
    ("TLR-100001", "LKS-100001", "jalan_rusak", "Cipondoh", "Poris Plawad",
     "Jalan berlubang besar di depan sekolah, sudah dua minggu, membahayakan pengendara motor.",
     "selesai", 20),
    ("TLR-100002", "LKS-100002", "sampah", "Karawaci", "Cimone",
     "Sampah menumpuk di pinggir kali dekat pasar, belum diangkut seminggu dan berbau.",
     "diproses", 3),
)

# Birth registrations: (number, child, birth days ago, place, father NIK, mother NIK, status).
DEMO_BIRTHS = (
    ("AKL-100001", "Arka Setiawan", 40, "RSUD Kota Tangerang", "3671070411880021",
     "3671076701900009", "selesai"),
    ("AKL-100002", "Naura Hidayat", 10, "RS Sari Asih Karawaci", "3671012012890004",
     "3671015503920008", "perlu_perbaikan"),
)

# PBB objects: (NOP, owner, kecamatan, kelurahan, address, land m2, building m2, unpaid years).
DEMO_PBB = (
    ("367101000100200340", "Imam Hidayat", "Tangerang", "Babakan",
     "Jl. Kenanga No. 3", 120, 90, 2),
    ("367105000801101200", "Hendra Wijaya", "Cipondoh", "Poris Plawad",
     "Jl. Mawar No. 12", 150, 110, 0),
)

# PDAM customers: (number, name, kecamatan, kelurahan, tariff group, unpaid months).
DEMO_PDAM = (
    ("0105001234", "Imam Hidayat", "Tangerang", "Sukaasih", "R2", 2),
    ("0705004321", "Agus Setiawan", "Karawaci", "Nusa Jaya", "R2", 0),
)

# A queue booking on the first open day after seeding: (number, service, office, holder).
DEMO_BOOKING = ("ANT-100001", "ktp_el", "disdukcapil", "demo-holder-1")

# Well-formed numbers that are NOT in the data, for "not verified" demos.
UNKNOWN_NIK = "3671051207800099"
