"""What every agency router shares: dependencies, the history item, opaque-reference checks."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Protocol

from fastapi import Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ..catalog import label
from ..clock import wib
from ..db import get_session
from ..errors import ApiError

SessionDep = Annotated[Session, Depends(get_session)]
Nik = Annotated[str, Field(pattern=r"^\d{16}$", description="16 digits",
                           examples=["3671051207800002"])]
KkNumber = Annotated[str, Field(pattern=r"^\d{16}$", description="16 digits",
                                examples=["3671051403150007"])]


def _now(request: Request) -> datetime:
    return request.app.state.clock()


def _lock(request: Request) -> threading.Lock:
    return request.app.state.write_lock


NowDep = Annotated[datetime, Depends(_now)]
# Numbers (complaint refs, queue numbers) are allocated under this lock: one sandbox process.
LockDep = Annotated[threading.Lock, Depends(_lock)]


class HistoryItem(BaseModel):
    status: str
    status_label: str
    at: datetime
    note: str
    photo_refs: list[str] = Field(default_factory=list)


class _Event(Protocol):
    status: str
    at: datetime
    note: str


def history(events: Iterable[_Event], labels: dict[str, str]) -> list[HistoryItem]:
    """Oldest first, times in WIB."""
    return [HistoryItem(status=e.status, status_label=label(labels, e.status), at=wib(e.at),
                        note=e.note, photo_refs=list(getattr(e, "photo_refs", None) or []))
            for e in events]


_PHONE = re.compile(r"^(\+?62|0)8\d{7,12}$")
_NIK = re.compile(r"^\d{16}$")


def opaque_ref(value: str, field: str) -> str:
    """Refuses references that are plainly a phone number or a NIK: agencies get opaque ids."""
    compact = re.sub(r"[\s().-]", "", value)
    if _PHONE.match(compact) or _NIK.match(compact):
        raise ApiError(422, "personal_data_in_ref",
                       f"{field} harus berupa kode acak, bukan nomor telepon atau NIK.")
    return value

