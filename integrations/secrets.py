"""What production refuses as a secret, in one place for the gateway (`bot/settings.py`) and the
action server (`actions/production.py`), which run in different environments."""

from __future__ import annotations

PLACEHOLDERS = frozenset({"", "changeme", "change-me", "secret", "placeholder", "xxx", "todo"})
LOOKUP_KEY_MIN_LENGTH = 32  # shorter keys could be guessed, and with them every lookup hash


def is_placeholder(value: str | None) -> bool:
    """Empty, a word such as "changeme", or a development default (`dev-...`)."""
    value = (value or "").strip()
    return value.lower() in PLACEHOLDERS or value.startswith("dev-")


def weak_lookup_key(key: str | None) -> bool:
    """A placeholder or short LOOKUP_KEY (the key of every NIK's and number's keyed hash)."""
    return is_placeholder(key) or len((key or "").strip()) < LOOKUP_KEY_MIN_LENGTH
