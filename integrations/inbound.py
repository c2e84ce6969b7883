"""What a channel hands to the gateway: one resident message (or a receipt), channel-neutral.

The Telegram and WhatsApp adapters turn their webhook payloads into these; the gateway queues them
as JSON, and the worker turns them into a message for Rasa. Pure data, no third-party imports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Kind = Literal[
    "text",  # typed text
    "button",  # a button or list row was picked: `payload`
    "start",  # Telegram /start, with `start_param` from a deep link
    "location",  # a shared location: `attachment.latitude/longitude`
    "contact",  # a shared contact card: `attachment.phone` is the shared number
    "image",  # a photo: `attachment.media_id` to download, `text` is the caption
    "document",  # a file: `attachment.media_id`, `attachment.filename`, `mime_type`
    "unsupported",  # voice notes, stickers, videos, group chats ...: `unsupported` says which
]


@dataclass(frozen=True)
class Attachment:
    """Media, a location or a contact card that came with a message."""

    kind: Literal["image", "document", "location", "contact"]
    media_id: str | None = None  # Telegram file_id / WhatsApp media id, downloaded by the worker
    mime_type: str | None = None
    filename: str | None = None
    size: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    phone: str | None = None  # contact card only; personal data, never logged
    ref: str | None = None  # set by the worker once the media is stored (var/media)


@dataclass(frozen=True)
class Inbound:
    """One message a resident sent on a channel.

    `dedup_id` is unique per delivery of the same update: Telegram "tg:<update_id>", WhatsApp the
    message id ("wamid...."). `chat_id` is where replies go; `user_id` identifies the resident
    (the same as `chat_id` in private chats and on WhatsApp).
    """

    channel: Literal["telegram", "whatsapp"]
    dedup_id: str
    chat_id: str
    user_id: str
    kind: Kind
    text: str = ""
    payload: str | None = None
    start_param: str | None = None
    attachment: Attachment | None = None
    edited: bool = False  # Telegram edited_message: treated as a new message, said so in metadata
    callback_query_id: str | None = None  # Telegram: answered at once so the spinner stops
    unsupported: str | None = None  # "voice", "sticker", "video", "group", "reaction", ...
    channel_message_id: str | None = None  # Telegram "<chat>:<message_id>", WhatsApp wamid
    timestamp: float = 0.0  # when the resident sent it (epoch seconds, from the channel)
    language: str | None = None  # Telegram from.language_code, when given

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inbound:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("attachment") is not None:
            values["attachment"] = Attachment(**values["attachment"])
        return cls(**values)


@dataclass(frozen=True)
class StatusUpdate:
    """A receipt for a message Pintu sent (WhatsApp statuses: sent, delivered, read, failed)."""

    channel: Literal["telegram", "whatsapp"]
    channel_message_id: str
    status: Literal["sent", "delivered", "read", "failed"]
    chat_id: str
    timestamp: float = 0.0
    errors: list[dict[str, Any]] = field(default_factory=list)  # Graph API error objects on failure
    # WhatsApp's `biz_opaque_callback_data`: what Pintu sent with the message (a campaign
    # recipient's ref), so a send whose answer was lost is still recognised.
    callback_data: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
