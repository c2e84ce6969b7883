"""Outreach links (docs/outreach.md, "Reaching new residents"): which poster brought whom.

Each link has a code (`kel-cipondoh`, `kec-benda`, `kmp-festival-cisadane`). Telegram carries it
as the deep link's start parameter (`https://t.me/<bot>?start=<code>`); WhatsApp has none, so its
link (`https://wa.me/<number>?text=...`) prefills words that contain the code, which the gateway
recognises before Rasa. A contact whose very first message came through a link has that link as
its source, once and for good; later arrivals through any link are counted as visits.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nlu import geo

from .. import records
from ..db import utcnow
from ..models import Contact, Conversation, Message, OutreachLink, OutreachVisit

Kind = Literal["kelurahan", "kecamatan", "campaign"]
PREFIX = {"kelurahan": "kel", "kecamatan": "kec", "campaign": "kmp"}
# Telegram allows [A-Za-z0-9_-]{1,64} as a start parameter; codes are lower case and hyphenated
# so that they read well on a poster and survive a resident retyping the WhatsApp words.
CODE = re.compile(r"(?:kel|kec|kmp)-[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?")
# The code inside a WhatsApp message: "Halo Pintu (kode: kel-cipondoh)", however retyped.
_IN_TEXT = re.compile(r"\bkode\s*[:=]?\s*((?:kel|kec|kmp)-[a-z0-9-]{1,60})", re.IGNORECASE)
PREFILLED = "Halo Pintu (kode: {code})"
# What a resident arriving through a link is answered: Rasa's greeting, the main menu (buttons,
# and numbers to type on any channel); a place's link also offers its kecamatan's announcements.
NEWCOMER_MENU = "/greet"


class LinkError(ValueError):
    """A link that cannot be made; the message is for the admin, in Indonesian."""


@dataclass(frozen=True)
class Arrival:
    """A resident who came through a link: which, and what the link says of their place."""

    code: str
    kecamatan: str | None
    brought: bool


@dataclass(frozen=True)
class LinkReport:
    """One link with what it brought, for the admin page."""

    link: OutreachLink
    brought: int  # contacts whose first message came through it
    visits: int  # every arrival through it, returning residents included


def slug(text: str) -> str:
    """Lower-case ASCII words joined by hyphens: "Poris Plawad Utara" -> "poris-plawad-utara"."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def make_code(kind: Kind, name: str) -> str:
    return f"{PREFIX[kind]}-{slug(name)}"[:64].rstrip("-")


def code_in_text(text: str) -> str | None:
    """The link code a WhatsApp message carries ("Halo Pintu (kode: kel-cipondoh)"), or None."""
    if len(text) > 300:  # the prefilled words are short; a long message is a question
        return None
    match = _IN_TEXT.search(text)
    if match is None:
        return None
    code = match.group(1).lower().rstrip("-")
    return code if CODE.fullmatch(code) else None


def start_code(param: str | None) -> str | None:
    """The link code of a Telegram start parameter, or None (a service link, or nothing)."""
    code = (param or "").lower()
    return code if CODE.fullmatch(code) else None


def code_of(kind: str, start_param: str | None, text: str) -> str | None:
    """The link code a message carries: a Telegram start parameter, or the code in a typed
    message (WhatsApp's prefilled words); None for any other message."""
    if kind == "start":
        return start_code(start_param)
    return code_in_text(text) if kind == "text" else None


def newcomer_menu(arrival: Arrival | None) -> str:
    """What to ask Rasa for a resident who came through a link: the greeting, with the link's
    kecamatan as the choice (`action_greet` then offers its announcements)."""
    if arrival is None or not arrival.kecamatan:
        return NEWCOMER_MENU
    return NEWCOMER_MENU + json.dumps({"choice": f"kec:{arrival.kecamatan}"})


def telegram_url(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}"


def whatsapp_url(phone: str, code: str) -> str:
    return f"https://wa.me/{phone_digits(phone)}?text={quote(PREFILLED.format(code=code))}"


def phone_digits(phone: str) -> str:
    """wa.me wants the number in international form, digits only ("+62 811-1234" -> "628111234");
    a leading 0 is Indonesia's trunk prefix."""
    digits = re.sub(r"\D", "", phone)
    return "62" + digits[1:] if digits.startswith("0") else digits


def describe(link: OutreachLink) -> str:
    """What the link is for, in words: "Kelurahan Poris Plawad (Kec. Cipondoh)"."""
    if link.kind == "kelurahan":
        return f"Kelurahan {link.kelurahan} (Kec. {link.kecamatan})"
    if link.kind == "kecamatan":
        return f"Kecamatan {link.kecamatan}"
    return f"Kampanye {link.campaign}"


def kelurahan_choices() -> list[tuple[str, list[str]]]:
    """Every kecamatan with its kelurahan, in the data file's order (the form's select)."""
    data = geo.load_geo()
    return [(kec.name, [p.name for p in data.kelurahan() if p.kecamatan == kec.name])
            for kec in data.kecamatan()]


def create(session: Session, kind: str, name: str, staff_id: int | None) -> OutreachLink:
    """Makes a link for a kelurahan, a kecamatan (names as in data/geo) or a campaign; raises
    `LinkError` for an unknown place, an empty name or a code already taken."""
    name = " ".join(name.split())
    if kind == "kelurahan":
        place = next((p for p in geo.load_geo().kelurahan() if p.name == name), None)
        if place is None:
            raise LinkError("Pilih kelurahan dari daftar.")
        link = OutreachLink(code=make_code("kelurahan", place.name), kind=kind,
                            kelurahan=place.name, kecamatan=place.kecamatan)
    elif kind == "kecamatan":
        found = next((p for p in geo.load_geo().kecamatan() if p.name == name), None)
        if found is None:
            raise LinkError("Pilih kecamatan dari daftar.")
        link = OutreachLink(code=make_code("kecamatan", found.name), kind=kind,
                            kecamatan=found.name)
    elif kind == "campaign":
        if not slug(name) or len(name) > 120:
            raise LinkError("Isi nama kampanye (huruf atau angka, paling panjang 120 karakter).")
        link = OutreachLink(code=make_code("campaign", name), kind=kind, campaign=name)
    else:
        raise LinkError("Jenis tautan tidak dikenal.")
    if session.scalar(select(OutreachLink.id).where(OutreachLink.code == link.code)):
        raise LinkError(f"Tautan dengan kode {link.code} sudah ada.")
    link.created_by = staff_id
    session.add(link)
    session.flush()
    return link


def by_code(session: Session, code: str) -> OutreachLink | None:
    return session.scalar(select(OutreachLink).where(OutreachLink.code == code))


def arrive(session: Session, contact: Contact, code: str, *, delivery: str,
           message_id: str | None) -> Arrival | None:
    """Records a resident arriving through the link `code` (None when no such link). The link
    becomes the contact's source when this message (the channel's `message_id`) is the first
    they ever sent; a delivery handled twice is counted once."""
    link = by_code(session, code)
    if link is None:
        return None
    known = session.scalar(select(OutreachVisit).where(OutreachVisit.delivery == delivery))
    if known is not None:
        return Arrival(link.code, link.kecamatan, known.brought)
    # The worker stores this message beside answering it, so its row may be there already;
    # any other message from the contact means they were here before the link.
    earlier = select(Message.id).join(Conversation).where(
        Conversation.contact_id == contact.id, Message.direction == "in")
    if message_id is not None:
        earlier = earlier.where(Message.channel_message_id.is_distinct_from(message_id))
    brought = session.scalar(earlier.limit(1)) is None and session.scalar(
        select(OutreachVisit.id).where(OutreachVisit.contact_id == contact.id,
                                       OutreachVisit.brought)) is None
    visit = OutreachVisit(link_id=link.id, contact_id=contact.id, channel=contact.channel,
                          delivery=delivery[:160], brought=brought, at=utcnow())
    try:
        with session.begin_nested():
            session.add(visit)
    except IntegrityError:  # the same delivery, or the contact's source, written meanwhile
        if session.scalar(select(OutreachVisit.id).where(OutreachVisit.delivery == delivery)):
            return Arrival(link.code, link.kecamatan, False)
        brought = False
        with session.begin_nested():
            session.add(OutreachVisit(link_id=link.id, contact_id=contact.id,
                                      channel=contact.channel, delivery=delivery[:160],
                                      brought=False, at=utcnow()))
    return Arrival(link.code, link.kecamatan, brought)


def record_arrival(session: Session, channel: str, chat_id: str, code: str, delivery: str,
                   message_id: str | None) -> Arrival | None:
    """`arrive` for a channel's chat (the contact is made if the link brought them just now)."""
    contact = records.touch_contact(session, channel, chat_id, inbound=True)
    return arrive(session, contact, code, delivery=delivery, message_id=message_id)


def known_kecamatan(session: Session, contact_id: int) -> str | None:
    """The kecamatan of the latest kelurahan or kecamatan link the contact came through."""
    return session.scalar(
        select(OutreachLink.kecamatan).join(OutreachVisit, OutreachVisit.link_id == OutreachLink.id)
        .where(OutreachVisit.contact_id == contact_id, OutreachLink.kecamatan.is_not(None))
        .order_by(OutreachVisit.id.desc()).limit(1))


def report(session: Session) -> list[LinkReport]:
    """Every link, newest first, with the contacts it brought and all its visits."""
    counts = {link_id: (int(brought or 0), int(visits)) for link_id, brought, visits in
              session.execute(select(OutreachVisit.link_id,
                                     func.count().filter(OutreachVisit.brought),
                                     func.count())
                              .group_by(OutreachVisit.link_id))}
    links = session.scalars(select(OutreachLink).order_by(OutreachLink.id.desc()))
    return [LinkReport(link, *counts.get(link.id, (0, 0))) for link in links]


def source_of(session: Session, contact_id: int) -> str | None:
    """The code of the link that brought the contact, if one did."""
    return session.scalar(
        select(OutreachLink.code).join(OutreachVisit, OutreachVisit.link_id == OutreachLink.id)
        .where(OutreachVisit.contact_id == contact_id, OutreachVisit.brought))
