"""Kota Tangerang's kecamatan and kelurahan: names as residents write them, and where they are.

Pure Python (stdlib + PyYAML), imported by the Rasa component, the actions and the gateway. The data
lives in data/geo/kota_tangerang.yml; `python -m nlu.geo --write-lookups` turns it into the Rasa
lookup tables in data/nlu/lookups.yml.

Place names are matched token by token: exact names and known variants first ("poris plawad",
"porisplawad", "cileduk"), then small typos in longer names ("cipondok", "karang tengh"). Names that
are also ordinary words ("benda asing", "petir", "larangan parkir") or the city's own name ("Kota
Tangerang") only count after a place cue or when the whole message is the name.
"""

from __future__ import annotations

import argparse
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
GEO_FILE = ROOT / "data" / "geo" / "kota_tangerang.yml"
LOOKUPS_FILE = ROOT / "data" / "nlu" / "lookups.yml"

KECAMATAN = "kecamatan"
KELURAHAN = "kelurahan"
_TOKEN = re.compile(r"[0-9A-Za-z]+")
_ADMIN_PREFIX = re.compile(r"^(?:kecamatan|kec|kelurahan|kel|desa|ds)\s+")
# A word right before a name that says "this is a place". Strong cues name the level.
_KEC_CUES = frozenset({"kec", "kecamatan", "camat", "kecamatannya"})
_KEL_CUES = frozenset({"kel", "kelurahan", "lurah", "desa", "ds", "kelurahannya"})
_WEAK_CUES = frozenset({
    "di", "daerah", "dari", "dr", "ke", "warga", "wilayah", "wil", "sekitar", "dekat", "dkt",
    "deket", "depan", "dpn", "belakang", "samping", "sebelah", "kawasan", "area", "puskesmas",
    "pkm", "zona", "lokasi", "alamat", "domisili", "polsek", "koramil", "kua",
})
# Words that may surround a bare name in a short answer ("Pinang kak", "kec. Benda ya").
_FILLERS = frozenset({
    "kak", "ka", "kakak", "min", "mimin", "admin", "pak", "bu", "bapak", "ibu", "mas", "mbak",
    "mba", "gan", "bang", "sis", "bro", "ya", "iya", "yaa", "yah", "sih", "dong", "deh", "nih",
    "aja", "saja", "kok", "tuh", "lho", "loh", "kec", "kecamatan", "kel", "kelurahan", "desa",
    "di", "daerah", "wilayah", "saya", "sy", "aku", "aye", "gue", "gw", "kami", "tinggal",
    "domisili", "alamat", "dari", "dr", "warga", "yang", "yg", "kota", "tangerang", "kab",
    "kabupaten", "banten", "tng", "tgr", "terima", "kasih", "makasih", "mksh", "tks",
})


@dataclass(frozen=True)
class Place:
    """One kecamatan or kelurahan as the data file describes it."""

    kind: str
    name: str
    kecamatan: str
    code: str  # kecamatan "05"; kelurahan "05.1008" (district code + kelurahan number)
    lat: float
    lon: float
    forms: tuple[tuple[str, ...], ...]  # token forms: the name first, then its variants
    aliases: frozenset[tuple[str, ...]]  # forms matched but not written to the lookup tables
    official: tuple[tuple[str, ...], ...]  # name and official name: the only forms typos approach
    common_word: bool
    not_followed_by: frozenset[str]
    radius_km: float


@dataclass(frozen=True)
class PlaceMatch:
    """A place found in a message: character span, canonical name and how sure the match is."""

    kind: str
    name: str
    kecamatan: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Geo:
    """The loaded data file with its indexes (build it with `load_geo`)."""

    places: tuple[Place, ...]
    bbox: tuple[float, float, float, float]  # lat_min, lat_max, lon_min, lon_max
    city_prefixes: frozenset[str]
    city_words: frozenset[str]  # the city's own name ("tangerang"): a kecamatan only after "kec"
    exact: dict[str, tuple[tuple[Place, float], ...]]  # joined form -> places with their score
    max_tokens: int

    def kecamatan(self) -> list[Place]:
        return [p for p in self.places if p.kind == KECAMATAN]

    def kelurahan(self) -> list[Place]:
        return [p for p in self.places if p.kind == KELURAHAN]


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.lower() for w in _TOKEN.findall(_fold(text)))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def normalize_place(text: str) -> str:
    """Lower-case words without punctuation or an administrative prefix: "Kec. Karang-Tengah" ->
    "karang tengah"."""
    joined = " ".join(_words(text))
    return _ADMIN_PREFIX.sub("", joined).strip()


def _place(kind: str, raw: dict[str, Any], kecamatan: str, code: str, radius: float) -> Place:
    aliases = [str(a) for a in raw.get("aliases") or ()]
    names = [raw["name"], raw.get("official_name") or raw["name"], *(raw.get("variants") or []),
             *aliases]
    forms: list[tuple[str, ...]] = []
    for name in names:
        form = _words(str(name))
        if form and form not in forms:
            forms.append(form)
    return Place(
        kind=kind, name=raw["name"], kecamatan=kecamatan, code=code,
        lat=float(raw["lat"]), lon=float(raw["lon"]), forms=tuple(forms),
        aliases=frozenset(_words(a) for a in aliases),
        official=tuple(dict.fromkeys(_words(str(n)) for n in names[:2])),
        common_word=bool(raw.get("common_word", False)),
        not_followed_by=frozenset(str(w).lower() for w in raw.get("not_followed_by") or ()),
        radius_km=float(raw.get("radius_km", radius)),
    )


@lru_cache(maxsize=4)
def load_geo(path: Path = GEO_FILE) -> Geo:
    """Reads and indexes the geography file once per path."""
    with Path(path).open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    city = data["city"]
    radius = float(city.get("default_radius_km", 1.8))
    places: list[Place] = []
    for kec in data["kecamatan"]:
        places.append(_place(KECAMATAN, kec, kec["name"], str(kec["code"]), radius))
        for kel in kec["kelurahan"]:
            code = f"{kec['code']}.{kel['code']}"
            places.append(_place(KELURAHAN, kel, kec["name"], code, radius))
    exact: dict[str, list[tuple[Place, float]]] = {}
    for place in places:
        for form in place.forms:
            score = 1.0 if form in place.official else 0.95
            bucket = exact.setdefault("".join(form), [])
            if all(p is not place for p, _ in bucket):
                bucket.append((place, score))
    bbox = city["bbox"]
    return Geo(
        places=tuple(places),
        bbox=(bbox["lat_min"], bbox["lat_max"], bbox["lon_min"], bbox["lon_max"]),
        city_prefixes=frozenset(str(w).lower() for w in city.get("city_prefixes") or ()),
        city_words=frozenset(_words(str(city["name"]))[-1:]),
        exact={key: tuple(value) for key, value in exact.items()},
        max_tokens=max(len(form) for p in places for form in p.forms),
    )


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or limit + 1 as soon as it must exceed limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _token_allowance(word: str) -> int:
    return 0 if len(word) <= 4 else 1 if len(word) <= 7 else 2


def _single_allowance(word: str, lenient: bool) -> int:
    if lenient:
        return 0 if len(word) < 5 else 1 if len(word) < 8 else 2
    return 0 if len(word) < 7 else 1 if len(word) < 10 else 2


def _fuzzy_distance(words: Sequence[str], form: Sequence[str], lenient: bool) -> int | None:
    """Edits between a span and a name form, or None when it is too far to be a typo."""
    if len(words) == len(form):
        total = 0
        for word, target in zip(words, form, strict=True):
            if word == target:
                continue
            if word[0] != target[0]:
                return None
            allowed = (_single_allowance(target, lenient) if len(form) == 1
                       else _token_allowance(target))
            edits = _distance(word, target, allowed)
            if edits > allowed or (edits == 2 and abs(len(word) - len(target)) > 1):
                return None
            total += edits
        return total if total <= 2 else None
    joined, target_joined = "".join(words), "".join(form)
    # Joined/split writing ("jati wung", "porisplawat"); short pieces are other words ("... ya").
    if min(len(w) for w in words) < 3 or joined[0] != target_joined[0] or len(target_joined) < 8:
        return None
    limit = 2 if lenient else 1
    edits = _distance(joined, target_joined, limit)
    return edits if edits <= limit else None


def _candidates(geo: Geo, words: Sequence[str], lenient: bool = False) -> list[tuple[Place, float]]:
    """Places whose name or variant this token span is (exactly, or with a small typo)."""
    found = list(geo.exact.get("".join(words), ()))
    if found or any(w.isdigit() for w in words):
        return found
    best: dict[int, tuple[Place, float]] = {}
    for place in geo.places:
        if place.common_word:
            continue
        for form in place.official:  # a typo of a known misspelling is too far
            edits = _fuzzy_distance(words, form, lenient)
            if edits is None:
                continue
            score = round(0.9 - 0.1 * (edits - 1), 2)
            if id(place) not in best or best[id(place)][1] < score:
                best[id(place)] = (place, score)
    return list(best.values())


@dataclass(frozen=True)
class _Span:
    first: int  # token indexes, end exclusive
    last: int
    options: tuple[tuple[Place, float], ...]


def _choose(options: Iterable[tuple[Place, float]], previous: str) -> tuple[Place, float]:
    """One reading for a span: a kelurahan after a kelurahan cue, else a kecamatan if possible."""
    ranked = sorted(options, key=lambda o: -o[1])
    wanted = KELURAHAN if previous in _KEL_CUES else KECAMATAN
    for place, score in ranked:
        if place.kind == wanted:
            return place, score
    return ranked[0]


def _accepts_common(geo: Geo, place: Place, words: Sequence[str], span: _Span,
                    gap_has_comma: bool, after_place: bool) -> bool:
    """A name that is also an ordinary word (or the city) needs a cue or must stand alone."""
    previous = words[span.first - 1] if span.first > 0 else ""
    following = words[span.last] if span.last < len(words) else ""
    rest = [w for i, w in enumerate(words) if not span.first <= i < span.last]
    if all(w in _FILLERS for w in rest) and previous not in geo.city_prefixes:
        return True
    if place.kind == KECAMATAN and place.forms[0][-1] in geo.city_words:
        # "Kota Tangerang", "Tangerang LIVE", "di Tangerang": the city, not the district.
        return previous in _KEC_CUES
    if previous in _KEC_CUES or previous in _KEL_CUES:
        return True
    if following in place.not_followed_by:
        return False
    return previous in _WEAK_CUES or gap_has_comma or after_place


def find_places(text: str) -> list[PlaceMatch]:
    """Kecamatan and kelurahan named in a message, left to right, spans never overlapping."""
    geo = load_geo()
    tokens = [(m.group().lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    words = [_fold(word) for word, _, _ in tokens]
    spans: list[_Span] = []
    for first in range(len(words)):
        for size in range(min(geo.max_tokens, len(words) - first), 0, -1):
            options = _candidates(geo, words[first:first + size])
            if options:
                spans.append(_Span(first, first + size, tuple(options)))
    # Longest spans first, then the surest; a common word waits until its neighbours are known.
    spans.sort(key=lambda s: (-(s.last - s.first), -max(score for _, score in s.options), s.first))
    taken: dict[int, PlaceMatch] = {}
    used: set[int] = set()
    for plain_pass in (True, False):
        for span in spans:
            if used.intersection(range(span.first, span.last)):
                continue
            previous = words[span.first - 1] if span.first > 0 else ""
            place, score = _choose(span.options, previous)
            if place.common_word == plain_pass:
                continue
            if place.common_word:
                gap = text[tokens[span.first - 1][2]:tokens[span.first][1]] if span.first else ""
                after = (span.first - 1) in taken
                if not _accepts_common(geo, place, words, span, "," in gap or "/" in gap, after):
                    continue
            match = PlaceMatch(place.kind, place.name, place.kecamatan,
                               tokens[span.first][1], tokens[span.last - 1][2], score)
            used.update(range(span.first, span.last))
            taken[span.last - 1] = match
    return sorted(taken.values(), key=lambda m: m.start)


def resolve_place(name: str, kind: str | None = None, lenient: bool = False) -> Place | None:
    """The place a bare name means ("cipondok" -> Cipondoh), preferring `kind` when both exist."""
    geo = load_geo()
    words = normalize_place(name).split()
    if not words:
        return None
    options = _candidates(geo, words, lenient=lenient)
    if not options:
        return None
    ranked = sorted(options, key=lambda o: (-o[1], o[0].kind != (kind or KECAMATAN)))
    return ranked[0][0]


def kecamatan_of(kelurahan: str) -> str | None:
    """The kecamatan a kelurahan belongs to, for any spelling of the kelurahan; None if unknown."""
    geo = load_geo()
    words = normalize_place(kelurahan).split()
    if not words:
        return None
    options = [(p, s) for p, s in _candidates(geo, words) if p.kind == KELURAHAN]
    return max(options, key=lambda o: o[1])[0].kecamatan if options else None


def kecamatan_by_code(code: str) -> str | None:
    """The kecamatan with this 2-digit Kemendagri district code ("05" -> "Cipondoh")."""
    return next((p.name for p in load_geo().kecamatan() if p.code == code), None)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def _nearest(lat: float, lon: float) -> tuple[Place, float]:
    return min(((p, distance_km(lat, lon, p.lat, p.lon)) for p in load_geo().kelurahan()),
               key=lambda pair: pair[1])


def nearest_kelurahan(lat: float, lon: float) -> tuple[str, str, float]:
    """(kelurahan, kecamatan, distance in km) of the kelurahan centroid closest to a point."""
    place, km = _nearest(lat, lon)
    return place.name, place.kecamatan, round(km, 3)


def inside_city(lat: float, lon: float) -> bool:
    """Whether a point lies in Kota Tangerang: inside the city's box and near a kelurahan.

    An approximation without boundary polygons: a point within a kelurahan's radius of its centroid
    counts as inside, so the first kilometre or two across the Jakarta border may too.
    """
    geo = load_geo()
    lat_min, lat_max, lon_min, lon_max = geo.bbox
    if not (lat_min <= lat <= lat_max and lon_min <= lon <= lon_max):
        return False
    place, km = _nearest(lat, lon)
    return km <= place.radius_km


def lookup_entries(kind: str) -> list[str]:
    """Every spelling of the kecamatan or kelurahan names, for the Rasa lookup tables."""
    entries: list[str] = []
    for place in load_geo().places:
        if place.kind != kind:
            continue
        forms = [form for form in place.forms if form not in place.aliases]
        spellings = [place.name, *(" ".join(form) for form in forms[1:])]
        spellings += ["".join(form) for form in forms if len(form) > 1]
        for spelling in spellings:
            if spelling.lower() not in {e.lower() for e in entries}:
                entries.append(spelling)
    return entries


def render_lookups() -> str:
    """The text of data/nlu/lookups.yml."""
    lines = [
        "# Generated by `python -m nlu.geo --write-lookups` from data/geo/kota_tangerang.yml;",
        "# edit that file (names, variants) and regenerate instead of editing this one.",
        'version: "3.1"',
        "nlu:",
    ]
    for kind in (KECAMATAN, KELURAHAN):
        lines += [f"- lookup: {kind}", "  examples: |"]
        lines += [f"    - {entry}" for entry in lookup_entries(kind)]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlu.geo", description=__doc__.splitlines()[0])
    parser.add_argument("--write-lookups", action="store_true",
                        help="write the kecamatan/kelurahan lookup tables for Rasa")
    parser.add_argument("--out", type=Path, default=LOOKUPS_FILE, help="lookups file to write")
    args = parser.parse_args(argv)
    if not args.write_lookups:
        parser.print_help()
        return 2
    args.out.write_text(render_lookups(), encoding="utf-8")
    geo = load_geo()
    print(f"wrote {args.out}: {len(geo.kecamatan())} kecamatan, {len(geo.kelurahan())} kelurahan")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
