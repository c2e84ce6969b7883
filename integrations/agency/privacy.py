"""Masking of NIK and KK numbers before they reach a log line or an exception message."""

from __future__ import annotations

import re

_SIXTEEN = re.compile(r"(?<!\d)\d{16}(?!\d)")


def mask_nik(number: str) -> str:
    """First 4 and last 2 digits: "3671051207800002" -> "3671**********02"."""
    digits = str(number or "")
    if len(digits) <= 6:
        return "*" * len(digits)
    return digits[:4] + "*" * (len(digits) - 6) + digits[-2:]


def redact(text: str) -> str:
    """`text` with every 16-digit number (a NIK or KK number) masked."""
    return _SIXTEEN.sub(lambda m: mask_nik(m.group(0)), text or "")
