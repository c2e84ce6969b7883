"""Residents' consent to messages Pintu sends unasked (docs/outreach.md, "Consent").

"STOP" or "BERHENTI" alone in a message withdraws every topic at once; "MULAI" gives consent
back in one message. The gateway catches these words before Rasa, so they work even when Rasa is
down; the `unsubscribe` intent (a whole sentence) reaches `stop` through the internal API.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import Consent, Contact

WORDING_VERSION = "2026-11-25"
CITY_NEWS, OWN_UPDATES = "city_news", "own_updates"
WORDING = {
    CITY_NEWS: "Saya setuju menerima info dan berita Pemkot Tangerang di chat ini.",
    OWN_UPDATES: "Saya setuju menerima kabar status dokumen dan laporan saya di chat ini.",
}
STOP_WORDS = frozenset({"stop", "berhenti", "unsubscribe", "stop langganan",
                        "berhenti langganan", "stop berlangganan", "berhenti berlangganan"})
START_WORDS = frozenset({"mulai", "mulai langganan", "langganan", "berlangganan"})
Keyword = Literal["stop", "start"]

STOPPED = ("Baik, Anda tidak akan lagi menerima pesan siaran dari Pintu (info kota, pengumuman, "
           "kabar status). Anda tetap bisa bertanya kapan saja. Untuk berlangganan lagi, ketik "
           "MULAI.")
STARTED = ("Terima kasih. Anda akan menerima info dan berita Pemkot Tangerang serta kabar status "
           "dokumen dan laporan Anda di chat ini. Berhenti kapan saja dengan mengetik STOP.")

_REPEATS = re.compile(r"(.)\1{2,}")


def keyword(text: str) -> Keyword | None:
    """"stop" or "start" when the whole message is one of those words (case, punctuation,
    accents and drawn-out letters folded: "STOP!!", "Berhentiii"); None for anything else."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    folded = " ".join(_REPEATS.sub(r"\1", re.sub(r"[^a-z ]+", " ", folded)).split())
    if folded in STOP_WORDS:
        return "stop"
    if folded in START_WORDS:
        return "start"
    return None


def active_topics(session: Session, contact_id: int) -> list[str]:
    return sorted(session.scalars(select(Consent.topic).where(
        Consent.contact_id == contact_id, Consent.withdrawn_at.is_(None))))


def grant(session: Session, contact_id: int, topic: str, *, source: str,
          wording: str | None = None) -> Consent:
    """Records consent to `topic` with the words shown; an active one is kept as it is."""
    existing = session.scalar(select(Consent).where(
        Consent.contact_id == contact_id, Consent.topic == topic, Consent.withdrawn_at.is_(None)))
    if existing is not None:
        return existing
    consent = Consent(contact_id=contact_id, topic=topic,
                      wording=wording or WORDING[topic.split(":", 1)[0]],
                      wording_version=WORDING_VERSION, source=source)
    try:
        with session.begin_nested():  # the same resident's other message may grant it too
            session.add(consent)
    except IntegrityError:
        return session.scalars(select(Consent).where(
            Consent.contact_id == contact_id, Consent.topic == topic,
            Consent.withdrawn_at.is_(None))).one()
    return consent


def withdraw_all(session: Session, contact_id: int, *, by: str) -> int:
    """Withdraws every active consent of the contact at once; how many there were."""
    result = session.execute(update(Consent).where(
        Consent.contact_id == contact_id, Consent.withdrawn_at.is_(None))
        .values(withdrawn_at=utcnow(), withdrawn_by=by))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def may_send(session: Session, contact_id: int, topic: str) -> bool:
    """Whether a message of `topic` may go to the contact unasked: an active consent, and the
    channel did not report the bot blocked."""
    contact = session.get(Contact, contact_id)
    return contact is not None and contact.status != "stopped" and \
        topic in active_topics(session, contact_id)


def apply(session: Session, contact: Contact, word: Keyword, *, source: str) -> str:
    """Acts on a keyword message; the confirmation to send back."""
    if word == "stop":
        withdraw_all(session, contact.id, by=source)
        return STOPPED
    for topic in (CITY_NEWS, OWN_UPDATES):
        grant(session, contact.id, topic, source=source)
    return STARTED
