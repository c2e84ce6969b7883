"""Renders a channel-neutral `Reply` as WhatsApp Cloud API message bodies.

Each `Rendered` is one `POST /{version}/{phone_number_id}/messages` body; `method` is its `type`.
Choices become reply buttons (up to 3 short titles), a list message (up to 10 rows) or, beyond
that, the numbered text menu. Interactive messages carry the numbers in their footer so that typing
"2" keeps working (see `bot.menus`). Limits are the Cloud API's own: text 4096 characters;
interactive body and media caption 1024; footer 60; button title 20; list row title 24, row
description 72, list button 20; reply button id 256 and list row id 200.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from integrations.replies import Media, Rendered, Reply, Template, numbered_menu, split_text

TEXT_LIMIT = 4096
BODY_LIMIT = 1024
CAPTION_LIMIT = 1024
FOOTER_LIMIT = 60
MAX_BUTTONS = 3
BUTTON_TITLE_LIMIT = 20
MAX_ROWS = 10
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
LIST_BUTTON_LIMIT = 20
SECTION_TITLE_LIMIT = 24
# Reply buttons take ids up to 256 characters, list rows only 200: one limit for both keeps the
# id of an option the same whichever form it is shown in.
REPLY_ID_LIMIT = 200

CHOOSE_PROMPT = "Silakan pilih:"
LOCATION_PROMPT = "Silakan bagikan lokasi Anda."
SECTION_TITLE = "Pilihan"
LIST_BUTTON = "Pilih"
LOCAL_REF = "_local_ref"  # the client uploads this stored file and sends its media id instead


def reply_id(payload: str) -> str:
    """The id a button or list row carries for an option payload: the payload itself, or for a
    payload too long for WhatsApp "k:" + the first 32 hex digits of its SHA-256."""
    if len(payload) <= REPLY_ID_LIMIT:
        return payload
    return "k:" + hashlib.sha256(payload.encode()).hexdigest()[:32]


def reply_keys(reply: Reply) -> dict[str, str]:
    """The stand-in ids of this reply's long payloads ({id: payload}), for the gateway to store so
    that a tapped `k:...` id can be turned back into its payload."""
    keys = {}
    for option in reply.options:
        key = reply_id(option.payload)
        if key != option.payload:
            keys[key] = option.payload
    return keys


def render(reply: Reply, to: str) -> list[Rendered]:
    """The message bodies that show `reply` to the WhatsApp user `to` (a wa_id), in sending order.

    A template reply becomes one template message. Otherwise media comes first (with the text as
    its caption when nothing else needs the text), then the choices or the text, then a location
    request. An empty reply renders to nothing.
    """
    if reply.template is not None:
        return [_template(reply.template, to)]
    rendered: list[Rendered] = []
    text = reply.text.strip()
    if reply.media is not None:
        keeps_text = bool(reply.options) or reply.request_location or len(text) > CAPTION_LIMIT
        media = _media(reply.media, to, caption="" if keeps_text else text)
        if media is not None:
            rendered.append(media)
            if not keeps_text:
                text = ""
    if reply.options:
        rendered.extend(_choices(reply, text, to))
        text = ""
    if reply.request_location:
        body, prelude = _body(text, LOCATION_PROMPT, to)
        rendered.extend(prelude)
        rendered.append(_interactive(to, "location_request_message", body,
                                     {"name": "send_location"}))
    elif text:
        rendered.extend(_text(chunk, to) for chunk in split_text(text, TEXT_LIMIT))
    return rendered


def _envelope(to: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": kind, kind: content}


def _text(body: str, to: str) -> Rendered:
    return Rendered("text", _envelope(to, "text", {"preview_url": False, "body": body}))


def _template(template: Template, to: str) -> Rendered:
    content: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if template.parameters:
        content["components"] = [{
            "type": "body",
            "parameters": [{"type": "text", "text": value} for value in template.parameters],
        }]
    return Rendered("template", _envelope(to, "template", content))


def _media(media: Media, to: str, caption: str) -> Rendered | None:
    content: dict[str, Any] = {}
    if media.url:
        content["link"] = media.url
    elif not media.ref:
        return None
    if caption:
        content["caption"] = caption
    if media.kind == "document" and media.filename:
        content["filename"] = media.filename
    body = _envelope(to, media.kind, content)
    if not media.url:
        body[LOCAL_REF] = media.ref
    return Rendered(media.kind, body)


def _body(text: str, prompt: str, to: str) -> tuple[str, list[Rendered]]:
    """The interactive body for `text`; text too long for it goes first as plain messages."""
    if not text:
        return prompt, []
    if len(text) <= BODY_LIMIT:
        return text, []
    return prompt, [_text(chunk, to) for chunk in split_text(text, TEXT_LIMIT)]


def _interactive(to: str, kind: str, body: str, action: dict[str, Any],
                 footer: str | None = None) -> Rendered:
    content: dict[str, Any] = {"type": kind, "body": {"text": body}}
    if footer:
        content["footer"] = {"text": footer}
    content["action"] = action
    return Rendered("interactive", _envelope(to, "interactive", content))


def _choices(reply: Reply, text: str, to: str) -> list[Rendered]:
    options = reply.options
    ids = [reply_id(option.payload) for option in options]
    titles = [option.title.strip() for option in options]
    usable = all(ids) and len(set(ids)) == len(ids) and all(titles)
    if usable and reply.style != "list" and len(options) <= MAX_BUTTONS and \
            all(len(title) <= BUTTON_TITLE_LIMIT for title in titles) and \
            len(set(titles)) == len(titles):
        body, prelude = _body(text, CHOOSE_PROMPT, to)
        buttons = [{"type": "reply", "reply": {"id": key, "title": title}}
                   for key, title in zip(ids, titles, strict=True)]
        return [*prelude, _interactive(to, "button", body, {"buttons": buttons}, _footer(reply))]
    if usable and len(options) <= MAX_ROWS:
        body, prelude = _body(text, CHOOSE_PROMPT, to)
        rows = []
        for key, title, option in zip(ids, titles, options, strict=True):
            row = {"id": key, "title": cut(title, ROW_TITLE_LIMIT)}
            description = title if row["title"] != title else (option.description or "").strip()
            if description:
                row["description"] = cut(description, ROW_DESCRIPTION_LIMIT)
            rows.append(row)
        action = {"button": cut(reply.list_button.strip(), LIST_BUTTON_LIMIT) or LIST_BUTTON,
                  "sections": [{"title": SECTION_TITLE, "rows": rows}]}
        return [*prelude, _interactive(to, "list", body, action, _footer(reply))]
    menu = numbered_menu(replace(reply, text=text))
    return [_text(chunk, to) for chunk in split_text(menu, TEXT_LIMIT)]


def _footer(reply: Reply) -> str:
    numbers = [number for number, _ in reply.numbered()]
    if len(numbers) == 1:
        return f"Atau ketik angka {numbers[0]}"
    return cut(f"Atau ketik angka {numbers[0]}-{numbers[-1]}", FOOTER_LIMIT)


def cut(text: str, limit: int) -> str:
    """`text` shortened to at most `limit` characters at a word boundary (a single over-long word
    is cut hard), without trailing punctuation left dangling."""
    if len(text) <= limit:
        return text
    window = text[: limit + 1]
    space = window.rfind(" ")
    shortened = text[:space] if space > 0 else text[:limit]
    return shortened.rstrip(" ,;:-–(/") or text[:limit]
