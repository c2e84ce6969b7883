"""A campaign's message as exactly one API call per channel (one call: one send to record, one
state per recipient, nothing half-sent when a worker dies).

The compose form keeps the message within what one call can carry on both channels: text up to
1,024 characters (a WhatsApp interactive body and a Telegram caption), at most three buttons
with titles up to 20 characters. WhatsApp residents outside the 24-hour window get the chosen
approved template, or nothing (the recipient is skipped and counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integrations.replies import Media, Option, Rendered, Reply, Template
from integrations.telegram.render import render as render_telegram
from integrations.whatsapp.render import render as render_whatsapp

TEXT_LIMIT = 1024
TITLE_LIMIT = 120
MAX_BUTTONS = 3
BUTTON_TITLE_LIMIT = 20
PAYLOAD_LIMIT = 64  # bytes: Telegram's callback_data, so no key needs storing


class ComposeError(ValueError):
    """A message that cannot be sent as written; the text is Indonesian, for the admin."""


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Broadcast:
    text: str
    buttons: tuple[Button, ...] = ()
    image_ref: str | None = None
    template: Template | None = None

    def reply(self, *, image: Media | None = None) -> Reply:
        options = tuple(Option(b.title, b.payload) for b in self.buttons)
        return Reply(text=self.text, options=options, media=image)


def parse_buttons(titles: list[str], payloads: list[str]) -> tuple[Button, ...]:
    """Buttons from the form's rows; empty rows are dropped, a missing payload is the title."""
    buttons = []
    for i, raw in enumerate(titles):
        title = raw.strip()
        payload = (payloads[i] if i < len(payloads) else "").strip() or title
        if title:
            buttons.append(Button(title, payload))
    return tuple(buttons)


def validate(title: str, text: str, buttons: tuple[Button, ...]) -> None:
    """Raises ComposeError when the campaign cannot go out as one call per channel."""
    if not title.strip() or len(title) > TITLE_LIMIT:
        raise ComposeError(f"Judul wajib diisi, paling banyak {TITLE_LIMIT} karakter.")
    if not text.strip():
        raise ComposeError("Isi pesan wajib diisi.")
    if len(text) > TEXT_LIMIT:
        raise ComposeError(f"Isi pesan paling banyak {TEXT_LIMIT} karakter (batas WhatsApp).")
    if len(buttons) > MAX_BUTTONS:
        raise ComposeError(f"Paling banyak {MAX_BUTTONS} tombol.")
    titles = [b.title for b in buttons]
    if len(set(titles)) != len(titles):
        raise ComposeError("Judul tombol harus berbeda satu sama lain.")
    for button in buttons:
        if len(button.title) > BUTTON_TITLE_LIMIT:
            raise ComposeError(f"Judul tombol paling banyak {BUTTON_TITLE_LIMIT} karakter.")
        if len(button.payload.encode()) > PAYLOAD_LIMIT or button.payload.startswith("k:"):
            raise ComposeError(f"Isi tombol paling banyak {PAYLOAD_LIMIT} byte.")


def telegram(message: Broadcast, chat_id: str) -> Rendered:
    """sendMessage, or sendPhoto with the text as caption; buttons as an inline keyboard."""
    image = Media("image", ref=message.image_ref) if message.image_ref else None
    calls = render_telegram(message.reply(image=image), chat_id)
    assert len(calls) == 1, "validate() keeps a broadcast to one Telegram call"
    return calls[0]


def whatsapp(message: Broadcast, to: str, *, window_open: bool, image_id: str | None = None,
             callback_data: str | None = None) -> Rendered | None:
    """The one message for `to`: free-form inside the window, else the template (None when the
    campaign has none: the resident is skipped). `image_id` is the image uploaded once for the
    whole campaign; `callback_data` (the recipient's ref) comes back in the message's status
    webhooks as `biz_opaque_callback_data`."""
    rendered = _whatsapp(message, to, window_open=window_open, image_id=image_id)
    if rendered is not None and callback_data:
        rendered.body["biz_opaque_callback_data"] = callback_data
    return rendered


def _whatsapp(message: Broadcast, to: str, *, window_open: bool,
              image_id: str | None) -> Rendered | None:
    if not window_open:
        if message.template is None:
            return None
        return render_whatsapp(Reply(template=message.template), to)[0]
    if message.image_ref and image_id:
        if not message.buttons:
            return Rendered("image", _envelope(to, "image", {"id": image_id,
                                                             "caption": message.text}))
        content = render_whatsapp(message.reply(), to)[0].body["interactive"]
        content = {"type": "button", "header": {"type": "image", "image": {"id": image_id}},
                   **{k: v for k, v in content.items() if k != "type"}}
        return Rendered("interactive", _envelope(to, "interactive", content))
    calls = render_whatsapp(message.reply(), to)
    assert len(calls) == 1, "validate() keeps a broadcast to one WhatsApp call"
    return calls[0]


def _envelope(to: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": kind, kind: content}
