"""Turns what the resident sent (place names or a shared location) into kecamatan/kelurahan."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nlu import geo

OUTSIDE = ("Lokasi itu berada di luar Kota Tangerang. Pintu hanya menerima laporan di wilayah "
           "Kota Tangerang; untuk wilayah lain silakan gunakan LAPOR! (lapor.go.id).")
UNKNOWN = ("Maaf, lokasinya belum saya kenali. Ketik nama kecamatan dan kelurahan di Kota "
           "Tangerang (contoh: Cipondoh, Poris Plawad), atau kirim lokasi (share location).")


@dataclass(frozen=True)
class LocationResult:
    ok: bool
    label: str = ""
    kecamatan: str | None = None
    kelurahan: str | None = None
    coordinates: dict[str, float] = field(default_factory=dict)
    message: str = ""


def resolve_location(text: str, attachments: Sequence[dict[str, Any]] = ()) -> LocationResult:
    """A shared location wins over typed words; the street part of the text is kept as detail."""
    for item in attachments:
        if item.get("type") == "location" and item.get("latitude") is not None:
            lat, lon = float(item["latitude"]), float(item["longitude"])
            if not geo.inside_city(lat, lon):
                return LocationResult(False, message=OUTSIDE)
            kelurahan, kecamatan, _ = geo.nearest_kelurahan(lat, lon)
            return LocationResult(
                True, f"{kelurahan}, {kecamatan} (lokasi dibagikan)", kecamatan, kelurahan,
                {"latitude": lat, "longitude": lon},
            )
    matches = geo.find_places(text)
    kelurahan = next((m for m in matches if m.kind == "kelurahan"), None)
    kecamatan_match = next((m for m in matches if m.kind == "kecamatan"), None)
    if kelurahan is None and kecamatan_match is None:
        return LocationResult(False, message=UNKNOWN)
    kecamatan = kelurahan.kecamatan if kelurahan else kecamatan_match.name  # type: ignore[union-attr]
    parts = [kelurahan.name] if kelurahan else []
    label = ", ".join([*parts, kecamatan])
    detail = text.strip()
    # Keep the street or landmark the resident typed, once (a stored label re-validates as is).
    if detail.startswith(label):
        label = detail
    elif detail and len(detail) > len(label) + 3:
        label = f"{label} ({detail[:120]})"
    return LocationResult(True, label, kecamatan, kelurahan.name if kelurahan else None)
