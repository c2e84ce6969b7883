"""Numbered text fallback for buttons: residents can always type the number instead of tapping."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from .kv import KeyValueStore
from .rasa_client import BotMessage

MENU_TTL_S = 24 * 3600
_CHOICE = re.compile(r"^\s*(?:ketik\s+|pilih\s+|no\.?\s*|nomor\s+)?(\d{1,2})\s*[.)]?\s*$", re.I)
_WORDS = {"satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7}


def numbered_texts(messages: Sequence[BotMessage]) -> list[str]:
    """Each message's text followed by its buttons as a numbered list, numbered across the reply.

    The numbering matches `MenuMemory.remember`, which flattens the buttons in the same order.
    """
    texts: list[str] = []
    number = 0
    for message in messages:
        text = message.text or ""
        if message.buttons:
            lines = []
            for button in message.buttons:
                number += 1
                lines.append(f"{number}. {button['title']}")
            text = "\n".join([text, "", *lines, "Ketik angka pilihan Anda."]).strip()
        texts.append(text)
    return texts


def parse_choice(text: str) -> int | None:
    """The option number a resident typed ("2", "ketik 2", "dua"), or None."""
    match = _CHOICE.match(text)
    if match:
        return int(match.group(1))
    return _WORDS.get(text.strip().lower())


class MenuMemory:
    """Remembers the last buttons shown to each sender, so that "2" means the second button."""

    def __init__(self, store: KeyValueStore) -> None:
        self._store = store

    @staticmethod
    def _key(sender: str) -> str:
        return f"pintu:menu:{sender}"

    async def remember(self, sender: str, messages: Sequence[BotMessage]) -> None:
        buttons = [b for m in messages for b in m.buttons]
        if buttons:
            await self._store.set(self._key(sender), json.dumps(buttons), MENU_TTL_S)
        else:
            await self._store.delete(self._key(sender))

    async def resolve(self, sender: str, text: str) -> str | None:
        """The payload for a typed option number, or None when the text is not a choice."""
        number = parse_choice(text)
        if number is None:
            return None
        raw = await self._store.get(self._key(sender))
        if raw is None:
            return None
        buttons = json.loads(raw)
        if 1 <= number <= len(buttons):
            return str(buttons[number - 1]["payload"])
        return None
