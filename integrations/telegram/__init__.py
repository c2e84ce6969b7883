"""Telegram channel adapter: parse updates, render replies, talk to the Bot API, check webhooks."""

from integrations.telegram.client import TelegramClient
from integrations.telegram.inbound import parse_update
from integrations.telegram.render import callback_data, callback_keys, render
from integrations.telegram.webhook import SECRET_HEADER, check_secret

__all__ = [
    "SECRET_HEADER",
    "TelegramClient",
    "callback_data",
    "callback_keys",
    "check_secret",
    "parse_update",
    "render",
]
