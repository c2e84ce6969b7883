"""Logging for the gateway: nothing personal or secret reaches the log.

Our own code never logs message text, NIKs, KK numbers or phone numbers. As a second line, every
handler installed here masks anything that looks like one (16-digit numbers, Indonesian phone
numbers, bot tokens in URLs), and chatty libraries that log full request URLs (httpx logs the
Telegram bot token that way) are held at WARNING.
"""

from __future__ import annotations

import logging
import re

from integrations import log_filters

_PATTERNS = [
    (re.compile(r"bot\d{5,}:[A-Za-z0-9_-]{20,}"), "bot<token>"),
    (re.compile(r"(?<!\d)\d{16}(?!\d)"), "<16 digit>"),
    (re.compile(r"(?<![\w.])(?:\+?62|0)8\d{7,11}(?!\d)"), "<phone>"),
    (re.compile(r"(?i)(access_token|verify_token|hub\.verify_token)=[^&\s]+"), r"\1=<secret>"),
]
QUIET = ("httpx", "httpcore", "telegram", "hpack", "multipart")


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks personal data and secrets in the final message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


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
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter())
        handler._pintu = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    quiet_libraries()
