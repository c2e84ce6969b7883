"""Pintu's Rasa input channel: each answer with what the NLU understood, and a model swap that
keeps every conversation and never stops answering (docs/architecture.md, "the pintu channel").

Enabled in credentials.yml as `nlu.serving.PintuInput:`; served under `/webhooks/pintu/`:

- `POST /webhook`: `{"sender", "message", "metadata"}` -> `{"messages", "understanding"}`
- `GET /model`: the model answering now
- `PUT /model` (bearer `INTERNAL_API_TOKEN`): `{"model_file"}` -> loads it off the event loop into
  a new Agent sharing the current tracker store, lock store, NLG and action endpoint, then swaps.

Relies on Rasa 3.6 internals (checked against rasa 3.6.21): `app.ctx.agent`, the attributes
`Agent.__init__` sets, `MessageProcessor(...)` and `MessageProcessor.save_tracker`.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import logging
import os
import time
import weakref
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "dev-internal-token"  # noqa: S105 - the development default, refused in production
FALLBACK_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
RANKING_SIZE = 5
ENTITY_KEYS = ("entity", "value", "start", "end", "extractor")


def bearer_matches(header: str | None, token: str) -> bool:
    """True when an `Authorization` header carries exactly `Bearer <token>` (constant time)."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not value:
        return False
    return hmac.compare_digest(value.strip().encode(), token.encode())


def model_stem(file_name: str | None) -> str | None:
    """`pintu-20261125.tar.gz` -> `pintu-20261125`."""
    if not file_name:
        return None
    name = Path(file_name).name
    return name[: -len(".tar.gz")] if name.endswith(".tar.gz") else name


def understanding(tracker: DialogueStateTracker, model: str | None) -> dict[str, Any] | None:
    """What the NLU understood of the tracker's last resident message, and what the bot did.

    Reads only the tracker in memory: the last UserUttered (not `latest_message`, which an
    UserUtteranceReverted moves back) and the events after it.
    """
    after: list[Any] = []
    uttered: UserUttered | None = None
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            uttered = event
            break
        after.append(event)
    if uttered is None:
        return None
    after.reverse()
    parse = uttered.parse_data or {}
    intent = (parse.get("intent") or {}).get("name")
    actions = [e.action_name or e.action_text for e in after if isinstance(e, ActionExecuted)]
    fallback = (
        intent in FALLBACK_INTENTS
        or "action_default_fallback" in actions
        or any(isinstance(e, SlotSet) and e.key == "fallback_count" and _at_least_one(e.value)
               for e in after)
    )
    return {
        "text": uttered.text or "",
        "intent": intent,
        "confidence": float((parse.get("intent") or {}).get("confidence") or 0.0),
        "intent_ranking": [
            {"name": r.get("name"), "confidence": float(r.get("confidence") or 0.0)}
            for r in (parse.get("intent_ranking") or [])[:RANKING_SIZE]
        ],
        "entities": [_entity(e) for e in parse.get("entities") or []],
        "fallback": fallback,
        "actions": actions,
        "model": model,
    }


def _at_least_one(value: Any) -> bool:
    try:
        return float(value) >= 1
    except (TypeError, ValueError):
        return False


def _entity(raw: dict[str, Any]) -> dict[str, Any]:
    entity = {key: raw.get(key) for key in ENTITY_KEYS}
    confidence = raw.get("confidence_entity", raw.get("confidence"))
    if confidence is not None:
        entity["confidence"] = float(confidence)
    return entity


@dataclass
class _Turn:
    """Filled by the processor's `save_tracker` while this channel's handler awaits the agent."""

    sender: str
    tracker: DialogueStateTracker | None = None
    model: str | None = None


# Set by the webhook handler; context variables follow the awaited coroutines of its task down
# through Agent.handle_message (lock store) into MessageProcessor.handle_message.
_TURN: ContextVar[_Turn | None] = ContextVar("pintu_turn", default=None)


def record_saves(processor: MessageProcessor) -> None:
    """Makes `processor.save_tracker` hand the saved tracker to the current turn, if any. Once.

    This is how the handler gets the parse data and the turn's events without a second NLU parse
    and without reading the tracker back from the store.
    """
    if getattr(processor, "_pintu_records_saves", False):
        return
    original = processor.save_tracker
    model = model_stem(processor.model_filename)

    async def save_tracker(tracker: DialogueStateTracker) -> None:
        turn = _TURN.get()
        if turn is not None and tracker.sender_id == turn.sender:
            turn.tracker, turn.model = tracker, model
        await original(tracker)

    processor.save_tracker = save_tracker  # type: ignore[method-assign]
    processor._pintu_records_saves = True  # type: ignore[attr-defined]


def load_agent_like(model_file: Path, current: Agent) -> Agent:
    """A new Agent for `model_file` sharing `current`'s stores and endpoints. Blocking (seconds).

    Mutates nothing `current` uses, so it can run in a thread while `current` answers; the
    caller points the shared tracker store at the new domain when it swaps.
    """
    nlg = current.nlg
    if isinstance(nlg, TemplatedNaturalLanguageGenerator):
        # Its responses come from the domain: a shared one would change under `current`.
        nlg = TemplatedNaturalLanguageGenerator({})
    processor = MessageProcessor(
        model_path=model_file,
        tracker_store=current.tracker_store,
        lock_store=current.lock_store,
        generator=nlg,
        action_endpoint=current.action_endpoint,
        http_interpreter=current.http_interpreter,
    )
    if isinstance(nlg, TemplatedNaturalLanguageGenerator):
        nlg.responses = processor.domain.responses
    agent = Agent(
        domain=processor.domain,
        generator=nlg,
        lock_store=current.lock_store,
        action_endpoint=current.action_endpoint,
        model_server=current.model_server,
        remote_storage=current.remote_storage,
        http_interpreter=current.http_interpreter,
    )
    # The very same (fail-safe) store object: Agent() would wrap a given store once more.
    agent.tracker_store = current.tracker_store
    agent.processor = processor
    record_saves(processor)
    return agent


@dataclass(frozen=True)
class _Loaded:
    at: datetime
    path: str


def _loaded_now(processor: MessageProcessor) -> _Loaded:
    """When and from which file a processor was loaded (touches the disk: not on the loop)."""
    path = processor.model_path
    if path.is_dir():  # started with `--model models/`: the newest file in it was loaded
        path = path / processor.model_filename
    return _Loaded(_now(), str(path.resolve()))


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": {"code": code, "message": message}}, status=status)


class PintuInput(InputChannel):
    """Rasa behind plain HTTP: answers with understanding, hot model swap."""

    @classmethod
    def name(cls) -> str:
        return "pintu"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> PintuInput:
        # Rasa builds channels from credentials.yml at start-up: the one place to read the token.
        token = os.environ.get("INTERNAL_API_TOKEN") or DEFAULT_TOKEN
        if os.environ.get("PINTU_ENV") == "production" and token.startswith("dev-"):
            raise ValueError("PINTU_ENV=production needs a real INTERNAL_API_TOKEN")
        return cls(token)

    def __init__(self, token: str) -> None:
        self._token = token
        self._swapping = False
        self._loaded: weakref.WeakKeyDictionary[Agent, _Loaded] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(swapping={self._swapping})"  # never the token

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        bp = Blueprint("pintu_channel", inspect.getmodule(self).__name__)  # type: ignore[union-attr]

        @bp.listener("after_server_start")
        async def stamp_first_agent(app: Any, _loop: Any) -> None:
            agent = getattr(app.ctx, "agent", None)
            if agent is not None and agent.processor is not None:
                record_saves(agent.processor)
                self._loaded.setdefault(agent, _loaded_now(agent.processor))

        @bp.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json
            if not isinstance(body, dict) or not isinstance(body.get("message"), str) or \
                    not isinstance(body.get("sender"), str):
                return _error(400, "bad_request", "expected JSON with string sender and message")
            return response.json(await self._converse(request, body, on_new_message))

        @bp.route("/model", methods=["GET"])
        async def model(request: Request) -> HTTPResponse:
            return response.json(self._model_info(request.app.ctx.agent))

        @bp.route("/model", methods=["PUT"])
        async def swap(request: Request) -> HTTPResponse:
            return await self._swap(request)

        return bp

    async def _converse(self, request: Request, body: dict[str, Any],
                        on_new_message: Callable[[UserMessage], Awaitable[Any]]
                        ) -> dict[str, Any]:
        collector = CollectingOutputChannel()
        message = UserMessage(
            body["message"], collector, body["sender"],
            input_channel=body.get("input_channel") or self.name(),
            metadata=body.get("metadata"),
        )
        agent = request.app.ctx.agent
        if agent is not None and agent.processor is not None:
            record_saves(agent.processor)  # `on_new_message` uses this same agent: no await between
        turn = _Turn(message.sender_id)
        token = _TURN.set(turn)
        try:
            await on_new_message(message)
        except Exception as exc:
            # As the REST channel: answer with what was sent so far. Never the message text.
            log.error("pintu channel: handling a message failed (%s)", type(exc).__name__,
                      exc_info=True)
        finally:
            _TURN.reset(token)
        seen = understanding(turn.tracker, turn.model) if turn.tracker is not None else None
        return {"messages": collector.messages, "understanding": seen}

    def _model_info(self, agent: Agent | None) -> dict[str, Any]:
        processor = agent.processor if agent is not None else None
        if agent is None or processor is None:
            return {"model": None, "model_id": None, "path": None, "loaded_at": None,
                    "swapping": self._swapping}
        loaded = self._loaded.get(agent)  # None only for an agent swapped in by Rasa's PUT /model
        return {
            "model": model_stem(processor.model_filename),
            "model_id": processor.model_metadata.model_id,
            "path": loaded.path if loaded else str(processor.model_path),
            "loaded_at": loaded.at.isoformat() if loaded else None,
            "swapping": self._swapping,
        }

    async def _swap(self, request: Request) -> HTTPResponse:
        if not bearer_matches(request.headers.get("Authorization"), self._token):
            log.warning("pintu channel: model swap refused, missing or wrong token (from %s)",
                        request.ip)
            return _error(401, "unauthorized", "a valid bearer token is required")
        body = request.json
        model_file = body.get("model_file") if isinstance(body, dict) else None
        if not isinstance(model_file, str) or not model_file.endswith(".tar.gz"):
            return _error(400, "bad_request", "model_file must be the path of a .tar.gz model")
        path = Path(model_file)
        if not await asyncio.to_thread(path.is_file):
            return _error(400, "bad_request", f"no model file at {path}")
        if self._swapping:
            return _error(409, "swap_running", "another model swap is running")
        self._swapping = True  # no await since the check: one swap at a time
        try:
            return await self._load_and_swap(request, path)
        finally:
            self._swapping = False

    @staticmethod
    def _load(path: Path, current: Agent) -> tuple[Agent, _Loaded]:
        agent = load_agent_like(path, current)
        return agent, _loaded_now(agent.processor)  # type: ignore[arg-type]

    async def _load_and_swap(self, request: Request, path: Path) -> HTTPResponse:
        app = request.app
        current = app.ctx.agent
        previous = model_stem(current.processor.model_filename) if current.processor else None
        new_name = model_stem(path.name)
        log.info("pintu channel: model swap started: %s -> %s", previous, new_name)
        started = time.monotonic()
        try:
            agent, loaded = await asyncio.get_running_loop().run_in_executor(
                None, self._load, path, current)
        except Exception as exc:
            log.error("pintu channel: model %s failed to load (%s); %s keeps serving",
                      new_name, type(exc).__name__, previous, exc_info=True)
            return _error(500, "load_failed",
                          f"model {new_name} failed to load ({type(exc).__name__}); "
                          f"{previous} keeps serving")
        # One step of the event loop: the shared store reads trackers with the new domain from
        # the first message the new agent handles. Messages already inside `current` finish there.
        current.tracker_store.domain = agent.domain
        app.ctx.agent = agent
        self._loaded[agent] = loaded
        seconds = round(time.monotonic() - started, 3)
        log.info("pintu channel: model swap finished: %s -> %s in %.1f s",
                 previous, new_name, seconds)
        return response.json({"model": new_name, "previous": previous, "load_seconds": seconds})


def _now() -> datetime:
    return datetime.now(timezone.utc)
