"""Posters for outreach links: what a printed A4 sheet says, and its QR codes.

The poster is an HTML page styled for print (A4, large type for residents over 45, one QR per
channel): the browser prints it or saves it as PDF, so no PDF library is needed. QR codes come
from `segno` (pure Python) as SVG data URIs, sharp at any print size and allowed by the staff
pages' content security policy (`img-src 'self' data:`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import segno

from ..models import OutreachLink
from . import links


@dataclass(frozen=True)
class ChannelLink:
    """One channel's way in: its address, the QR of it, and how the poster names it."""

    channel: str  # telegram | whatsapp
    label: str  # "WhatsApp"
    url: str
    qr: str  # data:image/svg+xml URI
    handle: str  # what a resident can type instead: "@PintuBot", "0811-0000-2024"


@lru_cache(maxsize=4096)
def qr_data_uri(url: str, *, scale: int = 8) -> str:
    """The QR code of `url` as an SVG data URI. Error correction at least Q (a quarter of the
    code may be soiled or torn and it still reads: posters hang outdoors). Making one takes
    about 8 ms of CPU, so they are kept: a link's addresses never change."""
    return str(segno.make(url, error="q", micro=False).svg_data_uri(scale=scale, border=4))


def channel_links(link: OutreachLink, *, telegram_username: str | None,
                  whatsapp_phone: str | None) -> list[ChannelLink]:
    """The channels a poster of `link` can offer: WhatsApp first (most residents have it),
    then Telegram; a channel whose setting is missing is left out."""
    found: list[ChannelLink] = []
    if whatsapp_phone:
        url = links.whatsapp_url(whatsapp_phone, link.code)
        found.append(ChannelLink("whatsapp", "WhatsApp", url, qr_data_uri(url),
                                 display_phone(whatsapp_phone)))
    if telegram_username:
        url = links.telegram_url(telegram_username, link.code)
        found.append(ChannelLink("telegram", "Telegram", url, qr_data_uri(url),
                                 "@" + telegram_username.lstrip("@")))
    return found


def display_phone(phone: str) -> str:
    """The number as residents dial it: "6281100002024" -> "0811-0000-2024"."""
    digits = links.phone_digits(phone)
    local = "0" + digits[2:] if digits.startswith("62") else digits
    head, rest = local[:4], local[4:]
    groups = [rest[i:i + 4] for i in range(0, len(rest), 4)]
    return "-".join([head, *groups]) if rest else head


def place_line(link: OutreachLink) -> str:
    """The poster's line saying where (or for what) it hangs."""
    if link.kind == "kelurahan":
        return f"Untuk warga Kelurahan {link.kelurahan}, Kecamatan {link.kecamatan}"
    if link.kind == "kecamatan":
        return f"Untuk warga Kecamatan {link.kecamatan}"
    return str(link.campaign)
