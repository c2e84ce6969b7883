"""Masking of NIK and KK numbers before they reach a log line or an exception message, and keyed
hashes for looking personal numbers up without keeping them."""

from __future__ import annotations

import hashlib
import hmac
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


def keyed_hash(key: str, value: str, purpose: str) -> str:
    """A keyed hash (HMAC-SHA256, hex) of `value` for looking it up without storing it.

    `purpose` separates uses ("nik", "contact", ...), so a hash made for one lookup cannot be
    matched against another's. Without the key, a 16-digit NIK cannot be found from its hash by
    trying every number, which a plain SHA-256 would allow. Runs in both environments.
    """
    return hmac.new(key.encode(), f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()
