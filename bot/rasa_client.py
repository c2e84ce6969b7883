"""The one door to Rasa: its HTTP API only, so the engine can be replaced behind it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

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


class RasaClient:
    """Talks to a Rasa server's REST channel and HTTP API."""

    def __init__(
        self, base_url: str, *, client: httpx.AsyncClient | None = None, timeout: float = 10.0
    ) -> None:
        self._client = client or httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._owns_client = client is None

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"Rasa unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise RasaUnavailable(f"Rasa answered {response.status_code}")
        if response.status_code >= 400:
            raise RasaError(f"Rasa refused the request: {response.status_code}")
        return response.json()

    async def send(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]:
        """Sends one resident message through the REST channel; returns the bot's replies."""
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        raw = await self._request("POST", "/webhooks/rest/webhook", json=body)
        return [BotMessage.from_rasa(item) for item in raw or []]

    async def status(self) -> dict[str, Any]:
        """The loaded model's status (`GET /status`)."""
        result: dict[str, Any] = await self._request("GET", "/status")
        return result

    async def parse(self, text: str) -> dict[str, Any]:
        """NLU only: intent ranking and entities (`POST /model/parse`)."""
        result: dict[str, Any] = await self._request("POST", "/model/parse", json={"text": text})
        return result
