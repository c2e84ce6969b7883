"""Masking personal numbers on staff screens: NIK and KK numbers (16 digits) and phone numbers.

Transcripts are shown masked by default; an officer who needs a number reveals one message with a
stated reason, which is audited (`bot.handoff.HandoffService.reveal`). Residents type numbers with
spaces, dots or dashes ("3671 0512 0780 0002", "0812-3456-7890"), so those count too.
"""

from __future__ import annotations

import re

from integrations.agency.privacy import mask_nik

# 16 digits, optionally grouped by single spaces, dots or dashes: a NIK or a KK number.
_SIXTEEN = re.compile(r"(?<![\d])(?:\d[ .-]?){15}\d(?![\d])")
# Indonesian mobile numbers: +62 8.., 62 8.., 08.., with optional separators.
_PHONE = re.compile(r"(?<![\w+])(?:\+62|62|0)[ .-]?8(?:[ .-]?\d){7,11}(?![\d])")


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _mask_sixteen(match: re.Match[str]) -> str:
    return mask_nik(_digits(match.group(0)))


def _mask_phone(match: re.Match[str]) -> str:
    digits = _digits(match.group(0))
    return digits[:4] + "*" * (len(digits) - 7) + digits[-3:]


def mask_personal(text: str) -> str:
    """`text` with NIK/KK numbers and phone numbers masked (first and last digits kept)."""
    return _PHONE.sub(_mask_phone, _SIXTEEN.sub(_mask_sixteen, text or ""))


def has_personal(text: str) -> bool:
    """Whether masking would hide something in `text` (the screen then offers to reveal it)."""
    return bool(_SIXTEEN.search(text or "") or _PHONE.search(text or ""))


def _star_digits(segment: str, keep_head: int, keep_tail: int) -> str:
    """Digits of `segment` starred except the first and last few; separators stay in place."""
    positions = [i for i, ch in enumerate(segment) if ch.isdigit()]
    hidden = set(positions[keep_head:len(positions) - keep_tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(segment))


def star_personal(text: str) -> str:
    """Like `mask_personal`, but every character stays where it was (separators kept, digits
    starred in place), so that offsets into the original text still fit the masked one: the
    stored NLU predictions keep their entity spans."""
    starred = _SIXTEEN.sub(lambda m: _star_digits(m.group(0), 4, 2), text or "")
    return _PHONE.sub(lambda m: _star_digits(m.group(0), 4, 3), starred)
