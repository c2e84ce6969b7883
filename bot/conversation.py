"""Routes one resident message to Rasa and back, the same for every channel."""

from __future__ import annotations

import logging
from typing import Any

from redis.asyncio import Redis

from .menus import MenuMemory, parse_choice
from .outreach import consent
from .rasa_client import BotMessage, RasaClient, RasaError, Turn

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
    ) -> Turn:
        """The bot's replies and what the NLU understood; a typed option number becomes that
        option's payload (and is then no guess of the model's).

        Raises `RasaError` when Rasa cannot answer (the channel worker retries later). The caller
        makes sure one sender's messages come one at a time (the channel queues do).
        """
        chosen = await self._menus.resolve(sender, text)
        turn = await self._rasa.converse(sender, chosen or text, metadata)
        await self._menus.remember(sender, turn.replies)
        return Turn(turn.replies, None) if chosen else turn

    async def consent_command(self, sender: str, text: str) -> consent.Command | None:
        """What the message (typed words, a pressed button's payload, or the number of a
        button shown last) asks of consent, answered by the gateway itself; None otherwise."""
        chosen = await self._menus.resolve(sender, text) if parse_choice(text) else None
        return consent.command(text, chosen)

    def turn(self, sender: str) -> Any:
        """One message of a sender at a time (a Redis lock shared by every gateway process):
        `async with conversation.turn(sender): ...`."""
        return self._redis.lock(f"pintu:lock:chat:{sender}", timeout=120, blocking_timeout=120)

    async def handle(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> Turn:
        """The local chat API's answer: an apology instead of an error when Rasa is down. The
        caller holds `turn(sender)`."""
        if not text.strip():
            return Turn([BotMessage(text=EMPTY)], None)
        try:
            return await self.respond(sender, text, metadata)
        except RasaError as exc:
            log.error("rasa failed for a message: %s", exc)
            return Turn([BotMessage(text=APOLOGY)], None)
