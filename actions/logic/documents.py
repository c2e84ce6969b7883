"""Tells a request about a population document apart: its status, or information about it.

"ktp saya sudah jadi belum" goes straight to the status check; "syarat ktp hilang" is information
(case "hilang", aspect "persyaratan"); "ktp" alone is unclear and the bot asks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STATUS = "status"
INFO = "info"
UNCLEAR = "unclear"

_STATUS_PATTERNS = [
    r"\b(sudah|udah|udh|sdh|dah|blm|belum|blom|lom)\s+(bisa\s+)?(jadi|jd|dicetak|dicetk|cetak|"
    r"selesai|terbit|keluar|diambil|diproses|ready|siap)\b",
    r"\b(cek|cek2|check|lihat|liat|periksa|pantau|tracking|lacak)\s+(status|progres|progress|data)\b",
    r"\bstatus\s+(ktp|e-?ktp|kk|kartu|akta|akte|pengajuan|permohonan|dokumen|cetak)",
    r"\b(cek|check|periksa)\s+(ktp|e-?ktp|kk|kartu keluarga|akta|akte)\b",
    r"\bsampai\s+mana\b|\bsampe\s+mana\b|\budah\s+sampe\b",
    r"\b(bisa|sudah bisa|siap)\s+(di)?ambil\b",
    r"\bkapan\s+(bisa\s+)?(di)?ambil\b",
    r"\b(kok|koq|kenapa|knp)\s+(belum|blm|blom|lom|gak|ga|tidak|tdk)"
    r"\s+(jadi|jd|dicetak|keluar|selesai)\b",
    r"\b(ktp|kk|akta|akte)\s+(saya|sy|aku|gw|gue|anak saya|istri saya|suami saya)"
    r"\s+(kapan|udah|sudah|belum|blm|gimana)\b",
    r"\bprogres\b|\bprogress\b",
]

_ASPECTS: tuple[tuple[str, str], ...] = (
    ("biaya", r"\b(biaya|biayanya|bayar|berbayar|gratis|tarif|harga|ongkos|pungli|pungutan|"
              r"berapa\s+(rp|rupiah|duit|uang))\b"),
    ("lama", r"\b(berapa\s+lama|lamanya|berapa\s+hari|brp\s+lama|brp\s+hari|durasi|"
             r"prosesnya\s+lama|makan\s+waktu|kapan\s+jadinya)\b"),
    ("tempat", r"\b(di\s*mana|dimana|dmn|kemana|ke\s+mana|tempat(nya)?|lokasi|alamat|"
               r"ngurusnya\s+di|ambil(nya)?\s+di)\b"),
    ("persyaratan", r"\b(syarat|syaratnya|persyaratan|prasyarat|dokumen\s+apa|berkas|bawa\s+apa|"
                    r"butuh\s+apa|perlu\s+apa|apa\s+saja\s+yang\s+(dibawa|diperlukan|disiapkan)|"
                    r"requirement|requirements|kelengkapan)\b"),
    ("prosedur", r"\b(cara|caranya|gimana|gmn|bagaimana|bgmn|prosedur|langkah|alur|proses|"
                 r"mengurus|ngurus|urus|bikin|membuat|buat|daftar|mendaftar|apply|how|tata\s+cara|"
                 r"rekam|perekaman|cetak\s+ulang)\b"),
)

_CASES: tuple[tuple[str, str], ...] = (
    ("hilang", r"\b(hilang|ilang|ilng|hlang|kehilangan|raib|dicuri|kecopetan|kecurian|lenyap|"
               r"ketinggalan|lost)\b"),
    ("rusak", r"\b(rusak|patah|pecah|sobek|robek|luntur|pudar|terkelupas|tidak\s+terbaca|"
              r"gak\s+kebaca|chip|kebasahan|basah|kebakar|terbakar|broken)\b"),
    ("tambah_anggota", r"\b(tambah|nambah|menambah|masukin|masukkan|memasukkan)\b.*\b(anggota|anak|"
                       r"bayi|istri|suami)\b|\b(anak|bayi)\b.*\b(baru\s+lahir|lahir)\b"),
    ("pisah_kk", r"\b(pisah|misah|memisahkan|pecah)\s+(kk|kartu\s+keluarga)\b|\bkk\s+sendiri\b"),
    ("perubahan", r"\b(ubah|ganti|perubahan|mengubah|merubah|salah|ralat|revisi|koreksi|"
                  r"pembetulan|perbaikan|update|pembaruan|memperbarui|beda|keliru)\b"),
    ("terlambat", r"\b(terlambat|telat|kelewat|lewat\s+(dari\s+)?60\s+hari|sudah\s+besar|dewasa|"
                  r"belum\s+punya\s+akta)\b"),
    ("online", r"\b(online|daring|lewat\s+(chat|wa|hp|aplikasi)|dari\s+rumah)\b"),
    ("baru", r"\b(baru|pertama|pemula|17\s*(tahun|thn|th)|belum\s+punya|bikin)\b"),
)


@dataclass(frozen=True)
class DocumentRequest:
    mode: str
    case: str | None = None
    aspect: str | None = None


def classify_document_request(text: str) -> DocumentRequest:
    """Reads what the resident wants about a document from their own words."""
    lowered = " ".join(text.lower().split())
    case = next((name for name, pattern in _CASES if re.search(pattern, lowered)), None)
    aspect = next((name for name, pattern in _ASPECTS if re.search(pattern, lowered)), None)
    if any(re.search(pattern, lowered) for pattern in _STATUS_PATTERNS):
        # "syarat ktp hilang, kapan bisa diambil" still asks for information first.
        if aspect in ("persyaratan", "biaya"):
            return DocumentRequest(INFO, case, aspect)
        return DocumentRequest(STATUS)
    if aspect or case:
        return DocumentRequest(INFO, case, aspect)
    return DocumentRequest(UNCLEAR)
