"""Status webhooks from the agencies to Pintu, as a real agency would send them.

A status change writes its event into `webhook_deliveries` in the same transaction (an outbox),
and `Dispatcher` sends due events to SANDBOX_WEBHOOK_URL, signed with the agency's secret
(`integrations.agency.status_webhook`): 2xx marks an event delivered; a network error, 429 or
5xx is retried with exponential backoff (up to 5 minutes apart) for as long as it takes; any
other 4xx is a contract error, kept as failed with the answer's status for a person to look at.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from integrations.agency.status_webhook import signed_headers

from .clock import Clock
from .models import WebhookDelivery

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 300


def queue_event(session: Session, *, agency: str, kind: str, ref: str, status: str,
                status_label: str, note: str | None, at: datetime,
                document: dict[str, Any] | None = None) -> WebhookDelivery:
    """Adds the event of one status change to the session (committed with the change)."""
    event_id = uuid.uuid4().hex
    body = {"event_id": event_id, "kind": kind, "ref": ref, "status": status,
            "status_label": status_label, "note": note, "occurred_at": at.isoformat(),
            "document": document}
    delivery = WebhookDelivery(agency=agency, event_id=event_id, body=body, created_at=at,
                               next_attempt_at=at)
    session.add(delivery)
    return delivery


class Dispatcher:
    """Sends due status events to Pintu; one per sandbox process."""

    def __init__(self, sessions: sessionmaker[Session], url: str, secrets: dict[str, str],
                 clock: Clock, *, http: httpx.AsyncClient | None = None) -> None:
        self._sessions = sessions
        self._url = url
        self._secrets = secrets
        self._clock = clock
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))

    async def run(self, interval_s: float) -> None:
        """Delivers due events every `interval_s` seconds until cancelled."""
        while True:
            try:
                await self.deliver_due()
            except Exception:
                log.exception("status webhook round failed")
            await asyncio.sleep(interval_s)

    async def deliver_due(self, limit: int = 100) -> int:
        """Sends every due event once, oldest first; how many Pintu accepted."""
        now = self._clock()
        with self._sessions() as session:
            due = session.scalars(select(WebhookDelivery).where(
                WebhookDelivery.delivered_at.is_(None), WebhookDelivery.failed_at.is_(None),
                WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.id).limit(limit)).all()
            jobs = [(d.id, d.agency, d.body) for d in due]
        accepted = 0
        for delivery_id, agency, body in jobs:
            outcome = await self._send(agency, body)
            accepted += outcome == "delivered"
            self._record(delivery_id, outcome)
        return accepted

    async def _send(self, agency: str, body: dict[str, Any]) -> str:
        raw = json.dumps(body).encode()
        try:
            response = await self._http.post(
                self._url, content=raw,
                headers=signed_headers(raw, agency, self._secrets.get(agency, "")))
        except httpx.HTTPError as exc:
            return f"retry:{type(exc).__name__}"
        if response.is_success:
            return "delivered"
        if response.status_code in (408, 429) or response.status_code >= 500:
            return f"retry:HTTP {response.status_code}"
        return f"failed:HTTP {response.status_code}"

    def _record(self, delivery_id: int, outcome: str) -> None:
        now = self._clock()
        with self._sessions.begin() as session:
            delivery = session.get_one(WebhookDelivery, delivery_id)
            delivery.attempts += 1
            if outcome == "delivered":
                delivery.delivered_at = now
                return
            kind, _, error = outcome.partition(":")
            delivery.last_error = error[:200]
            if kind == "failed":
                delivery.failed_at = now
                log.error("status webhook %s refused for good: %s", delivery.event_id, error)
                return
            delay = min(MAX_BACKOFF_S, 2 ** delivery.attempts)
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            log.warning("status webhook %s not delivered (%s); retry in %d s",
                        delivery.event_id, error, delay)

    async def aclose(self) -> None:
        await self._http.aclose()
