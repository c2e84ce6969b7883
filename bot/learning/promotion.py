"""Putting a model version live in every Rasa server, or restoring an earlier one.

Each server loads the new file beside the old one and switches when it is ready (the pintu channel,
`nlu/serving.py`): residents' messages keep being answered during the load, and conversations keep
their state. If one server refuses, the servers already switched go back to the previous model, so
all of them always serve the same one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ..db import in_transaction
from ..rasa_client import RasaClient, RasaError, RasaUnavailable
from ..staff import audit
from . import registry


class PromotionRefused(Exception):
    """The gate refused the candidate and no override reason was given."""

    def __init__(self, gate: registry.Gate) -> None:
        super().__init__("; ".join(gate.reasons))
        self.gate = gate


class PromotionFailed(Exception):
    """A Rasa server could not load the model; every server serves the previous one again."""


@dataclass(frozen=True)
class Outcome:
    version: str
    previous: str | None
    action: str  # promote | rollback
    servers: dict[str, Any]
    overridden: bool


# A swap request is answered when the model is loaded: 20-40 s on an idle server, minutes under
# heavy traffic (the loading thread shares the GIL with the answers). Past the request's timeout
# the server's state is polled, up to the deadline.
REQUEST_TIMEOUT_S = 300.0
SWAP_DEADLINE_S = 1800.0
POLL_S = 2.0

_lock = asyncio.Lock()  # one promotion at a time in this process


async def promote(sessions: sessionmaker, servers: Sequence[str], token: str, models_dir: Path,
                  version: str, *, staff_id: int | None, override_reason: str | None = None,
                  ip: str | None = None,
                  client: Callable[[str], RasaClient] | None = None) -> Outcome:
    """Makes `version` live. A version that was live before is restored without the gate (it
    served residents already); a new one must pass it, or carry an admin's written reason.

    Raises:
        LookupError: no such version.
        ValueError: the version is not ready, or already live.
        PromotionRefused: the gate refused and there is no override reason.
        PromotionFailed: a server refused the model (all were switched back).
    """
    make = client or (lambda url: RasaClient(url, timeout=30.0))
    reason = (override_reason or "").strip() or None
    async with _lock:
        def check(session: Session) -> tuple[str, str | None, str | None, str, registry.Gate]:
            target = registry.by_name(session, version)
            if target.status != "ready" or not Path(target.path).is_file():
                raise ValueError(f"versi {version} belum siap dipakai")
            current = registry.live_or_serving(session, models_dir)
            if current is not None and current.id == target.id:
                raise ValueError(f"versi {version} sudah aktif")
            action = "rollback" if registry.was_live(session, target) else "promote"
            gate = registry.gate(target, current)
            if action == "promote" and not gate.passed and reason is None:
                raise PromotionRefused(gate)
            return (target.path, current.version if current else None,
                    current.path if current else None, action, gate)

        path, previous, previous_path, action, gate = await asyncio.to_thread(
            in_transaction, sessions, check)
        results = await _swap_all(servers, token, path, previous_path, make)

        def record(session: Session) -> None:
            target = registry.by_name(session, version)
            before = registry.by_name(session, previous) if previous else None
            overridden = action == "promote" and not gate.passed
            registry.record_promotion(session, target, before, staff_id=staff_id, action=action,
                                      gate_result=gate, servers=results,
                                      override_reason=reason if overridden else None)
            name = {"rollback": "model_rolled_back"}.get(
                action, "model_promoted_override" if overridden else "model_promoted")
            audit.record(session, staff_id, name, f"model:{version}",
                         reason=reason if overridden else None,
                         detail={"previous": previous, "gate": gate.as_json()}, ip=ip)
        await asyncio.to_thread(in_transaction, sessions, record)
        registry.write_pointer(models_dir, Path(path))
        return Outcome(version, previous, action, results,
                       action == "promote" and not gate.passed)


async def _swap_one(rasa: RasaClient, path: str, token: str) -> dict[str, Any]:
    """One server's swap. Loading under heavy traffic can outlast the request: when the request
    fails, the server is asked what it serves until its swap ends, so that the outcome is known
    (a server that switched after the request timed out is a success, not a failure)."""
    started = time.monotonic()
    try:
        return await rasa.swap_model(path, token, timeout=REQUEST_TIMEOUT_S)
    except RasaUnavailable as exc:
        failure = exc
    want = registry.stem(path)
    while True:
        try:
            info = await rasa.model_info()
        except RasaError:
            raise failure from None
        if not info.get("swapping"):
            if info.get("model") == want:
                return {"model": want, "load_seconds": round(time.monotonic() - started, 1),
                        "confirmed_after": type(failure).__name__}
            raise failure
        if time.monotonic() - started > SWAP_DEADLINE_S:
            raise RasaUnavailable(f"model still loading after {SWAP_DEADLINE_S:.0f} s") \
                from failure
        await asyncio.sleep(POLL_S)


async def _swap_all(servers: Sequence[str], token: str, path: str, previous_path: str | None,
                    make: Callable[[str], RasaClient]) -> dict[str, Any]:
    """Swaps one server after the other (so that the others answer while one loads)."""
    done: list[str] = []
    results: dict[str, Any] = {}
    for url in servers:
        rasa = make(url)
        try:
            results[url] = await _swap_one(rasa, path, token)
            done.append(url)
        except RasaError as exc:
            for switched in done:  # every server serves the same model, always
                back = make(switched)
                try:
                    if previous_path:
                        await _swap_one(back, previous_path, token)
                except RasaError:
                    pass
                finally:
                    await back.aclose()
            raise PromotionFailed(f"server Rasa {url} menolak model: {exc}") from exc
        finally:
            await rasa.aclose()
    return results
