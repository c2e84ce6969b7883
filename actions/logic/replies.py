"""Short Indonesian answers built from agency data; plain functions, tested without Rasa."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")

_KTP_STATUS_TEXT = {
    "belum_rekam": "Data Anda belum direkam untuk KTP-el. Silakan datang ke Disdukcapil atau "
                   "kecamatan untuk perekaman (gratis), bawa KK.",
    "belum_wajib": "Anda belum wajib KTP-el (belum 17 tahun dan belum menikah). Gunakan KIA "
                   "(Kartu Identitas Anak) sampai saatnya.",
    "sudah_rekam": "KTP-el Anda sudah direkam dan sedang menunggu pencetakan.",
    "menunggu_cetak": "KTP-el Anda sudah direkam dan sedang menunggu pencetakan.",
    "dicetak": "KTP-el Anda sudah dicetak dan sedang dikirim ke tempat pengambilan.",
    "siap_diambil": "KTP-el Anda sudah jadi dan bisa diambil",
    "sudah_diambil": "KTP-el Anda sudah diambil",
    "ditolak": "Pengajuan KTP-el Anda perlu perbaikan data. Silakan datang ke Disdukcapil dengan "
               "membawa KK dan dokumen pendukung.",
    "perlu_perbaikan": "Pengajuan KTP-el Anda perlu perbaikan data. Silakan datang ke Disdukcapil "
                       "dengan membawa KK dan dokumen pendukung.",
}


def format_date(value: str | date | datetime | None) -> str:
    """"2026-11-24" -> "24 November 2026"."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def ktp_status_reply(status: Any) -> str:
    """One message: where the KTP-el is, and what to do next."""
    code = str(_get(status, "status") or "")
    text = (_KTP_STATUS_TEXT.get(code)
            or f"Status KTP-el Anda: {_get(status, 'status_label') or code}.")
    office: str | None = _get(status, "office")
    since = format_date(_get(status, "collected_on") if code == "sudah_diambil"
                        else _get(status, "ready_since"))
    if code == "siap_diambil":
        text += f" di {office}" if office else ""
        text += f" sejak {since}" if since else ""
        text += ". Bawa KTP lama/surat keterangan dan KK asli saat mengambil. Gratis."
    elif code == "sudah_diambil":
        text += f" pada {since}." if since else "."
        text += " Bila belum menerimanya, hubungi petugas."
    return text


def family_reply(members: Iterable[Any]) -> str:
    """Members of a KK, masked: initials and relation only."""
    lines = [f"{i}. {_get(m, 'initials')} ({str(_get(m, 'relation') or '').title()})"
             for i, m in enumerate(members, start=1)]
    if not lines:
        return "Data anggota KK tidak ditemukan. Silakan hubungi Disdukcapil."
    return ("Anggota Kartu Keluarga Anda (disamarkan demi keamanan):\n" + "\n".join(lines) +
            "\nBila ada data yang salah, pilih menu KK > Perubahan data.")


def rupiah(amount: Any) -> str:
    """1250000 -> "Rp1.250.000"."""
    return "Rp" + f"{int(amount or 0):,}".replace(",", ".")


def beds_reply(hospitals: Iterable[Any], kecamatan: str | None = None, limit: int = 5) -> str:
    """Hospitals with free beds, most free first."""
    rows = []
    for hospital in hospitals:
        beds = _get(hospital, "beds") or _get(hospital, "free_beds") or {}
        if isinstance(beds, dict):
            total = sum(int(v or 0) for v in beds.values())
            detail = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in beds.items() if v)
        else:
            items = list(beds)
            total = sum(int(_get(b, "free") or 0) for b in items)
            detail = ", ".join(f"{_get(b, 'label') or _get(b, 'bed_class')} {_get(b, 'free')}"
                               for b in items if _get(b, "free"))
        rows.append((total, str(_get(hospital, "name")), detail, _get(hospital, "phone")))
    rows = [r for r in sorted(rows, key=lambda r: -r[0]) if r[0] > 0][:limit]
    where = f" di sekitar {kecamatan}" if kecamatan else ""
    if not rows:
        return (f"Saat ini belum ada data tempat tidur kosong{where}. Untuk keadaan darurat "
                "hubungi 112 (gratis).")
    lines = [f"Tempat tidur kosong{where} (data terbaru):"]
    for _, name, detail, phone in rows:
        lines.append(f"- {name}: {detail}" + (f" (telp {phone})" if phone else ""))
    lines.append("Hubungi rumah sakit sebelum datang. Darurat: 112 (gratis).")
    return "\n".join(lines)


def pdam_reply(bill: Any) -> str:
    """A PDAM water bill in one message."""
    unpaid = [p for p in (_get(bill, "bills") or []) if not _get(p, "paid")]
    head = f"Tagihan PDAM Tirta Benteng no. pelanggan {_get(bill, 'customer_no')}"
    if not unpaid:
        return head + ": tidak ada tagihan terutang. Terima kasih."
    lines = [head + ":"]
    for period in unpaid[:6]:
        year, month = str(_get(period, "period")).split("-")[:2]
        due = format_date(_get(period, "due_date"))
        lines.append(f"- {MONTHS[int(month) - 1]} {year}: {rupiah(_get(period, 'total'))}"
                     + (f", jatuh tempo {due}" if due else ""))
    lines.append(f"Total: {rupiah(_get(bill, 'total_due'))}. Bayar di loket PDAM, bank, "
                 "minimarket atau dompet digital dengan menyebut nomor pelanggan.")
    return "\n".join(lines)


def pbb_reply(bill: Any) -> str:
    """A PBB bill in one message: what is owed and by when."""
    years = list(_get(bill, "years") or _get(bill, "bills") or [])
    unpaid = [y for y in years if not _get(y, "paid")]
    lines = [f"Tagihan PBB NOP {_get(bill, 'nop_formatted') or _get(bill, 'nop')}"]
    if _get(bill, "location"):
        lines[0] += f" ({_get(bill, 'location')})"
    lines[0] += ":"
    if not unpaid:
        lines.append("Tidak ada tagihan terutang. Terima kasih sudah membayar tepat waktu.")
        return "\n".join(lines)
    for year in unpaid[:5]:
        amount = rupiah(_get(year, "total") or _get(year, "amount"))
        due = format_date(_get(year, "due_date"))
        lines.append(f"- {_get(year, 'year')}: {amount}" + (f", jatuh tempo {due}" if due else ""))
    total = _get(bill, "total_due") or sum(int(_get(y, "total") or _get(y, "amount") or 0)
                                           for y in unpaid)
    lines.append(f"Total: {rupiah(total)}. Bayar di bank/ATM, kantor pos, minimarket atau "
                 "dompet digital dengan menyebut NOP.")
    return "\n".join(lines)
