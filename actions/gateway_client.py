"""The actions' one door to the gateway's internal API: tickets and requests for an officer.

The gateway owns persistence (tickets, the complaint outbox, handoffs), so the action server stays
stateless and Rasa's engine can be replaced without moving any data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx


class GatewayError(Exception):
    """The gateway could not do what was asked."""


class TicketNotFound(GatewayError):
    """No ticket with that number."""


@dataclass(frozen=True)
class ComplaintReceipt:
    ticket_id: str
    status: str
    agency: str
    expected_response_days: int
    forwarded: bool
    # Whether the resident already agreed to status updates in this chat (else the receipt asks).
    updates: bool = False


@dataclass(frozen=True)
class TicketStatus:
    ticket_id: str
    kind: str
    status: str
    status_label: str
    agency: str
    history: list[dict[str, Any]]


class GatewayClient:
    """Async client of `/internal/v1` on the gateway."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 8.0,
    ) -> None:
        self._client = client or httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._headers = {"Authorization": f"Bearer {token}"}

    @classmethod
    def from_env(cls) -> GatewayClient:
        return cls(
            os.environ.get("GATEWAY_URL", "http://127.0.0.1:8000"),
            os.environ.get("INTERNAL_API_TOKEN", "dev-internal-token"),
        )

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._client.request(method, path, headers=self._headers, **kwargs)
        except httpx.HTTPError as exc:
            raise GatewayError(f"gateway unreachable: {type(exc).__name__}") from exc
        if response.status_code == 404:
            raise TicketNotFound(path.rsplit("/", 1)[-1])
        if response.status_code >= 400:
            raise GatewayError(f"gateway answered {response.status_code}")
        result: dict[str, Any] = response.json()
        return result

    async def file_complaint(self, sender_id: str, complaint: dict[str, Any]) -> ComplaintReceipt:
        data = await self._request(
            "POST", "/internal/v1/complaints", json={"sender_id": sender_id, **complaint}
        )
        return ComplaintReceipt(
            ticket_id=data["ticket_id"],
            status=data["status"],
            agency=data["agency"],
            expected_response_days=int(data["expected_response_days"]),
            forwarded=bool(data["forwarded"]),
            updates=bool(data.get("updates")),
        )

    async def watch(self, sender_id: str, *, agency: str, kind: str, ref: str,
                    label: str) -> bool:
        """The resident is told when the agency reports a change of the record (with their
        consent); whether they have already given it."""
        body = await self._request("POST", "/internal/v1/watches", json={
            "sender_id": sender_id, "agency": agency, "kind": kind, "ref": ref,
            "label": label})
        return bool(body.get("updates"))

    async def ticket(self, number: str) -> TicketStatus:
        data = await self._request("GET", f"/internal/v1/tickets/{number}")
        return TicketStatus(
            ticket_id=data["ticket_id"],
            kind=data["kind"],
            status=data["status"],
            status_label=data["status_label"],
            agency=data["agency"],
            history=list(data.get("history") or []),
        )

    async def stop_broadcasts(self, sender_id: str) -> str:
        """Withdraws every consent of the resident; the confirmation to say."""
        body = await self._request("POST", "/internal/v1/consent/stop",
                                   json={"sender_id": sender_id})
        return str(body["message"])

    async def request_handoff(self, sender_id: str, reason: str, urgent: bool = False,
                              note: str | None = None, service: str | None = None) -> None:
        await self._request(
            "POST",
            "/internal/v1/handoffs",
            json={"sender_id": sender_id, "reason": reason, "urgent": urgent, "note": note,
                  "service": service},
        )

    async def identity_alarm(self, failures: int, window_s: float, threshold: int) -> None:
        """Reports a burst of failed identity checks (counts only): the gateway writes the
        admins' audit entry and shows it on /metrics."""
        await self._request("POST", "/internal/v1/identity-alarms", json={
            "failures": failures, "window_s": int(window_s), "threshold": threshold})

    async def consent_topics(self, sender_id: str, kecamatan: str | None = None
                             ) -> dict[str, Any]:
        """The topics the resident may choose (title, payload, the exact words stored with the
        consent, whether it is on) and the kecamatan to offer; see bot/outreach/topics.py."""
        return await self._request("POST", "/internal/v1/consent/topics",
                                   json={"sender_id": sender_id, "kecamatan": kecamatan})
