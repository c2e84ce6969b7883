"""Fakes of the outside services, speaking their real wire formats through httpx transports."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx


def understood(body: dict[str, Any]) -> dict[str, Any]:
    """A plausible reading of the message: "inform", sure of itself."""
    return {"text": body["message"], "intent": "inform", "confidence": 0.93,
            "intent_ranking": [{"name": "inform", "confidence": 0.93},
                               {"name": "greet", "confidence": 0.04}],
            "entities": [], "fallback": False, "actions": ["action_listen"],
            "model": "test-model"}


class FakeRasa:
    """Answers like a Rasa server with the pintu channel (`nlu/serving.py`) and the REST channel;
    records what it was sent."""

    def __init__(self, reply: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
                 status_code: int = 200,
                 understand: Callable[[dict[str, Any]], dict[str, Any] | None] = understood,
                 ) -> None:
        self.received: list[dict[str, Any]] = []
        self.trackers_reset: list[str] = []  # conversation ids, from PUT .../tracker/events
        self.reply = reply or (lambda body: [{"recipient_id": body["sender"],
                                              "text": f"echo: {body['message']}"}])
        self.understand = understand
        self.status_code = status_code

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/status":
            return httpx.Response(200, json={"model_id": "test-model", "model_file": "x.tar.gz"})
        if request.method == "PUT" and request.url.path.endswith("/tracker/events"):
            if self.status_code != 200:
                return httpx.Response(self.status_code, json={"error": "down"})
            self.trackers_reset.append(request.url.path.split("/")[2])
            return httpx.Response(200, json={"events": None})
        body = json.loads(request.content)
        self.received.append(body)
        if self.status_code != 200:
            return httpx.Response(self.status_code, json={"error": "down"})
        if request.url.path == "/webhooks/pintu/webhook":
            return httpx.Response(200, json={"messages": self.reply(body),
                                             "understanding": self.understand(body)})
        return httpx.Response(200, json=self.reply(body))

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url="http://rasa.test", transport=httpx.MockTransport(self.handler)
        )
