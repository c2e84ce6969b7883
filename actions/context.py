"""Clients the actions use, built once per action-server process on first use (not at import).

Tests replace them with `override(...)` (clients built on `httpx.MockTransport`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from integrations.agency import AgencyClients
from integrations.secrets import weak_lookup_key

from .gateway_client import GatewayClient, GatewayError
from .kb import KnowledgeBase
from .logic.attempts import DEV_LOOKUP_KEY, Burst, IdentityGuard, Limits, make_attempt_store

log = logging.getLogger(__name__)

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


def lookup_key(env: Mapping[str, str]) -> str:
    """LOOKUP_KEY, the gateway's key of lookup hashes; production refuses the placeholder."""
    key = env.get("LOOKUP_KEY") or DEV_LOOKUP_KEY
    if env.get("PINTU_ENV") == "production" and weak_lookup_key(key):
        raise RuntimeError("production needs a real LOOKUP_KEY (32 characters or more)")
    return key


async def report_alarm(burst: Burst) -> None:
    """Tells the gateway (audit entry, /metrics); the warning in the log stays if it is away."""
    try:
        await gateway().identity_alarm(burst.failures, burst.window_s, burst.threshold)
    except GatewayError as exc:
        log.error("identity check alarm not reported to the gateway: %s", type(exc).__name__)


def identity_guard() -> IdentityGuard:
    return _get("limiter", lambda: IdentityGuard(  # type: ignore[no-any-return]
        make_attempt_store(os.environ.get("REDIS_URL")), Limits.from_env(os.environ),
        lookup_key(os.environ), on_alarm=report_alarm))
