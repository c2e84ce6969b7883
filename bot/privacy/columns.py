"""Column types that keep personal data encrypted in the database (docs/privacy.md).

Application code reads and writes plain values; the database holds Fernet tokens (text) made with
the process's keyring (`bot.privacy.crypto`). A token differs each time the same value is written,
so SQL cannot compare, sort or search these columns: comparing one raises at once (instead of
silently matching nothing), and lookups go through a keyed-hash column beside it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Dialect, String, Text
from sqlalchemy.sql import ClauseElement, operators
from sqlalchemy.types import TypeDecorator

from .crypto import keyring, lookup_hash

# NULL checks still work: a token is NULL exactly when the value is None.
_ALLOWED = {operators.is_, operators.is_not}


class EncryptedColumnQueried(TypeError):
    """SQL compared or sorted an encrypted column; use its keyed-hash column instead."""


class _Comparator(TypeDecorator.Comparator[Any]):
    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        # Against a Python value (`== x`, `in_([...])`, `like(...)`), or ordering: the mistakes.
        # Against another SQL expression it is allowed: SQLAlchemy itself compares columns so.
        against_values = not other or not all(isinstance(o, ClauseElement) for o in other)
        if op not in _ALLOWED and against_values:
            raise EncryptedColumnQueried(
                f"{self.expr} is encrypted at rest: SQL cannot compare or sort it "
                "(look it up by its keyed hash, see bot/privacy/columns.py)")
        return super().operate(op, *other, **kwargs)

    def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
        return self.operate(op, other, **kwargs)


class EncryptedText(TypeDecorator[str]):
    """A str stored as a Fernet token."""

    impl = Text
    cache_ok = True
    comparator_factory = _Comparator

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring().encrypt_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring().decrypt_text(value)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value (dict, list, ...) stored as the Fernet token of its JSON text."""

    impl = Text
    cache_ok = True
    comparator_factory = _Comparator

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring().encrypt_text(json.dumps(value, ensure_ascii=False,
                                                 separators=(",", ":")))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(keyring().decrypt_text(value))


class KeyedHash(TypeDecorator[str]):
    """A str stored as its keyed hash (LOOKUP_KEY, `purpose`): equality still finds it (the value
    compared with is hashed alike), but reading gives the hash back, never the value. For ids only
    ever looked up, never shown: a channel's message ids, which hold the chat id (a WhatsApp
    `wamid` encodes the number; a Telegram id starts with the chat id)."""

    impl = String
    cache_ok = True

    def __init__(self, purpose: str, length: int) -> None:
        super().__init__(length)
        self.purpose = purpose
        self.length = length

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else lookup_hash(value, self.purpose)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return value
