"""The agencies' status webhook: how an agency signs a status change and how Pintu checks it.

The contract (docs/openapi/agency-status-webhook.json, docs/outreach.md): the agency POSTs a JSON
event to `<gateway>/webhooks/agency/status` with three headers:

- `X-Pintu-Agency`: which agency sends it (`laksa`, `dukcapil`); each has its own secret.
- `X-Pintu-Timestamp`: seconds since the epoch when it was signed.
- `X-Pintu-Signature`: `sha256=` and the hex HMAC-SHA256, under the agency's secret, of the
  timestamp, a dot and the raw body (`b"1733560000." + body`), as Stripe and Slack sign theirs.

A signature older or newer than `TOLERANCE_S` is refused, so a captured call cannot be replayed
later; a replay inside the window carries an event id Pintu has seen and changes nothing.

Pure standard library: the gateway checks with it and the sandbox signs with it, and it imports in
the Rasa environment too.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

TOLERANCE_S = 300
AGENCY_HEADER = "X-Pintu-Agency"
TIMESTAMP_HEADER = "X-Pintu-Timestamp"
SIGNATURE_HEADER = "X-Pintu-Signature"


class SignatureRefused(Exception):
    """The call is not from the agency it names (or is stale); `reason` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def signature(body: bytes, secret: str, timestamp: int) -> str:
    """The `X-Pintu-Signature` value for `body` signed at `timestamp`."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signed_headers(body: bytes, agency: str, secret: str,
                   now: float | None = None) -> dict[str, str]:
    """Every header an agency sends with `body`."""
    timestamp = int(time.time() if now is None else now)
    return {AGENCY_HEADER: agency, TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(body, secret, timestamp),
            "Content-Type": "application/json"}


def verify(body: bytes, headers: Mapping[str, str], secrets: Mapping[str, str],
           now: float | None = None) -> str:
    """The agency that signed `body`; raises `SignatureRefused` otherwise.

    `headers` is looked up case-insensitively when it is a Starlette/httpx headers object;
    a plain dict must use the header names above.
    """
    agency = (headers.get(AGENCY_HEADER) or "").strip().lower()
    secret = secrets.get(agency)
    if not agency or not secret:
        raise SignatureRefused("unknown agency")
    raw_timestamp = headers.get(TIMESTAMP_HEADER) or ""
    if not raw_timestamp.isdigit() or len(raw_timestamp) > 12:
        raise SignatureRefused("missing timestamp")
    timestamp = int(raw_timestamp)
    if abs((time.time() if now is None else now) - timestamp) > TOLERANCE_S:
        raise SignatureRefused("stale timestamp")
    given = (headers.get(SIGNATURE_HEADER) or "").strip()
    if not hmac.compare_digest(given.encode(), signature(body, secret, timestamp).encode()):
        raise SignatureRefused("bad signature")
    return agency
