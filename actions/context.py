"""Clients the actions use, built once per action-server process on first use (not at import).

Tests replace them with `override(...)` (clients built on `httpx.MockTransport`).
"""

from __future__ import annotations

import os
from typing import Any

from integrations.agency import AgencyClients

from .gateway_client import GatewayClient
from .kb import KnowledgeBase
from .logic.attempts import AttemptLimiter, make_attempt_store

_instances: dict[str, Any] = {}


def _get(name: str, build: Any) -> Any:
    if name not in _instances:
        _instances[name] = build()
    return _instances[name]


def override(**instances: Any) -> None:
    """Replaces clients (knowledge, agency, gateway, limiter); `reset()` undoes it."""
    _instances.update(instances)


def reset() -> None:
    _instances.clear()


def knowledge() -> KnowledgeBase:
    return _get("knowledge", KnowledgeBase.load)  # type: ignore[no-any-return]


def agency() -> AgencyClients:
    return _get("agency", lambda: AgencyClients.from_base_url(  # type: ignore[no-any-return]
        os.environ.get("AGENCY_API_URL", "http://127.0.0.1:8100"),
        timeout=float(os.environ.get("AGENCY_TIMEOUT_S", "5")),
    ))


def gateway() -> GatewayClient:
    return _get("gateway", GatewayClient.from_env)  # type: ignore[no-any-return]


def verification_limiter() -> AttemptLimiter:
    return _get("limiter", lambda: AttemptLimiter(  # type: ignore[no-any-return]
        make_attempt_store(os.environ.get("REDIS_URL"))))
