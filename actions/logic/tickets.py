"""The project's ticket numbers: LKS- complaints, AKL- birth registrations, ANT- queue bookings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nlu.tickets import find_tickets

from .replies import format_date

KINDS = {"LKS": "laporan", "AKL": "pengajuan akta kelahiran", "ANT": "antrean"}


def normalize_ticket(text: str) -> str | None:
    """"lks 123456" -> "LKS-123456"; None when there is no ticket number in the text."""
    found = find_tickets(text)
    return found[0].value if found else None


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def history_reply(number: str, status_label: str, history: Iterable[Any], limit: int = 5) -> str:
    """Status first, then the latest steps, oldest to newest."""
    kind = KINDS.get(number[:3], "tiket")
    steps = list(history)[-limit:]
    lines = [f"Status {kind} {number}: {status_label}."]
    if steps:
        lines.append("Riwayat:")
        for step in steps:
            when = format_date(_get(step, "at"))
            note = _get(step, "note") or _get(step, "status_label") or _get(step, "status")
            lines.append(f"- {when}: {note}")
    return "\n".join(lines)
