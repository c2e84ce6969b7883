"""Verification codes for finished documents, checked by anyone on the public page /verifikasi.

A code is `PNT-XXXXX-XXXXX`: nine Crockford base32 symbols (45 bits) taken from an HMAC of the
agency's event under `VERIFICATION_KEY`, and one check symbol (Luhn mod 32) that catches a
mistyped symbol before the database is asked. Crockford's alphabet has no I, L, O or U, and
reading folds I and L to 1 and O to 0, so a code read aloud or copied by hand still works.

Only an HMAC of the code is stored, with what the page may show (the kind of document, the
holder's initials, where it is collected, when it was issued): a copy of the table gives no valid
codes and no personal data. The same event always gives the same code, so a repeated webhook
cannot issue a second one. A forged code fails twice: its check symbol is right only by chance
(1 in 32), and then no stored HMAC matches (1 in 2^45 per guess; the page is rate-limited).

Keys rotate (`VERIFICATION_KEYS`, newest first): new codes are made and stored under the newest
key, checks accept a code stored under any listed key, and an event already coded under an older
key keeps its code. Dropping a key from the list voids the codes issued under it.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import VerificationCode

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ = str.maketrans({"I": "1", "L": "1", "O": "0"})
PREFIX = "PNT"
DATA_SYMBOLS = 9
# One key, or the key ring, newest first: the first makes new codes, all of them check.
Keys = str | Sequence[str]


def ring(keys: Keys) -> list[str]:
    """The keys newest first; a single string is a ring of one."""
    found = [keys] if isinstance(keys, str) else list(keys)
    if not found or not all(found):
        raise ValueError("verification needs at least one non-empty key")
    return found


def _check_symbol(symbols: str) -> str:
    """Luhn mod 32 over the alphabet: every single-symbol error and most swaps change it."""
    total, factor = 0, 2
    for symbol in reversed(symbols):
        addend = factor * ALPHABET.index(symbol)
        total += addend // 32 + addend % 32
        factor = 1 if factor == 2 else 2
    return ALPHABET[(32 - total % 32) % 32]


def make_code(key: str, *, agency: str, kind: str, ref: str, event_id: str) -> str:
    """The code for one agency event that finished a document (the same event, the same code)."""
    digest = hmac.new(key.encode(), f"code|{agency}|{kind}|{ref}|{event_id}".encode(),
                      hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big") >> (64 - 5 * DATA_SYMBOLS)
    data = "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(DATA_SYMBOLS)))
    symbols = data + _check_symbol(data)
    return f"{PREFIX}-{symbols[:5]}-{symbols[5:]}"


def normalize(code: str) -> str | None:
    """The ten symbols of a code as typed ("pnt 3k9x-q...", "PNT-3K9XQ-...", lower case, O for
    0), or None when it cannot be a code (wrong length, foreign symbol, failed check)."""
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    if cleaned.startswith(PREFIX):
        cleaned = cleaned[len(PREFIX):]
    cleaned = cleaned.translate(_READ)
    if len(cleaned) != DATA_SYMBOLS + 1 or any(ch not in ALPHABET for ch in cleaned):
        return None
    if _check_symbol(cleaned[:-1]) != cleaned[-1]:
        return None
    return cleaned


def code_hash(key: str, symbols: str) -> str:
    return hmac.new(key.encode(), f"verify|{symbols}".encode(), hashlib.sha256).hexdigest()


def _stored(session: Session, key: str, code: str) -> VerificationCode | None:
    symbols = normalize(code)
    if symbols is None:
        return None
    return session.scalar(select(VerificationCode).where(
        VerificationCode.code_hash == code_hash(key, symbols)))


def issue(session: Session, keys: Keys, *, agency: str, kind: str, ref: str, event_id: str,
          document_label: str, holder_initials: str, office: str | None,
          issued_at: datetime) -> str:
    """Stores the code of a finished document (once, however often the event comes, and under
    whichever listed key first coded it); the code."""
    newest, *older = ring(keys)
    for key in older:  # the event came again after a rotation: the code it already has
        earlier = make_code(key, agency=agency, kind=kind, ref=ref, event_id=event_id)
        if _stored(session, key, earlier) is not None:
            return earlier
    code = make_code(newest, agency=agency, kind=kind, ref=ref, event_id=event_id)
    if _stored(session, newest, code) is not None:
        return code
    symbols = normalize(code)
    assert symbols is not None
    digest = code_hash(newest, symbols)
    try:
        with session.begin_nested():
            session.add(VerificationCode(
                code_hash=digest, agency=agency, kind=kind, document_label=document_label[:80],
                holder_initials=holder_initials[:16], office=office and office[:120],
                issued_at=issued_at))
    except IntegrityError:
        pass  # the same event handled at once elsewhere: the same code
    return code


@dataclass(frozen=True)
class Verified:
    """What the public page shows of a genuine code."""

    document_label: str
    holder_initials: str
    office: str | None
    issued_at: datetime
    revoked: bool


def check(session: Session, keys: Keys, code: str) -> Verified | None:
    """The document a code belongs to (issued under any listed key), or None for a code that is
    malformed or not issued."""
    symbols = normalize(code)
    if symbols is None:
        return None
    digests = [code_hash(key, symbols) for key in ring(keys)]
    row = session.scalars(select(VerificationCode).where(
        VerificationCode.code_hash.in_(digests))).first()
    if row is None:
        return None
    return Verified(row.document_label, row.holder_initials, row.office, row.issued_at,
                    row.revoked_at is not None)


def page_url(base_url: str, code: str) -> str:
    """The public page that checks `code` (what the QR image encodes)."""
    return f"{base_url.rstrip('/')}/verifikasi?{urlencode({'kode': code})}"


def qr_png(url: str) -> bytes:
    """A QR image of `url`, large enough to scan from a cheap phone's screen."""
    import segno

    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()
