"""Routes one resident message to Rasa and back, the same for every channel."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from .menus import MenuMemory
from .rasa_client import BotMessage, RasaClient, RasaError

log = logging.getLogger(__name__)

APOLOGY = (
    "Mohon maaf, layanan Pintu sedang mengalami gangguan. Silakan coba lagi beberapa saat lagi. "
    "Untuk keadaan darurat hubungi 112 (gratis)."
)

EMPTY = "Maaf, pesan Anda kosong. Ketik menu untuk melihat layanan Pintu."


class ConversationService:
    """Turns a resident's text into the bot's replies; one message of a sender at a time."""

    def __init__(self, rasa: RasaClient, menus: MenuMemory) -> None:
        self._rasa = rasa
        self._menus = menus
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def handle(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]:
        if not text.strip():
            return [BotMessage(text=EMPTY)]
        async with self._locks[sender]:
            chosen = await self._menus.resolve(sender, text)
            try:
                replies = await self._rasa.send(sender, chosen or text, metadata)
            except RasaError as exc:
                log.error("rasa failed for a message: %s", exc)
                return [BotMessage(text=APOLOGY)]
            await self._menus.remember(sender, replies)
            return replies
