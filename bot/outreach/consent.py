"""Residents' consent to messages Pintu sends unasked (docs/outreach.md, "Consent").

"STOP" or "BERHENTI" alone in a message withdraws every topic at once; "MULAI" gives consent
back in one message. The gateway catches these words before Rasa, so they work even when Rasa is
down; the `unsubscribe` intent (a whole sentence) reaches `stop` through the internal API.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal, NamedTuple

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


class Command(NamedTuple):
    """A message that speaks to consent: kind "word" (value stop|start) or "button" (value a
    topic, or "no")."""

    kind: Literal["word", "button"]
    value: str


STOPPED = ("Baik, Anda tidak akan lagi menerima pesan siaran dari Pintu (info kota, pengumuman, "
           "kabar status). Anda tetap bisa bertanya kapan saja. Untuk berlangganan lagi, ketik "
           "MULAI.")
STARTED = ("Terima kasih. Anda akan menerima info dan berita Pemkot Tangerang serta kabar status "
           "dokumen dan laporan Anda di chat ini. Berhenti kapan saja dengan mengetik STOP.")

_REPEATS = re.compile(r"(.)\1{2,}")

# Buttons whose payload starts with this are answered by the gateway, never sent to Rasa:
# "#pintu:consent:<topic>" grants the topic with the wording shown, "#pintu:consent:no" declines.
PAYLOAD_PREFIX = "#pintu:consent:"
DECLINED = ("Baik, tidak apa-apa. Pintu tidak mengirim pesan tanpa persetujuan Anda, dan Anda "
            "tetap bisa bertanya kapan saja. Untuk berlangganan nanti, ketik MULAI.")
GRANTED = {
    OWN_UPDATES: "Terima kasih. Kabar status dokumen dan laporan Anda akan dikirim ke chat ini. "
                 "Berhenti kapan saja dengan mengetik STOP.",
    CITY_NEWS: "Terima kasih. Info dan berita Pemkot Tangerang akan dikirim ke chat ini. "
               "Berhenti kapan saja dengan mengetik STOP.",
    "kecamatan": "Terima kasih. Pengumuman untuk Kecamatan {name} akan dikirim ke chat ini. "
                 "Berhenti kapan saja dengan mengetik STOP.",
}


def fold(text: str) -> str:
    """A message folded for matching whole command phrases: lower case, accents, punctuation
    and digits gone, drawn-out letters shortened ("STOP!!" -> "stop", "Berhentiii" ->
    "berhenti"), single spaces."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(_REPEATS.sub(r"\1", re.sub(r"[^a-z ]+", " ", folded)).split())


def keyword(text: str) -> Keyword | None:
    """"stop" or "start" when the whole message is one of those words (see `fold`); None for
    anything else."""
    folded = fold(text)
    if folded in STOP_WORDS:
        return "stop"
    if folded in START_WORDS:
        return "start"
    return None


def payload_topic(payload: str) -> str | None:
    """The topic a `#pintu:consent:` button grants ("no" for the decline button); None for any
    other payload or an unknown topic."""
    if not payload.startswith(PAYLOAD_PREFIX):
        return None
    topic = payload[len(PAYLOAD_PREFIX):].strip()
    if topic in ("no", CITY_NEWS, OWN_UPDATES):
        return topic
    kind, _, name = topic.partition(":")
    if kind == "kecamatan" and re.fullmatch(r"[a-z][a-z ]{2,39}", name):
        return topic
    return None


def wording_for(topic: str) -> str:
    """What the resident says yes to for `topic` (stored with the consent)."""
    kind, _, name = topic.partition(":")
    if kind == "kecamatan":
        return (f"Saya setuju menerima pengumuman untuk Kecamatan {name.title()} di chat ini.")
    return WORDING[topic]


def answer_payload(session: Session, contact: Contact, topic: str, *, source: str) -> str:
    """Acts on a `#pintu:consent:` button (see `payload_topic`); the confirmation to send."""
    if topic == "no":
        return DECLINED
    grant(session, contact.id, topic, source=source, wording=wording_for(topic))
    kind, _, name = topic.partition(":")
    if kind == "kecamatan":
        return GRANTED["kecamatan"].format(name=name.title())
    return GRANTED[topic]


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
                      wording=wording or wording_for(topic),
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


def command(text: str, chosen: str | None = None) -> Command | None:
    """What a message asks of consent: a STOP/MULAI word typed alone, or a `#pintu:consent:`
    button (pressed, or `chosen` by typing its number); None for anything else."""
    word = keyword(text)
    if word is not None:
        return Command("word", word)
    for candidate in (text, chosen or ""):
        topic = payload_topic(candidate)
        if topic is not None:
            return Command("button", topic)
    return None


def act(session: Session, contact: Contact, what: Command) -> str:
    """Acts on a consent command (see `command`); the confirmation to send back."""
    if what.kind == "word":
        return apply(session, contact, "stop" if what.value == "stop" else "start",
                     source=f"{what.value}_word")
    return answer_payload(session, contact, what.value, source="button")


def apply(session: Session, contact: Contact, word: Keyword, *, source: str) -> str:
    """Acts on a keyword message; the confirmation to send back."""
    if word == "stop":
        withdraw_all(session, contact.id, by=source)
        return STOPPED
    for topic in (CITY_NEWS, OWN_UPDATES):
        grant(session, contact.id, topic, source=source)
    return STARTED
