"""Files residents send (photos, PDFs), stored by content hash under MEDIA_DIR.

A stored file is known by its reference `media/<sha256>.<ext>`; messages and complaints keep the
reference, never the bytes. Only file types a city service needs are accepted. Files are
encrypted at rest with the process's keyring (Fernet, the keys of the database's columns:
docs/privacy.md); `open` gives the plain bytes back.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from pathlib import Path

from .privacy.crypto import TOKEN_PREFIX, Keyring, keyring

ACCEPTED = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
}


class MediaRefused(Exception):
    """The file is of a type or size Pintu does not take."""


class MediaStore:
    """Content-addressed files on local disk (private to the gateway's user)."""

    def __init__(self, root: Path, max_bytes: int, keys: Keyring | None = None) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._keys = keys

    @property
    def keys(self) -> Keyring:
        return self._keys or keyring()

    def put(self, content: bytes, mime_type: str | None) -> str:
        """Stores the bytes; returns the reference. Refuses unknown types and oversized files."""
        mime = (mime_type or "").split(";")[0].strip().lower()
        if mime not in ACCEPTED:
            raise MediaRefused(f"type {mime or 'unknown'} not accepted")
        if len(content) > self.max_bytes:
            raise MediaRefused("file too large")
        digest = hashlib.sha256(content).hexdigest()
        name = digest + ACCEPTED[mime]
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.root / name
        if not path.exists():
            tmp = path.with_suffix(".part")
            tmp.write_bytes(self.keys.encrypt(content))
            os.chmod(tmp, 0o600)
            tmp.replace(path)
        return f"media/{name}"

    def open(self, ref: str) -> tuple[bytes, str, str]:
        """The bytes, MIME type and file name of a stored reference."""
        name = Path(ref).name
        if ref != f"media/{name}" or not (self.root / name).is_file():
            raise FileNotFoundError(ref)
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        stored = (self.root / name).read_bytes()
        # A file stored before encryption at rest is plain until `bot.privacy.keys rotate`.
        plain = self.keys.decrypt(stored) if stored.startswith(TOKEN_PREFIX) else stored
        return plain, mime, name
