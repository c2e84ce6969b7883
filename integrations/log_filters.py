"""Keeps personal data out of the URLs that libraries log, in both environments.

uvicorn's access log and httpx's request log print whole URLs. Query strings carry what callers
put there (`/api/chat/messages?sender=<phone>`, `/verifikasi?kode=<code>`, a Graph media URL's
signature), `/api/v1/verifikasi/<code>` carries a document's verification code in its path and
Rasa's `/conversations/<sender>/...` a chat id or a phone.
These filters sit on the loggers themselves, so every handler (uvicorn's own, ours, a log
shipper's) gets the URL without them, whatever level is configured.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# Loggers whose records hold a request URL among their args.
URL_LOGGERS = ("uvicorn.access", "httpx")
# Path segments that are personal or secret of their own: the verification code of a document,
# and Rasa's conversation id (the sender: "telegram:<chat id>", "api:<a phone>"), which its HTTP
# API puts in the path (`PUT /conversations/<id>/tracker/events`, the erasure's tracker reset).
_SECRET_PATHS = [(re.compile(r"(/api/v1/verifikasi/)[^/?#\s\"']+"), r"\1<kode>"),
                 (re.compile(r"(/conversations/)[^/?#\s\"']+"), r"\1<sender>")]
# A path (or a URL's path) followed by a query string, anywhere in a text.
_QUERY = re.compile(r"(/[^\s?#\"']*)\?[^\s#\"']*")


def scrub_url(text: str) -> str:
    """`text` (a URL, a path or a log line holding them) without query strings and secret path
    segments."""
    text = _QUERY.sub(r"\1?<query>", text)
    for pattern, replacement in _SECRET_PATHS:
        text = pattern.sub(replacement, text)
    return text


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_url(value)
    if type(value).__name__ == "URL":  # httpx.URL, without importing httpx here
        return scrub_url(str(value))
    return value


class UrlScrubbingFilter(logging.Filter):
    """Rewrites the URLs in a record's message and args (never drops the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub_url(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_scrub(arg) for arg in record.args)
        return True


_FILTER = UrlScrubbingFilter()


def install() -> None:
    """Puts the filter on the URL-logging loggers (idempotent)."""
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
