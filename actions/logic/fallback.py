"""Which services to offer when the bot is unsure what the resident meant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..common import SERVICE_TITLES, payload

# Intents that make no sense as a suggestion ("did you mean: yes?").
_NOT_OFFERED = {"nlu_fallback", "affirm", "deny", "inform", "greet", "goodbye", "thank",
                "out_of_scope", "bot_challenge"}


def fallback_options(
    ranking: Sequence[dict[str, Any]], *, limit: int = 3, min_confidence: float = 0.05
) -> list[tuple[str, str]]:
    """Buttons for the two or three likeliest services in an intent ranking."""
    options: list[tuple[str, str]] = []
    for item in ranking:
        name = item.get("name")
        if name in _NOT_OFFERED or name not in SERVICE_TITLES:
            continue
        if float(item.get("confidence") or 0.0) < min_confidence:
            continue
        options.append((SERVICE_TITLES[name], payload(name)))
        if len(options) == limit:
            break
    if options:
        options.append(("Menu lain", payload("help")))
    return options
