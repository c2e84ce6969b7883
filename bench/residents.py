"""Simulated residents: what they write, their WhatsApp numbers, and their signed webhooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from tests.fakes.graph_api import encode, sign, text_message, webhook_payload

from .load import ClientPool, Sample, open_loop

# What residents of Kota Tangerang typically open with (one message each, a new conversation).
TEXTS = (
    "halo",
    "ktp saya sudah jadi belum",
    "jalan rusak di cipondoh",
    "jam buka kantor kecamatan",
    "terima kasih",
    "selamat pagi, mau tanya syarat bikin kk",
    "lampu jalan mati di karawaci",
    "cara daftar antrian disdukcapil",
)


def text_for(index: int) -> str:
    return TEXTS[index % len(TEXTS)]


def wa_id(phase: int, index: int) -> str:
    """A distinct Indonesian mobile number per phase and resident (62 8xx, 12 digits)."""
    return f"628{phase}{index:08d}"


@dataclass(frozen=True)
class Webhook:
    wa_id: str
    body: bytes
    signature: str


def signed_webhook(number: str, text: str, app_secret: str) -> Webhook:
    """A text message from `number` with its own wamid, signed like Meta's
    (`X-Hub-Signature-256`)."""
    body = encode(webhook_payload([text_message(number, text)]))
    return Webhook(number, body, sign(body, app_secret))


def signed_webhooks(phase: int, count: int, app_secret: str) -> list[Webhook]:
    """One webhook per resident, each with its own number; built before the clock starts so
    that signing costs the generator nothing while it runs."""
    return [signed_webhook(wa_id(phase, i), text_for(i), app_secret) for i in range(count)]


async def post_webhooks(pool: ClientPool, gateway_url: str, hooks: list[Webhook], *,
                        offered: float, progress: Callable[[str], None] | None = None,
                        poisson: bool = False) -> list[Sample]:
    """Posts `hooks` to the gateway's WhatsApp webhook, open loop at `offered` per second
    (evenly spaced, or Poisson arrivals: see `load.schedule`)."""
    async def send(client: httpx.AsyncClient, i: int) -> int:
        hook = hooks[i]
        response = await client.post(
            f"{gateway_url}/webhooks/whatsapp", content=hook.body,
            headers={"content-type": "application/json", "X-Hub-Signature-256": hook.signature})
        return response.status_code

    return await open_loop(send, pool, rate=offered, count=len(hooks), progress=progress,
                           poisson=poisson)
