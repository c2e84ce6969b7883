"""WhatsApp Cloud API adapter: webhook checks and parsing, reply rendering, the Graph API client."""

from .client import WhatsAppClient
from .render import cut, render, reply_id, reply_keys
from .webhook import check_signature, parse_webhook, phone_number_id_of, verify_handshake

__all__ = [
    "WhatsAppClient",
    "check_signature",
    "cut",
    "parse_webhook",
    "phone_number_id_of",
    "render",
    "reply_id",
    "reply_keys",
    "verify_handshake",
]
