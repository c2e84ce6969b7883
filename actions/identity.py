"""Identity checks with Dukcapil behind the attempt limits (actions/logic/attempts.py).

One place for the refusals, the uniform answer to a mismatch and the outage apologies, shared by
the KTP-el, KK and birth registration checks.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from rasa_sdk.executor import CollectingDispatcher

from integrations.agency import AgencyError, AgencyUnavailable, IdentityNotVerified

from . import context
from .common import payload, say
from .logic.attempts import Refusal

log = logging.getLogger(__name__)
T = TypeVar("T")
OFFICE = "datang ke Disdukcapil dengan membawa KTP dan KK"


def duration(seconds: float) -> str:
    """"1 jam", "24 jam", "5 menit": how long a lock lasts, in words."""
    if seconds >= 3600:
        return f"{round(seconds / 3600)} jam"
    return f"{max(1, round(seconds / 60))} menit"


def refusal_text(refusal: Refusal) -> str:
    limits = context.identity_guard().limits
    if refusal is Refusal.NIK:
        return ("Demi keamanan data, pengecekan untuk NIK ini dikunci sementara karena terlalu "
                f"banyak percobaan yang tidak cocok. Silakan coba lagi setelah "
                f"{duration(limits.nik_window_s)}, atau {OFFICE}.")
    if refusal is Refusal.ALARM:
        return ("Demi keamanan data, pengecekan sedang dibatasi karena banyak percobaan yang "
                f"tidak cocok. Silakan coba lagi setelah {duration(limits.burst_window_s)}, "
                f"atau {OFFICE}.")
    return ("Demi keamanan data, pengecekan dikunci sementara karena terlalu banyak percobaan "
            f"yang tidak cocok. Silakan coba lagi setelah {duration(limits.sender_window_s)}, "
            f"atau {OFFICE}.")


def tell(dispatcher: CollectingDispatcher, refusal: Refusal, before: str = "") -> None:
    say(dispatcher, before + refusal_text(refusal),
        [("Bicara dengan petugas", payload("human_handoff"))])


async def refused_before_asking(dispatcher: CollectingDispatcher, sender_id: str) -> bool:
    """Says why, when this chat may not check anything now: no numbers are asked in vain."""
    refusal = await context.identity_guard().sender_refusal(sender_id)
    if refusal is not None:
        tell(dispatcher, refusal)
    return refusal is not None


async def checked(dispatcher: CollectingDispatcher, sender_id: str, nik: str,
                  call: Callable[[], Awaitable[T]], *, what: str, retry: str) -> T | None:
    """The agency's answer to `call`, or None after telling the resident why there is none.

    Args:
        nik: the NIK being checked (counted per NIK, as a keyed hash).
        what: the numbers to check again, named for a mismatch ("NIK dan Nomor KK Anda").
        retry: the payload of the "Coba lagi" button.
    """
    guard = context.identity_guard()
    refused = await guard.refusal(sender_id, nik)
    if refused is not None:
        tell(dispatcher, refused)
        return None
    try:
        return await call()
    except IdentityNotVerified:
        left = await guard.failed(sender_id, nik)
        # The same words whatever did not match: nothing says which number was wrong or whether
        # the NIK exists.
        text = f"Maaf, data yang Anda masukkan tidak dapat kami cocokkan. Periksa kembali {what}."
        if left:
            say(dispatcher, f"{text} Sisa percobaan: {left}.",
                [("Coba lagi", retry), ("Bicara dengan petugas", payload("human_handoff"))])
        else:
            tell(dispatcher, await guard.refusal(sender_id, nik) or Refusal.SENDER, f"{text} ")
    except AgencyUnavailable:
        say(dispatcher, "Maaf, layanan Disdukcapil sedang tidak dapat dihubungi. Silakan coba "
            "lagi beberapa saat lagi. Data Anda tidak kami simpan.", [("Coba lagi", retry)])
    except AgencyError as exc:
        log.error("dukcapil refused an identity check: %s", type(exc).__name__)
        say(dispatcher, "Maaf, permintaan belum dapat diproses. Silakan coba lagi nanti atau "
            "hubungi petugas.", [("Bicara dengan petugas", payload("human_handoff"))])
    return None
