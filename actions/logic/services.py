"""Small readers of residents' words for the service answers."""

from __future__ import annotations

import re

_BEDS = re.compile(r"\b(kamar|tempat\s+tidur|bed|ranjang|rawat\s+inap|icu|nicu|picu|hcu|"
                   r"kosong|penuh|ruang\s+rawat|bangsal)\b", re.I)
_PBB_CHECK = re.compile(r"\b(cek|check|lihat|liat|berapa|brp|tagihan|tunggakan|nunggak|"
                        r"hutang|utang)\b.*\bpbb\b|\bpbb\b.*\b(cek|berapa|brp|tagihan|tunggakan|"
                        r"nop)\b", re.I)
_NOP = re.compile(r"(?<!\d)(\d{2}[.\s-]?\d{2}[.\s-]?\d{3}[.\s-]?\d{3}[.\s-]?\d{3}[.\s-]?\d{4}"
                  r"[.\s-]?\d)(?!\d)")


_PDAM_NUMBER = re.compile(r"\bpdam\b.*?(?<!\d)(\d{10})(?!\d)|(?<!\d)(\d{10})(?!\d).*\bpdam\b",
                          re.I)


def pdam_customer_number(text: str) -> str | None:
    """A 10-digit PDAM customer number in a message that talks about PDAM, or None."""
    match = _PDAM_NUMBER.search(text or "")
    return (match.group(1) or match.group(2)) if match else None


def mentions_beds(text: str) -> bool:
    return bool(_BEDS.search(text or ""))


def wants_pbb_check(text: str) -> bool:
    return bool(_PBB_CHECK.search(text or ""))


def normalize_nop(text: str) -> str | None:
    """An 18-digit NOP ("36.71.010.001.002-0034.0") as digits only, or None."""
    match = _NOP.search(text or "")
    if not match:
        return None
    digits = re.sub(r"\D", "", match.group(1))
    return digits if len(digits) == 18 else None
