"""Simulated residents: what they write, their WhatsApp numbers, and their signed webhooks."""

from __future__ import annotations

from dataclasses import dataclass

from tests.fakes.graph_api import encode, sign, text_message, webhook_payload

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


def signed_webhooks(phase: int, count: int, app_secret: str) -> list[Webhook]:
    """One webhook per resident, each with its own number and wamid, signed like Meta's
    (`X-Hub-Signature-256`); built before the clock starts so that signing costs the generator
    nothing while it runs."""
    hooks = []
    for i in range(count):
        number = wa_id(phase, i)
        body = encode(webhook_payload([text_message(number, text_for(i))]))
        hooks.append(Webhook(number, body, sign(body, app_secret)))
    return hooks
