"""What the action server refuses to start with when PINTU_ENV=production: plain HTTP towards
the agencies (NIKs and KK numbers travel there) or the gateway off this machine, a placeholder
INTERNAL_API_TOKEN or LOOKUP_KEY, and debug logging. The gateway checks its own settings
(bot/settings.py); this is the same rule for the process that calls Dukcapil.
"""

from __future__ import annotations

from collections.abc import Mapping

from integrations.secrets import is_placeholder, weak_lookup_key
from integrations.urls import plain_http_off_host


def refusals(env: Mapping[str, str]) -> list[str]:
    """Each refused setting, by name (never its value); empty outside production."""
    if env.get("PINTU_ENV") != "production":
        return []
    found = [f"{name} must be an https:// address (plain http only on 127.0.0.1/localhost)"
             for name, default in (("AGENCY_API_URL", "http://127.0.0.1:8100"),
                                   ("GATEWAY_URL", "http://127.0.0.1:8000"))
             if plain_http_off_host(env.get(name, default))]
    if is_placeholder(env.get("INTERNAL_API_TOKEN", "dev-internal-token")):
        found.append("INTERNAL_API_TOKEN is missing or a placeholder")
    if weak_lookup_key(env.get("LOOKUP_KEY", "")):
        found.append("LOOKUP_KEY is missing or a placeholder (32 characters or more)")
    if env.get("LOG_LEVEL", "").upper() == "DEBUG":
        found.append("LOG_LEVEL must not be DEBUG")
    return found


def refuse_unsafe(env: Mapping[str, str]) -> None:
    """Stops the action server's start (rasa_sdk imports `actions` first) on any refusal."""
    found = refusals(env)
    if found:
        raise SystemExit("Pintu's action server will not start: " + "; ".join(found))
