"""Indonesian mobile numbers in a message ("0812-3456-7890", "+62 812 3456 7890", "62812...").

Pure Python. Values are normalized to the international form without "+": "6281234567890".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu.nik import find_sixteen_digit_numbers

# 0 or 62 (optionally +62), then 8 and 8-11 more digits; single spaces, dots or dashes may group
# them. So 10-13 digits in the 08 form, 11-14 with 62.
_MOBILE = re.compile(r"(?<![\d+])(?:\+62|62|0)[ .\-]?(8(?:[ .\-]?\d){8,11})(?![ .\-]?\d)")


@dataclass(frozen=True)
class PhoneSpan:
    """A mobile number found in a text, normalized to 62..., with where it was written."""

    value: str
    start: int
    end: int


def normalize_phone(text: str) -> str | None:
    """"0812 3456 7890" -> "6281234567890"; None when the text holds no mobile number."""
    found = find_phones(text)
    return found[0].value if found else None


def find_phones(text: str) -> list[PhoneSpan]:
    """Mobile numbers in a text; digits that belong to a 16-digit NIK/KK number never count."""
    text = text or ""
    # Blank out NIK/KK numbers first: a phone number written just before one still ends there.
    for number in find_sixteen_digit_numbers(text):
        text = text[:number.start] + "#" * (number.end - number.start) + text[number.end:]
    found: list[PhoneSpan] = []
    for match in _MOBILE.finditer(text):
        national = re.sub(r"\D", "", match.group(1))
        found.append(PhoneSpan("62" + national, match.start(), match.end()))
    return found
