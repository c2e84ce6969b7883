"""Fault injection: make agency routes fail, slow down or hang, so clients can be tested.

Faults apply to paths under `paths_prefix` (never to /_sandbox, /healthz or the docs) and stop by
themselves after `count` requests when a count is given.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_json, error_responses

Mode = Literal["none", "error", "slow", "timeout"]
_EXEMPT = ("/_sandbox", "/healthz", "/docs", "/redoc", "/openapi.json")


class FaultConfig(BaseModel):
    """What to inject. `timeout` holds the request `delay_ms` (default 30 s), then answers 504."""

    mode: Mode = "none"
    delay_ms: int = Field(default=0, ge=0, le=120_000)
    paths_prefix: str = "/"
    count: int | None = Field(default=None, ge=1,
                              description="affected requests; none = until reset")
    status: int = Field(default=503, ge=400, le=599, description="status answered in `error` mode")
    retry_after_s: int | None = Field(default=None, ge=0, le=3600)


class FaultState(BaseModel):
    config: FaultConfig
    remaining: int | None
    injected: int


@dataclass
class Faults:
    """The current fault and how many more requests it may touch; one per app."""

    config: FaultConfig
    remaining: int | None = None
    injected: int = 0

    def set(self, config: FaultConfig) -> None:
        self.config, self.remaining, self.injected = config, config.count, 0

    def take(self, path: str) -> FaultConfig | None:
        """The fault to apply to this request, counting it; None when the request runs normally."""
        config = self.config
        if config.mode == "none" or path.startswith(_EXEMPT) or not path.startswith(
                config.paths_prefix):
            return None
        if self.remaining is not None:
            self.remaining -= 1
            if self.remaining <= 0:
                self.config, self.remaining = FaultConfig(), None
        self.injected += 1
        return config


class FaultMiddleware:
    """Pure ASGI so a `slow` fault delays the whole request, routing included."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app, self.faults = app, faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fault = self.faults.take(scope["path"]) if scope["type"] == "http" else None
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.mode == "slow":
            await asyncio.sleep(fault.delay_ms / 1000)
            await self.app(scope, receive, send)
            return
        if fault.mode == "timeout":
            await asyncio.sleep((fault.delay_ms or 30_000) / 1000)
            response = error_json(504, "upstream_timeout", "Sistem tidak menjawab tepat waktu.")
        else:
            headers = ({"Retry-After": str(fault.retry_after_s)}
                       if fault.retry_after_s is not None else None)
            await asyncio.sleep(fault.delay_ms / 1000)
            response = error_json(fault.status, "sandbox_fault", "Gangguan buatan dari sandbox "
                                  "(fault injection).", headers=headers)
        await response(scope, receive, send)


router = APIRouter(prefix="/_sandbox", tags=["sandbox control"], responses=error_responses(422))


def _state(faults: Faults) -> FaultState:
    return FaultState(config=faults.config, remaining=faults.remaining, injected=faults.injected)


@router.get("/faults", response_model=FaultState, summary="Current fault")
def get_faults(request: Request) -> FaultState:
    return _state(request.app.state.faults)


@router.post("/faults", response_model=FaultState, summary="Set (or clear with mode none) a fault")
def set_faults(config: FaultConfig, request: Request) -> FaultState:
    faults: Faults = request.app.state.faults
    faults.set(config)
    return _state(faults)
