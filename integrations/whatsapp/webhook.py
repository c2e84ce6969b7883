"""WhatsApp Cloud API webhooks: the verification handshake, the signature check and the parser.

No web framework here: the gateway route hands over the query values, the raw body with its
`X-Hub-Signature-256` header, and the parsed JSON. The parser turns Meta's nested shape
(`entry[].changes[].value.messages/statuses`) into channel-neutral `Inbound` and `StatusUpdate`.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from collections.abc import Mapping
from typing import Any

from integrations.inbound import Attachment, Inbound, StatusUpdate

_HEX = frozenset(string.hexdigits)
_STATUSES = frozenset({"sent", "delivered", "read", "failed"})


def verify_handshake(mode: str | None, token: str | None, challenge: str | None,
                     expected_token: str) -> str | None:
    """Answers Meta's subscription check (`hub.mode`, `hub.verify_token`, `hub.challenge`).

    Returns:
        The challenge to echo back when the mode is "subscribe" and the token matches (compared in
        constant time); None otherwise, and always when no token is configured.
    """
    if mode != "subscribe" or not token or challenge is None or not expected_token:
        return None
    if not hmac.compare_digest(token.encode(), expected_token.encode()):
        return None
    return challenge


def check_signature(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    """Checks `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw body (app secret).

    The raw bytes must be used as received: Meta signs its own serialisation (non-ASCII escaped as
    \\uXXXX), which re-encoding the parsed JSON would not reproduce. Anything malformed is False.
    """
    if not app_secret or not header:
        return False
    scheme, separator, digest = header.strip().partition("=")
    if separator != "=" or scheme.lower() != "sha256" or len(digest) != 64 or \
            not _HEX.issuperset(digest):
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, digest.lower())


def is_notification(payload: object) -> bool:
    """Whether `payload` is a webhook notification at all: an object with a string `object` and
    an `entry` list (what it holds is `parse_webhook`'s to read)."""
    return isinstance(payload, Mapping) and isinstance(payload.get("object"), str) and \
        isinstance(payload.get("entry"), list)


def phone_number_id_of(payload: Mapping[str, Any]) -> str | None:
    """The business phone number id the webhook was sent for (`value.metadata.phone_number_id`)."""
    for value in _values(payload):
        metadata = value.get("metadata")
        if isinstance(metadata, Mapping) and isinstance(metadata.get("phone_number_id"), str):
            return str(metadata["phone_number_id"])
    return None


def parse_webhook(payload: Mapping[str, Any]) -> tuple[list[Inbound], list[StatusUpdate]]:
    """The resident messages and the receipts in one webhook body.

    Only `whatsapp_business_account` objects and `messages` changes are read; other change fields
    (account or template updates), unknown statuses and messages without an id or sender are
    skipped, and missing optional fields are tolerated.
    """
    messages: list[Inbound] = []
    statuses: list[StatusUpdate] = []
    for value in _values(payload):
        for raw in _mappings(value.get("messages")):
            message = _message(raw)
            if message is not None:
                messages.append(message)
        for raw in _mappings(value.get("statuses")):
            status = _status(raw)
            if status is not None:
                statuses.append(status)
    return messages, statuses


def _values(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if not isinstance(payload, Mapping) or payload.get("object") != "whatsapp_business_account":
        return []
    values = []
    for entry in _mappings(payload.get("entry")):
        for change in _mappings(entry.get("changes")):
            value = change.get("value")
            if change.get("field", "messages") == "messages" and isinstance(value, Mapping):
                values.append(value)
    return values


def _mappings(items: object) -> list[Mapping[str, Any]]:
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, Mapping)]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _optional(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _timestamp(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def _sender(raw: Mapping[str, Any]) -> str | None:
    # `from` is the wa_id (phone digits); residents who adopt a WhatsApp username may arrive with
    # only the business-scoped user id (`from_user_id`, "ID.123..."), which is addressable too.
    return _optional(raw.get("from")) or _optional(raw.get("from_user_id"))


def _message(raw: Mapping[str, Any]) -> Inbound | None:
    wamid = _optional(raw.get("id"))
    sender = _sender(raw)
    if wamid is None or sender is None:
        return None
    base: dict[str, Any] = {
        "channel": "whatsapp", "dedup_id": wamid, "chat_id": sender, "user_id": sender,
        "channel_message_id": wamid, "timestamp": _timestamp(raw.get("timestamp")),
    }
    kind = _text(raw.get("type"))
    content = raw.get(kind)
    body: Mapping[str, Any] = content if isinstance(content, Mapping) else {}
    if kind == "text" and body:
        return Inbound(kind="text", text=_text(body.get("body")), **base)
    if kind == "interactive":
        return _interactive(body, base)
    if kind == "button" and body:  # a template's quick-reply button
        return Inbound(kind="button", payload=_text(body.get("payload")),
                       text=_text(body.get("text")), **base)
    if kind == "image" and body.get("id"):
        return Inbound(kind="image", text=_text(body.get("caption")), attachment=Attachment(
            kind="image", media_id=str(body["id"]), mime_type=_optional(body.get("mime_type"))),
            **base)
    if kind == "document" and body.get("id"):
        return Inbound(kind="document", text=_text(body.get("caption")), attachment=Attachment(
            kind="document", media_id=str(body["id"]), mime_type=_optional(body.get("mime_type")),
            filename=_optional(body.get("filename"))), **base)
    if kind == "location":
        return _location(body, base)
    if kind == "contacts":
        return _contact(raw.get("contacts"), base)
    if kind == "audio" and body.get("voice") is True:
        return Inbound(kind="unsupported", unsupported="voice", **base)
    return Inbound(kind="unsupported", unsupported=kind or "unknown", **base)


def _interactive(body: Mapping[str, Any], base: dict[str, Any]) -> Inbound:
    reply_type = _text(body.get("type"))
    reply = body.get(reply_type)
    if reply_type in ("button_reply", "list_reply") and isinstance(reply, Mapping) and \
            reply.get("id"):
        return Inbound(kind="button", payload=str(reply["id"]), text=_text(reply.get("title")),
                       **base)
    # Flow replies (nfm_reply) and the payload-less "interactive" Meta sends with an error.
    return Inbound(kind="unsupported", unsupported="interactive", **base)


def _location(body: Mapping[str, Any], base: dict[str, Any]) -> Inbound:
    try:
        latitude = float(body["latitude"])
        longitude = float(body["longitude"])
    except (KeyError, TypeError, ValueError):
        return Inbound(kind="unsupported", unsupported="location", **base)
    return Inbound(kind="location", attachment=Attachment(
        kind="location", latitude=latitude, longitude=longitude), **base)


def _contact(cards: object, base: dict[str, Any]) -> Inbound:
    for card in _mappings(cards):
        for phone in _mappings(card.get("phones")):
            number = _optional(phone.get("phone")) or _optional(phone.get("wa_id"))
            if number:
                return Inbound(kind="contact",
                               attachment=Attachment(kind="contact", phone=number), **base)
    return Inbound(kind="unsupported", unsupported="contacts", **base)


def _status(raw: Mapping[str, Any]) -> StatusUpdate | None:
    wamid = _optional(raw.get("id"))
    status = _optional(raw.get("status"))  # a list or an object is no status (nor hashable)
    recipient = _optional(raw.get("recipient_id")) or _optional(raw.get("recipient_user_id"))
    if wamid is None or status not in _STATUSES or recipient is None:
        return None
    errors = [dict(error) for error in _mappings(raw.get("errors"))]
    callback = _optional(raw.get("biz_opaque_callback_data"))
    return StatusUpdate(channel="whatsapp", channel_message_id=wamid,
                        status=raw["status"], chat_id=recipient,
                        timestamp=_timestamp(raw.get("timestamp")), errors=errors,
                        callback_data=callback[:512] if callback else None)
