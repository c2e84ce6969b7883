"""LAKSA (complaints, Tangerang Live Room): file a complaint, follow its status."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .base import ServiceClient
from .records import StatusEvent, history, optional_str, parse, parse_date, parse_datetime


@dataclass(frozen=True)
class ComplaintReceipt:
    agency_ref: str
    external_ref: str
    assigned_agency: str
    expected_response_days: int
    status: str
    status_label: str
    created_at: datetime | None
    created: bool  # False when LAKSA already had this external_ref


@dataclass(frozen=True)
class Complaint:
    agency_ref: str
    external_ref: str | None
    category: str
    category_label: str
    kecamatan: str | None
    kelurahan: str | None
    assigned_agency: str
    expected_response_days: int
    respond_by: date | None
    status: str
    status_label: str
    created_at: datetime | None
    updated_at: datetime | None
    history: tuple[StatusEvent, ...]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Complaint:
        return cls(agency_ref=str(d["agency_ref"]),
                   external_ref=optional_str(d.get("external_ref")),
                   category=str(d["category"]), category_label=str(d.get("category_label") or
                                                                   d["category"]),
                   kecamatan=optional_str(d.get("kecamatan")),
                   kelurahan=optional_str(d.get("kelurahan")),
                   assigned_agency=str(d["assigned_agency"]),
                   expected_response_days=int(d["expected_response_days"]),
                   respond_by=parse_date(d.get("respond_by")), status=str(d["status"]),
                   status_label=str(d.get("status_label") or d["status"]),
                   created_at=parse_datetime(d.get("created_at")),
                   updated_at=parse_datetime(d.get("updated_at")),
                   history=history(d.get("history")))


@dataclass(frozen=True)
class ComplaintCategory:
    code: str
    label: str
    assigned_agency: str
    expected_response_days: int


def _receipt(d: dict[str, Any]) -> ComplaintReceipt:
    return ComplaintReceipt(agency_ref=str(d["agency_ref"]), external_ref=str(d["external_ref"]),
                            assigned_agency=str(d["assigned_agency"]),
                            expected_response_days=int(d["expected_response_days"]),
                            status=str(d["status"]),
                            status_label=str(d.get("status_label") or d["status"]),
                            created_at=parse_datetime(d.get("created_at")),
                            created=bool(d.get("created", True)))


class LaksaClient(ServiceClient):
    """LAKSA's API; filing is idempotent on `external_ref`, so it is retried like a GET."""

    service = "laksa"

    async def submit_complaint(self, *, external_ref: str, category: str, description: str,
                               reporter_ref: str, kecamatan: str | None = None,
                               kelurahan: str | None = None, latitude: float | None = None,
                               longitude: float | None = None,
                               photo_refs: Iterable[str] = ()) -> ComplaintReceipt:
        """Files a complaint under our ticket number `external_ref`.

        Args:
            reporter_ref: an opaque id of the resident; never a phone number (LAKSA refuses one).
        """
        body = {"external_ref": external_ref, "category": category, "description": description,
                "kecamatan": kecamatan, "kelurahan": kelurahan, "latitude": latitude,
                "longitude": longitude, "photo_refs": list(photo_refs),
                "reporter_ref": reporter_ref}
        data = await self.http.request("POST", "/laksa/v1/complaints", json=body, idempotent=True)
        return parse(_receipt, data, self.service)

    async def complaint(self, ref: str) -> Complaint:
        """A complaint by LAKSA's `agency_ref` or our `external_ref`."""
        data = await self.http.request("GET", "/laksa/v1/complaints/{ref}",
                                       path_params={"ref": ref.strip()})
        return parse(Complaint.from_json, data, self.service)

    async def categories(self) -> tuple[ComplaintCategory, ...]:
        data = await self.http.request("GET", "/laksa/v1/categories")
        return parse(lambda items: tuple(ComplaintCategory(
            code=str(c["code"]), label=str(c["label"]), assigned_agency=str(c["assigned_agency"]),
            expected_response_days=int(c["expected_response_days"])) for c in items),
            data, self.service)
