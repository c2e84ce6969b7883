"""Typed errors of the agency clients; callers catch these, never httpx's.

Messages name the service, method, route template and status, never request data; any 16-digit
number an agency puts in its own message is masked.
"""

from __future__ import annotations

from .privacy import redact


class AgencyError(Exception):
    """Base of every agency failure.

    Attributes:
        service: which agency ("dukcapil", "laksa", ...).
        status: HTTP status, when there was an answer.
        code: the agency's error code, when it gave one.
        public_message: Indonesian text that may be shown to a resident.
        retry_after: seconds the agency asked us to wait, when it said.
    """

    default_public_message = "Permintaan belum dapat diproses."

    def __init__(self, message: str, *, service: str = "agency", status: int | None = None,
                 code: str | None = None, public_message: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(redact(message))
        self.service = service
        self.status = status
        self.code = code
        self.public_message = redact(public_message or self.default_public_message)
        self.retry_after = retry_after


class AgencyUnavailable(AgencyError):
    """Network failure, timeout, 5xx, 429 after retries, or the circuit is open."""

    default_public_message = "Layanan sedang tidak dapat dihubungi."


class CircuitOpen(AgencyUnavailable):
    """Refused locally: the agency failed repeatedly and is being left alone for a while."""


class AgencyNotFound(AgencyError):
    """The number, reference or record asked for does not exist."""

    default_public_message = "Data tidak ditemukan."


class AgencyRejected(AgencyError):
    """The agency refused the request as invalid (4xx); `public_message` says why."""


class IdentityNotVerified(AgencyError):
    """NIK and KK number do not match; deliberately silent about which one is wrong."""

    default_public_message = "NIK dan Nomor KK tidak cocok dengan data kependudukan."
