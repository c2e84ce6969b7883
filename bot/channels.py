"""Wires the configured channels (Telegram, WhatsApp) into the inbox and the outbox."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from integrations.inbound import Inbound
from integrations.replies import Rendered, Reply
from integrations.telegram.client import TelegramClient
from integrations.telegram.inbound import parse_update
from integrations.telegram.render import callback_keys
from integrations.telegram.render import render as render_telegram
from integrations.whatsapp.client import WhatsAppClient
from integrations.whatsapp.render import render as render_whatsapp
from integrations.whatsapp.render import reply_keys

from .aio import raise_if_cancelled
from .inbox import Inbox
from .media import MediaStore
from .outbound import Outbox
from .settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Channels:
    telegram: TelegramClient | None = None
    whatsapp: WhatsAppClient | None = None

    async def start(self) -> None:
        if self.telegram is not None:
            await self.telegram.initialize()

    async def aclose(self) -> None:
        if self.telegram is not None:
            await self.telegram.shutdown()
        if self.whatsapp is not None:
            await self.whatsapp.aclose()


def _render_telegram(reply: Reply, chat_id: str) -> tuple[list[Rendered], dict[str, str]]:
    return render_telegram(reply, chat_id), callback_keys(reply)


def _render_whatsapp(reply: Reply, chat_id: str) -> tuple[list[Rendered], dict[str, str]]:
    return render_whatsapp(reply, chat_id), reply_keys(reply)


class TelegramMedia:
    def __init__(self, client: TelegramClient, max_bytes: int) -> None:
        self._client = client
        self._max_bytes = max_bytes

    async def fetch(self, inbound: Inbound) -> tuple[bytes, str]:
        attachment = inbound.attachment
        assert attachment is not None and attachment.media_id
        content = await self._client.download(attachment.media_id, self._max_bytes)
        # Telegram sends photos as JPEG and names no type for them.
        mime = attachment.mime_type or ("image/jpeg" if attachment.kind == "image" else "")
        return content, mime


class WhatsAppMedia:
    def __init__(self, client: WhatsAppClient, max_bytes: int) -> None:
        self._client = client
        self._max_bytes = max_bytes

    async def fetch(self, inbound: Inbound) -> tuple[bytes, str]:
        attachment = inbound.attachment
        assert attachment is not None and attachment.media_id
        content, mime = await self._client.download(attachment.media_id, self._max_bytes)
        return content, attachment.mime_type or mime


def build_channels(settings: Settings, inbox: Inbox, outbox: Outbox, media: MediaStore,
                   http: httpx.AsyncClient | None = None) -> Channels:
    """Clients for every channel whose credentials are set, registered with inbox and outbox."""
    channels = Channels()
    if settings.telegram_enabled:
        assert settings.telegram_bot_token
        telegram = TelegramClient(settings.telegram_bot_token,
                                  base_url=settings.telegram_api_base_url,
                                  open_media=lambda ref: media.open(ref)[0])
        channels.telegram = telegram

        async def acknowledge(inbound: Inbound) -> None:
            assert inbound.callback_query_id
            await telegram.answer_callback(inbound.callback_query_id)

        inbox.register("telegram", _render_telegram,
                       TelegramMedia(telegram, settings.media_max_bytes), acknowledge)
        outbox.register("telegram", telegram)
    if settings.whatsapp_enabled:
        assert settings.whatsapp_access_token and settings.whatsapp_phone_number_id
        whatsapp = WhatsAppClient(settings.whatsapp_access_token,
                                  settings.whatsapp_phone_number_id,
                                  base_url=settings.whatsapp_api_base_url,
                                  api_version=settings.whatsapp_api_version,
                                  open_media=media.open,
                                  connections=settings.sender_concurrency)
        channels.whatsapp = whatsapp
        inbox.register("whatsapp", _render_whatsapp,
                       WhatsAppMedia(whatsapp, settings.media_max_bytes))
        outbox.register("whatsapp", whatsapp, account=settings.whatsapp_phone_number_id)
    return channels


async def poll_telegram(client: TelegramClient, inbox: Inbox, timeout_s: int = 30) -> None:
    """TELEGRAM_MODE=polling: long polling instead of a webhook, into the same queue."""
    await client.delete_webhook()
    offset: int | None = None
    log.info("telegram: long polling started")
    while True:
        raise_if_cancelled()
        try:
            updates: list[dict[str, Any]] = await client.get_updates(offset, timeout_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("telegram polling failed (%s); retrying in 5 s", type(exc).__name__)
            await asyncio.sleep(5)
            continue
        for update in updates:
            inbound = parse_update(update)
            if inbound is not None:
                await inbox.accept(inbound)
            offset = int(update["update_id"]) + 1
