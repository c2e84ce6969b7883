"""Reference data every agency route shares: status codes and labels, complaint routing.

Labels are Indonesian because clients may show them to residents as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

KTP_STATUSES = {
    "belum_wajib": "Belum wajib KTP-el (di bawah 17 tahun dan belum menikah)",
    "belum_rekam": "Belum perekaman KTP-el",
    "sudah_rekam": "Sudah perekaman, menunggu pencetakan",
    "dicetak": "Sudah dicetak, dikirim ke tempat pengambilan",
    "siap_diambil": "Sudah jadi, siap diambil",
    "sudah_diambil": "Sudah diambil",
    "perlu_perbaikan": "Ditolak: perlu perbaikan data",
}

BIRTH_STATUSES = {
    "diajukan": "Diajukan, menunggu verifikasi petugas",
    "diverifikasi": "Berkas lengkap, akta sedang diproses",
    "perlu_perbaikan": "Perlu perbaikan berkas",
    "selesai": "Selesai: akta kelahiran terbit (dokumen elektronik dengan TTE)",
    "ditolak": "Ditolak",
}

COMPLAINT_STATUSES = {
    "diterima": "Diterima Tangerang Live Room",
    "diteruskan": "Diteruskan ke dinas terkait",
    "diproses": "Sedang ditindaklanjuti dinas",
    "selesai": "Selesai ditangani",
    "ditolak": "Tidak dapat ditindaklanjuti",
}

BOOKING_STATUSES = {
    "aktif": "Aktif: datang sesuai jam yang tertera",
    "dibatalkan": "Dibatalkan",
    "selesai": "Sudah dilayani",
    "tidak_hadir": "Tidak hadir",
    "kedaluwarsa": "Tanggal antrean sudah lewat",
}

BED_CLASSES = {
    "vip": "VIP",
    "kelas_1": "Kelas 1",
    "kelas_2": "Kelas 2",
    "kelas_3": "Kelas 3",
    "icu": "ICU",
    "nicu": "NICU",
    "picu": "PICU",
    "isolasi": "Isolasi",
}

RELATIONS = ("KEPALA KELUARGA", "SUAMI", "ISTRI", "ANAK", "MENANTU", "CUCU", "ORANG TUA",
             "MERTUA", "FAMILI LAIN", "LAINNYA")


@dataclass(frozen=True)
class ComplaintRoute:
    label: str
    agency: str
    response_days: int  # working days until the agency's first response


# Routing as a city office would plausibly set it; edit it here. GET /laksa/v1/categories lists it.
COMPLAINT_ROUTES = {
    "jalan_rusak": ComplaintRoute("Jalan rusak", "Dinas Pekerjaan Umum dan Penataan Ruang", 3),
    "banjir": ComplaintRoute("Banjir atau saluran air",
                             "Dinas Pekerjaan Umum dan Penataan Ruang (Sumber Daya Air)", 1),
    "sampah": ComplaintRoute("Sampah", "Dinas Lingkungan Hidup", 2),
    "lampu_jalan": ComplaintRoute("Lampu jalan mati",
                                  "Dinas Perumahan, Permukiman dan Pertanahan", 3),
    "pohon_tumbang": ComplaintRoute("Pohon tumbang", "Badan Penanggulangan Bencana Daerah", 1),
    "air_pdam": ComplaintRoute("Air PDAM", "Perumda Air Minum Tirta Benteng", 2),
    "parkir_liar": ComplaintRoute("Parkir liar", "Dinas Perhubungan", 3),
    "kebisingan": ComplaintRoute("Kebisingan", "Satuan Polisi Pamong Praja", 3),
    "fasilitas_umum": ComplaintRoute("Fasilitas umum",
                                     "Dinas Perumahan, Permukiman dan Pertanahan", 5),
    "pungli": ComplaintRoute("Pungutan liar", "Inspektorat Kota Tangerang", 5),
    "pelayanan_lambat": ComplaintRoute("Pelayanan lambat",
                                       "Bagian Organisasi Sekretariat Daerah", 5),
    "adminduk": ComplaintRoute("Administrasi kependudukan",
                               "Dinas Kependudukan dan Pencatatan Sipil", 3),
    "kesehatan": ComplaintRoute("Layanan kesehatan", "Dinas Kesehatan", 3),
    "pendidikan": ComplaintRoute("Pendidikan", "Dinas Pendidikan", 5),
    "lainnya": ComplaintRoute("Lainnya", "Tangerang Live Room (Diskominfo)", 3),
}


def complaint_route(category: str) -> ComplaintRoute:
    """Unknown categories go to the Tangerang Live Room, which sorts them by hand."""
    return COMPLAINT_ROUTES.get(category, COMPLAINT_ROUTES["lainnya"])


def label(table: dict[str, str], code: str) -> str:
    return table.get(code, code.replace("_", " ").capitalize())
