"""Fakes of the outside services, speaking their real wire formats through httpx transports."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx


class FakeRasa:
    """Answers Rasa's REST channel like a Rasa server; records what it was sent."""

    def __init__(self, reply: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
                 status_code: int = 200) -> None:
        self.received: list[dict[str, Any]] = []
        self.reply = reply or (lambda body: [{"recipient_id": body["sender"],
                                              "text": f"echo: {body['message']}"}])
        self.status_code = status_code

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/status":
            return httpx.Response(200, json={"model_id": "test-model", "model_file": "x.tar.gz"})
        body = json.loads(request.content)
        self.received.append(body)
        if self.status_code != 200:
            return httpx.Response(self.status_code, json={"error": "down"})
        return httpx.Response(200, json=self.reply(body))

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url="http://rasa.test", transport=httpx.MockTransport(self.handler)
        )
