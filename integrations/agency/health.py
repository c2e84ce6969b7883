"""Health: free hospital beds per class."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .base import ServiceClient
from .records import optional_str, parse, parse_datetime


@dataclass(frozen=True)
class BedAvailability:
    bed_class: str  # vip, kelas_1, kelas_2, kelas_3, icu, nicu, picu, isolasi
    label: str  # "Kelas 3", "ICU": what to show
    capacity: int
    free: int


@dataclass(frozen=True)
class Hospital:
    code: str
    name: str
    kind: str
    kecamatan: str
    phone: str | None
    distance_km: float | None  # from the kecamatan asked for
    total_free: int
    beds: tuple[BedAvailability, ...]
    updated_at: datetime | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Hospital:
        beds = tuple(BedAvailability(str(b["bed_class"]), str(b.get("label") or b["bed_class"]),
                                     int(b["capacity"]), int(b["free"])) for b in d["beds"])
        distance = d.get("distance_km")
        return cls(code=str(d["code"]), name=str(d["name"]), kind=str(d.get("kind") or ""),
                   kecamatan=str(d.get("kecamatan") or ""), phone=optional_str(d.get("phone")),
                   distance_km=None if distance is None else float(distance),
                   total_free=int(d.get("total_free", sum(b.free for b in beds))), beds=beds,
                   updated_at=parse_datetime(d.get("updated_at")))


class HealthClient(ServiceClient):
    """Free hospital beds."""

    service = "health"

    async def free_beds(self, kecamatan: str | None = None) -> tuple[Hospital, ...]:
        """All hospitals, or those within about 6 km of `kecamatan`, nearest first.

        Raises:
            AgencyRejected: code unknown_kecamatan when the name is not one of the 13.
        """
        data = await self.http.request("GET", "/health/v1/beds", params={"kecamatan": kecamatan})
        return parse(lambda d: tuple(Hospital.from_json(h) for h in d["hospitals"]), data,
                     self.service)
