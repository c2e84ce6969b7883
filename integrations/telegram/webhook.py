"""Webhook authenticity: Telegram echoes the `secret_token` given to setWebhook in the
X-Telegram-Bot-Api-Secret-Token header of every delivery. The route only passes the header here.
"""

from __future__ import annotations

import hmac

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name, not a secret)


def check_secret(header_value: str | None, expected: str) -> bool:
    """True when the delivery carries the expected secret, compared in constant time.

    A missing or empty header, or an empty expected secret, is never accepted.
    """
    if not header_value or not expected:
        return False
    return hmac.compare_digest(header_value.encode("utf-8"), expected.encode("utf-8"))
