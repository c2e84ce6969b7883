"""The topics a resident may choose in chat (the `subscribe` intent), as the action shows them.

The gateway owns the words: each topic comes with the exact sentence the consent is stored with
(`consent.wording_for`), so the action shows the resident what the record will say. The
kecamatan offered is the one the resident names, else the one of the link they came through.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nlu import geo

from ..models import Contact
from . import consent, links

# Button titles: at most 20 characters (WhatsApp's reply buttons).
TITLES = {consent.CITY_NEWS: "Info & berita kota", consent.OWN_UPDATES: "Status urusan saya"}


def kecamatan_name(text: str | None) -> str | None:
    """The canonical kecamatan a name means ("cipondok", "Kec. Karang Tengah"; a kelurahan's
    name means its kecamatan), or None."""
    if not text:
        return None
    place = geo.resolve_place(text, geo.KECAMATAN)
    return place.kecamatan if place is not None else None


def kecamatan_topic(name: str) -> str:
    """`kecamatan:<name>` as the consent buttons carry it (lower case)."""
    return f"kecamatan:{name.lower()}"


def offer(session: Session, channel: str, chat_id: str, named: str | None) -> dict[str, Any]:
    """What the `subscribe` action offers: each topic with its button title, payload, stored
    wording and whether it is already on; the kecamatan is `named`'s, else the link's."""
    contact = session.scalar(select(Contact).where(Contact.by_channel_id(channel, chat_id)))
    active = set(consent.active_topics(session, contact.id)) if contact is not None else set()
    kecamatan = kecamatan_name(named)
    if kecamatan is None and contact is not None:
        kecamatan = links.known_kecamatan(session, contact.id)
    topics = [consent.CITY_NEWS, consent.OWN_UPDATES]
    if kecamatan is not None:
        topics.insert(1, kecamatan_topic(kecamatan))
    return {
        "topics": [{"topic": topic, "title": TITLES.get(topic, f"Kec. {kecamatan}"),
                    "payload": consent.PAYLOAD_PREFIX + topic,
                    "wording": consent.wording_for(topic), "active": topic in active}
                   for topic in topics],
        "kecamatan": kecamatan,
        "decline_payload": consent.PAYLOAD_PREFIX + "no",
        "all_kecamatan": [p.name for p in geo.load_geo().kecamatan()],
    }
