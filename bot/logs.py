"""Logging for the gateway: nothing personal or secret reaches the log.

Our own code never logs message text, NIKs, KK numbers or phone numbers. As a second line, every
handler installed here, and uvicorn's own, masks anything that looks like one (16-digit numbers,
Indonesian phone numbers in any written form, bot tokens in URLs) in the message and in the
traceback: an exception's message may quote a value (PostgreSQL's "Key (external_id)=(62...)
already exists"). Chatty libraries that log full request URLs (httpx logs the Telegram bot token
that way) are held at WARNING.
"""

from __future__ import annotations

import logging
import re
from typing import IO

from integrations import log_filters

from .staff.masking import mask_personal

_PATTERNS = [
    (re.compile(r"bot\d{5,}:[A-Za-z0-9_-]{20,}"), "bot<token>"),
    (re.compile(r"(?<!\d)\d{16}(?!\d)"), "<16 digit>"),
    (re.compile(r"(?<![\w.])(?:\+?62|0)8\d{7,11}(?!\d)"), "<phone>"),
    (re.compile(r"(?i)(access_token|verify_token|hub\.verify_token)=[^&\s]+"), r"\1=<secret>"),
]
QUIET = ("httpx", "httpcore", "telegram", "hpack", "multipart")


_TRACEBACKS = logging.Formatter()


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return mask_personal(text)  # the grouped forms: "0813-7771-2345", "3671 0142 ..."


class RedactingFilter(logging.Filter):
    """Masks personal data and secrets in the final message of every record it sees, and in its
    traceback and stack (rendered here once, so that every handler prints the masked text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def make_handler(stream: IO[str] | None = None) -> logging.Handler:
    """The gateway's log handler: one line per record (tracebacks below), masked."""
    handler: logging.Handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    handler._pintu = True  # type: ignore[attr-defined]
    return handler


def quiet_libraries() -> None:
    """Libraries that log whole request URLs (with the bot token) speak only at WARNING, and
    the URLs they and uvicorn's access log print lose their query strings at any level."""
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    log_filters.install()


def configure(level: str = "INFO") -> None:
    """Root logging for a gateway process (idempotent)."""
    root = logging.getLogger()
    if not any(getattr(h, "_pintu", False) for h in root.handlers):
        root.addHandler(make_handler())
    # uvicorn prints through its own handlers ("Exception in ASGI application" and a traceback).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
    root.setLevel(level)
    quiet_libraries()
