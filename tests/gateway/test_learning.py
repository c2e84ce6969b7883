"""The retraining loop's gateway side on real PostgreSQL: predictions recorded masked, the review
queue grouped, labels turned into training data (never the held-out sets'), jobs run with their
progress, the promotion gate, promotion to every Rasa server and rollback."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db import make_sessionmaker
from bot.learning import jobs, predictions, promotion, registry, training_data
from bot.models import (
    AuditEntry,
    Message,
    ModelJob,
    ModelVersion,
    Prediction,
)
from bot.rasa_client import RasaClient, Understanding
from bot.staff import auth
from bot.staff.masking import star_personal
from tests.gateway.conftest import resident_message

pytestmark = pytest.mark.integration

FAKE_JOBS = Path(__file__).parent / "data" / "fake_nlu_jobs.py"


def Understood(text: str, intent: str | None, confidence: float,
               **extra: Any) -> Understanding:
    return Understanding(text, intent, confidence, model="pintu-test", **extra)


@pytest.fixture
def sessions(pg_engine: Engine) -> sessionmaker:
    return make_sessionmaker(pg_engine)


@pytest.fixture
def admin_id(sessions: sessionmaker) -> int:
    with sessions.begin() as session:
        return auth.create_staff(session, "sari", "Sari (Diskominfo)", "admin",
                                 "kunci-rahasia-2026").id


def _record(session: Session, text: str, intent: str = "ktp", confidence: float = 0.4,
            **extra: Any) -> Prediction | None:
    return predictions.record(session, channel="telegram", message_id=None, text=text,
                              understanding=Understood(text, intent, confidence, **extra),
                              review_below=0.7)


# -- masking and grouping -----------------------------------------------------------------------

def test_masking_keeps_every_character_in_place() -> None:
    text = "nik saya 3671 0512 0780 0002, hp +62 812-3456-7890 ya"
    starred = star_personal(text)
    assert len(starred) == len(text)
    assert "0512" not in starred and "3456" not in starred
    assert starred.startswith("nik saya 3671 **** **** **02, hp +62 81*-****-*890 ya")


def test_similar_messages_share_a_key() -> None:
    a = predictions.text_key("Cek KTP 3671**********02!!")
    assert a == predictions.text_key("cek   ktp 3174**********11") == "cek ktp #"
    assert predictions.text_key("halooooo min") == predictions.text_key("Halo min")


def test_a_prediction_is_stored_masked_with_its_ranking_and_entities(
        sessions: sessionmaker) -> None:
    text = "tolong cek ktp 3671051207800002"
    with sessions.begin() as session:
        p = _record(session, text, confidence=0.91,
                    ranking=(("ktp", 0.91), ("kk", 0.05), ("a", .01), ("b", .01), ("c", .01),
                             ("d", .01)),
                    entities=({"entity": "nik", "value": "3671051207800002", "start": 15,
                               "end": 31, "extractor": "PintuEntityExtractor"},))
        assert p is not None
        session.flush()
        assert p.text == "tolong cek ktp 3671**********02"
        assert p.entities[0]["value"] == "3671**********02"
        assert len(p.ranking) == 5 and p.ranking[0] == {"name": "ktp", "confidence": 0.91}
        assert p.review == "none" and p.model_version == "pintu-test"
        assert _record(session, "/ktp", confidence=1.0) is None  # a button press is no guess
        unsure = _record(session, "apa ya", confidence=0.3)
        fallback = _record(session, "zzz", intent="out_of_scope", confidence=0.9, fallback=True)
        assert unsure is not None and unsure.review == "pending" and unsure.unsure
        assert fallback is not None and fallback.review == "pending" and fallback.fallback


def test_the_review_queue_groups_similar_messages_largest_first(sessions: sessionmaker) -> None:
    with sessions.begin() as session:
        for text in ("cara bikin ktp baru gmn", "Cara bikin KTP baru gmn??",
                     "cara bikin ktp baru gimana",
                     "jadwal posyandu", "JADWAL POSYANDUUU"):
            _record(session, text)
        _record(session, "jalan rusak depan rumah", intent="complaint", confidence=0.95)
    with sessions() as session:
        groups = predictions.review_groups(session)
        assert [g.count for g in groups] == [3, 2]
        assert groups[0].reasons == {"unsure"} and groups[0].intents == {"ktp": 3}
        assert predictions.pending_count(session) == 5
        assert predictions.review_groups(session, reason="fallback") == []


def test_officers_flag_a_resident_message_into_the_queue(sessions: sessionmaker,
                                                         admin_id: int) -> None:
    with sessions.begin() as session:
        message = resident_message(session, channel="whatsapp", external_id="6281234567890",
                                   text="sy mau urus surat pindah 081234567890")
        reply = Message(conversation_id=message.conversation_id, direction="out",
                        channel="whatsapp", kind="text", content={"text": "baik"}, status="sent")
        session.add(reply)
        session.flush()
        flagged = predictions.flag(session, message.id, admin_id)
        assert flagged.review == "pending" and flagged.flagged_by == admin_id
        assert "34567" not in flagged.text
        with pytest.raises(LookupError):
            predictions.flag(session, reply.id, admin_id)  # only residents' messages


# -- labels become training data ----------------------------------------------------------------

def test_labels_become_rasa_yaml_without_the_held_out_messages(sessions: sessionmaker,
                                                               admin_id: int,
                                                               tmp_path: Path) -> None:
    held_out = next(iter(training_data.held_out_keys()))
    with sessions.begin() as session:
        a = _record(session, "cek nik 3671051207800002 [urgent]")
        b = _record(session, "info bansos kapan cair")
        c = _record(session, held_out)  # a resident typed a test-set message word for word
        d = _record(session, "spam spam")
        session.flush()
        assert a and b and c and d
        predictions.label(session, [a.id], "ktp", admin_id,
                          entities=[{"entity": "nik", "start": 8, "end": 24}])
        predictions.label(session, [b.id, c.id], "info_bansos", admin_id)
        assert predictions.dismiss(session, [d.id], admin_id) == 1
        with pytest.raises(ValueError):
            predictions.label(session, [b.id], "Info Bansos!", admin_id)
        with pytest.raises(ValueError):
            predictions.label(session, [a.id], "ktp", admin_id,
                              entities=[{"entity": "nik", "start": 8, "end": 99}])
    with sessions() as session:
        examples = training_data.labelled(session)
        assert training_data.labelled_count(session) == len(examples) >= 2
        done = training_data.write(examples, tmp_path / "reviewed.yml")
    assert done.skipped_held_out == 1 and done.new_intents == ["info_bansos"]
    data = yaml.safe_load((tmp_path / "reviewed.yml").read_text())
    lines = {block["intent"]: block["examples"] for block in data["nlu"]}
    assert "info bansos kapan cair" in lines["info_bansos"]
    assert held_out not in lines["info_bansos"]
    ktp = lines["ktp"].strip()
    assert ktp.startswith("- cek nik [3671") and ktp.endswith("02](nik) (urgent)")
    assert "*" not in ktp  # starred digits filled with stand-ins
    domain = training_data.domain_with(done.new_intents, tmp_path / "domain.yml")
    assert "info_bansos" in training_data.known_intents(domain)


# -- the gate -------------------------------------------------------------------------------------

def _version(session: Session, name: str, scores: dict[str, float] | None) -> ModelVersion:
    evaluation = {}
    if scores is not None:
        evaluation = {"heldout": {"macro_f1": sum(scores.values()) / len(scores), "per_intent": {
            k: {"f1": v, "support": 12} for k, v in scores.items()}}}
    version = ModelVersion(version=name, path=f"/nowhere/{name}.tar.gz", status="ready",
                           evaluation=evaluation)
    session.add(version)
    session.flush()
    return version


def test_the_gate_refuses_a_worse_model(sessions: sessionmaker) -> None:
    with sessions.begin() as session:
        live = _version(session, "live", {"ktp": 0.95, "kk": 0.90, "greet": 1.0})
        same = _version(session, "same", {"ktp": 0.96, "kk": 0.89, "greet": 0.995})
        macro = _version(session, "macro", {"ktp": 0.93, "kk": 0.88, "greet": 0.98})
        intent = _version(session, "intent", {"ktp": 1.0, "kk": 0.84, "greet": 1.0})
        unevaluated = _version(session, "new", None)
        assert registry.gate(same, live).passed
        refused = registry.gate(macro, live)
        assert not refused.passed and "macro-F1 turun 2.0 poin" in refused.reasons[0]
        refused = registry.gate(intent, live)
        assert not refused.passed and refused.reasons == ["F1 kk turun 6.0 poin (batas 5)"]
        assert not registry.gate(unevaluated, live).passed
        assert registry.gate(same, None).passed  # the first model has nothing to beat
        rows = {r.intent: r for r in registry.gate(intent, live).rows}
        assert rows["kk"].delta == pytest.approx(-0.06)


# -- jobs -----------------------------------------------------------------------------------------


def test_two_admins_starting_training_at_once_queue_one_job(sessions: sessionmaker) -> None:
    import threading

    barrier, outcomes = threading.Barrier(4), []

    def start() -> None:
        barrier.wait()
        try:
            with sessions.begin() as session:
                jobs.enqueue(session, "train", staff_id=None)
                time.sleep(0.2)  # the others must wait for this transaction, not slip past it
            outcomes.append("queued")
        except jobs.JobBusy:
            outcomes.append("busy")

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["busy", "busy", "busy", "queued"]
    with sessions() as session:
        assert len(session.scalars(select(ModelJob)).all()) == 1

@pytest.fixture
def fake_rasa_python(tmp_path: Path) -> Path:
    """An executable that takes `-m nlu.jobs ...` like the Rasa environment's Python."""
    script = tmp_path / "fake-python"
    script.write_text(f"#!/bin/sh\nshift 2\nexec {sys.executable} {FAKE_JOBS} \"$@\"\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def runner_config(tmp_path: Path, fake_rasa_python: Path) -> jobs.RunnerConfig:
    models = tmp_path / "models"
    models.mkdir()
    (models / "pintu-20260101-000000.tar.gz").write_bytes(b"the make-train model")
    root = Path(__file__).resolve().parents[2]
    return jobs.RunnerConfig(rasa_python=fake_rasa_python, models_dir=models, cv_folds=2,
                             root=root)


@pytest.fixture
def isolated_work_dir(runner_config: jobs.RunnerConfig, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs.RunnerConfig, "work_dir", property(lambda _self: tmp_path / "work"))


def _progress_seen(sessions: sessionmaker, job_id: int, seen: list[float],
                   stop: asyncio.Event) -> asyncio.Task[None]:
    async def watch() -> None:
        while not stop.is_set():
            with sessions() as session:
                job = session.get(ModelJob, job_id)
                if job is not None:
                    seen.append(job.progress)
            await asyncio.sleep(0.05)
    return asyncio.ensure_future(watch())


@pytest.mark.usefixtures("isolated_work_dir")
def test_a_training_job_yields_an_evaluated_version_with_a_monotonic_progress_bar(
        sessions: sessionmaker, admin_id: int, runner_config: jobs.RunnerConfig,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_JOBS_SLOW", "0.05")
    with sessions.begin() as session:
        labelled = _record(session, "kapan bansos cair")
        session.flush()
        assert labelled is not None
        predictions.label(session, [labelled.id], "info_bansos", admin_id)
        job_id = jobs.enqueue(session, "train", staff_id=admin_id, options={"epochs": 2}).id
        with pytest.raises(jobs.JobBusy):
            jobs.enqueue(session, "evaluate", staff_id=admin_id)
    seen: list[float] = []

    async def run() -> bool:
        stop = asyncio.Event()
        watcher = _progress_seen(sessions, job_id, seen, stop)
        ran = await jobs.JobRunner(sessions, runner_config).run_once()
        stop.set()
        await watcher
        return ran

    assert asyncio.run(run())
    assert seen == sorted(seen) and len(set(seen)) > 3
    with sessions() as session:
        job = session.get(ModelJob, job_id)
        assert job is not None and job.status == "succeeded" and job.progress == 1.0
        version = session.get(ModelVersion, job.version_id)
        assert version is not None and version.status == "ready"
        assert version.data_hash == "d" * 64 and version.examples == 123
        assert version.labelled_examples == 1 and version.epochs_override == 2
        assert "DIETClassifier" in (version.pipeline or "")
        assert version.evaluation["heldout"]["per_intent"]["ktp"]["f1"] == 0.9
        assert version.evaluation["cross_validation"]["folds"] == 2
        assert version.confusion_png and Path(version.confusion_png).is_file()
        # The live model was evaluated on the same held-out set, for the comparison.
        live = registry.by_name(session, "pintu-20260101-000000")
        assert live.evaluation["heldout"]["macro_f1"] == pytest.approx(0.85)
        data = json.loads(Path(version.path).with_name(f"{version.version}.data.json")
                          .read_text())
        assert any(p.endswith("reviewed.yml") for p in data)


@pytest.mark.usefixtures("isolated_work_dir")
def test_a_failed_training_says_why_and_leaves_no_usable_version(
        sessions: sessionmaker, runner_config: jobs.RunnerConfig,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_JOBS_FAIL", "train")
    with sessions.begin() as session:
        job_id = jobs.enqueue(session, "train", staff_id=None).id
    assert asyncio.run(jobs.JobRunner(sessions, runner_config).run_once())
    with sessions() as session:
        job = session.get(ModelJob, job_id)
        assert job is not None and job.status == "failed"
        assert job.error == "melatih gagal: unknown component Foo"
        version = session.get(ModelVersion, job.version_id)
        assert version is not None and version.status == "failed"
    assert not asyncio.run(jobs.JobRunner(sessions, runner_config).run_once())  # queue empty


@pytest.mark.usefixtures("isolated_work_dir")
def test_a_running_job_can_be_cancelled(sessions: sessionmaker,
                                        runner_config: jobs.RunnerConfig,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_JOBS_SLOW", "1.0")
    with sessions.begin() as session:
        job_id = jobs.enqueue(session, "train", staff_id=None).id

    async def run() -> None:
        task = asyncio.ensure_future(jobs.JobRunner(sessions, runner_config).run_once())
        await asyncio.sleep(1.5)
        with sessions.begin() as session:
            assert jobs.cancel(session, job_id)
        await asyncio.wait_for(task, 10)

    asyncio.run(run())
    with sessions() as session:
        job = session.get(ModelJob, job_id)
        assert job is not None and job.status == "cancelled"


# -- promotion and rollback ---------------------------------------------------------------------

class FakeRasaServers:
    """Rasa servers with the pintu channel's model route; `refuse` names servers that fail."""

    def __init__(self, urls: list[str]) -> None:
        self.loaded = {url: "pintu-20260101-000000" for url in urls}
        self.refuse: set[str] = set()
        self.slow: dict[str, int] = {}  # server: polls that still see its swap running
        self.tokens: list[str] = []

    def client(self, url: str) -> RasaClient:
        def handle(request: httpx.Request) -> httpx.Response:
            if request.method == "GET":
                running = self.slow.get(url, 0) > 0
                self.slow[url] = self.slow.get(url, 0) - 1
                return httpx.Response(200, json={"model": self.loaded[url],
                                                 "swapping": running})
            self.tokens.append(request.headers.get("authorization", ""))
            if url in self.slow:  # loads on after the request gave up waiting
                self.loaded[url] = Path(json.loads(request.content)["model_file"]).name \
                    .removesuffix(".tar.gz")
                raise httpx.ReadTimeout("timed out", request=request)
            if url in self.refuse:
                return httpx.Response(500, json={"message": "cannot load"})
            body = json.loads(request.content)
            previous = self.loaded[url]
            self.loaded[url] = Path(body["model_file"]).name.removesuffix(".tar.gz")
            return httpx.Response(200, json={"model": self.loaded[url], "previous": previous,
                                             "load_seconds": 0.1})
        return RasaClient(url, client=httpx.AsyncClient(
            base_url=url, transport=httpx.MockTransport(handle)))


@pytest.fixture
def two_models(sessions: sessionmaker, tmp_path: Path) -> Iterator[tuple[Path, FakeRasaServers]]:
    models = tmp_path / "models"
    (models / "candidates").mkdir(parents=True)
    live_file = models / "pintu-20260101-000000.tar.gz"
    live_file.write_bytes(b"live")
    with sessions.begin() as session:
        registry.sync_files(session, models)
        live = registry.by_name(session, "pintu-20260101-000000")
        live.evaluation = {"heldout": {"macro_f1": 0.95, "per_intent": {
            "ktp": {"f1": 0.95, "support": 12}, "kk": {"f1": 0.95, "support": 12}}}}
        for name, f1 in (("better", 0.97), ("worse", 0.80)):
            path = models / "candidates" / f"{name}.tar.gz"
            path.write_bytes(name.encode())
            session.add(ModelVersion(version=name, path=str(path), status="ready", evaluation={
                "heldout": {"macro_f1": f1, "per_intent": {"ktp": {"f1": f1, "support": 12},
                                                           "kk": {"f1": f1, "support": 12}}}}))
    yield models, FakeRasaServers(["http://rasa-a", "http://rasa-b"])


def _promote(sessions: sessionmaker, models: Path, servers: FakeRasaServers, version: str,
             staff_id: int, reason: str | None = None) -> promotion.Outcome:
    return asyncio.run(promotion.promote(
        sessions, list(servers.loaded), "swap-token", models, version, staff_id=staff_id,
        override_reason=reason, client=servers.client))


def test_promotion_swaps_every_server_and_rollback_restores_the_previous_model(
        sessions: sessionmaker, admin_id: int,
        two_models: tuple[Path, FakeRasaServers]) -> None:
    models, servers = two_models
    outcome = _promote(sessions, models, servers, "better", admin_id)
    assert outcome.action == "promote" and outcome.previous == "pintu-20260101-000000"
    assert set(servers.loaded.values()) == {"better"}
    assert servers.tokens == ["Bearer swap-token"] * 2
    assert registry.current_file(models) == models / "candidates" / "better.tar.gz"
    with pytest.raises(ValueError, match="sudah aktif"):
        _promote(sessions, models, servers, "better", admin_id)
    back = _promote(sessions, models, servers, "pintu-20260101-000000", admin_id)
    assert back.action == "rollback"  # it served before: no gate
    assert set(servers.loaded.values()) == {"pintu-20260101-000000"}
    with sessions() as session:
        assert [h.action for h in registry.history(session)] == ["rollback", "promote"]
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions == ["model_promoted", "model_rolled_back"]


def test_the_gate_blocks_promotion_unless_an_admin_gives_a_reason(
        sessions: sessionmaker, admin_id: int,
        two_models: tuple[Path, FakeRasaServers]) -> None:
    models, servers = two_models
    with pytest.raises(promotion.PromotionRefused) as refused:
        _promote(sessions, models, servers, "worse", admin_id)
    assert "macro-F1 turun 15.0 poin" in refused.value.gate.reasons[0]
    assert set(servers.loaded.values()) == {"pintu-20260101-000000"}  # nothing swapped
    outcome = _promote(sessions, models, servers, "worse", admin_id,
                       reason="Darurat: intent bansos baru harus dikenali hari ini")
    assert outcome.overridden and set(servers.loaded.values()) == {"worse"}
    with sessions() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "model_promoted_override")).one()
        assert entry.reason == "Darurat: intent bansos baru harus dikenali hari ini"
        assert registry.history(session)[0].override_reason == entry.reason


def test_a_server_that_refuses_the_model_puts_every_server_back(
        sessions: sessionmaker, admin_id: int,
        two_models: tuple[Path, FakeRasaServers]) -> None:
    models, servers = two_models
    servers.refuse.add("http://rasa-b")
    with pytest.raises(promotion.PromotionFailed):
        _promote(sessions, models, servers, "better", admin_id)
    assert servers.loaded["http://rasa-a"] == "pintu-20260101-000000"
    with sessions() as session:
        assert registry.history(session) == []
    assert registry.current_file(models) is None
    assert os.environ.get("FAKE_JOBS_FAIL") is None


def test_a_swap_that_outlasts_its_request_is_followed_to_its_end(
        sessions: sessionmaker, admin_id: int, two_models: tuple[Path, FakeRasaServers],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Under heavy traffic a load can take longer than the request waits: the server is asked
    until its swap ends, and one that switched counts as switched."""
    monkeypatch.setattr(promotion, "POLL_S", 0.01)
    models, servers = two_models
    servers.slow["http://rasa-b"] = 3
    outcome = _promote(sessions, models, servers, "better", admin_id)
    assert set(servers.loaded.values()) == {"better"}
    assert outcome.servers["http://rasa-b"]["confirmed_after"] == "RasaUnavailable"
    with sessions() as session:
        assert [h.action for h in registry.history(session)] == ["promote"]
    assert registry.current_file(models) == models / "candidates" / "better.tar.gz"
