"""The local chat channel ("api"): `POST /api/chat` for the bot's answers, and a mailbox for what
arrives later (an officer's replies during a handoff, the rating question after it).

`POST /api/chat` answers with the bot's replies to that message, as the interface promises. What
is sent to a local resident at any other time goes through the same outbound queue as Telegram
and WhatsApp (`bot.outbound`), and this channel's "client" puts it in a Redis list per resident
that `GET /api/chat/messages` reads (long polling) and `make chat` shows.
"""

from __future__ import annotations

import json
import time
from typing import Any

from redis.asyncio import Redis

from integrations.replies import Rendered, Reply, numbered_menu

MAILBOX_TTL_S = 24 * 3600
MAILBOX_MAX = 200
BLOCK_SLICE_S = 4.0  # below redis-py's default socket timeout
CHANNEL = "api"


def mailbox_key(chat_id: str) -> str:
    return f"pintu:apichat:{chat_id}"


def render(reply: Reply, chat_id: str) -> tuple[list[Rendered], dict[str, str]]:
    """One message in the shape `POST /api/chat` answers with (text with its numbered options,
    buttons, and a media reference)."""
    body: dict[str, Any] = {
        "chat_id": chat_id,
        "text": numbered_menu(reply) if reply.options else reply.text,
        "buttons": [{"title": o.title, "payload": o.payload} for o in reply.options],
    }
    if reply.media is not None:
        body["media"] = {"kind": reply.media.kind, "ref": reply.media.ref,
                         "url": reply.media.url, "filename": reply.media.filename}
    return [Rendered("message", body)], {}


class LocalChatClient:
    """The outbox's client for the local channel: a message is "sent" once it is in the
    resident's mailbox."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def send(self, rendered: Rendered) -> str | None:
        body = dict(rendered.body)
        key = mailbox_key(str(body.pop("chat_id")))
        body["at"] = time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(body, separators=(",", ":")))
            pipe.ltrim(key, -MAILBOX_MAX, -1)
            pipe.expire(key, MAILBOX_TTL_S)
            await pipe.execute()
        return None


class NoMedia:
    """The local channel sends attachments as references; there is nothing to download."""

    async def fetch(self, inbound: Any) -> tuple[bytes, str]:
        raise NotImplementedError("the local chat channel has no media to fetch")


async def read_mailbox(redis: Redis, chat_id: str, wait_s: float) -> list[dict[str, Any]]:
    """Everything waiting for a local resident; waits up to `wait_s` for the first message."""
    key = mailbox_key(chat_id)
    first = None
    deadline = time.monotonic() + wait_s
    # redis-py gives up on a reply after its socket timeout (5 s by default): a long wait is made
    # of shorter blocking reads (a 23-second wait was a 500).
    while first is None and (remaining := deadline - time.monotonic()) > 0:
        first = await redis.blpop([key], timeout=min(remaining, BLOCK_SLICE_S))
    messages = [json.loads(first[1])] if first else []
    while True:
        raw = await redis.lpop(key)
        if raw is None:
            return messages
        messages.append(json.loads(str(raw)))
