"""The retraining pages over HTTP (real PostgreSQL and Redis): the NLU review queue and the model
pages, who may open them, what they show, and what each change records. Promotions go to fake
Rasa servers on 127.0.0.1 that take `PUT /webhooks/pintu/model` like the pintu channel."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.app import build_services, create_app
from bot.learning import predictions, registry
from bot.models import AuditEntry, ModelJob, ModelPromotion, ModelVersion, Prediction
from bot.rasa_client import Understanding
from bot.settings import Settings
from tests.fakes.server import ThreadedServer

from .test_staff_inbox_api import inbox_csrf
from .test_staff_web import HTML, db, sign_in, staff  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration

TOKEN = "internal-token-for-learning-page-tests"
REVIEW = "/staff/admin/review"
MODELS = "/staff/admin/models"
LIVE = "pintu-20260101-000000"  # what `make train` left in models/: live before any promotion
NIK = "3671051207800002"
NIK_TEXT = f"NIK saya {NIK} kok ditolak"  # the NIK spans characters 9 to 25
OVERRIDE = "Darurat: pertanyaan KTP baru harus dikenali hari ini"


# -- fakes and fixtures -------------------------------------------------------------------------

class FakeRasaFleet:
    """Rasa servers on 127.0.0.1 answering the pintu channel's model swap; records the tokens."""

    def __init__(self, names: tuple[str, ...] = ("a", "b")) -> None:
        self.servers = [ThreadedServer(self._app(name)) for name in names]
        self.urls = [server.url for server in self.servers]
        self.loaded: dict[str, str] = {}
        self.tokens: list[str] = []
        self.reset()

    def reset(self) -> None:
        self.loaded.update({url: LIVE for url in self.urls})
        self.tokens.clear()

    def _app(self, name: str) -> FastAPI:
        app = FastAPI()

        @app.put("/webhooks/pintu/model")
        async def swap(request: Request) -> dict[str, Any]:
            url = str(request.base_url).rstrip("/")
            self.tokens.append(request.headers.get("authorization", ""))
            previous = self.loaded[url]
            self.loaded[url] = Path((await request.json())["model_file"]).name.removesuffix(
                ".tar.gz")
            return {"model": self.loaded[url], "previous": previous, "load_seconds": 0.1,
                    "server": name}

        return app


@pytest.fixture(scope="module")
def fleet_servers() -> Iterator[FakeRasaFleet]:
    fleet = FakeRasaFleet()
    with contextlib.ExitStack() as stack:
        for server in fleet.servers:
            stack.enter_context(server)
        yield fleet


@pytest.fixture
def fleet(fleet_servers: FakeRasaFleet) -> FakeRasaFleet:
    fleet_servers.reset()
    return fleet_servers


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    (models / "candidates").mkdir(parents=True)
    (models / f"{LIVE}.tar.gz").write_bytes(b"the make-train model")
    return models


@pytest.fixture
def client(pg_engine: Engine, redis_url: str, models_dir: Path,
           fleet: FakeRasaFleet) -> Iterator[TestClient]:
    """The gateway without the job runner: queued jobs stay queued for the assertions."""
    settings = Settings(_env_file=None, database_url=pg_engine.url.render_as_string(
        hide_password=False), redis_url=redis_url, outbox_interval_s=3600,
        internal_api_token=TOKEN, models_dir=models_dir, rasa_urls=",".join(fleet.urls),
        run_model_jobs=False)
    with TestClient(create_app(services=build_services(settings))) as test_client:
        yield test_client


@pytest.fixture
def admin(client: TestClient, staff: dict[str, int]) -> str:  # noqa: F811
    """Signs sari (admin) in; her session's CSRF token."""
    sign_in(client, "sari")
    return inbox_csrf(client)


def post(client: TestClient, url: str, token: str | None, **data: Any) -> httpx.Response:
    """A browser's form post (the token as the form field; None leaves it out)."""
    form = data if token is None else {"csrf_token": token, **data}
    return client.post(url, data=form, headers=HTML, follow_redirects=False)


def pending(db: Session, text: str, intent: str | None = "ktp", confidence: float = 0.4,  # noqa: F811
            **extra: Any) -> Prediction:
    found = predictions.record(db, channel="telegram", message_id=None, text=text,
                               understanding=Understanding(text, intent, confidence,
                                                           model=LIVE, **extra),
                               review_below=0.7)
    assert found is not None
    db.flush()
    return found


def audit_rows(db: Session, prefix: str) -> list[AuditEntry]:  # noqa: F811
    db.expire_all()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action.like(prefix + "%"))
                           .order_by(AuditEntry.id)))


def add_version(db: Session, models_dir: Path, name: str, scores: dict[str, float],  # noqa: F811
                *, confusion: bool = False) -> ModelVersion:
    """A trained version with held-out scores (and cross-validation), registered like a job's."""
    per = {intent: {"f1": f1, "support": 12} for intent, f1 in scores.items()}
    macro = sum(scores.values()) / len(scores)
    path = models_dir / ("" if name == LIVE else "candidates") / f"{name}.tar.gz"
    path.write_bytes(name.encode())
    png = models_dir / f"{name}-confusion.png"
    if confusion:
        png.write_bytes(b"\x89PNG\r\n\x1a\nfake " + name.encode())
    version = db.scalar(select(ModelVersion).where(ModelVersion.version == name)) or \
        ModelVersion(version=name, path=str(path), status="ready")
    version.evaluation = {"heldout": {"macro_f1": macro, "per_intent": per},
                          "cross_validation": {"folds": 3, "macro_f1": macro - 0.1,
                                               "per_intent": per}}
    version.confusion_png = str(png) if confusion else None
    db.add(version)
    db.commit()
    return version


@pytest.fixture
def candidates(db: Session, models_dir: Path) -> dict[str, ModelVersion]:  # noqa: F811
    """The live model and two candidates: `better` passes the gate, `worse` does not."""
    return {
        LIVE: add_version(db, models_dir, LIVE, {"greet": 1.0, "kk": 0.90, "ktp": 0.95}),
        "better": add_version(db, models_dir, "better", {"greet": 1.0, "kk": 0.91, "ktp": 0.96}),
        "worse": add_version(db, models_dir, "worse", {"greet": 1.0, "kk": 0.95, "ktp": 0.80},
                             confusion=True),
    }


# -- who may open the pages ---------------------------------------------------------------------

@pytest.mark.parametrize("username", ["budi", "eko"])
def test_only_admins_reach_the_review_and_model_pages(client: TestClient,
                                                      staff: dict[str, int],  # noqa: F811
                                                      db: Session,  # noqa: F811
                                                      username: str) -> None:
    prediction = pending(db, "apa ini")
    db.commit()
    gets = [REVIEW, f"{REVIEW}/{prediction.id}", MODELS, f"{MODELS}/job", f"{MODELS}/{LIVE}",
            f"{MODELS}/{LIVE}/confusion.png"]
    posts = [(REVIEW, {"ids": str(prediction.id), "action": "dismiss"}),
             (f"{MODELS}/train", {"epochs": "2"}), (f"{MODELS}/job/1/cancel", {}),
             (f"{MODELS}/{LIVE}/evaluate", {}),
             (f"{MODELS}/{LIVE}/promote", {"override_reason": OVERRIDE})]

    for path in gets:  # anonymous browsers are sent to the login page, forms get 401
        response = client.get(path, headers=HTML, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/staff/login?next=/staff/admin/")
    for path, data in posts:
        assert post(client, path, None, **data).status_code == 401, path

    sign_in(client, username)
    token = inbox_csrf(client)
    home = client.get("/staff/inbox", headers=HTML).text
    assert "Tinjau NLU" not in home and f'href="{MODELS}"' not in home
    for path in gets:
        response = client.get(path, headers=HTML)
        assert response.status_code == 403, path
        assert "Anda tidak punya akses ke halaman ini." in response.text
    for path, data in posts:
        response = post(client, path, token, **data)
        assert response.status_code == 403, path
        assert "Anda tidak punya akses ke halaman ini." in response.text
    db.expire_all()
    assert db.scalar(select(Prediction.review)) == "pending"
    assert db.scalar(select(ModelJob.id)) is None
    assert audit_rows(db, "nlu_") == audit_rows(db, "model_") == []


def test_admins_see_the_review_and_model_links(client: TestClient, admin: str) -> None:
    home = client.get("/staff/inbox", headers=HTML).text
    assert f'<a href="{REVIEW}">Tinjau NLU</a>' in home
    assert f'<a href="{MODELS}">Model</a>' in home
    page = client.get(REVIEW, headers=HTML).text
    assert f'<a href="{REVIEW}" aria-current="page">Tinjau NLU</a>' in page


# -- the review queue ---------------------------------------------------------------------------

def test_the_queue_groups_similar_messages_largest_first_with_numbers_starred(
        client: TestClient, admin: str, db: Session) -> None:  # noqa: F811
    nik = pending(db, NIK_TEXT, intent="out_of_scope", confidence=0.9, fallback=True,
                  entities=({"entity": "nik", "value": NIK, "start": 9, "end": 25},))
    for text in ("jadwal posyandu", "JADWAL POSYANDUUU",
                 "cara bikin ktp baru gmn", "Cara bikin KTP baru gmn??",
                 "cara bikin ktp baru gimana"):
        pending(db, text)
    pending(db, "jalan rusak depan rumah", intent="complaint", confidence=0.95)  # sure of it
    db.commit()

    page = client.get(REVIEW, headers=HTML)
    assert page.status_code == 200
    assert "6 pesan menunggu tinjauan" in page.text
    assert re.findall(r"<td>(\d+)</td>", page.text) == ["3", "2", "1"]
    groups = re.findall(r'name="ids" value="([\d,]+)"', page.text)
    assert [len(g.split(",")) for g in groups] == [3, 2, 1]
    assert groups[2] == str(nik.id)
    assert NIK not in page.text and "NIK saya 3671**********02 kok ditolak" in page.text
    assert "Jawaban cadangan" in page.text and "Ragu" in page.text

    only_fallback = client.get(REVIEW, params={"alasan": "fallback"}, headers=HTML).text
    assert re.findall(r"<td>(\d+)</td>", only_fallback) == ["1"]
    one = client.get(f"{REVIEW}/{nik.id}", headers=HTML)
    assert one.status_code == 200
    assert NIK not in one.text and 'nik="3671**********02"' in one.text
    missing = client.get(f"{REVIEW}/999999", headers=HTML)
    assert missing.status_code == 404 and "Pesan itu tidak ada" in missing.text


def test_labels_and_dismissals_record_who_and_when(client: TestClient, admin: str,
                                                   staff: dict[str, int],  # noqa: F811
                                                   db: Session) -> None:  # noqa: F811
    nik = pending(db, NIK_TEXT, intent="kk")
    pulsa = pending(db, "beli pulsa dimana", intent=None, confidence=0.1)
    posyandu = [pending(db, t) for t in ("cara daftar posyandu", "cara daftar posyandu??",
                                         "caraa daftar posyandu", "jadwal posyandu",
                                         "jadwal posyanduuu")]
    noise = [pending(db, t, intent="greet") for t in ("wkwkwk", "tes tes")]
    db.commit()
    before = datetime.now(timezone.utc)
    groups = re.findall(r'name="ids" value="([\d,]+)"', client.get(REVIEW, headers=HTML).text)
    by_size = {len(g.split(",")): g for g in groups}

    marks = json.dumps([{"entity": "nik", "start": 9, "end": 25}])
    done = post(client, REVIEW, admin, ids=str(nik.id), action="label", intent="ktp",
                entities=marks, back=f"{REVIEW}?alasan=unsure")
    assert done.status_code == 303
    assert done.headers["location"] == f"{REVIEW}?alasan=unsure&pesan=dilabeli"
    assert post(client, REVIEW, admin, ids=str(pulsa.id), action="label", intent="",
                new_intent="info_pulsa", entities="[]").status_code == 303
    bulk = post(client, REVIEW, admin, ids=[by_size[3], by_size[2]], action="label",
                intent="ktp", new_intent="info_posyandu")  # the new name wins over the list
    assert bulk.headers["location"] == f"{REVIEW}?pesan=dilabeli"
    noise_groups = [g for g in groups if set(map(int, g.split(","))) <=
                    {p.id for p in noise}]
    dismissed = post(client, REVIEW, admin, ids=noise_groups, action="dismiss")
    assert dismissed.headers["location"] == f"{REVIEW}?pesan=diabaikan"
    after = datetime.now(timezone.utc)

    db.expire_all()
    rows = {p.id: p for p in db.scalars(select(Prediction))}
    assert (rows[nik.id].review, rows[nik.id].label_intent) == ("labelled", "ktp")
    assert rows[nik.id].label_entities == [{"entity": "nik", "start": 9, "end": 25}]
    assert rows[pulsa.id].label_intent == "info_pulsa"
    assert {rows[p.id].label_intent for p in posyandu} == {"info_posyandu"}
    assert {(rows[p.id].review, rows[p.id].label_intent) for p in noise} == {("dismissed", None)}
    for p in rows.values():
        assert p.labelled_by == staff["sari"]
        assert p.labelled_at is not None and before <= p.labelled_at.replace(
            tzinfo=timezone.utc) <= after
    entries = audit_rows(db, "nlu_")
    assert [(e.action, e.subject, e.detail["intent"]) for e in entries] == [
        ("nlu_labelled", "predictions:1", "ktp"), ("nlu_labelled", "predictions:1", "info_pulsa"),
        ("nlu_labelled", "predictions:5", "info_posyandu"),
        ("nlu_dismissed", "predictions:2", None)]
    assert {(e.staff_id, e.ip) for e in entries} == {(staff["sari"], "testclient")}
    assert sorted(entries[2].detail["ids"]) == sorted(p.id for p in posyandu)

    page = client.get(f"{REVIEW}?pesan=dilabeli", headers=HTML).text
    assert "Label disimpan." in page and "Tidak ada pesan yang menunggu tinjauan." in page
    assert "7 contoh berlabel" in page  # distinct texts, ready for training


def test_refused_labels_say_why_in_indonesian_and_change_nothing(
        client: TestClient, admin: str, db: Session) -> None:  # noqa: F811
    nik = pending(db, NIK_TEXT)
    other = pending(db, "NIK saya 3174051207800011 kok ditolak")
    db.commit()
    one, both = str(nik.id), f"{nik.id},{other.id}"
    nik_span = json.dumps([{"entity": "nik", "start": 9, "end": 25}])
    cases = [
        ({"ids": one, "intent": "ktp", "entities": json.dumps(
            [{"entity": "nik", "start": 9, "end": 99}])}, "penanda entitas di luar teks"),
        ({"ids": one, "intent": "ktp", "entities": json.dumps(
            [{"entity": "nik", "start": 25, "end": 9}])}, "penanda entitas tidak sah"),
        ({"ids": one, "intent": "ktp", "entities": json.dumps(
            [{"entity": "NIK warga", "start": 9, "end": 25}])}, "penanda entitas tidak sah"),
        ({"ids": one, "intent": "ktp", "entities": "{rusak"}, "Penanda entitas tidak terbaca."),
        ({"ids": both, "intent": "ktp", "entities": nik_span},
         "entitas hanya bisa ditandai pada satu pesan"),
        ({"ids": one, "new_intent": "Info Bansos!"}, "nama intent harus huruf kecil"),
        ({"ids": one, "new_intent": "x"}, "nama intent harus huruf kecil"),
        ({"ids": one, "intent": ""}, "Pilih intent yang benar, atau tulis nama intent baru."),
        ({"intent": "ktp"}, "Pilih dulu pesan yang akan diberi label atau diabaikan."),
        ({"ids": one, "intent": "ktp", "action": "hapus"}, "Tindakan tidak dikenal."),
    ]
    for data, message in cases:
        response = post(client, REVIEW, admin, **{"action": "label", **data})
        assert response.status_code == 422, data
        assert message in response.text, (data, response.text)
        assert NIK not in response.text
    db.expire_all()
    assert set(db.scalars(select(Prediction.review))) == {"pending"}
    assert db.scalar(select(Prediction.labelled_by)) is None
    assert audit_rows(db, "nlu_") == []


def test_changes_without_the_csrf_token_are_refused(client: TestClient, admin: str,
                                                    db: Session) -> None:  # noqa: F811
    prediction = pending(db, "apa ini")
    db.commit()
    for url, data in ((REVIEW, {"ids": str(prediction.id), "action": "dismiss"}),
                      (f"{MODELS}/train", {"epochs": "2"})):
        for token in (None, admin + "x"):
            response = post(client, url, token, **data)
            assert response.status_code == 403 and "kedaluwarsa" in response.text
    db.expire_all()
    assert db.scalar(select(Prediction.review)) == "pending"
    assert db.scalar(select(ModelJob.id)) is None
    assert audit_rows(db, "nlu_") == audit_rows(db, "model_") == []


# -- training and evaluation jobs ---------------------------------------------------------------

def test_the_list_shows_every_version_and_which_is_live(
        client: TestClient, admin: str, candidates: dict[str, ModelVersion]) -> None:
    page = client.get(MODELS, headers=HTML).text
    assert f'<strong id="model-aktif">{LIVE}</strong>' in page
    for name in candidates:
        assert f'<a href="{MODELS}/{name}">{name}</a>' in page
    live_row = re.search(r'<tr class="row-live">\s*<th scope="row"><a[^>]*>([^<]+)</a>\s*'
                         r'<span class="tag tag-ok">Aktif</span>', page)
    assert live_row and live_row.group(1) == LIVE
    assert page.count("Aktif</span>") == 1
    assert "0.917" in page and "0.817" in page  # worse: held-out and cross-validation macro-F1


def test_training_is_queued_one_job_at_a_time_and_can_be_cancelled(
        client: TestClient, admin: str, staff: dict[str, int],  # noqa: F811
        db: Session, candidates: dict[str, ModelVersion]) -> None:  # noqa: F811
    assert client.get(f"{MODELS}/job").json() == {"job": None}
    started = post(client, f"{MODELS}/train", admin, epochs=" 3 ")
    assert started.status_code == 303 and started.headers["location"] == f"{MODELS}?pesan=dilatih"
    job = db.scalars(select(ModelJob)).one()
    assert (job.kind, job.status, job.options, job.created_by) == \
        ("train", "queued", {"epochs": 3}, staff["sari"])
    assert client.get(f"{MODELS}/job").json() == {"job": {
        "id": job.id, "kind": "train", "status": "queued", "status_label": "Menunggu",
        "progress": 0.0, "stage": "menunggu giliran", "error": None, "version_id": None,
        "active": True}}
    page = client.get(f"{MODELS}?pesan=dilatih", headers=HTML).text
    assert "Pelatihan dimulai." in page and 'data-active="yes"' in page
    assert f'action="{MODELS}/job/{job.id}/cancel"' in page

    busy = "Masih ada pelatihan atau evaluasi yang berjalan"
    for url in (f"{MODELS}/train", f"{MODELS}/better/evaluate"):
        again = post(client, url, admin)
        assert again.status_code == 409 and busy in again.text
    assert db.scalar(select(ModelJob.id).where(ModelJob.id != job.id)) is None

    cancelled = post(client, f"{MODELS}/job/{job.id}/cancel", admin)
    assert cancelled.headers["location"] == f"{MODELS}?pesan=dibatalkan"
    shown = client.get(f"{MODELS}/job").json()["job"]
    assert (shown["status"], shown["status_label"], shown["active"]) == \
        ("cancelled", "Dibatalkan", False)
    twice = post(client, f"{MODELS}/job/{job.id}/cancel", admin)
    assert twice.status_code == 409 and "tidak ada yang dibatalkan" in twice.text

    evaluated = post(client, f"{MODELS}/better/evaluate", admin)
    assert evaluated.headers["location"] == f"{MODELS}/better?pesan=dievaluasi"
    running = db.scalars(select(ModelJob).where(ModelJob.kind == "evaluate")).one()
    assert running.options == {"version": "better"}
    running.status = "running"  # as the runner would have it
    db.commit()
    post(client, f"{MODELS}/job/{running.id}/cancel", admin)
    shown = client.get(f"{MODELS}/job").json()["job"]
    assert (shown["id"], shown["status"], shown["status_label"], shown["active"]) == \
        (running.id, "cancelling", "Dibatalkan…", True)  # the runner stops it

    entries = audit_rows(db, "model_")
    assert [(e.action, e.subject, e.detail) for e in entries] == [
        ("model_train_started", f"job:{job.id}", {"epochs": 3}),
        ("model_job_cancelled", f"job:{job.id}", {}),
        ("model_evaluate_started", f"job:{running.id}", {"version": "better"}),
        ("model_job_cancelled", f"job:{running.id}", {})]
    assert {e.staff_id for e in entries} == {staff["sari"]}


def test_epochs_must_be_a_whole_number_from_1_to_500(client: TestClient, admin: str,
                                                     db: Session) -> None:  # noqa: F811
    for epochs in ("0", "501", "abc", "-5", "2.5", "²"):
        refused = post(client, f"{MODELS}/train", admin, epochs=epochs)
        assert refused.status_code == 422, epochs
        assert "Jumlah epoch harus angka 1 sampai 500, atau kosong." in refused.text
    assert db.scalar(select(ModelJob.id)) is None
    assert post(client, f"{MODELS}/train", admin, epochs="").status_code == 303
    assert db.scalars(select(ModelJob.options)).one() == {}


def test_only_ready_versions_can_be_evaluated(client: TestClient, admin: str,
                                              db: Session) -> None:  # noqa: F811
    unknown = post(client, f"{MODELS}/tidak-ada/evaluate", admin)
    assert unknown.status_code == 404 and "Versi model itu tidak ada." in unknown.text
    db.add(ModelVersion(version="setengah", path="/nowhere/setengah.tar.gz", status="training"))
    db.commit()
    training = post(client, f"{MODELS}/setengah/evaluate", admin)
    assert training.status_code == 409 and "belum siap dievaluasi" in training.text
    page = client.get(f"{MODELS}/setengah", headers=HTML).text
    assert "statusnya dilatih" in page and "/evaluate" not in page and "/promote" not in page
    assert db.scalar(select(ModelJob.id)) is None


# -- a version's scores, promotion and rollback -------------------------------------------------

def test_a_version_page_sets_its_f1_beside_the_live_models(
        client: TestClient, admin: str, candidates: dict[str, ModelVersion]) -> None:
    page = client.get(f"{MODELS}/worse", headers=HTML)
    assert page.status_code == 200
    rows = re.findall(r'<tr( class="row-\w+")?>\s*<th scope="row">(\w+)</th>\s*'
                      r"<td>([^<]+)</td>\s*<td>([^<]+)</td>\s*<td>([^<]+)</td>", page.text)
    assert rows == [
        ("", "greet", "1.000", "1.000", "+0.0 poin"),
        (' class="row-better"', "kk", "0.900", "0.950", "+5.0 poin"),
        (' class="row-worse"', "ktp", "0.950", "0.800", "-15.0 poin"),
    ]
    assert '<strong id="macro-kandidat">0.917</strong>' in page.text
    assert "model aktif 0.950" in page.text and f"<dd>{LIVE}</dd>" in page.text
    assert "F1 ktp turun 15.0 poin (batas 5)" in page.text
    assert 'id="promosikan-paksa"' in page.text and 'minlength="10"' in page.text
    assert f'src="{MODELS}/worse/confusion.png"' in page.text
    assert f'action="{MODELS}/worse/evaluate"' in page.text

    better = client.get(f"{MODELS}/better", headers=HTML).text
    assert 'id="promosikan"' in better and 'id="matriks"' not in better
    missing = client.get(f"{MODELS}/tidak-ada", headers=HTML)
    assert missing.status_code == 404 and "Versi model itu tidak ada." in missing.text


def test_the_confusion_matrix_is_served_only_when_it_exists(
        client: TestClient, admin: str, candidates: dict[str, ModelVersion]) -> None:
    png = client.get(f"{MODELS}/worse/confusion.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content == b"\x89PNG\r\n\x1a\nfake worse"
    for name, message in (("better", "Matriks kebingungan belum dibuat"),
                          ("tidak-ada", "Versi model itu tidak ada.")):
        response = client.get(f"{MODELS}/{name}/confusion.png")
        assert response.status_code == 404 and message in response.json()["detail"]
    Path(candidates["worse"].confusion_png or "").unlink()  # cleaned away since
    assert client.get(f"{MODELS}/worse/confusion.png").status_code == 404


def test_a_worse_model_needs_a_written_reason_and_the_old_one_comes_back(
        client: TestClient, admin: str, staff: dict[str, int],  # noqa: F811
        db: Session, models_dir: Path, fleet: FakeRasaFleet,  # noqa: F811
        candidates: dict[str, ModelVersion]) -> None:
    refused = post(client, f"{MODELS}/worse/promote", admin)
    assert refused.status_code == 409
    assert ("Promosi ditolak: macro-F1 turun 3.3 poin (batas 1); F1 ktp turun 15.0 poin "
            "(batas 5). Bila tetap perlu") in refused.text
    short = post(client, f"{MODELS}/worse/promote", admin, override_reason="darurat")
    assert short.status_code == 422 and "minimal 10 karakter" in short.text
    assert fleet.tokens == [] and db.scalar(select(ModelPromotion.id)) is None

    forced = post(client, f"{MODELS}/worse/promote", admin, override_reason=OVERRIDE)
    assert forced.status_code == 303
    assert forced.headers["location"] == f"{MODELS}/worse?pesan=dipromosikan"
    assert set(fleet.loaded.values()) == {"worse"}
    assert fleet.tokens == [f"Bearer {TOKEN}"] * 2
    assert registry.current_file(models_dir) == models_dir / "candidates" / "worse.tar.gz"
    entry = audit_rows(db, "model_")[-1]
    assert (entry.action, entry.subject, entry.reason, entry.staff_id) == \
        ("model_promoted_override", "model:worse", OVERRIDE, staff["sari"])
    assert entry.detail["previous"] == LIVE and not entry.detail["gate"]["passed"]
    now_live = client.get(f"{MODELS}/worse?pesan=dipromosikan", headers=HTML).text
    assert "Model baru sudah aktif di semua server Rasa." in now_live
    assert '<span class="tag tag-ok">Aktif</span>' in now_live
    again = post(client, f"{MODELS}/worse/promote", admin, override_reason=OVERRIDE)
    assert again.status_code == 409 and "versi worse sudah aktif" in again.text

    earlier = client.get(f"{MODELS}/{LIVE}", headers=HTML).text
    assert 'id="pulihkan"' in earlier and "tidak melalui gerbang" in earlier
    restored = post(client, f"{MODELS}/{LIVE}/promote", admin)
    assert restored.headers["location"] == f"{MODELS}/{LIVE}?pesan=dipulihkan"
    assert set(fleet.loaded.values()) == {LIVE}
    assert registry.current_file(models_dir) == models_dir / f"{LIVE}.tar.gz"
    assert [e.action for e in audit_rows(db, "model_")] == \
        ["model_promoted_override", "model_rolled_back"]
    history = db.scalars(select(ModelPromotion).order_by(ModelPromotion.id)).all()
    assert [(h.action, h.override_reason) for h in history] == \
        [("promote", OVERRIDE), ("rollback", None)]
    listing = client.get(MODELS, headers=HTML).text
    assert f'<strong id="model-aktif">{LIVE}</strong>' in listing
    assert f"pemulihan versi {LIVE}" in listing
    assert f"promosi versi worse (pengecualian: {OVERRIDE})" in listing


def test_a_better_model_is_promoted_without_a_reason(
        client: TestClient, admin: str, db: Session,  # noqa: F811
        fleet: FakeRasaFleet, candidates: dict[str, ModelVersion]) -> None:
    promoted = post(client, f"{MODELS}/better/promote", admin)
    assert promoted.headers["location"] == f"{MODELS}/better?pesan=dipromosikan"
    assert set(fleet.loaded.values()) == {"better"}
    entry = audit_rows(db, "model_")[-1]
    assert (entry.action, entry.reason) == ("model_promoted", None)
