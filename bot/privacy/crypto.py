"""Encryption at rest (Fernet: AES-128-CBC with HMAC-SHA256, from the `cryptography` package) and
keyed hashes for looking encrypted values up (docs/privacy.md, "Encryption at rest").

One keyring per process, made from the settings: ENCRYPTION_KEYS lists Fernet keys newest first
(the first encrypts, every one decrypts, so a new key can be added before old data is rotated to
it); LOOKUP_KEY is the HMAC key of the lookup hashes. Keys never reach a repr, a log line or an
exception message.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from integrations.agency.privacy import keyed_hash

if TYPE_CHECKING:  # bot.settings imports this module to check the keys it reads
    from ..settings import Settings

# Development keys: fixed so that a development database survives restarts, named so that
# nobody mistakes them for secrets; production refuses both (bot.settings).
DEV_ENCRYPTION_KEY = base64.urlsafe_b64encode(b"pintu-development-key-not-secret").decode()
DEV_LOOKUP_KEY = "dev-lookup-key"
# Every Fernet token starts with its version byte 0x80, "gAAAAA" in base64.
TOKEN_PREFIX = b"gAAAAA"


class DecryptionError(Exception):
    """A stored value none of ENCRYPTION_KEYS decrypts (a key removed too soon, or tampering)."""


def new_key() -> str:
    """A fresh random Fernet key (32 bytes from the OS, url-safe base64)."""
    return Fernet.generate_key().decode()


def parse_keys(listed: str) -> list[str]:
    """The comma-separated keys of ENCRYPTION_KEYS, checked; errors never quote a key."""
    keys = [k.strip() for k in listed.split(",") if k.strip()]
    if not keys:
        raise ValueError("ENCRYPTION_KEYS is empty")
    for position, key in enumerate(keys, start=1):
        try:
            if len(base64.urlsafe_b64decode(key.encode())) != 32:
                raise ValueError
        except (ValueError, binascii.Error):
            raise ValueError(f"ENCRYPTION_KEYS: key {position} is not a Fernet key (32 bytes, "
                             "url-safe base64; `python -m bot.privacy.keys new-key` makes one)"
                             ) from None
    return keys


@contextmanager
def _refused_as_decryption_error() -> Iterator[None]:
    try:
        yield
    except InvalidToken:
        raise DecryptionError("a stored value cannot be decrypted with ENCRYPTION_KEYS") from None


class Keyring:
    """The encryption keys (newest first) and the lookup key of one process."""

    def __init__(self, encryption_keys: list[str], lookup_key: str) -> None:
        self._fernets = [Fernet(k) for k in encryption_keys]
        self._multi = MultiFernet(self._fernets)
        self._lookup_key = lookup_key

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        return cls(parse_keys(settings.encryption_keys.get_secret_value()),
                   settings.lookup_key.get_secret_value())

    def __repr__(self) -> str:
        return f"Keyring({len(self._fernets)} encryption keys)"

    def encrypt(self, data: bytes) -> bytes:
        """A token of `data` under the newest key."""
        return self._multi.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        """The data of a token made under any listed key."""
        with _refused_as_decryption_error():
            return self._multi.decrypt(token)

    def encrypt_text(self, text: str) -> str:
        return self.encrypt(text.encode()).decode("ascii")

    def decrypt_text(self, token: str) -> str:
        return self.decrypt(token.encode("ascii")).decode()

    def is_current(self, token: bytes) -> bool:
        """Whether the newest key made `token` (rotation leaves such tokens alone)."""
        try:
            self._fernets[0].decrypt(token)
        except InvalidToken:
            return False
        return True

    def is_token(self, data: bytes) -> bool:
        """Whether `data` is a token some listed key made (else plain data, or a lost key's)."""
        if not data.startswith(TOKEN_PREFIX):
            return False
        try:
            self._multi.decrypt(data)
        except InvalidToken:
            return False
        return True

    def rotate(self, token: bytes) -> bytes:
        """The same data under the newest key."""
        with _refused_as_decryption_error():
            return self._multi.rotate(token)

    def lookup_hash(self, value: str, purpose: str) -> str:
        """The keyed hash (64 hex digits) a value is looked up by; see `keyed_hash`."""
        return keyed_hash(self._lookup_key, value, purpose)


_active: Keyring | None = None


def configure(settings: Settings) -> Keyring:
    """Makes the keyring of `settings` the process's (the gateway does this at start-up)."""
    global _active
    _active = Keyring.from_settings(settings)
    return _active


def keyring() -> Keyring:
    """The process's keyring; the settings' (`get_settings`) until `configure` is called."""
    from ..settings import get_settings  # at call time: bot.settings imports this module

    return _active if _active is not None else configure(get_settings())


def lookup_hash(value: str, purpose: str) -> str:
    """The keyed hash of `value` under the process's LOOKUP_KEY."""
    return keyring().lookup_hash(value, purpose)
