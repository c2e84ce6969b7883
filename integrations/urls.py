"""Which addresses may carry residents' data unencrypted: only those on this machine.

Standard library only: the gateway's settings and the action server both use it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def plain_http_off_host(url: str | None) -> bool:
    """Whether `url` is not https and leaves this machine (loopback stays on it)."""
    if not url:
        return False
    parts = urlsplit(url.strip())
    return parts.scheme.lower() != "https" and (parts.hostname or "") not in LOOPBACK
