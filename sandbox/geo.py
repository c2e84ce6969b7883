"""Kota Tangerang's 13 kecamatan (NIK codes 3671.01-13), their kelurahan and rough centres."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Kecamatan:
    code: str  # the two digits after 3671 in a NIK or KK number
    name: str
    latitude: float
    longitude: float
    kelurahan: tuple[str, ...]


# Centres are approximate (good enough to sort hospitals by distance); 104 kelurahan in all.
KECAMATAN: tuple[Kecamatan, ...] = (
    Kecamatan("01", "Tangerang", -6.1830, 106.6330, (
        "Babakan", "Buaran Indah", "Cikokol", "Kelapa Indah", "Sukaasih", "Sukarasa", "Sukasari",
        "Tanah Tinggi")),
    Kecamatan("02", "Jatiuwung", -6.1960, 106.5900, (
        "Alam Jaya", "Gandasari", "Jatake", "Keroncong", "Manis Jaya", "Pasir Jaya")),
    Kecamatan("03", "Batuceper", -6.1630, 106.6560, (
        "Batuceper", "Batujaya", "Batusari", "Kebon Besar", "Poris Gaga", "Poris Gaga Baru",
        "Poris Jaya")),
    Kecamatan("04", "Benda", -6.1280, 106.6680, (
        "Belendung", "Benda", "Jurumudi", "Jurumudi Baru", "Pajang")),
    Kecamatan("05", "Cipondoh", -6.1850, 106.6880, (
        "Cipondoh", "Cipondoh Indah", "Cipondoh Makmur", "Gondrong", "Kenanga", "Ketapang",
        "Petir", "Poris Plawad", "Poris Plawad Indah", "Poris Plawad Utara")),
    Kecamatan("06", "Ciledug", -6.2330, 106.7120, (
        "Paninggilan", "Paninggilan Utara", "Parung Serab", "Sudimara Barat", "Sudimara Jaya",
        "Sudimara Selatan", "Sudimara Timur", "Tajur")),
    Kecamatan("07", "Karawaci", -6.1880, 106.6130, (
        "Bojong Jaya", "Bugel", "Cimone", "Cimone Jaya", "Gerendeng", "Karawaci",
        "Karawaci Baru", "Koang Jaya", "Margasari", "Nambo Jaya", "Nusa Jaya", "Pabuaran",
        "Pabuaran Tumpeng", "Pasar Baru", "Sukajadi", "Sumur Pancing")),
    Kecamatan("08", "Periuk", -6.1700, 106.5930, (
        "Gebang Raya", "Gembor", "Periuk", "Periuk Jaya", "Sangiang Jaya")),
    Kecamatan("09", "Cibodas", -6.2050, 106.6100, (
        "Cibodas", "Cibodas Baru", "Cibodasari", "Jatiuwung", "Panunggangan Barat",
        "Uwung Jaya")),
    Kecamatan("10", "Neglasari", -6.1420, 106.6350, (
        "Karang Anyar", "Karangsari", "Kedaung Baru", "Kedaung Wetan", "Mekarsari", "Neglasari",
        "Selapajang Jaya")),
    Kecamatan("11", "Pinang", -6.2170, 106.6650, (
        "Cipete", "Kunciran", "Kunciran Indah", "Kunciran Jaya", "Nerogtog", "Pakojan",
        "Panunggangan", "Panunggangan Timur", "Panunggangan Utara", "Pinang", "Sudimara Pinang")),
    Kecamatan("12", "Karangtengah", -6.2150, 106.7100, (
        "Karang Mulya", "Karang Tengah", "Karang Timur", "Parung Jaya", "Pedurenan",
        "Pondok Bahar", "Pondok Pucung")),
    Kecamatan("13", "Larangan", -6.2380, 106.7330, (
        "Cipadu", "Cipadu Jaya", "Gaga", "Kereo", "Kereo Selatan", "Larangan Indah",
        "Larangan Selatan", "Larangan Utara")),
)
BY_CODE = {k.code: k for k in KECAMATAN}


def _key(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower().removeprefix("kecamatan").removeprefix("kec."))


_BY_KEY = {_key(k.name): k for k in KECAMATAN}


def find_kecamatan(name: str | None) -> Kecamatan | None:
    """The kecamatan named, forgiving case, spaces and a "Kecamatan" prefix ("karang tengah")."""
    if not name:
        return None
    return _BY_KEY.get(_key(name.strip()))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))
