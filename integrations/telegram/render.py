"""A channel-neutral `Reply` as Telegram Bot API calls (method + JSON parameters).

Pure functions, no network: `TelegramClient.send` performs what `render` returns. Text is sent
without `parse_mode`, so nothing a resident typed can be read as markup.
"""

from __future__ import annotations

import hashlib
from typing import Any

from integrations.replies import Rendered, Reply, split_text

TEXT_LIMIT = 4096  # characters in a message
CAPTION_LIMIT = 1024  # characters in a photo or document caption
CALLBACK_DATA_LIMIT = 64  # bytes (UTF-8) of an inline button's callback_data
CALLBACK_KEY_PREFIX = "k:"

LOCATION_BUTTON = "📍 Kirim lokasi saya"
LOCATION_PROMPT = "Atau tekan tombol di bawah untuk mengirim lokasi."
LOCATION_ONLY_PROMPT = "Silakan kirim lokasi Anda."
OPTIONS_PROMPT = "Silakan pilih:"


def callback_data(payload: str) -> str:
    """The callback_data for a button: the payload itself when Telegram accepts it, else a key.

    Payloads longer than 64 UTF-8 bytes (and empty ones, or ones that look like keys) become
    "k:" + 32 hex characters of their SHA-256; the gateway stores the key with `callback_keys`.
    """
    size = len(payload.encode("utf-8"))
    if 1 <= size <= CALLBACK_DATA_LIMIT and not payload.startswith(CALLBACK_KEY_PREFIX):
        return payload
    return CALLBACK_KEY_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def callback_keys(reply: Reply) -> dict[str, str]:
    """The key -> payload map the gateway must keep for this reply's buttons (may be empty)."""
    keys: dict[str, str] = {}
    for option in reply.options:
        data = callback_data(option.payload)
        if data != option.payload:
            keys[data] = option.payload
    return keys


def inline_keyboard(reply: Reply) -> dict[str, Any]:
    """One button per row, "n. Title", numbered across the bot turn."""
    return {"inline_keyboard": [
        [{"text": f"{number}. {option.title}", "callback_data": callback_data(option.payload)}]
        for number, option in reply.numbered()
    ]}


def location_keyboard() -> dict[str, Any]:
    """A reply keyboard with the one button that shares the resident's location."""
    return {
        "keyboard": [[{"text": LOCATION_BUTTON, "request_location": True}]],
        "one_time_keyboard": True,
        "resize_keyboard": True,
    }


def render(reply: Reply, chat_id: str) -> list[Rendered]:
    """The Bot API calls that show `reply` in chat `chat_id`, in sending order.

    Args:
        reply: What to show.
        chat_id: The Telegram chat (a numeric id, as text).

    Returns:
        sendMessage / sendPhoto / sendDocument calls. A media file that Pintu stored carries
        "_local_ref" (and "_filename") instead of the photo/document parameter: the client
        uploads it.
    """
    target: int | str = int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id
    keyboard = inline_keyboard(reply) if reply.options else None
    text = reply.text.strip()
    if not text and keyboard is not None:
        text = OPTIONS_PROMPT
    calls: list[Rendered] = []
    media_call = _media(reply, target)
    if media_call is not None:
        calls.append(media_call)
        if text and len(text) <= CAPTION_LIMIT:
            media_call.body["caption"] = text
            text = ""
    if text:
        calls.extend(Rendered("sendMessage", {"chat_id": target, "text": chunk})
                     for chunk in split_text(text, TEXT_LIMIT))
    if keyboard is not None:
        calls[-1].body["reply_markup"] = keyboard
    if reply.request_location:
        if calls and "reply_markup" not in calls[-1].body:
            calls[-1].body["reply_markup"] = location_keyboard()
        else:
            prompt = LOCATION_PROMPT if calls else LOCATION_ONLY_PROMPT
            calls.append(Rendered("sendMessage", {"chat_id": target, "text": prompt,
                                                  "reply_markup": location_keyboard()}))
    return calls


def _media(reply: Reply, target: int | str) -> Rendered | None:
    media = reply.media
    if media is None or not (media.url or media.ref):
        return None
    method, field = (("sendPhoto", "photo") if media.kind == "image"
                     else ("sendDocument", "document"))
    body: dict[str, Any] = {"chat_id": target}
    if media.url:
        body[field] = media.url
    else:
        body["_local_ref"] = media.ref
        if media.filename:
            body["_filename"] = media.filename
    return Rendered(method, body)
