"""The one channel-neutral reply model, rendered by `integrations.telegram` and `.whatsapp`.

The gateway turns every message Rasa sends back into a `Reply`; each channel's renderer decides how
to show it within that channel's limits (Telegram inline keyboards; WhatsApp reply buttons, list
messages or a numbered text menu). Options are numbered across one bot turn, in display order, so
that a resident who types "2" instead of tapping gets the second option (see `bot.menus`).

Pure data and functions: imported by the gateway only, but kept free of third-party imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Style = Literal["auto", "buttons", "list"]


@dataclass(frozen=True)
class Option:
    """One choice: what the resident sees and what goes back to the bot when it is picked."""

    title: str
    payload: str
    description: str | None = None


@dataclass(frozen=True)
class Media:
    """An image or document to send: a public URL, or a reference to a file Pintu stored."""

    kind: Literal["image", "document"]
    url: str | None = None
    ref: str | None = None
    filename: str | None = None


@dataclass(frozen=True)
class Template:
    """An approved WhatsApp message template (the only thing allowed outside the 24-hour window)."""

    name: str
    language: str = "id"
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    """One message to a resident.

    - `text` is the body (for media, the caption).
    - `options` are choices; `first_number` is the number the first one carries in the numbered
      text fallback (options are numbered across the whole bot turn).
    - `style`: "auto" lets the renderer choose; "list" asks for a list where the channel has one.
    - `request_location` asks the resident to share a location (Telegram reply keyboard button,
      WhatsApp location request message).
    - `template`: when set, WhatsApp sends this approved template (used outside the 24-hour
      customer-service window); other channels send `text`.
    """

    text: str = ""
    options: tuple[Option, ...] = ()
    first_number: int = 1
    style: Style = "auto"
    list_button: str = "Pilih"
    media: Media | None = None
    request_location: bool = False
    template: Template | None = None
    urgent: bool = False

    def numbered(self) -> list[tuple[int, Option]]:
        return [(self.first_number + i, option) for i, option in enumerate(self.options)]


def numbered_menu(reply: Reply) -> str:
    """The reply's text and its options as a numbered list: the fallback that always works."""
    if not reply.options:
        return reply.text
    lines = [f"{n}. {option.title}" for n, option in reply.numbered()]
    return "\n".join([reply.text, "", *lines, "Ketik angka pilihan Anda."]).strip()


def split_text(text: str, limit: int) -> list[str]:
    """Splits text into chunks of at most `limit` characters without breaking words.

    Prefers paragraph breaks, then line breaks, then spaces; a single word longer than the limit
    (a URL, say) is the only thing ever cut.
    """
    if limit <= 0:
        raise ValueError("limit must be positive")
    text = text.strip()
    chunks: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > 0:
                break
        if cut <= 0:
            cut = limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks


def from_bot_messages(messages: Iterable[Mapping[str, Any]]) -> list[Reply]:
    """Replies for the messages of one bot turn (Rasa's REST channel shape), options numbered across
    the turn.

    Rasa gives `text`, `buttons` ([{title, payload}]), `image` and `custom`; `custom` may carry
    `request_location: true`, `style: "list"`, `list_button`, `document: {url|ref, filename}` and
    `urgent: true`.
    """
    replies: list[Reply] = []
    number = 1
    for raw in messages:
        custom = raw.get("custom") or {}
        options = tuple(
            Option(title=str(b.get("title", "")), payload=str(b.get("payload", "")),
                   description=b.get("description"))
            for b in raw.get("buttons") or ()
        )
        media: Media | None = None
        if raw.get("image"):
            media = Media(kind="image", url=str(raw["image"]))
        elif isinstance(custom.get("document"), Mapping):
            doc = custom["document"]
            media = Media(kind="document", url=doc.get("url"), ref=doc.get("ref"),
                          filename=doc.get("filename"))
        style = custom.get("style", "auto")
        replies.append(Reply(
            text=str(raw.get("text") or ""),
            options=options,
            first_number=number,
            style=style if style in ("auto", "buttons", "list") else "auto",
            list_button=str(custom.get("list_button") or "Pilih"),
            media=media,
            request_location=bool(custom.get("request_location")),
            urgent=bool(custom.get("urgent")),
        ))
        number += len(options)
    return replies


@dataclass
class Rendered:
    """One channel API call a renderer produced: the method (Telegram) or message type (WhatsApp)
    and its JSON body."""

    method: str
    body: dict[str, Any] = field(default_factory=dict)
