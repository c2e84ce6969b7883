"""Routes one resident message to Rasa and back, the same for every channel."""

from __future__ import annotations

import logging
from typing import Any

from redis.asyncio import Redis

from .menus import MenuMemory
from .rasa_client import BotMessage, RasaClient, RasaError

log = logging.getLogger(__name__)

APOLOGY = (
    "Mohon maaf, layanan Pintu sedang mengalami gangguan. Silakan coba lagi beberapa saat lagi. "
    "Untuk keadaan darurat hubungi 112 (gratis)."
)

EMPTY = "Maaf, pesan Anda kosong. Ketik menu untuk melihat layanan Pintu."


class ConversationService:
    """Turns a resident's text into the bot's replies."""

    def __init__(self, rasa: RasaClient, menus: MenuMemory, redis: Redis) -> None:
        self._rasa = rasa
        self._menus = menus
        self._redis = redis

    async def respond(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]:
        """The bot's replies; a typed option number becomes that option's payload.

        Raises `RasaError` when Rasa cannot answer (the channel worker retries later). The caller
        makes sure one sender's messages come one at a time (the channel queues do).
        """
        chosen = await self._menus.resolve(sender, text)
        replies = await self._rasa.send(sender, chosen or text, metadata)
        await self._menus.remember(sender, replies)
        return replies

    def turn(self, sender: str) -> Any:
        """One message of a sender at a time (a Redis lock shared by every gateway process):
        `async with conversation.turn(sender): ...`."""
        return self._redis.lock(f"pintu:lock:chat:{sender}", timeout=120, blocking_timeout=120)

    async def handle(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]:
        """The local chat API's answer: an apology instead of an error when Rasa is down. The
        caller holds `turn(sender)`."""
        if not text.strip():
            return [BotMessage(text=EMPTY)]
        try:
            return await self.respond(sender, text, metadata)
        except RasaError as exc:
            log.error("rasa failed for a message: %s", exc)
            return [BotMessage(text=APOLOGY)]
