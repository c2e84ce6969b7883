"""`/webhooks/telegram` and `/webhooks/whatsapp`: check authenticity, parse, queue, answer.

Routes stay thin: the checks live in `integrations.telegram.webhook` and
`integrations.whatsapp.webhook`, the queueing in `bot.inbox`. A webhook answers only after the
message is in the queue; a failure to queue answers 503 so the channel delivers it again.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import Counter

from integrations.telegram.inbound import is_update, parse_update
from integrations.telegram.webhook import check_secret
from integrations.whatsapp.webhook import (
    check_signature,
    is_notification,
    parse_webhook,
    phone_number_id_of,
    verify_handshake,
)

from ..app import Services
from .deps import services
from .errors import json_text

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks", tags=["channels"])

REFUSED = Counter("pintu_webhook_refused_total", "Webhook calls refused", ["channel", "reason"])


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _json(raw: bytes, channel: str) -> Any:
    """The body as JSON; 400 for anything else, nesting deeper than the parser goes and lone
    surrogates (`"\\ud800"`: no text a channel sends, and PostgreSQL would refuse to store it)
    included."""
    try:
        return json_text(raw)
    except ValueError:
        REFUSED.labels(channel, "bad_json").inc()
        raise HTTPException(400, "body is not JSON") from None


@router.post("/telegram")
async def telegram(request: Request, s: Annotated[Services, Depends(services)]) -> Response:
    settings = s.settings
    if not settings.telegram_enabled or settings.telegram_mode != "webhook":
        raise HTTPException(404, "Telegram webhook is not enabled")
    secret = settings.telegram_webhook_secret or ""
    if not check_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token"), secret):
        REFUSED.labels("telegram", "secret").inc()
        log.warning("telegram webhook refused: wrong or missing secret token (from %s)",
                    _client(request))
        raise HTTPException(401, "wrong secret token")
    data = await _json(await request.body(), "telegram")
    if not is_update(data):
        REFUSED.labels("telegram", "not_an_update").inc()
        raise HTTPException(400, "not a Telegram update")
    inbound = parse_update(data)
    if inbound is not None:
        await s.inbox.accept(inbound)
    return Response(status_code=200)


@router.get("/whatsapp")
async def whatsapp_verify(
    s: Annotated[Services, Depends(services)],
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
) -> Response:
    expected = s.settings.whatsapp_verify_token
    answer = verify_handshake(mode, token, challenge, expected) if expected else None
    if answer is None:
        REFUSED.labels("whatsapp", "verify_token").inc()
        log.warning("whatsapp verification handshake refused")
        raise HTTPException(403, "verification failed")
    return PlainTextResponse(answer)


@router.post("/whatsapp")
async def whatsapp(request: Request, s: Annotated[Services, Depends(services)]) -> Response:
    settings = s.settings
    if not settings.whatsapp_enabled or not settings.whatsapp_app_secret:
        raise HTTPException(404, "WhatsApp webhook is not enabled")
    raw = await request.body()
    if not check_signature(raw, request.headers.get("X-Hub-Signature-256"),
                           settings.whatsapp_app_secret):
        REFUSED.labels("whatsapp", "signature").inc()
        log.warning("whatsapp webhook refused: bad or missing X-Hub-Signature-256 (from %s)",
                    _client(request))
        raise HTTPException(401, "bad signature")
    data = await _json(raw, "whatsapp")
    if not is_notification(data):
        REFUSED.labels("whatsapp", "not_a_notification").inc()
        raise HTTPException(400, "unexpected body")
    number = phone_number_id_of(data)
    if number is not None and number != settings.whatsapp_phone_number_id:
        # Another number of the same Meta app: not ours to answer.
        log.warning("whatsapp webhook for another phone number id ignored")
        return Response(status_code=200)
    messages, receipts = parse_webhook(data)
    for message in messages:
        await s.inbox.accept(message)
    for receipt in receipts:
        await s.inbox.accept_receipt(receipt)
    return Response(status_code=200)
