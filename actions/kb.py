"""Pintu's service knowledge base: the staff-edited YAML files under data/kb, read once and checked.

Only the standard library and PyYAML, because both the gateway (.venv) and the Rasa action server
(.venv-rasa, Python 3.10) import it. Every text a resident can see is checked at load time (plain
text, at most MAX_ANSWER_CHARS characters), so a bad edit fails the tests and the start-up, naming
the file and the key, instead of reaching a resident. Error messages are in Indonesian because the
people who edit these files are city staff.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import yaml

DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "data" / "kb"
MAX_ANSWER_CHARS = 700
MAX_LABEL_CHARS = 60
MAX_OPTIONS = 6
ASPECTS = ("persyaratan", "prosedur", "biaya", "lama", "tempat")
DOCUMENTS = ("ktp", "kk", "akta_kelahiran", "akta_kematian", "pindah")
KECAMATAN = ("Batuceper", "Benda", "Cibodas", "Ciledug", "Cipondoh", "Jatiuwung", "Karangtengah",
             "Karawaci", "Larangan", "Neglasari", "Periuk", "Pinang", "Tangerang")
# The actions ask for these by id; removing one must fail the load, not a conversation.
REQUIRED_TOPICS = ("kesehatan", "pajak", "kerja", "sekolah", "akun", "berlangganan",
                   "berhenti_langganan", "pengaduan", "tempat_tidur", "cek_pbb")
REQUIRED_CATEGORIES = ("jalan_rusak", "sampah", "lampu_jalan", "banjir", "pungli",
                       "pelayanan_lambat", "air_pdam", "pohon_tumbang", "parkir_liar",
                       "kebisingan", "fasilitas_umum", "lainnya")
FALLBACK_CATEGORY = "lainnya"

_MARKUP_CHARS = re.compile(r"[*`|~]")
_BULLET_LINE = re.compile(r"^\s*(?:[-•#>]\s|#)", re.M)
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_LONG_REPEAT = re.compile(r"([a-z])\1{2,}")
_REDUPLICATED = re.compile(r"\b([a-z]{2,})2\b")  # chat shorthand: "anak2" means "anak-anak"


class KnowledgeBaseError(ValueError):
    """A knowledge-base file is missing or malformed; names the file and the key."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file, self.key, self.problem = file, key, problem
        super().__init__(f"{file}: {key}: {problem}" if key else f"{file}: {problem}")


@dataclass(frozen=True)
class DocumentCase:
    """One case of a document (baru, hilang, ...) with an answer for every aspect."""

    id: str
    label: str
    keywords: tuple[str, ...]
    answers: tuple[tuple[str, str], ...]  # (aspect, text) for every aspect in ASPECTS

    def answer(self, aspect: str) -> str:
        for name, text in self.answers:
            if name == aspect:
                return text
        raise KeyError(f"aspek tidak dikenal: {aspect!r}; yang ada: {', '.join(ASPECTS)}")


@dataclass(frozen=True)
class Document:
    id: str
    label: str
    default_case: str
    cases: tuple[DocumentCase, ...]

    def case(self, case_id: str | None = None) -> DocumentCase:
        """The case with this id; None means the default case."""
        wanted = case_id or self.default_case
        for case in self.cases:
            if case.id == wanted:
                return case
        known = ", ".join(c.id for c in self.cases)
        raise KeyError(f"kasus {wanted!r} tidak ada untuk dokumen {self.id!r}; yang ada: {known}")


class Option(NamedTuple):
    """A button under a topic; unpacks as (topic, label)."""

    topic: str
    label: str


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    text: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Office:
    id: str
    name: str
    aliases: tuple[str, ...]
    address: str
    hours: str
    phone: str | None
    services: tuple[str, ...]
    kecamatan: str | None
    verified: bool
    notice: str  # shown to residents while the data is not verified; "" once it is

    def text(self) -> str:
        """The office as one message for a resident."""
        lines = [self.name, f"Alamat: {self.address}", f"Jam buka: {self.hours}",
                 f"Telepon: {self.phone or 'belum tersedia'}"]
        if self.services:
            lines.append("Layanan:")
            lines.extend(f"{n}. {s}" for n, s in enumerate(self.services, 1))
        if self.notice:
            lines.append(self.notice)
        return "\n".join(lines)


@dataclass(frozen=True)
class EmergencyContact:
    id: str
    name: str
    number: str | None
    description: str
    free: bool
    verified: bool


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    short_name: str
    contact: str | None
    verified: bool


@dataclass(frozen=True)
class Category:
    """A complaint category and where it goes. `agency` is the agency's name, ready for JSON."""

    id: str
    label: str
    agency_id: str
    agency: str
    keywords: tuple[str, ...]
    first_response_days: tuple[int, int]  # working days, (earliest, latest)
    resolution_days: tuple[int, int]  # working days, (earliest, latest)
    note: str

    @property
    def response_days(self) -> int:
        """The latest first response promised, in working days."""
        return self.first_response_days[1]

    def expectation_text(self) -> str:
        """What the resident may honestly expect, as one message."""
        label = self.label[:1].lower() + self.label[1:]  # keeps acronyms such as PJU
        lines = [f"Laporan {label} diteruskan ke {self.agency}.",
                 f"Perkiraan tanggapan pertama: {_days(self.first_response_days)}.",
                 f"Target selesai: {_days(self.resolution_days)}."]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)


def normalize(text: str) -> str:
    """Lower case, words only, "bangettt" -> "banget", "bolong2" -> "bolong bolong"."""
    words = _NOT_WORD.sub(" ", text.lower())
    words = _REDUPLICATED.sub(r"\1 \1", _LONG_REPEAT.sub(r"\1", words))
    return " ".join(words.split())


def _days(span: tuple[int, int]) -> str:
    low, high = span
    return f"{low} hari kerja" if low == high else f"{low}-{high} hari kerja"


def _score(normalized_text: str, keywords: Iterable[str]) -> int:
    """Matched keywords weighted by their number of words: phrases beat single words."""
    padded = f" {normalized_text} "
    return sum(len(k.split()) for k in keywords if f" {k} " in padded)


class KnowledgeBase:
    """Read-only answers for the actions. Build it with `KnowledgeBase.load()` once per process."""

    def __init__(self, documents: Mapping[str, Document], topics: Mapping[str, Topic],
                 offices: Mapping[str, Office], emergency: tuple[EmergencyContact, ...],
                 emergency_text: str, agencies: Mapping[str, Agency],
                 categories: Mapping[str, Category]) -> None:
        self._documents = dict(documents)
        self._topics = dict(topics)
        self._offices = dict(offices)
        self._emergency = emergency
        self._emergency_text = emergency_text
        self._agencies = dict(agencies)
        self._categories = dict(categories)

    @classmethod
    def load(cls, directory: Path | str | None = None) -> KnowledgeBase:
        """Reads and checks every file in `directory` (default: the repository's data/kb).

        Raises:
            KnowledgeBaseError: a file is missing, is not valid YAML, or breaks a rule.
        """
        return _load(Path(directory) if directory is not None else DEFAULT_DIRECTORY)

    # ------------------------------------------------------------------ documents
    def documents(self) -> tuple[Document, ...]:
        return tuple(self._documents.values())

    def document(self, document: str) -> Document:
        try:
            return self._documents[document]
        except KeyError:
            known = ", ".join(self._documents)
            raise KeyError(f"dokumen tidak dikenal: {document!r}; yang ada: {known}") from None

    def document_answer(self, document: str, case: str | None, aspect: str) -> str:
        """The answer about one aspect of one case of a document; case None is the default."""
        if aspect not in ASPECTS:
            raise KeyError(f"aspek tidak dikenal: {aspect!r}; yang ada: {', '.join(ASPECTS)}")
        return self.document(document).case(case).answer(aspect)

    def document_cases(self, document: str) -> list[tuple[str, str]]:
        """(case id, label) for each case of a document, default case first."""
        doc = self.document(document)
        cases = sorted(doc.cases, key=lambda c: c.id != doc.default_case)
        return [(c.id, c.label) for c in cases]

    def detect_case(self, document: str, text: str) -> str | None:
        """The case a resident's words point to ("KTP saya hilang" -> "hilang"), or None."""
        words = normalize(text)
        doc = self.document(document)
        # On a tie the specific case wins: "KTP baru saya hilang" is about a lost card.
        ordered = sorted(doc.cases, key=lambda c: c.id == doc.default_case)
        best, best_score = None, 0
        for case in ordered:
            score = _score(words, case.keywords)
            if score > best_score:
                best, best_score = case.id, score
        return best

    # ------------------------------------------------------------------ topics
    def topics(self) -> tuple[Topic, ...]:
        return tuple(self._topics.values())

    def topic(self, topic_id: str) -> Topic:
        try:
            return self._topics[topic_id]
        except KeyError:
            raise KeyError(f"topik tidak dikenal: {topic_id!r}") from None

    # ------------------------------------------------------------------ offices
    def offices(self) -> tuple[Office, ...]:
        return tuple(self._offices.values())

    def main_offices(self) -> tuple[Office, ...]:
        """The city agencies' offices, without the kecamatan offices."""
        return tuple(o for o in self._offices.values() if o.kecamatan is None)

    def kecamatan_offices(self) -> tuple[Office, ...]:
        return tuple(o for o in self._offices.values() if o.kecamatan is not None)

    def office(self, office_id: str) -> Office | None:
        return self._offices.get(office_id)

    def find_office(self, text: str) -> Office | None:
        """The office a message names ("jam buka kecamatan cipondoh"), typos allowed, or None."""
        words = normalize(text)
        padded = f" {words} "
        best: Office | None = None
        best_score = 0.0
        for office in self._offices.values():
            score: float = max((len(a) for a in office.aliases if f" {a} " in padded), default=0)
            if not score:
                score = max((len(a) - 0.5 for a in office.aliases
                             if len(a) >= 5 and " " not in a and _close_to_any(a, words)),
                            default=0)
            if score > best_score:
                best, best_score = office, score
        return best

    # ------------------------------------------------------------------ emergency
    def emergency_contacts(self) -> tuple[EmergencyContact, ...]:
        return self._emergency

    def emergency_text(self) -> str:
        """Emergency numbers and short safety instructions, as one message."""
        return self._emergency_text

    # ------------------------------------------------------------------ complaints
    def agency(self, agency_id: str) -> Agency:
        try:
            return self._agencies[agency_id]
        except KeyError:
            raise KeyError(f"instansi tidak dikenal: {agency_id!r}") from None

    def complaint_categories(self) -> tuple[Category, ...]:
        return tuple(self._categories.values())

    def complaint_category(self, cat_id: str) -> Category:
        try:
            return self._categories[cat_id]
        except KeyError:
            raise KeyError(f"kategori pengaduan tidak dikenal: {cat_id!r}") from None

    def classify_complaint(self, text: str) -> Category:
        """The category whose keywords match best; ties go to the earlier one; else "lainnya"."""
        words = normalize(text)
        best, best_score = self._categories[FALLBACK_CATEGORY], 0
        for category in self._categories.values():
            score = _score(words, category.keywords)
            if score > best_score:
                best, best_score = category, score
        return best


def _close_to_any(alias: str, words: str) -> bool:
    return any(len(w) >= 4 and difflib.SequenceMatcher(None, alias, w).ratio() >= 0.85
               for w in words.split())



# ====================================================================== loading and checking
# Everything below turns YAML into the records above. Keys in the files are Indonesian because
# city staff edit them; every error carries the file name and the dotted key path.

_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice (plain PyYAML silently keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, (str, int, float, bool)):
                continue  # unhashable keys are left to PyYAML's own error
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"kunci {key!r} ditulis dua kali", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _File:
    """One YAML file, with readers that check a value and name its key when it is wrong."""

    def __init__(self, directory: Path, name: str) -> None:
        self.name = name
        path = directory / name
        if not path.is_file():
            self.fail("", f"file tidak ditemukan di {directory}")
        try:
            raw = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            self.fail("", "file harus disimpan sebagai teks UTF-8")
        try:
            self.data: Any = yaml.load(raw, Loader=_StrictLoader)  # noqa: S506 - SafeLoader subclass
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f"baris {mark.line + 1}, kolom {mark.column + 1}: " if mark else ""
            self.fail("", f"YAML tidak valid, {where}{exc.problem}")
        except yaml.YAMLError as exc:
            self.fail("", f"YAML tidak valid: {exc}")

    def fail(self, key: str, problem: str) -> NoReturn:
        raise KnowledgeBaseError(self.name, key, problem)

    def table(self, value: Any, key: str, required: Iterable[str] = (),
              optional: Iterable[str] | None = ()) -> dict[str, Any]:
        """A mapping; with `optional=None` any keys are allowed (ids chosen by staff)."""
        if not isinstance(value, dict):
            self.fail(key, f"harus berupa daftar kunci, bukan {_kind(value)}")
        required = tuple(required)
        for name in required:
            if name not in value:
                self.fail(key, f"kunci {name!r} belum ada")
        if optional is not None:
            allowed = (*required, *optional)
            for name in value:
                if name not in allowed:
                    self.fail(key, f"kunci tidak dikenal {name!r}; "
                                   f"yang boleh: {', '.join(allowed)}")
        return value

    def ident(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not _ID.match(value):
            self.fail(key, f"kode {value!r} harus huruf kecil, angka, atau _ "
                           "(misalnya jalan_rusak)")
        return value

    def text(self, value: Any, key: str, limit: int = MAX_ANSWER_CHARS) -> str:
        """A resident-facing text: plain, not empty, at most `limit` characters."""
        if not isinstance(value, str):
            self.fail(key, f"harus berupa teks, bukan {_kind(value)}")
        text = value.strip()
        if not text:
            self.fail(key, "teks kosong")
        if len(text) > limit:
            self.fail(key, f"teks {len(text)} huruf, batasnya {limit}; tolong dipersingkat")
        mark = _MARKUP_CHARS.search(text)
        if mark:
            self.fail(key, f"tanda {mark.group()!r} tidak boleh dipakai; tulis teks biasa")
        if _BULLET_LINE.search(text):
            self.fail(key, 'daftar harus bernomor ("1. ...", "2. ..."), bukan diawali "-" atau "#"')
        return text

    def optional_text(self, value: Any, key: str, limit: int = MAX_ANSWER_CHARS) -> str:
        return "" if value is None or value == "" else self.text(value, key, limit)

    def texts(self, value: Any, key: str, limit: int = MAX_LABEL_CHARS) -> tuple[str, ...]:
        items = self.items(value, key)
        return tuple(self.text(v, f"{key}[{n}]", limit) for n, v in enumerate(items, 1))

    def items(self, value: Any, key: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(key, f"harus berupa daftar [ ... ], bukan {_kind(value)}")
        return value

    def keywords(self, value: Any, key: str) -> tuple[str, ...]:
        words = []
        for n, item in enumerate(self.items(value, key), 1):
            word = normalize(item) if isinstance(item, str) else ""
            if not word:
                self.fail(f"{key}[{n}]", f"kata kunci {item!r} kosong atau bukan teks")
            words.append(word)
        return tuple(dict.fromkeys(words))

    def flag(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            self.fail(key, f"harus true atau false, bukan {value!r}")
        return value

    def phone(self, value: Any, key: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            # An unquoted 08123456789 reaches us as an int without its leading zero.
            self.fail(key, 'nomor telepon harus ditulis dalam tanda kutip, misalnya "112"')
        if not re.fullmatch(r"[0-9+()\- ]{3,20}", value.strip()):
            self.fail(key, f"nomor telepon {value!r} hanya boleh berisi angka, spasi, + ( ) -")
        return value.strip()

    def days(self, value: Any, key: str) -> tuple[int, int]:
        ok = (isinstance(value, list) and len(value) == 2
              and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
              and 1 <= value[0] <= value[1] <= 365)
        if not ok:
            self.fail(key, f"harus [paling cepat, paling lambat] hari kerja, misalnya [1, 3]; "
                           f"tertulis {value!r}")
        return value[0], value[1]


def _kind(value: Any) -> str:
    if value is None:
        return "kosong (null)"
    return {dict: "daftar kunci", list: "daftar", bool: "true/false", str: "teks"}.get(
        type(value), "angka")


def _load(directory: Path) -> KnowledgeBase:
    emergency, emergency_text = _load_emergency(_File(directory, "emergency.yml"))
    agencies, categories = _load_routing(_File(directory, "complaint_routing.yml"))
    return KnowledgeBase(
        documents=_load_documents(_File(directory, "documents.yml")),
        topics=_load_topics(_File(directory, "services.yml")),
        offices=_load_offices(_File(directory, "offices.yml")),
        emergency=emergency, emergency_text=emergency_text,
        agencies=agencies, categories=categories,
    )


def _aspect_texts(f: _File, value: Any, key: str) -> dict[str, str]:
    if value is None:
        return {}
    node = f.table(value, key, optional=ASPECTS)
    return {a: f.text(node[a], f"{key}.{a}") for a in ASPECTS if a in node}


def _load_documents(f: _File) -> dict[str, Document]:
    root = f.table(f.data, "", required=("dokumen",), optional=("umum",))
    shared = _aspect_texts(f, root.get("umum"), "umum")
    documents: dict[str, Document] = {}
    for doc_id, node in f.table(root["dokumen"], "dokumen", optional=None).items():
        key = f"dokumen.{f.ident(doc_id, 'dokumen')}"
        doc = f.table(node, key, required=("nama", "kasus_utama", "kasus"), optional=("umum",))
        doc_shared = {**shared, **_aspect_texts(f, doc.get("umum"), f"{key}.umum")}
        cases = []
        for case_id, case_node in f.table(doc["kasus"], f"{key}.kasus", optional=None).items():
            case_key = f"{key}.kasus.{f.ident(case_id, f'{key}.kasus')}"
            case = f.table(case_node, case_key, required=("nama",),
                           optional=("kata_kunci", *ASPECTS))
            answers = {**doc_shared, **_aspect_texts(
                f, {a: case[a] for a in ASPECTS if a in case}, case_key)}
            missing = [a for a in ASPECTS if a not in answers]
            if missing:
                f.fail(case_key, f"jawaban belum ada untuk {', '.join(missing)}; tulis di kasus "
                                 f"ini, di {key}.umum, atau di umum")
            cases.append(DocumentCase(
                id=case_id, label=f.text(case["nama"], f"{case_key}.nama", MAX_LABEL_CHARS),
                keywords=f.keywords(case.get("kata_kunci", []), f"{case_key}.kata_kunci"),
                answers=tuple((a, answers[a]) for a in ASPECTS)))
        if not cases:
            f.fail(f"{key}.kasus", "belum ada kasus")
        default = f.ident(doc["kasus_utama"], f"{key}.kasus_utama")
        if default not in {c.id for c in cases}:
            f.fail(f"{key}.kasus_utama", f"kasus {default!r} tidak ada di {key}.kasus")
        documents[doc_id] = Document(
            id=doc_id, label=f.text(doc["nama"], f"{key}.nama", MAX_LABEL_CHARS),
            default_case=default, cases=tuple(cases))
    missing_docs = [d for d in DOCUMENTS if d not in documents]
    if missing_docs:
        f.fail("dokumen", f"dokumen wajib belum ada: {', '.join(missing_docs)}")
    return documents


def _load_topics(f: _File) -> dict[str, Topic]:
    root = f.table(f.data, "", required=("topik",))
    topics: dict[str, Topic] = {}
    for topic_id, node in f.table(root["topik"], "topik", optional=None).items():
        key = f"topik.{f.ident(topic_id, 'topik')}"
        raw = f.table(node, key, required=("judul", "teks"), optional=("pilihan",))
        options = []
        raw_options = f.items(raw["pilihan"], f"{key}.pilihan") if "pilihan" in raw else []
        if len(raw_options) > MAX_OPTIONS:
            f.fail(f"{key}.pilihan", f"{len(raw_options)} pilihan, paling banyak {MAX_OPTIONS}")
        for n, item in enumerate(raw_options, 1):
            option_key = f"{key}.pilihan[{n}]"
            pair = f.table(item, option_key, required=("label", "topik"))
            options.append(Option(topic=f.ident(pair["topik"], f"{option_key}.topik"),
                                  label=f.text(pair["label"], f"{option_key}.label",
                                               MAX_LABEL_CHARS)))
        topics[topic_id] = Topic(id=topic_id,
                                 title=f.text(raw["judul"], f"{key}.judul", MAX_LABEL_CHARS),
                                 text=f.text(raw["teks"], f"{key}.teks"),
                                 options=tuple(options))
    for topic in topics.values():
        for n, option in enumerate(topic.options, 1):
            if option.topic not in topics:
                f.fail(f"topik.{topic.id}.pilihan[{n}].topik",
                       f"topik {option.topic!r} tidak ada di file ini")
    missing = [t for t in REQUIRED_TOPICS if t not in topics]
    if missing:
        f.fail("topik", f"topik wajib belum ada: {', '.join(missing)}")
    return topics


def _load_offices(f: _File) -> dict[str, Office]:
    root = f.table(f.data, "", required=("kantor",), optional=("catatan_belum_diperiksa",))
    notice = f.optional_text(root.get("catatan_belum_diperiksa"), "catatan_belum_diperiksa", 200)
    canonical = {k.lower(): k for k in KECAMATAN}
    offices: dict[str, Office] = {}
    owner: dict[str, str] = {}  # alias -> office id, to refuse an alias used twice
    for office_id, node in f.table(root["kantor"], "kantor", optional=None).items():
        key = f"kantor.{f.ident(office_id, 'kantor')}"
        o = f.table(node, key, required=("nama", "alamat", "jam", "telepon", "layanan",
                                         "verified"), optional=("nama_lain", "kecamatan"))
        kecamatan = None
        if o.get("kecamatan") is not None:
            name = str(o["kecamatan"]).strip().lower()
            if name not in canonical:
                f.fail(f"{key}.kecamatan", f"{o['kecamatan']!r} bukan kecamatan Kota Tangerang; "
                                           f"yang ada: {', '.join(KECAMATAN)}")
            kecamatan = canonical[name]
        aliases = list(f.keywords(o.get("nama_lain", []), f"{key}.nama_lain"))
        if kecamatan:
            low = kecamatan.lower()
            aliases += [f"kecamatan {low}", f"kec {low}", f"camat {low}", f"kantor camat {low}"]
        for alias in dict.fromkeys(aliases):
            if owner.setdefault(alias, office_id) != office_id:
                f.fail(f"{key}.nama_lain", f"{alias!r} sudah dipakai kantor {owner[alias]!r}")
        verified = f.flag(o["verified"], f"{key}.verified")
        office = Office(
            id=office_id, name=f.text(o["nama"], f"{key}.nama", 120),
            aliases=tuple(dict.fromkeys(aliases)),
            address=f.text(o["alamat"], f"{key}.alamat", 250),
            hours=f.text(o["jam"], f"{key}.jam", 200),
            phone=f.phone(o["telepon"], f"{key}.telepon"),
            services=f.texts(o["layanan"], f"{key}.layanan", 120), kecamatan=kecamatan,
            verified=verified, notice="" if verified else notice)
        f.text(office.text(), f"{key} (pesan gabungan)")
        offices[office_id] = office
    have = {o.kecamatan for o in offices.values()}
    missing = [k for k in KECAMATAN if k not in have]
    if missing:
        f.fail("kantor", f"kantor kecamatan belum ada: {', '.join(missing)}")
    return offices


def _load_emergency(f: _File) -> tuple[tuple[EmergencyContact, ...], str]:
    root = f.table(f.data, "", required=("judul", "kontak", "judul_petunjuk", "petunjuk"),
                   optional=("penutup",))
    contacts = []
    for n, item in enumerate(f.items(root["kontak"], "kontak"), 1):
        key = f"kontak[{n}]"
        raw = f.table(item, key, required=("kode", "nama", "nomor", "keterangan", "gratis",
                                           "verified"))
        contacts.append(EmergencyContact(
            id=f.ident(raw["kode"], f"{key}.kode"), name=f.text(raw["nama"], f"{key}.nama", 60),
            number=f.phone(raw["nomor"], f"{key}.nomor"),
            description=f.text(raw["keterangan"], f"{key}.keterangan", 120),
            free=f.flag(raw["gratis"], f"{key}.gratis"),
            verified=f.flag(raw["verified"], f"{key}.verified")))
    if not any(c.number == "112" for c in contacts):
        f.fail("kontak", "nomor 112 (Tangerang Siaga) wajib ada")
    lines = [f.text(root["judul"], "judul", 120)]
    for n, c in enumerate(contacts, 1):
        head = f"{c.number} {c.name}" if c.number else c.name  # the number first: it is what counts
        lines.append(f"{n}. {head}{' (gratis)' if c.free else ''}: {c.description}")
    lines += ["", f.text(root["judul_petunjuk"], "judul_petunjuk", 60)]
    lines += [f"{n}. {t}" for n, t in enumerate(f.texts(root["petunjuk"], "petunjuk", 120), 1)]
    closing = f.optional_text(root.get("penutup"), "penutup", 200)
    if closing:
        lines += ["", closing]
    return tuple(contacts), f.text("\n".join(lines), "(pesan gabungan judul, kontak, petunjuk)")


def _load_routing(f: _File) -> tuple[dict[str, Agency], dict[str, Category]]:
    root = f.table(f.data, "", required=("instansi", "kategori"))
    agencies: dict[str, Agency] = {}
    for agency_id, node in f.table(root["instansi"], "instansi", optional=None).items():
        key = f"instansi.{f.ident(agency_id, 'instansi')}"
        a = f.table(node, key, required=("nama", "singkatan", "kontak", "verified"))
        agencies[agency_id] = Agency(
            id=agency_id, name=f.text(a["nama"], f"{key}.nama", 120),
            short_name=f.text(a["singkatan"], f"{key}.singkatan", 40),
            contact=f.optional_text(a["kontak"], f"{key}.kontak", 120) or None,
            verified=f.flag(a["verified"], f"{key}.verified"))
    categories: dict[str, Category] = {}
    for cat_id, node in f.table(root["kategori"], "kategori", optional=None).items():
        key = f"kategori.{f.ident(cat_id, 'kategori')}"
        c = f.table(node, key, optional=("catatan",), required=(
            "nama", "instansi", "kata_kunci", "respons_awal_hari_kerja",
            "target_selesai_hari_kerja"))
        agency_id = f.ident(c["instansi"], f"{key}.instansi")
        if agency_id not in agencies:
            f.fail(f"{key}.instansi", f"instansi {agency_id!r} tidak ada di bagian instansi")
        keywords = f.keywords(c["kata_kunci"], f"{key}.kata_kunci")
        if not keywords and cat_id != FALLBACK_CATEGORY:
            f.fail(f"{key}.kata_kunci",
                   "kata kunci kosong; hanya kategori lainnya yang boleh kosong")
        first = f.days(c["respons_awal_hari_kerja"], f"{key}.respons_awal_hari_kerja")
        done = f.days(c["target_selesai_hari_kerja"], f"{key}.target_selesai_hari_kerja")
        if done[1] < first[1]:
            f.fail(f"{key}.target_selesai_hari_kerja",
                   "target selesai lebih cepat dari tanggapan awal")
        category = Category(
            id=cat_id, label=f.text(c["nama"], f"{key}.nama", MAX_LABEL_CHARS),
            agency_id=agency_id, agency=agencies[agency_id].name, keywords=keywords,
            first_response_days=first, resolution_days=done,
            note=f.optional_text(c.get("catatan"), f"{key}.catatan", 400))
        f.text(category.expectation_text(), f"{key} (pesan gabungan)")
        categories[cat_id] = category
    missing = [c for c in REQUIRED_CATEGORIES if c not in categories]
    if missing:
        f.fail("kategori", f"kategori wajib belum ada: {', '.join(missing)}")
    return agencies, categories
