"""The one door to Rasa: its HTTP API only, so the engine can be replaced behind it.

Several Rasa servers sharing their tracker and lock stores (endpoints-redis.yml) serve the same
residents: each sender has a preferred server (a stable hash, the same in every gateway
process), and a server that does not answer is skipped for a short cool-down.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)


class RasaError(Exception):
    """Base of errors talking to Rasa."""


class RasaUnavailable(RasaError):
    """Rasa did not answer in time, or answered with a server error."""


@dataclass(frozen=True)
class BotMessage:
    """One message the bot sends back, channel-neutral."""

    text: str | None = None
    buttons: tuple[dict[str, str], ...] = ()
    image: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_rasa(cls, raw: dict[str, Any]) -> BotMessage:
        buttons = tuple(
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in raw.get("buttons") or ()
        )
        return cls(
            text=raw.get("text"),
            buttons=buttons,
            image=raw.get("image"),
            custom=raw.get("custom") or {},
        )


class RasaRefused(RasaError):
    """Rasa refused the request (4xx): a bad model path, a missing token, a swap in progress."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"Rasa refused the request: {status_code} {message}".strip())
        self.status_code = status_code
        self.message = message


def _error_message(response: httpx.Response) -> str:
    """The message of an error body: ours (`{"error": {"message"}}`) or Rasa's (`{"message"}`)."""
    try:
        detail = response.json()
    except ValueError:
        return ""
    if not isinstance(detail, dict):
        return ""
    error = detail.get("error")
    if isinstance(error, dict):
        error = error.get("message")
    return str(error or detail.get("message") or "")[:200]


@dataclass(frozen=True)
class Understanding:
    """What the NLU understood of one message (the pintu channel's `understanding`)."""

    text: str
    intent: str | None
    confidence: float
    ranking: tuple[tuple[str, float], ...] = ()
    entities: tuple[dict[str, Any], ...] = ()
    fallback: bool = False
    actions: tuple[str, ...] = ()
    model: str | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Understanding:
        ranking = tuple((str(r.get("name")), float(r.get("confidence") or 0.0))
                        for r in raw.get("intent_ranking") or () if isinstance(r, dict))
        return cls(text=str(raw.get("text") or ""), intent=raw.get("intent"),
                   confidence=float(raw.get("confidence") or 0.0), ranking=ranking,
                   entities=tuple(e for e in raw.get("entities") or () if isinstance(e, dict)),
                   fallback=bool(raw.get("fallback")),
                   actions=tuple(str(a) for a in raw.get("actions") or ()),
                   model=raw.get("model"))


@dataclass(frozen=True)
class Turn:
    """The bot's replies to one message and, when Rasa parsed it, what it understood."""

    replies: list[BotMessage]
    understanding: Understanding | None


@dataclass
class _Server:
    url: str
    retry_at: float = 0.0  # monotonic; 0: in service, else skipped until then, then checked


class RasaClient:
    """Talks to the pintu and REST channels and the HTTP API of one or more Rasa servers.

    A request goes to the sender's server, or to the next one when that server does not take
    it (connection refused, reset or timed out connecting): the message was not delivered, so
    no turn runs twice. A read timeout is not retried elsewhere: that server may still be
    running the turn. A failed server is skipped for `cooldown_s`, then used again once its
    `/status` answers; when every server is cooling down, each is tried anyway.
    """

    def __init__(
        self, base_url: str | Sequence[str], *, client: httpx.AsyncClient | None = None,
        timeout: float = 10.0, cooldown_s: float = 5.0,
    ) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError("RasaClient needs at least one server")
        self._servers = [_Server(url.rstrip("/")) for url in urls]
        self._cooldown_s = cooldown_s
        # A dead host must not cost the whole timeout before the next server is tried.
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)))
        self._owns_client = client is None

    @property
    def servers(self) -> list[str]:
        return [server.url for server in self._servers]

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def _order(self, key: str | None) -> list[_Server]:
        """The servers to try: the key's own first (crc32 is stable across processes, unlike
        hash()), those cooling down last."""
        start = zlib.crc32(key.encode()) % len(self._servers) if key else 0
        ring = self._servers[start:] + self._servers[:start]
        now = time.monotonic()
        return ([s for s in ring if s.retry_at <= now] + [s for s in ring if s.retry_at > now])

    async def _usable(self, server: _Server, all_cooling: bool) -> bool:
        if not server.retry_at:
            return True
        now = time.monotonic()
        if server.retry_at > now:
            return all_cooling  # a lone server is never locked out by its cool-down
        server.retry_at = now + self._cooldown_s  # one check at a time
        try:
            response = await self._client.get(f"{server.url}/status", timeout=2.0)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        server.retry_at = 0.0
        log.info("Rasa server %s answers again", server.url)
        return True

    def _cool_down(self, server: _Server, exc: Exception) -> None:
        if not server.retry_at:
            log.warning("Rasa server %s did not answer (%s); others serve for %.0f s",
                        server.url, type(exc).__name__, self._cooldown_s)
        server.retry_at = time.monotonic() + self._cooldown_s

    async def _request(self, method: str, path: str, *, key: str | None = None,
                       **kwargs: Any) -> Any:
        now = time.monotonic()
        all_cooling = all(server.retry_at > now for server in self._servers)
        failure: httpx.HTTPError | None = None
        for server in self._order(key):
            if not await self._usable(server, all_cooling):
                continue
            try:
                response = await self._client.request(method, server.url + path, **kwargs)
            except (httpx.ReadTimeout, httpx.PoolTimeout) as exc:
                raise RasaUnavailable(f"Rasa unreachable: {type(exc).__name__}") from exc
            except httpx.TransportError as exc:
                self._cool_down(server, exc)
                failure = exc
                continue
            except httpx.HTTPError as exc:
                raise RasaUnavailable(f"Rasa unreachable: {type(exc).__name__}") from exc
            if response.status_code >= 500:
                raise RasaUnavailable(
                    f"Rasa answered {response.status_code} {_error_message(response)}".strip())
            if response.status_code >= 400:
                raise RasaRefused(response.status_code, _error_message(response))
            return response.json()
        reason = type(failure).__name__ if failure else "every server cooling down"
        raise RasaUnavailable(f"Rasa unreachable: {reason}") from failure

    async def send(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]:
        """Sends one resident message through the REST channel; returns the bot's replies."""
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        raw = await self._request("POST", "/webhooks/rest/webhook", key=sender, json=body)
        return [BotMessage.from_rasa(item) for item in raw or []]

    async def converse(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> Turn:
        """Sends one resident message through the pintu channel (`nlu/serving.py`): the replies
        and what the NLU understood, in one call."""
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        raw = await self._request("POST", "/webhooks/pintu/webhook", key=sender,
                                  json=body) or {}
        understood = raw.get("understanding")
        return Turn([BotMessage.from_rasa(item) for item in raw.get("messages") or []],
                    Understanding.from_json(understood) if isinstance(understood, dict) else None)

    async def model_info(self) -> dict[str, Any]:
        """The model this server is serving (`GET /webhooks/pintu/model`): `{"model",
        "model_id", "path", "loaded_at", "swapping"}`."""
        result: dict[str, Any] = await self._request("GET", "/webhooks/pintu/model")
        return result

    async def swap_model(self, model_file: str, token: str,
                         timeout: float = 300.0) -> dict[str, Any]:
        """Loads `model_file` beside the current model and switches to it when ready.

        Conversations and in-flight messages carry on; returns `{"model", "previous",
        "load_seconds"}`. Raises `RasaRefused` (401 token, 400 path, 409 swap running) or
        `RasaUnavailable` (unreachable, or 500: the model failed to load, the old one serves on).
        """
        result: dict[str, Any] = await self._request(
            "PUT", "/webhooks/pintu/model", json={"model_file": model_file},
            headers={"authorization": f"Bearer {token}"}, timeout=timeout)
        return result

    async def reset_tracker(self, sender: str) -> None:
        """Replaces every event of the sender's tracker with none (`PUT
        /conversations/{id}/tracker/events` with `[]`): Rasa forgets the conversation, its
        slots and words; the next message starts a new session. Several servers share one
        tracker store (endpoints-redis.yml), so the sender's own server is enough. The id is
        quoted into the path, which Rasa's access log (at its default level, ERROR) does not
        record."""
        await self._request("PUT", f"/conversations/{quote(sender, safe=':')}/tracker/events",
                            key=sender, params={"include_events": "NONE"}, json=[])

    async def status(self) -> dict[str, Any]:
        """The loaded model's status (`GET /status`)."""
        result: dict[str, Any] = await self._request("GET", "/status")
        return result

    async def parse(self, text: str) -> dict[str, Any]:
        """NLU only: intent ranking and entities (`POST /model/parse`)."""
        result: dict[str, Any] = await self._request("POST", "/model/parse", json={"text": text})
        return result
