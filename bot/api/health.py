"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy import text

from ..app import Services
from ..privacy import identity_alarm
from .deps import services

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check(name: str, probe: Any) -> tuple[str, dict[str, Any]]:
    try:
        detail = await asyncio.wait_for(probe, timeout=2.0)
        return name, {"ok": True, **(detail or {})}
    except Exception as exc:
        return name, {"ok": False, "error": type(exc).__name__}


async def _rasa(s: Services) -> dict[str, Any]:
    status = await s.rasa.status()
    if not status.get("model_id"):
        raise RuntimeError("no model loaded")
    return {"model": status.get("model_id")}


async def _http_ok(s: Services, url: str) -> dict[str, Any]:
    response = await s.http.get(url)
    response.raise_for_status()
    return {}


async def _redis(s: Services) -> dict[str, Any]:
    await s.store.ping()
    return {"mode": "redis" if s.settings.redis_url else "in-process"}


async def _database(s: Services) -> dict[str, Any]:
    def ping() -> None:
        with s.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    await asyncio.to_thread(ping)
    return {"dialect": s.engine.dialect.name}


@router.get("/readyz")
async def readyz(s: Annotated[Services, Depends(services)]) -> JSONResponse:
    results = dict(
        await asyncio.gather(
            _check("rasa", _rasa(s)),
            _check("action_server", _http_ok(s, f"{s.settings.action_server_url}/health")),
            _check("redis", _redis(s)),
            _check("database", _database(s)),
            _check("agency_api", _http_ok(s, f"{s.settings.agency_api_url}/healthz")),
        )
    )
    gating = ("rasa", "action_server", "redis", "database")
    ready = all(results[name]["ok"] for name in gating)
    body = {"ready": ready, "checks": results}
    return JSONResponse(body, status_code=200 if ready else 503)


QUEUED = Gauge("pintu_queue_keys_waiting", "Residents or chats with work waiting, per queue",
               ["queue"])


IDENTITY_ALARM = Gauge("pintu_identity_burst_alarm",
                       "1 while a burst of failed identity checks (possible NIK enumeration) "
                       "is being alarmed, else 0")
IDENTITY_ALARMS = Gauge("pintu_identity_burst_alarms",
                        "Identity-check burst alarms raised since the gateway's Redis began "
                        "(a count that only grows; alert on increase())")


@router.get("/metrics")
async def metrics(s: Annotated[Services, Depends(services)]) -> PlainTextResponse:
    queues = [s.inbox.messages, s.inbox.receipts]
    queues += [s.outbox.queue(channel, priority) for channel in s.outbox.channels
               for priority in ("reply", "bulk")]
    for queue in queues:
        QUEUED.labels(queue.name).set(await queue.depth())
    active, raised = await identity_alarm.state(s.store.redis)
    IDENTITY_ALARM.set(1 if active else 0)
    IDENTITY_ALARMS.set(raised)
    return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)
