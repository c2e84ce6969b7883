"""Telegram updates (webhook bodies or getUpdates results) turned into channel-neutral `Inbound`s.

Pure parsing: `telegram.Update.de_json` does the reading, this module decides what the gateway sees.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from telegram import Bot, CallbackQuery, Message, Update

from integrations.inbound import Attachment, Inbound

# Telegram's own rule for deep-link parameters (t.me/<bot>?start=<param>).
_START_PARAM = re.compile(r"[A-Za-z0-9_-]{1,64}")
_START_COMMAND = re.compile(r"/start(?:@\w+)?(?:\s+(?P<param>.*))?", re.DOTALL)

log = logging.getLogger(__name__)

_MESSAGE_KEYS = ("message", "edited_message", "channel_post", "edited_channel_post")
# Content a resident can send that Pintu does not read. It is recognised on the raw update and
# removed before de_json: PTB 22.8 refuses objects that miss fields of newer Bot API versions (a
# poll without `members_only`), and a voice note must not make the whole update unreadable.
# An animation (GIF) also carries a `document`, so the kind is decided here, first.
_UNSUPPORTED = ("voice", "audio", "video", "video_note", "sticker", "animation", "poll", "dice",
                "game", "story", "paid_media", "invoice", "checklist")
_GROUP_CHATS = ("group", "supergroup", "channel")
# A service message PTB 22 cannot read without a PTBDeprecationWarning (its constructor reads its
# own deprecated int attribute); it is nothing for Pintu, so it is skipped before de_json.
_IGNORED_SERVICE = "message_auto_delete_timer_changed"

# The fields Pintu reads and the types the Bot API gives them: {field: (type or shape, required)}.
# PTB's de_json does not check types, so an update that breaks these is skipped before it is read
# (a chat id that is not a number, a text that is not a string).
_Shape = dict[str, tuple[Any, bool]]
_USER: _Shape = {"id": (int, True), "language_code": (str, False)}
_CHAT: _Shape = {"id": (int, True), "type": (str, True)}
_PHOTO_SIZE: _Shape = {"file_id": (str, True), "width": (int, True), "height": (int, True),
                       "file_size": (int, False)}
_MESSAGE: _Shape = {
    "message_id": (int, True), "date": (int, True), "chat": (_CHAT, True), "from": (_USER, False),
    "edit_date": (int, False), "text": (str, False), "caption": (str, False),
    "photo": ([_PHOTO_SIZE], False),
    "document": ({"file_id": (str, True), "mime_type": (str, False), "file_name": (str, False),
                  "file_size": (int, False)}, False),
    "location": ({"latitude": (float, True), "longitude": (float, True)}, False),
    "contact": ({"phone_number": (str, True)}, False),
}
_CALLBACK_QUERY: _Shape = {"id": (str, True), "from": (_USER, True), "message": (_MESSAGE, False),
                           "data": (str, False)}


def parse_update(data: dict[str, Any], bot: Bot | None = None) -> Inbound | None:
    """Turns one Telegram update into an `Inbound`.

    Args:
        data: The update as Telegram sent it (a webhook body or one getUpdates result).
        bot: Passed to `Update.de_json`; not needed for parsing.

    Returns:
        The message for the gateway, or None for updates that carry nothing for Pintu
        (chat member changes, reactions, service messages, live-location refreshes ...) and
        for data that cannot be read as an update (logged as a warning, without its content:
        refusing it would only make Telegram deliver it again and hold up the updates behind it).
    """
    if not is_update(data):
        log.warning("telegram: skipped data that is not an update")
        return None
    if not all(_fits(data[k], _MESSAGE) for k in _MESSAGE_KEYS if k in data) or \
            ("callback_query" in data and not _fits(data["callback_query"], _CALLBACK_QUERY)):
        log.warning("telegram: skipped update %s with fields of the wrong type", data["update_id"])
        return None
    unsupported: str | None = None
    key = next((k for k in _MESSAGE_KEYS if isinstance(data.get(k), dict)), None)
    if key is not None:
        raw = data[key]
        if _IGNORED_SERVICE in raw:
            return None
        unsupported = next((kind for kind in _UNSUPPORTED if kind in raw), None)
        if unsupported is not None:
            data = {**data, key: {k: v for k, v in raw.items() if k not in _UNSUPPORTED}}
    try:
        update = Update.de_json(data, bot)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        log.warning("telegram: skipped unreadable update %s (%s)", data["update_id"],
                    type(exc).__name__)
        return None
    dedup_id = f"tg:{update.update_id}"
    if update.callback_query is not None:
        return _button(update.callback_query, dedup_id)
    message = update.message or update.edited_message or update.channel_post or \
        update.edited_channel_post
    if message is None:
        return None
    edited = update.edited_message is not None or update.edited_channel_post is not None
    return _message(message, dedup_id, edited=edited, unsupported=unsupported)


def is_update(data: object) -> bool:
    """Whether `data` is a Telegram update at all: an object with an integer `update_id`."""
    return isinstance(data, dict) and _is(data.get("update_id"), int)


def _is(value: object, kind: type) -> bool:
    if isinstance(value, bool):  # JSON true is no number
        return False
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def _fits(value: object, shape: Any) -> bool:
    """Whether `value` has `shape`: a type, a one-shape list, or a `_Shape` (other keys free)."""
    if isinstance(shape, list):
        return isinstance(value, list) and all(_fits(item, shape[0]) for item in value)
    if isinstance(shape, dict):
        return isinstance(value, dict) and all(
            _fits(value[name], inner) if name in value else not required
            for name, (inner, required) in shape.items())
    return _is(value, shape)


def _button(query: CallbackQuery, dedup_id: str) -> Inbound | None:
    message = query.message
    if message is None:  # a button under an inline-mode message: there is no chat to answer in
        return None
    chat_id = str(message.chat.id)
    common: dict[str, Any] = {
        "channel": "telegram",
        "dedup_id": dedup_id,
        "chat_id": chat_id,
        "user_id": str(query.from_user.id),
        "callback_query_id": query.id,
        "channel_message_id": f"{chat_id}:{message.message_id}",
        "language": query.from_user.language_code,
        # Telegram gives no time for a button press (the message date is when Pintu sent it).
        "timestamp": 0.0,
    }
    if message.chat.type in _GROUP_CHATS:
        return Inbound(kind="unsupported", unsupported="group", **common)
    if query.data is None:  # a game button
        return Inbound(kind="unsupported", unsupported="game", **common)
    return Inbound(kind="button", payload=query.data, **common)


def _message(message: Message, dedup_id: str, *, edited: bool,
             unsupported: str | None) -> Inbound | None:
    chat_id = str(message.chat.id)
    sender = message.from_user
    sent_at = message.edit_date if edited and message.edit_date else message.date
    common: dict[str, Any] = {
        "channel": "telegram",
        "dedup_id": dedup_id,
        "chat_id": chat_id,
        "user_id": str(sender.id) if sender is not None else chat_id,
        "edited": edited,
        "channel_message_id": f"{chat_id}:{message.message_id}",
        "timestamp": sent_at.timestamp() if sent_at is not None else 0.0,
        "language": sender.language_code if sender is not None else None,
    }
    if message.chat.type in _GROUP_CHATS:
        # Pintu serves residents one to one; other people's group talk is not kept.
        return Inbound(kind="unsupported", unsupported="group", **common)
    caption = message.caption or ""
    if message.text is not None:
        return _text(message.text, common)
    if unsupported is not None:
        return Inbound(kind="unsupported", unsupported=unsupported, text=caption, **common)
    if message.photo:
        largest = max(message.photo, key=lambda size: (size.width * size.height,
                                                       size.file_size or 0))
        return Inbound(kind="image", text=caption, **common, attachment=Attachment(
            kind="image", media_id=largest.file_id, mime_type="image/jpeg",
            size=largest.file_size))
    if message.document is not None:
        document = message.document
        return Inbound(kind="document", text=caption, **common, attachment=Attachment(
            kind="document", media_id=document.file_id, mime_type=document.mime_type,
            filename=document.file_name, size=document.file_size))
    if message.location is not None:  # also set for a venue
        if edited:  # a live location refreshing itself every few seconds, not a new message
            return None
        return Inbound(kind="location", **common, attachment=Attachment(
            kind="location", latitude=message.location.latitude,
            longitude=message.location.longitude))
    if message.contact is not None:
        return Inbound(kind="contact", **common, attachment=Attachment(
            kind="contact", phone=message.contact.phone_number))
    return None  # service messages: pinned, auto-delete timer, chat created ...


def _text(text: str, common: dict[str, Any]) -> Inbound:
    command = _START_COMMAND.fullmatch(text.strip())
    if command is None:
        return Inbound(kind="text", text=text, **common)
    param = (command.group("param") or "").strip()
    return Inbound(kind="start", text=text,
                   start_param=param if _START_PARAM.fullmatch(param) else None, **common)
