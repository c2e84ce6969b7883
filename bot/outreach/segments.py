"""Who a campaign goes to: a segment (consent topic, kecamatan, channels, active since) as one SQL
query, so that counting and queueing 100,000 residents never loads them into Python.

Only residents who said yes reach a campaign: an active (not withdrawn) consent to the topic, and
a contact the channel did not report stopped (a blocked bot, "STOP"). A kecamatan announcement
needs the consent `kecamatan:<name>`; a city-wide one `city_news`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from ..models import Consent, Contact
from .consent import CITY_NEWS

KECAMATAN = ("Batuceper", "Benda", "Cibodas", "Ciledug", "Cipondoh", "Jatiuwung",
             "Karangtengah", "Karawaci", "Larangan", "Neglasari", "Periuk", "Pinang",
             "Tangerang")
CHANNELS = ("telegram", "whatsapp")


class SegmentError(ValueError):
    """A segment that cannot be used; the message is Indonesian, for the admin."""


@dataclass(frozen=True)
class Segment:
    kecamatan: str | None = None
    channels: tuple[str, ...] = CHANNELS
    active_since: date | None = None

    @property
    def topic(self) -> str:
        """The consent a resident must have given to be in the segment."""
        return f"kecamatan:{self.kecamatan}" if self.kecamatan else CITY_NEWS

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Segment:
        """From form values or stored JSON; raises SegmentError on anything unknown."""
        kecamatan = str(data.get("kecamatan") or "").strip() or None
        if kecamatan is not None and kecamatan not in KECAMATAN:
            raise SegmentError("Kecamatan tidak dikenal.")
        raw = data.get("channels") or CHANNELS
        channels = tuple(c for c in CHANNELS if c in ([raw] if isinstance(raw, str) else raw))
        if not channels:
            raise SegmentError("Pilih paling sedikit satu kanal.")
        since_raw = str(data.get("active_since") or "").strip()
        try:
            since = date.fromisoformat(since_raw) if since_raw else None
        except ValueError as exc:
            raise SegmentError("Tanggal 'aktif sejak' tidak valid.") from exc
        return cls(kecamatan=kecamatan, channels=channels, active_since=since)

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "kecamatan": self.kecamatan, "channels": list(self.channels),
                "active_since": self.active_since.isoformat() if self.active_since else None}

    def conditions(self) -> list[Any]:
        """The WHERE clauses over `Contact`: consent, not stopped, channel, activity."""
        clauses: list[Any] = [
            Contact.status != "stopped",
            Contact.channel.in_(self.channels),
            exists().where(and_(Consent.contact_id == Contact.id, Consent.topic == self.topic,
                                Consent.withdrawn_at.is_(None))),
        ]
        if self.active_since is not None:
            since = datetime.combine(self.active_since, time.min, tzinfo=timezone.utc)
            clauses.append(Contact.last_inbound_at >= since)
        return clauses


def count(session: Session, segment: Segment) -> dict[str, int]:
    """Residents in the segment per channel (every channel of the segment named, 0 included)."""
    rows = session.execute(select(Contact.channel, func.count()).where(*segment.conditions())
                           .group_by(Contact.channel)).all()
    found = {str(channel): int(n) for channel, n in rows}
    return {channel: found.get(channel, 0) for channel in segment.channels}
