"""The one door to the Telegram Bot API: python-telegram-bot's `Bot`, with our typed errors.

Every call goes through `TelegramClient._guard`, which turns PTB's exceptions into
`integrations.channel_errors` so the outbound queue treats Telegram and WhatsApp alike. Error
messages carry the method and Telegram's description only: never message text, phone numbers or
the bot token.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any, TypeVar

from telegram import Bot, InputFile, Message, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from integrations.channel_errors import (
    ChannelError,
    RateLimited,
    RecipientUnavailable,
    Rejected,
    TemporaryFailure,
)
from integrations.replies import Rendered

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.telegram.org/bot"

# Rendered.method -> (Bot method, parameters it takes by name); the rest go as api_kwargs, exactly
# as render() wrote them.
_SENDERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sendMessage": ("send_message", ("chat_id", "text")),
    "sendPhoto": ("send_photo", ("chat_id", "photo")),
    "sendDocument": ("send_document", ("chat_id", "document")),
    "sendChatAction": ("send_chat_action", ("chat_id", "action")),
}
_UPLOADS = {"sendPhoto": ("photo", "foto.jpg"), "sendDocument": ("document", "dokumen")}
# Bad Request descriptions that mean the resident cannot be reached, not that we sent bad data.
_UNREACHABLE = ("chat not found", "user not found", "peer_id_invalid", "user is deactivated")
_SERVER_ERROR = re.compile(r"internal server error|bad gateway|service unavailable|gateway timeout|"
                           r"invalid server response|\b5\d\d\b", re.IGNORECASE)
_RETRY_AFTER_TEXT = re.compile(r"retry after (\d+(?:\.\d+)?)", re.IGNORECASE)
_LONG_NUMBER = re.compile(r"\+?\d{7,}")


class TelegramClient:
    """Sends, downloads and polls through python-telegram-bot's `Bot`.

    Args:
        token: The bot token from BotFather.
        base_url: The Bot API root the token is appended to (a fake server in tests).
        base_file_url: Where files are downloaded; derived from `base_url` ("/bot" -> "/file/bot").
        connect_timeout, read_timeout, write_timeout, pool_timeout: Seconds, for API calls.
        media_write_timeout: Seconds to upload a stored photo or document.
        request: A `BaseRequest` to use for API calls instead of a new `HTTPXRequest`.
        updates_request: The same for getUpdates long polls (kept apart so a poll never holds
            the connection a send needs).
        open_media: Reads a stored file by its ref (Media.ref); needed to send "_local_ref".
    """

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        base_file_url: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        write_timeout: float = 10.0,
        pool_timeout: float = 5.0,
        media_write_timeout: float = 30.0,
        request: BaseRequest | None = None,
        updates_request: BaseRequest | None = None,
        open_media: Callable[[str], bytes] | None = None,
    ) -> None:
        if not token:
            raise ValueError("a Telegram bot token is needed")
        if base_file_url is None:
            if not base_url.endswith("/bot"):
                raise ValueError("base_file_url is needed when base_url does not end with /bot")
            base_file_url = base_url[: -len("/bot")] + "/file/bot"
        def httpx_request(pool_size: int) -> HTTPXRequest:
            return HTTPXRequest(connection_pool_size=pool_size, connect_timeout=connect_timeout,
                                read_timeout=read_timeout, write_timeout=write_timeout,
                                pool_timeout=pool_timeout, media_write_timeout=media_write_timeout)

        self._token = token
        self._open_media = open_media
        self._bot = Bot(
            token,
            base_url=base_url,
            base_file_url=base_file_url,
            request=_FloodAware(request or httpx_request(64)),
            get_updates_request=_FloodAware(updates_request or httpx_request(1)),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"  # never the token

    async def initialize(self) -> None:
        """Opens the connection pools and checks the token with getMe."""
        await self._guard("getMe", self._bot.initialize())

    async def shutdown(self) -> None:
        """Closes the connection pools."""
        await self._bot.shutdown()

    async def __aenter__(self) -> TelegramClient:
        await self.initialize()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.shutdown()

    async def send(self, rendered: Rendered) -> str | None:
        """Performs one call from `render()`.

        Returns:
            "<chat_id>:<message_id>" of the sent message, or None for calls that send none.
        """
        if rendered.method not in _SENDERS:
            raise ValueError(f"TelegramClient cannot send {rendered.method!r}")
        name, named = _SENDERS[rendered.method]
        body = dict(rendered.body)
        ref = body.pop("_local_ref", None)
        filename = body.pop("_filename", None)
        if ref is not None:
            field, fallback = _UPLOADS[rendered.method]
            content = await self._read_media(str(ref))
            body[field] = InputFile(content, filename=filename or PurePosixPath(ref).name
                                    or fallback)
        kwargs = {key: body.pop(key) for key in named if key in body}
        method: Callable[..., Awaitable[Any]] = getattr(self._bot, name)
        result = await self._guard(rendered.method, method(**kwargs, api_kwargs=body or None))
        if isinstance(result, Message):
            return f"{result.chat.id}:{result.message_id}"
        return None

    async def answer_callback(self, callback_query_id: str, text: str | None = None) -> None:
        """Stops the spinner on a pressed inline button (optionally with a short notice)."""
        await self._guard("answerCallbackQuery",
                          self._bot.answer_callback_query(callback_query_id, text=text))

    async def download(self, file_id: str, max_bytes: int) -> bytes:
        """Downloads a file a resident sent.

        Raises:
            Rejected: The file is larger than `max_bytes` (or than the Bot API's 20 MB).
        """
        file = await self._guard("getFile", self._bot.get_file(file_id))
        if file.file_size is not None and file.file_size > max_bytes:
            raise Rejected("telegram getFile: file is larger than allowed", code="too_large")
        data = await self._guard("downloadFile", file.download_as_bytearray())
        if len(data) > max_bytes:
            raise Rejected("telegram getFile: file is larger than allowed", code="too_large")
        return bytes(data)

    async def get_updates(self, offset: int | None, timeout: int,
                          allowed_updates: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Long-polls for updates (polling mode); returns them as Bot API dicts for
        `parse_update`. Pass the last update_id + 1 as `offset` to confirm earlier ones."""
        updates: tuple[Update, ...] = await self._guard("getUpdates", self._bot.get_updates(
            offset=offset, timeout=timeout, allowed_updates=allowed_updates))
        return [update.to_dict() for update in updates]

    async def set_webhook(self, url: str, secret_token: str,
                          allowed_updates: Sequence[str] | None = None) -> None:
        """Points Telegram at our webhook; it will send `secret_token` in every delivery."""
        await self._guard("setWebhook", self._bot.set_webhook(
            url=url, secret_token=secret_token, allowed_updates=allowed_updates))

    async def delete_webhook(self, drop_pending_updates: bool = False) -> None:
        """Removes the webhook (needed before polling with get_updates)."""
        await self._guard("deleteWebhook", self._bot.delete_webhook(
            drop_pending_updates=drop_pending_updates))

    async def _read_media(self, ref: str) -> bytes:
        if self._open_media is None:
            raise Rejected("telegram: no media store to upload from", code="no_media_store")
        try:
            return await asyncio.to_thread(self._open_media, ref)
        except FileNotFoundError:
            raise Rejected("telegram: stored media not found", code="media_missing") from None

    async def _guard(self, method: str, call: Awaitable[T]) -> T:
        try:
            return await call
        except TelegramError as exc:
            error = _mapped(exc, method, self._token)
            if isinstance(exc, InvalidToken):  # PTB puts the token itself into this message
                raise error from None
            raise error from exc


def _mapped(exc: TelegramError, method: str, token: str) -> ChannelError:
    """Our typed error for a PTB exception; the message names the method and the reason only."""
    where = f"telegram {method}"
    detail = _LONG_NUMBER.sub("<number>", exc.message.replace(token, "<token>"))[:200]
    if isinstance(exc, _FloodWait):
        return RateLimited(f"{where}: too many requests", retry_after=exc.seconds, code=429)
    if isinstance(exc, RetryAfter):
        return RateLimited(f"{where}: too many requests", retry_after=_seconds(exc.retry_after),
                           code=429)
    if isinstance(exc, Forbidden):
        return RecipientUnavailable(f"{where}: {detail}", code=403)
    if isinstance(exc, InvalidToken | EndPointNotFound):
        return Rejected(f"{where}: the bot token or the method was refused", code=401)
    if isinstance(exc, BadRequest):
        if any(marker in detail.lower() for marker in _UNREACHABLE):
            return RecipientUnavailable(f"{where}: {detail}", code=400)
        return Rejected(f"{where}: {detail}", code=400)
    if isinstance(exc, TimedOut):  # python-telegram-bot does not say which phase timed out
        return TemporaryFailure(f"{where}: timed out", code="timeout", maybe_delivered=True)
    if isinstance(exc, Conflict | ChatMigrated):
        return Rejected(f"{where}: {detail}", code=409 if isinstance(exc, Conflict) else 400)
    if isinstance(exc, NetworkError):
        if (match := _RETRY_AFTER_TEXT.search(exc.message)) is not None:
            return RateLimited(f"{where}: too many requests", retry_after=float(match.group(1)),
                               code=429)
        return TemporaryFailure(f"{where}: {detail}", code="network",
                                maybe_delivered="connect" not in detail.lower())
    if _SERVER_ERROR.search(detail):
        return TemporaryFailure(f"{where}: {detail}", code="server")
    return Rejected(f"{where}: {detail}")


def _seconds(value: int | float | dtm.timedelta | None) -> float | None:
    """PTB 22 gives retry_after as int seconds, or as a timedelta with PTB_TIMEDELTA=true."""
    if value is None:
        return None
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    return float(value)


class _FloodWait(TelegramError):
    """A 429 answer, raised before PTB builds its `RetryAfter` (whose constructor emits a
    PTBDeprecationWarning in 22.x unless PTB_TIMEDELTA is set, an error under our pytest config).
    """

    __slots__ = ("seconds",)

    def __init__(self, seconds: float | None) -> None:
        super().__init__("Flood control exceeded")
        self.seconds = seconds


class _FloodAware(BaseRequest):
    """Wraps the real request object and answers 429 with `_FloodWait`; passes all else through."""

    __slots__ = ("_inner",)

    def __init__(self, inner: BaseRequest) -> None:
        self._inner = inner

    @property
    def read_timeout(self) -> float | None:
        return self._inner.read_timeout

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, payload = await self._inner.do_request(
            url=url, method=method, request_data=request_data, read_timeout=read_timeout,
            write_timeout=write_timeout, connect_timeout=connect_timeout,
            pool_timeout=pool_timeout)
        if code == 429:
            raise _FloodWait(_retry_after(payload))
        return code, payload


def _retry_after(payload: bytes) -> float | None:
    try:
        answer = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    value = (answer.get("parameters") or {}).get("retry_after")
    if isinstance(value, int | float):
        return float(value)
    match = _RETRY_AFTER_TEXT.search(str(answer.get("description", "")))
    return float(match.group(1)) if match else None
