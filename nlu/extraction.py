"""Deterministic entities of a message, as Rasa entity dicts: NIK/KK numbers, ticket numbers,
mobile numbers, kecamatan/kelurahan and dates.

Pure Python, so the rules can be tested without Rasa; nlu.components.entities wraps them in a
graph component and merges them with DIET's predictions.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from nlu import geo
from nlu.dates import find_dates
from nlu.nik import find_sixteen_digit_numbers
from nlu.phone import find_phones
from nlu.tickets import find_tickets

NIK = "nik"
KK_NUMBER = "kk_number"
TICKET_ID = "ticket_id"
PHONE = "phone"
KECAMATAN = geo.KECAMATAN
KELURAHAN = geo.KELURAHAN
DATE = "date"
ENTITY_TYPES = (NIK, KK_NUMBER, TICKET_ID, PHONE, KECAMATAN, KELURAHAN, DATE)
NUMBER_TYPES = frozenset({NIK, KK_NUMBER, TICKET_ID, PHONE})
PLACE_TYPES = frozenset({KECAMATAN, KELURAHAN})

# Words that say which 16-digit number follows; the one nearest the number wins, so
# "NIK 3671... dan KK 3671..." labels both numbers right.
_KK_WORDS = re.compile(r"(?<![0-9a-z])(?:no\.?\s*kk|nokk|nkk|kk|k\.k\.?|kartu\s+keluarga)"
                       r"(?![0-9a-z])", re.I)
_NIK_WORDS = re.compile(r"(?<![0-9a-z])(?:nik|n\.i\.k\.?|ktp|e-?ktp|nomor\s+induk)(?![0-9a-z])",
                        re.I)
_CONTEXT_WORDS = 5


def _entity(kind: str, value: Any, start: int, end: int, confidence: float = 1.0) -> dict[str, Any]:
    return {"entity": kind, "value": value, "start": start, "end": end,
            "confidence_entity": confidence}


def _number_kind(text: str, start: int, previous_end: int) -> str:
    """kk_number when the words just before the number (since the previous number) say KK."""
    window_start = previous_end
    words = list(re.finditer(r"\S+", text[previous_end:start]))
    if len(words) > _CONTEXT_WORDS:
        window_start = previous_end + words[-_CONTEXT_WORDS].start()
    window = text[window_start:start]
    kk = [m.end() for m in _KK_WORDS.finditer(window)]
    nik = [m.end() for m in _NIK_WORDS.finditer(window)]
    return KK_NUMBER if kk and (not nik or max(kk) > max(nik)) else NIK


def _overlaps(start: int, end: int, taken: list[dict[str, Any]]) -> bool:
    return any(start < e["end"] and e["start"] < end for e in taken)


def extract_entities(text: str, today: date | None = None) -> list[dict[str, Any]]:
    """Entity dicts ({entity, value, start, end, confidence_entity}) sorted by position.

    Numbers come first and win any overlap: a NIK is never also a phone number or a date.
    """
    text = text or ""
    entities: list[dict[str, Any]] = []
    previous_end = 0
    for number in find_sixteen_digit_numbers(text):
        kind = _number_kind(text, number.start, previous_end)
        entities.append(_entity(kind, number.value, number.start, number.end))
        previous_end = number.end
    for ticket in find_tickets(text):
        if not _overlaps(ticket.start, ticket.end, entities):
            entities.append(_entity(TICKET_ID, ticket.value, ticket.start, ticket.end))
    for phone in find_phones(text):
        if not _overlaps(phone.start, phone.end, entities):
            entities.append(_entity(PHONE, phone.value, phone.start, phone.end))
    for found in find_dates(text, today=today):
        if not _overlaps(found.start, found.end, entities):
            entities.append(_entity(DATE, found.value.isoformat(), found.start, found.end))
    for place in geo.find_places(text):
        if not _overlaps(place.start, place.end, entities):
            entities.append(_entity(place.kind, place.name, place.start, place.end, place.score))
    return sorted(entities, key=lambda e: (e["start"], e["end"]))


def confirm_place(entity: dict[str, Any], text: str) -> dict[str, Any] | None:
    """A place another extractor (DIET) found that our rules did not: kept with its canonical
    name when the span is a known name (typos allowed), dropped when it is not a place or is a
    name that is also an ordinary word, since our rules already declined it in this context."""
    span = text[entity["start"]:entity["end"]] if "start" in entity else str(entity.get("value"))
    place = geo.resolve_place(span, kind=entity.get("entity"), lenient=True)
    if place is None or place.common_word:
        return None
    return {**entity, "entity": place.kind, "value": place.name}
