"""Clients for the agency APIs (Dukcapil, LAKSA, queue, health, tax): one door per service.

    clients = AgencyClients.from_base_url("http://127.0.0.1:8100", timeout=5)
    status = await clients.dukcapil.ktp_status(nik, kk_number)
    await clients.aclose()

Every failure is one of the typed errors below; results are frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from .base import AgencyHttp, RetryPolicy, ServiceClient
from .breaker import CircuitBreaker
from .dukcapil import (
    BirthDocument,
    BirthRegistration,
    BirthRegistrationReceipt,
    DukcapilClient,
    IdentityVerification,
    KkMember,
    KtpStatus,
)
from .errors import (
    AgencyError,
    AgencyNotFound,
    AgencyRejected,
    AgencyUnavailable,
    CircuitOpen,
    IdentityNotVerified,
)
from .health import BedAvailability, HealthClient, Hospital
from .laksa import Complaint, ComplaintCategory, ComplaintReceipt, LaksaClient
from .privacy import mask_nik, redact
from .queue import Booking, DaySlots, Office, QueueClient, QueueService, TimeWindow
from .records import StatusEvent
from .tax import PbbBill, PbbYear, PdamBill, PdamPeriod, TaxClient

__all__ = [
    "AgencyClients", "AgencyError", "AgencyHttp", "AgencyNotFound", "AgencyRejected",
    "AgencyUnavailable", "BedAvailability", "BirthDocument", "BirthRegistration",
    "BirthRegistrationReceipt", "Booking", "CircuitBreaker", "CircuitOpen", "Complaint",
    "ComplaintCategory", "ComplaintReceipt", "DaySlots", "DukcapilClient", "HealthClient",
    "Hospital", "IdentityNotVerified", "IdentityVerification", "KkMember", "KtpStatus",
    "LaksaClient", "Office", "PbbBill", "PbbYear", "PdamBill", "PdamPeriod", "QueueClient",
    "QueueService", "RetryPolicy", "ServiceClient", "StatusEvent", "TaxClient", "TimeWindow",
    "mask_nik", "redact",
]


@dataclass
class AgencyClients:
    """All agency clients over one shared `httpx.AsyncClient`; each service has its own breaker,
    so one agency's outage does not shut the others out."""

    dukcapil: DukcapilClient
    laksa: LaksaClient
    queue: QueueClient
    health: HealthClient
    tax: TaxClient
    http: httpx.AsyncClient

    @classmethod
    def from_client(cls, client: httpx.AsyncClient, *, timeout: float = 5.0,
                    retry: RetryPolicy | None = None, failure_threshold: int = 5,
                    reset_timeout: float = 30.0, **http_options: Any) -> AgencyClients:
        """Clients over an existing AsyncClient (tests: one with MockTransport or ASGITransport).

        Args:
            http_options: passed to each AgencyHttp (e.g. `sleep`, `rand`).
        """
        def door(service: str) -> AgencyHttp:
            breaker = CircuitBreaker(failure_threshold, reset_timeout, name=service)
            return AgencyHttp(client, service=service, timeout=timeout, retry=retry,
                              breaker=breaker, **http_options)

        return cls(dukcapil=DukcapilClient(door("dukcapil")), laksa=LaksaClient(door("laksa")),
                   queue=QueueClient(door("queue")), health=HealthClient(door("health")),
                   tax=TaxClient(door("tax")), http=client)

    @classmethod
    def from_base_url(cls, base_url: str, *, timeout: float = 5.0,
                      transport: httpx.AsyncBaseTransport | None = None,
                      **options: Any) -> AgencyClients:
        """Clients for the agency gateway at `base_url` (the sandbox: http://127.0.0.1:8100)."""
        client = httpx.AsyncClient(
            base_url=base_url, transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            headers={"Accept": "application/json", "User-Agent": "pintu-agency-client/1"})
        return cls.from_client(client, timeout=timeout, **options)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AgencyClients:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
