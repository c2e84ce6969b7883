"""The project's own ticket numbers in a message: LKS (complaints), AKL (birth registrations)
and ANT (queue bookings), then 6 digits: "LKS-123456", "lks 123456", "LKS.123456", "lks123456".

Pure Python. Values are normalized to "LKS-123456".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIXES = ("LKS", "AKL", "ANT")
_TICKET = re.compile(r"(?<![0-9A-Za-z])(LKS|AKL|ANT)[ .\-]?(\d{6})(?![0-9A-Za-z])", re.I)


@dataclass(frozen=True)
class TicketSpan:
    """A ticket number found in a text, normalized, with where it was written."""

    value: str
    start: int
    end: int


def find_tickets(text: str) -> list[TicketSpan]:
    """Ticket numbers in a text, left to right."""
    return [TicketSpan(f"{m.group(1).upper()}-{m.group(2)}", m.start(), m.end())
            for m in _TICKET.finditer(text or "")]
