"""`POST /webhooks/agency/status`: an agency reports that a record changed (signed, see
`integrations.agency.status_webhook`); the residents waiting on it are told.

The route only checks the signature and the body, then hands over to `StatusUpdates`, which is
idempotent: the answer is 200 once every update is queued (a repeat of the event included), 503
when the database or Redis is away (the agency sends it again), 401 for a bad signature (logged,
nothing stored), 422 for a body that is not a status event.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from pydantic import BaseModel, Field, ValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from integrations.agency.status_webhook import SignatureRefused, verify

from ..app import Services
from ..outreach.status_updates import KINDS, FinishedDocument, StatusEvent
from .deps import services
from .webhooks import REFUSED, _client

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/agency", tags=["agencies"])


class DocumentIn(BaseModel):
    """A finished document (the status that completes it): what its verification page shows."""

    label: str = Field(min_length=3, max_length=80, examples=["Akta kelahiran AKL-123456"])
    holder_initials: str = Field(min_length=1, max_length=16, examples=["B.S."])
    office: str | None = Field(default=None, max_length=120,
                               description="where it is collected; none for an e-document")


class StatusEventIn(BaseModel):
    """One change of one record, as the agency's status webhook sends it."""

    event_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                          description="unique per agency; a repeat is answered, not acted on")
    kind: str = Field(description="complaint (laksa), birth_registration or ktp (dukcapil)")
    ref: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                     description="the record: our ticket number, the registration number, "
                                 "or Dukcapil's resident_ref; never a NIK")
    status: str = Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")
    status_label: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=300)
    occurred_at: datetime
    document: DocumentIn | None = None


class StatusAnswer(BaseModel):
    duplicate: bool
    notified: int
    skipped: int


@router.post("/status", response_model=StatusAnswer,
             responses={401: {"description": "bad or missing signature"},
                        422: {"description": "not a status event"},
                        503: {"description": "not recorded; send it again later"}})
async def agency_status(request: Request,
                        s: Annotated[Services, Depends(services)]) -> StatusAnswer:
    raw = await request.body()
    try:
        agency = verify(raw, request.headers, s.settings.agency_webhook_secrets)
    except SignatureRefused as exc:
        REFUSED.labels("agency", exc.reason.replace(" ", "_")).inc()
        log.warning("agency status webhook refused: %s (from %s)", exc.reason, _client(request))
        raise HTTPException(401, "signature refused") from None
    try:
        body = StatusEventIn.model_validate_json(raw)
    except ValidationError as exc:
        REFUSED.labels("agency", "bad_body").inc()
        log.warning("agency status webhook from %s: body refused (%d errors)", agency,
                    exc.error_count())
        raise HTTPException(422, "not a status event") from None
    if (agency, body.kind) not in KINDS:
        REFUSED.labels("agency", "bad_kind").inc()
        raise HTTPException(422, f"{agency} does not report on {body.kind}")
    occurred = body.occurred_at if body.occurred_at.tzinfo else \
        body.occurred_at.replace(tzinfo=timezone.utc)
    document = None if body.document is None else FinishedDocument(
        body.document.label, body.document.holder_initials, body.document.office)
    event = StatusEvent(agency=agency, event_id=body.event_id, kind=body.kind, ref=body.ref,
                        status=body.status, status_label=body.status_label, note=body.note,
                        occurred_at=occurred, document=document)
    try:
        handled = await s.status_updates.handle(event)
    except (SQLAlchemyError, RedisError, OSError) as exc:
        log.error("agency status event not handled yet: %s", type(exc).__name__)
        raise HTTPException(503, "try again later") from None
    return StatusAnswer(duplicate=handled.duplicate, notified=handled.notified,
                        skipped=handled.skipped)


def contract_document() -> dict[str, Any]:
    """The webhook's contract as an OpenAPI document (docs/openapi/agency-status-webhook.json,
    kept current by a test): what an agency implements to report status changes."""
    from fastapi import FastAPI

    contract = FastAPI(title="Pintu: agency status webhook", version="1.0.0", description=(
        "Agencies POST one event per status change. Sign with HMAC-SHA256 under the agency's "
        "secret over `<X-Pintu-Timestamp>.<raw body>`; send `sha256=<hex>` in "
        "X-Pintu-Signature. Pintu refuses timestamps more than 300 s away, answers 200 once "
        "the update is queued (also for a repeated event_id), and 503 when it must be sent "
        "again. See docs/outreach.md."))

    @contract.post("/webhooks/agency/status", response_model=StatusAnswer,
                   responses={401: {"description": "bad or missing signature"},
                              503: {"description": "send the same event again later"}})
    def status(body: StatusEventIn,
               x_pintu_agency: Annotated[str, Header(examples=["laksa"])],
               x_pintu_timestamp: Annotated[str, Header(examples=["1796000000"])],
               x_pintu_signature: Annotated[str, Header(examples=["sha256=9f1c..."])],
               ) -> StatusAnswer:
        raise NotImplementedError  # documentation only

    return contract.openapi()


def main() -> None:
    """Writes the contract: `python -m bot.api.agency`."""
    import json
    from pathlib import Path

    target = Path(__file__).resolve().parents[2] / "docs" / "openapi" / \
        "agency-status-webhook.json"
    target.write_text(json.dumps(contract_document(), indent=2, ensure_ascii=False) + "\n",
                      encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
