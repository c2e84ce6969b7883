"""The knowledge base under data/kb: what residents are told, and how staff edits are checked."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from actions.kb import (
    ASPECTS,
    DEFAULT_DIRECTORY,
    DOCUMENTS,
    KECAMATAN,
    MAX_ANSWER_CHARS,
    KnowledgeBase,
    KnowledgeBaseError,
)

FREE = "Gratis, tidak dipungut biaya"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The knowledge base is local files only; any connection attempt fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("test_kb must not use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def assert_plain(text: str) -> None:
    assert text.strip() == text and text
    assert len(text) <= MAX_ANSWER_CHARS, f"{len(text)} characters: {text[:80]}..."
    assert "*" not in text and "|" not in text and "`" not in text
    assert not any(line.lstrip().startswith(("- ", "• ", "#")) for line in text.splitlines())


def every_answer(kb: KnowledgeBase) -> list[tuple[str, str, str]]:
    return [(d.id, c.id, a) for d in kb.documents() for c in d.cases for a in ASPECTS]


# ----------------------------------------------------------------------------- documents
def test_default_load_reads_the_repository_files(kb: KnowledgeBase) -> None:
    assert Path(__file__).resolve().parents[2] / "data" / "kb" == DEFAULT_DIRECTORY
    assert [d.id for d in kb.documents()][: len(DOCUMENTS)] == list(DOCUMENTS)
    assert KnowledgeBase.load(str(DEFAULT_DIRECTORY)).document("ktp") == kb.document("ktp")


@pytest.mark.parametrize(
    ("document", "cases"),
    [
        ("ktp", {"baru", "hilang", "rusak", "perubahan_data"}),
        ("kk", {"baru", "hilang", "rusak", "perubahan_data", "tambah_anggota", "pisah_kk"}),
        ("akta_kelahiran", {"baru", "terlambat", "online", "hilang", "rusak", "perubahan_data"}),
        ("akta_kematian", {"baru", "hilang", "rusak", "perubahan_data"}),
        ("pindah", {"pindah_keluar", "pindah_datang"}),
    ],
)
def test_each_document_offers_the_cases_residents_ask_about(
    kb: KnowledgeBase, document: str, cases: set[str]
) -> None:
    offered = kb.document_cases(document)
    assert cases <= {case_id for case_id, _ in offered}
    assert offered[0][0] == kb.document(document).default_case
    assert all(label for _, label in offered)


def test_every_document_case_and_aspect_answers_in_plain_short_text(kb: KnowledgeBase) -> None:
    combinations = every_answer(kb)
    assert len(combinations) >= 5 * 4 * len(ASPECTS)
    for document, case, aspect in combinations:
        assert_plain(kb.document_answer(document, case, aspect))


def test_every_cost_answer_says_free_and_warns_against_illegal_levies(kb: KnowledgeBase) -> None:
    for document, case, _ in every_answer(kb):
        cost = kb.document_answer(document, case, "biaya")
        assert cost.startswith(FREE)
        assert "pungli" in cost.lower()


def test_no_case_means_the_default_case(kb: KnowledgeBase) -> None:
    assert kb.document_answer("ktp", None, "persyaratan") == kb.document_answer(
        "ktp", "baru", "persyaratan")
    assert "SKPWNI" in kb.document_answer("pindah", None, "persyaratan")


def test_answers_differ_where_the_case_matters(kb: KnowledgeBase) -> None:
    assert "kepolisian" in kb.document_answer("ktp", "hilang", "persyaratan")
    assert "1 hari kerja" in kb.document_answer("ktp", None, "lama")
    assert "1-3 hari kerja" in kb.document_answer("kk", None, "lama")
    assert "pengadilan" in kb.document_answer("akta_kelahiran", "terlambat", "persyaratan")
    assert "akta online" in kb.document_answer("akta_kelahiran", "online", "prosedur")
    assert "Cisadane" in kb.document_answer("kk", "baru", "tempat")


@pytest.mark.parametrize(
    ("document", "case", "aspect"),
    [("paspor", None, "biaya"), ("ktp", "dicuri", "biaya"), ("ktp", None, "harga")],
)
def test_unknown_document_case_or_aspect_is_a_key_error(
    kb: KnowledgeBase, document: str, case: str | None, aspect: str
) -> None:
    with pytest.raises(KeyError):
        kb.document_answer(document, case, aspect)


@pytest.mark.parametrize(
    ("document", "text", "case"),
    [
        ("ktp", "KTP saya hilang waktu di pasar", "hilang"),
        ("ktp", "ktp sy patah min gmn", "rusak"),
        ("ktp", "anak saya baru 17 tahun mau bikin ktp", "baru"),
        ("kk", "mau masukin bayi ke kk", "tambah_anggota"),
        ("kk", "mau pisah kk dari orang tua", "pisah_kk"),
        ("akta_kelahiran", "bikin akta telat, anak sudah 5 tahun", "terlambat"),
        ("akta_kelahiran", "bisa urus akta online dari rumah?", "online"),
        ("pindah", "mau pindah datang dari Bandung", "pindah_datang"),
        ("ktp", "KTP baru saya hilang", "hilang"),
        ("ktp", "berapa lama prosesnya", None),
    ],
)
def test_detect_case_from_the_residents_words(
    kb: KnowledgeBase, document: str, text: str, case: str | None
) -> None:
    assert kb.detect_case(document, text) == case


# ----------------------------------------------------------------------------- topics
@pytest.mark.parametrize(
    "topic_id",
    ["kesehatan", "pajak", "kerja", "sekolah", "akun", "berlangganan", "pengaduan",
     "tempat_tidur", "ambulans", "pbb", "bphtb", "pdam", "cara_bayar", "tunggakan",
     "kartu_kuning", "cakap_kerja", "job_fair", "pelatihan_kerja", "jalur_domisili",
     "jalur_afirmasi", "jalur_prestasi", "jalur_mutasi", "daftar_akun", "akun_ditolak"],
)
def test_service_topics_exist_and_read_well(kb: KnowledgeBase, topic_id: str) -> None:
    topic = kb.topic(topic_id)
    assert topic.title
    assert_plain(topic.text)


def test_topic_options_unpack_as_topic_and_label_and_lead_somewhere(kb: KnowledgeBase) -> None:
    for topic in kb.topics():
        for target, label in topic.options:
            assert kb.topic(target).id == target
            assert label


def test_topics_carry_the_facts_from_the_sop(kb: KnowledgeBase) -> None:
    assert "1x24 jam" in kb.topic("verifikasi_akun").text
    assert "swafoto" in kb.topic("daftar_akun").text
    assert "NOP" in kb.topic("pbb").text
    assert "30 September" in kb.topic("pbb").text
    assert "112" in kb.topic("ambulans").text


# ----------------------------------------------------------------------------- offices
def test_all_thirteen_kecamatan_have_an_office(kb: KnowledgeBase) -> None:
    have = {o.kecamatan for o in kb.kecamatan_offices()}
    assert have == set(KECAMATAN) and len(KECAMATAN) == 13
    for name in KECAMATAN:
        office = kb.office(f"kec_{name.lower()}")
        assert office is not None and office.kecamatan == name


@pytest.mark.parametrize(
    "office_id", ["disdukcapil", "mpp", "bapenda", "pdam", "disnaker", "disdik", "dinkes", "rsud"])
def test_city_offices_exist_with_address_hours_and_services(
    kb: KnowledgeBase, office_id: str
) -> None:
    office = kb.office(office_id)
    assert office is not None and office in kb.main_offices()
    assert office.address and office.hours and office.services
    assert isinstance(office.verified, bool)
    assert_plain(office.text())


def test_unverified_office_data_says_so(kb: KnowledgeBase) -> None:
    for office in kb.offices():
        assert (office.notice in office.text()) and (bool(office.notice) is not office.verified)


@pytest.mark.parametrize(
    ("text", "office_id"),
    [
        ("jam buka kantor kecamatan cipondoh", "kec_cipondoh"),
        ("alamat kecamatan Karang Tengah dimana ya", "kec_karangtengah"),
        ("kantor camat priuk buka jam berapa", "kec_periuk"),
        ("kecamatan cipondok", "kec_cipondoh"),
        ("kec tangerang", "kec_tangerang"),
        ("jam buka dukcapil kota tangerang", "disdukcapil"),
        ("MPP buka hari sabtu?", "mpp"),
        ("alamat kantor pajak pbb", "bapenda"),
        ("kantor PDAM Tirta Benteng dimana", "pdam"),
        ("mau bikin kartu kuning ke disnaker", "disnaker"),
    ],
)
def test_find_office_from_a_message(kb: KnowledgeBase, text: str, office_id: str) -> None:
    office = kb.find_office(text)
    assert office is not None and office.id == office_id


def test_find_office_returns_none_when_no_office_is_named(kb: KnowledgeBase) -> None:
    assert kb.find_office("resep nasi goreng enak") is None
    assert kb.find_office("Kota Tangerang") is None
    assert kb.office("tidak_ada") is None


# ----------------------------------------------------------------------------- emergency
def test_emergency_text_lists_free_numbers_and_safety_steps(kb: KnowledgeBase) -> None:
    text = kb.emergency_text()
    assert_plain(text)
    for number in ("112", "119", "113", "110"):
        assert number in text
    assert "PMI" in text and "gratis" in text
    assert text.splitlines()[1].startswith("1. 112")
    assert "Saat menelepon" in text
    by_id = {c.id: c for c in kb.emergency_contacts()}
    assert by_id["tangerang_siaga"].number == "112" and by_id["tangerang_siaga"].free
    assert by_id["ambulans"].free


# ----------------------------------------------------------------------------- complaints
@pytest.mark.parametrize(
    ("text", "category", "agency"),
    [
        ("jalan depan rumah saya rusak parah banyak lubang", "jalan_rusak", "dpupr"),
        ("jln bolong2 di gang mawar bahaya buat motor", "jalan_rusak", "dpupr"),
        ("sampah numpuk udh seminggu gak diangkut", "sampah", "dlh"),
        ("lampu jalan mati di gang kami, gelap banget", "lampu_jalan", "dishub"),
        ("PJU depan masjid padam", "lampu_jalan", "dishub"),
        ("rumah kebanjiran, got mampet", "banjir", "dpupr"),
        ("petugas kelurahan minta uang 100 ribu biar ktp cepat jadi", "pungli", "inspektorat"),
        ("ada calo di kantor dukcapil", "pungli", "inspektorat"),
        ("pelayanan di kecamatan lama banget, antrian panjang", "pelayanan_lambat", "tlr"),
        ("KK saya belum jadi sudah 2 minggu", "pelayanan_lambat", "tlr"),
        ("air pdam mati sudah lama", "air_pdam", "pdam"),
        ("air keruh dan bau dari kemarin", "air_pdam", "pdam"),
        ("pohon tumbang menutup jalan", "pohon_tumbang", "bpbd"),
        ("banyak parkir liar di trotoar", "parkir_liar", "dishub"),
        ("tetangga karaoke berisik sampai jam 2", "kebisingan", "satpolpp"),
        ("ayunan di taman rusak, anak-anak bisa celaka", "fasilitas_umum", "disperkimtan"),
        ("halte bus rusak kacanya pecah", "fasilitas_umum", "disperkimtan"),
    ],
)
def test_classify_complaint_routes_to_the_responsible_agency(
    kb: KnowledgeBase, text: str, category: str, agency: str
) -> None:
    result = kb.classify_complaint(text)
    assert (result.id, result.agency_id) == (category, agency)


def test_unmatched_complaint_falls_back_to_lainnya(kb: KnowledgeBase) -> None:
    assert kb.classify_complaint("tolong dibantu ya kak").id == "lainnya"
    assert kb.classify_complaint("").id == "lainnya"


def test_categories_promise_honest_working_day_ranges(kb: KnowledgeBase) -> None:
    ids = [c.id for c in kb.complaint_categories()]
    assert len(ids) == 12 and ids[-1] == "lainnya"
    for category in kb.complaint_categories():
        low, high = category.first_response_days
        assert 1 <= low <= high <= 3
        assert category.resolution_days[1] >= high
        assert category.response_days == high
        assert_plain(category.expectation_text())
        assert kb.agency(category.agency_id).name == category.agency
        json.dumps({"agency": category.agency, "days": category.response_days})
    assert kb.complaint_category("pungli").agency_id == "inspektorat"
    with pytest.raises(KeyError):
        kb.complaint_category("gosip")


# ----------------------------------------------------------------------------- staff mistakes
Edit = Callable[[Path], None]


def edit_text(name: str, old: str, new: str) -> Edit:
    def edit(directory: Path) -> None:
        path = directory / name
        text = path.read_text(encoding="utf-8")
        assert old in text, f"test setup: {old!r} not in {name}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


def edit_data(name: str, change: Callable[[dict], None]) -> Edit:
    def edit(directory: Path) -> None:
        path = directory / name
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    return edit


def _drop_requirements(d: dict) -> None:
    del d["dokumen"]["ktp"]["kasus"]["hilang"]["persyaratan"]


def _long_answer(d: dict) -> None:
    d["dokumen"]["kk"]["kasus"]["rusak"]["prosedur"] = "Datang ke kantor. " * 60


def _bold_cost(d: dict) -> None:
    d["umum"]["biaya"] = "*Gratis*, tidak dipungut biaya."


def _bullet_list(d: dict) -> None:
    d["topik"]["pbb"]["teks"] = "Syarat:\n- KTP-el\n- SPPT"


def _unknown_agency(d: dict) -> None:
    d["kategori"]["sampah"]["instansi"] = "dinas_sampah"


def _no_kecamatan_pinang(d: dict) -> None:
    del d["kantor"]["kec_pinang"]


def _option_to_nowhere(d: dict) -> None:
    d["topik"]["pajak"]["pilihan"][0]["topik"] = "samsat"


def _seven_options(d: dict) -> None:
    d["topik"]["pajak"]["pilihan"].append({"label": "Samsat", "topik": "pbb"})


def _inverted_days(d: dict) -> None:
    d["kategori"]["banjir"]["respons_awal_hari_kerja"] = [3, 1]


@pytest.mark.parametrize(
    ("edit", "file", "expected"),
    [
        (edit_text("documents.yml", "  ktp:\n    nama: KTP-el\n", "  ktp:\n\tnama: KTP-el\n"),
         "documents.yml", ["YAML tidak valid", "baris"]),
        (edit_data("documents.yml", _drop_requirements),
         "documents.yml", ["dokumen.ktp.kasus.hilang", "persyaratan"]),
        (edit_data("documents.yml", _long_answer),
         "documents.yml", ["dokumen.kk.kasus.rusak.prosedur", "batasnya 700"]),
        (edit_data("documents.yml", _bold_cost), "documents.yml", ["umum.biaya", "'*'"]),
        (edit_text("documents.yml", "      baru:\n        nama: KTP-el baru",
                   "      baru:\n        persyaratn: Bawa KK.\n        nama: KTP-el baru"),
         "documents.yml", ["dokumen.ktp.kasus.baru", "'persyaratn'"]),
        (edit_text("documents.yml", "      hilang:\n        nama: KK hilang",
                   "      rusak:\n        nama: KK hilang"),
         "documents.yml", ["'rusak' ditulis dua kali"]),
        (edit_data("services.yml", _bullet_list), "services.yml", ["topik.pbb.teks", "bernomor"]),
        (edit_data("services.yml", _option_to_nowhere),
         "services.yml", ["topik.pajak.pilihan[1].topik", "'samsat'"]),
        (edit_data("services.yml", _seven_options),
         "services.yml", ["topik.pajak.pilihan", "paling banyak 6"]),
        # Unquoted, 0712345 would silently become the octal number 241893.
        (edit_text("offices.yml", 'telepon: "0821-3333-5530"', "telepon: 0712345"),
         "offices.yml", ["kantor.bapenda.telepon", "tanda kutip"]),
        (edit_text("emergency.yml", 'nomor: "110"', "nomor: 110"),
         "emergency.yml", ["kontak[4].nomor", "tanda kutip"]),
        (edit_data("offices.yml", _no_kecamatan_pinang), "offices.yml", ["Pinang"]),
        (edit_data("complaint_routing.yml", _unknown_agency),
         "complaint_routing.yml", ["kategori.sampah.instansi", "'dinas_sampah'"]),
        (edit_data("complaint_routing.yml", _inverted_days),
         "complaint_routing.yml", ["kategori.banjir.respons_awal_hari_kerja"]),
        (edit_text("emergency.yml", 'nomor: "112"', 'nomor: "911"'), "emergency.yml", ["112"]),
    ],
)
def test_a_malformed_file_raises_an_error_naming_file_and_key(
    tmp_path: Path, edit: Edit, file: str, expected: list[str]
) -> None:
    directory = tmp_path / "kb"
    shutil.copytree(DEFAULT_DIRECTORY, directory)
    edit(directory)
    with pytest.raises(KnowledgeBaseError) as caught:
        KnowledgeBase.load(directory)
    message = str(caught.value)
    assert message.startswith(f"{file}: ") and caught.value.file == file
    for part in expected:
        assert part in message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_DIRECTORY, tmp_path / "kb")
    (tmp_path / "kb" / "services.yml").unlink()
    with pytest.raises(KnowledgeBaseError, match=r"^services\.yml: file tidak ditemukan"):
        KnowledgeBase.load(tmp_path / "kb")


def test_an_unchanged_copy_loads(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_DIRECTORY, tmp_path / "kb")
    assert KnowledgeBase.load(tmp_path / "kb").emergency_text()
