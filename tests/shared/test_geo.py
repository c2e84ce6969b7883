"""Kota Tangerang's geography: the data file, place names in messages, shared locations."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nlu import geo

CONTRACT_KECAMATAN = {"Batuceper", "Benda", "Cibodas", "Ciledug", "Cipondoh", "Jatiuwung",
                      "Karangtengah", "Karawaci", "Larangan", "Neglasari", "Periuk", "Pinang",
                      "Tangerang"}


def places(text: str) -> list[tuple[str, str]]:
    return [(m.kind, m.name) for m in geo.find_places(text)]


def test_data_file_has_13_kecamatan_and_104_kelurahan_with_codes_and_centroids() -> None:
    data = geo.load_geo()
    assert {p.name for p in data.kecamatan()} == CONTRACT_KECAMATAN
    assert len(data.kelurahan()) == 104
    assert len({p.name for p in data.kelurahan()}) == 104
    assert sorted(p.code for p in data.kecamatan()) == [f"{i:02d}" for i in range(1, 14)]
    lat_min, lat_max, lon_min, lon_max = data.bbox
    for place in data.places:
        assert lat_min < place.lat < lat_max and lon_min < place.lon < lon_max, place.name


@pytest.mark.parametrize(("code", "name"), [
    ("01", "Tangerang"), ("02", "Jatiuwung"), ("05", "Cipondoh"), ("07", "Karawaci"),
    ("12", "Karangtengah"), ("13", "Larangan"),
])
def test_district_codes_as_used_in_niks(code: str, name: str) -> None:
    assert geo.kecamatan_by_code(code) == name


@pytest.mark.parametrize(("kelurahan", "kecamatan"), [
    ("Cikokol", "Tangerang"), ("Poris Plawad", "Cipondoh"), ("poris plawat", "Cipondoh"),
    ("porisplawad", "Cipondoh"), ("Sudimara Pinang", "Pinang"), ("Sudimara Barat", "Ciledug"),
    ("Jatiuwung", "Cibodas"), ("Panunggangan Barat", "Cibodas"), ("Panunggangan", "Pinang"),
    ("kel. Kreo Selatan", "Larangan"), ("Selapajang Jaya", "Neglasari"), ("nerogtog", "Pinang"),
])
def test_kecamatan_of_a_kelurahan(kelurahan: str, kecamatan: str) -> None:
    assert geo.kecamatan_of(kelurahan) == kecamatan


def test_unknown_kelurahan_has_no_kecamatan() -> None:
    assert geo.kecamatan_of("Menteng") is None
    assert geo.kecamatan_of("") is None


def test_normalize_place_drops_case_punctuation_and_prefix() -> None:
    assert geo.normalize_place("Kec. Karang-Tengah") == "karang tengah"
    assert geo.normalize_place("  KEL.  Poris  Plawad ") == "poris plawad"


@pytest.mark.parametrize(("text", "expected"), [
    ("saya tinggal di cipondok", [("kecamatan", "Cipondoh")]),
    ("karang tengah", [("kecamatan", "Karangtengah")]),
    ("karangtengah", [("kecamatan", "Karangtengah")]),
    ("karang tengh min", [("kecamatan", "Karangtengah")]),
    ("jatiwung", [("kecamatan", "Jatiuwung")]),
    ("jati uwung", [("kecamatan", "Jatiuwung")]),
    ("karawachi", [("kecamatan", "Karawaci")]),
    ("cileduk", [("kecamatan", "Ciledug")]),
    ("aye tinggal di priuk bang", [("kecamatan", "Periuk")]),
    ("kec. batu ceper", [("kecamatan", "Batuceper")]),
    ("porisplawad", [("kelurahan", "Poris Plawad")]),
    ("poris plawat utara", [("kelurahan", "Poris Plawad Utara")]),
    ("kunciran indh", [("kelurahan", "Kunciran Indah")]),
    ("sudimara", [("kecamatan", "Ciledug")]),
    ("sudimara pinang", [("kelurahan", "Sudimara Pinang")]),
    ("kelurahan Cikokol kec Tangerang", [("kelurahan", "Cikokol"), ("kecamatan", "Tangerang")]),
    ("Kreo Selatan, Larangan", [("kelurahan", "Kreo Selatan"), ("kecamatan", "Larangan")]),
    ("kel. Nerogtog, kec. Pinang", [("kelurahan", "Neroktog"), ("kecamatan", "Pinang")]),
])
def test_names_and_misspellings_are_found(text: str, expected: list[tuple[str, str]]) -> None:
    assert places(text) == expected


def test_same_name_is_a_kecamatan_unless_a_kelurahan_cue_comes_first() -> None:
    assert places("cipondoh") == [("kecamatan", "Cipondoh")]
    assert places("kelurahan cipondoh") == [("kelurahan", "Cipondoh")]
    assert places("kel karang tengah") == [("kelurahan", "Karang Tengah")]
    match = geo.find_places("kelurahan jatiuwung")[0]
    assert (match.kind, match.name, match.kecamatan) == ("kelurahan", "Jatiuwung", "Cibodas")


def test_longest_name_wins() -> None:
    assert places("panunggangan barat") == [("kelurahan", "Panunggangan Barat")]
    assert places("karawaci baru") == [("kelurahan", "Karawaci Baru")]


def test_spans_point_at_the_resident_text() -> None:
    text = "Jalan rusak di Kec. Karang-Tengah dekat Pondok Pucung"
    found = geo.find_places(text)
    assert [text[m.start:m.end] for m in found] == ["Karang-Tengah", "Pondok Pucung"]
    assert found[0].score == 1.0
    assert 0 < geo.find_places("cipondok")[0].score < 1.0


@pytest.mark.parametrize("text", [
    "kota tangerang",
    "Saya warga Kota Tangerang",
    "lapor lewat tangerang live",
    "mau pindah domisili ke tangerang",
    "kabupaten tangerang",
    "ada benda asing di jalan",
    "benda saya hilang",
    "larangan parkir di sini",
    "ada petir tadi malam",
    "periuk nasi",
    "buah pinang",
    "pondok baru",
    "cipondoh ya",  # not "cipondoh" + "ya" glued into a longer name
    "belum ada panggilan kerja",  # two letters from "paninggilan"
])
def test_ordinary_words_and_the_city_are_not_districts(text: str) -> None:
    assert ("kecamatan", "Tangerang") not in places(text)
    assert all(name not in {"Benda", "Larangan", "Periuk", "Pinang", "Petir", "Pondok Bahar",
                            "Paninggilan"} for _, name in places(text))


@pytest.mark.parametrize(("text", "name"), [
    ("Tangerang", "Tangerang"),
    ("kecamatan Tangerang", "Tangerang"),
    ("kantor kec Tangerang alamatnya di jl apa", "Tangerang"),
    ("benda", "Benda"),
    ("Benda kak", "Benda"),
    ("warga kecamatan Benda", "Benda"),
    ("kantor camat Benda deket mana", "Benda"),
    ("ktp sy msh alamat lama di Benda", "Benda"),
    ("di mana lokasi puskesmas Larangan?", "Larangan"),
    ("komplek Puri Beta 2, Larangan", "Larangan"),
    ("rs terdekat dr Periuk apa ya", "Periuk"),
    ("Pinang kak", "Pinang"),
])
def test_common_word_names_count_after_a_cue_or_alone(text: str, name: str) -> None:
    assert ("kecamatan", name) in places(text)


def test_nearest_kelurahan_of_each_centroid_is_itself() -> None:
    for place in geo.load_geo().kelurahan():
        kelurahan, kecamatan, km = geo.nearest_kelurahan(place.lat, place.lon)
        assert (kelurahan, kecamatan) == (place.name, place.kecamatan)
        assert km == 0.0
        assert geo.inside_city(place.lat, place.lon)


def test_a_point_between_centroids_goes_to_the_closer_one() -> None:
    kelurahan, kecamatan, km = geo.nearest_kelurahan(-6.1710, 106.6650)  # ~60 m off Poris Plawad
    assert (kelurahan, kecamatan) == ("Poris Plawad", "Cipondoh")
    assert 0 < km < 0.2


@pytest.mark.parametrize(("lat", "lon"), [
    (-6.1754, 106.8272),  # Monas, Jakarta
    (-6.2884, 106.7167),  # Pamulang, Tangerang Selatan
    (-6.2400, 106.6300),  # south of Cibodas, Kabupaten Tangerang
    (-6.9175, 107.6191),  # Bandung
    (0.0, 0.0),
])
def test_points_outside_the_city(lat: float, lon: float) -> None:
    assert not geo.inside_city(lat, lon)


def test_distance_is_in_kilometres() -> None:
    assert geo.distance_km(-6.1, 106.6, -6.1, 106.6) == 0
    assert 110 < geo.distance_km(-6.0, 106.6, -7.0, 106.6) < 112


def test_lookup_tables_are_generated_from_the_data_file(tmp_path: Path) -> None:
    out = tmp_path / "lookups.yml"
    assert geo.main(["--write-lookups", "--out", str(out)]) == 0
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert data["version"] == "3.1"
    tables = {item["lookup"]: item["examples"] for item in data["nlu"]}
    kecamatan = [line[2:] for line in tables["kecamatan"].splitlines()]
    kelurahan = [line[2:] for line in tables["kelurahan"].splitlines()]
    assert set(kecamatan) >= CONTRACT_KECAMATAN
    assert {"cipondok", "karang tengah", "jatiwung", "karawachi", "cileduk"} <= set(kecamatan)
    assert {"Poris Plawad", "porisplawad", "Cikokol"} <= set(kelurahan)
    assert "sudimara" not in kecamatan  # an alias, not a name: it would fire inside kelurahan
    assert len(kelurahan) >= 104


def test_committed_lookups_are_up_to_date() -> None:
    assert geo.LOOKUPS_FILE.read_text(encoding="utf-8") == geo.render_lookups()
