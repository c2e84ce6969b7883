"""Training and evaluation as background jobs, with progress an admin can watch.

A job is a `ModelJob` row (queued -> running -> succeeded | failed | cancelled). One runner at a
time takes the oldest queued job (`FOR UPDATE SKIP LOCKED`, so several gateway processes can run
runners safely) and runs `nlu.jobs` in the Rasa environment as a subprocess, reading its JSON-lines
progress into the row. Training is CPU-heavy: one job runs at a time, and a second is refused
while one is queued or running.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from ..aio import raise_if_cancelled
from ..db import in_transaction, utcnow
from ..models import ModelJob, ModelVersion
from . import predictions, registry, training_data

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
TEST_SET = ROOT / "tests" / "nlu" / "test_nlu.yml"
ACTIVE = ("queued", "running", "cancelling")
STALE_AFTER = timedelta(minutes=3)
HEARTBEAT_S = 10.0
PURGE_EVERY_S = 3600.0


ENQUEUE_LOCK = 0x50494E5455  # "PINTU": PostgreSQL advisory lock key for queueing jobs


class JobBusy(Exception):
    """Another training or evaluation job is queued or running."""


class JobFailed(Exception):
    """A step of a job failed; the message is safe to show to admins."""


class JobCancelled(Exception):
    """An admin cancelled the job."""


def enqueue(session: Session, kind: str, *, staff_id: int | None,
            options: dict[str, Any] | None = None) -> ModelJob:
    """Queues a job. Raises JobBusy when one is already queued or running."""
    if kind not in ("train", "evaluate"):
        raise ValueError(f"unknown job kind {kind!r}")
    if session.get_bind().dialect.name == "postgresql":
        # Two admins pressing "Latih" at once: row locks cannot see a job not yet inserted, so
        # queueing is serialised by a lock held until this transaction ends.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ENQUEUE_LOCK})
    busy = session.scalar(select(ModelJob).where(ModelJob.status.in_(ACTIVE)).limit(1)
                          .with_for_update())
    if busy is not None:
        raise JobBusy(f"job {busy.id} ({busy.kind}) is {busy.status}")
    job = ModelJob(kind=kind, status="queued", options=options or {}, created_by=staff_id,
                   stage="menunggu giliran")
    session.add(job)
    session.flush()
    return job


def cancel(session: Session, job_id: int) -> bool:
    """Asks the runner to stop a job; a queued job is cancelled at once."""
    job = session.get(ModelJob, job_id)
    if job is None or job.status not in ACTIVE:
        return False
    if job.status == "queued":
        job.status, job.finished_at, job.stage = "cancelled", utcnow(), "dibatalkan"
    else:
        job.status = "cancelling"
    return True


def current(session: Session) -> ModelJob | None:
    """The active job, else the latest one."""
    active = session.scalar(select(ModelJob).where(ModelJob.status.in_(ACTIVE))
                            .order_by(ModelJob.id).limit(1))
    return active or session.scalar(select(ModelJob).order_by(ModelJob.id.desc()).limit(1))


def claim(session: Session) -> ModelJob | None:
    """Takes the oldest queued job; jobs whose runner stopped beating are failed first."""
    stale = utcnow() - STALE_AFTER
    session.execute(update(ModelJob).where(
        ModelJob.status.in_(("running", "cancelling")), ModelJob.heartbeat_at < stale)
        .values(status="failed", finished_at=utcnow(),
                error="pelaksana tugas berhenti di tengah jalan"))
    job = session.scalar(select(ModelJob).where(ModelJob.status == "queued")
                         .order_by(ModelJob.id).limit(1).with_for_update(skip_locked=True))
    if job is None:
        return None
    job.status, job.started_at, job.heartbeat_at = "running", utcnow(), utcnow()
    job.stage = "dimulai"
    return job


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


@dataclass
class RunnerConfig:
    rasa_python: Path
    models_dir: Path
    cv_folds: int = 3
    retention_days: int = 90
    test_set: Path = TEST_SET
    root: Path = ROOT
    config: Path = ROOT / "config.yml"

    @property
    def work_dir(self) -> Path:
        return self.root / "var" / "training"


class JobRunner:
    """Runs queued jobs one at a time until cancelled."""

    def __init__(self, sessions: sessionmaker, config: RunnerConfig, *,
                 poll_s: float = 2.0) -> None:
        self._sessions = sessions
        self._config = config
        self._poll_s = poll_s
        self._purged_at = 0.0

    async def run_forever(self) -> None:
        while True:
            raise_if_cancelled()
            try:
                if time.monotonic() - self._purged_at > PURGE_EVERY_S:
                    self._purged_at = time.monotonic()
                    gone = await asyncio.to_thread(self._tx, lambda s: predictions.purge(
                        s, older_than=timedelta(days=self._config.retention_days)))
                    if gone:
                        log.info("deleted %d unlabelled predictions past retention", gone)
                if not await self.run_once():
                    await asyncio.sleep(self._poll_s)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("model job runner round failed")
                await asyncio.sleep(self._poll_s)

    async def run_once(self) -> bool:
        """Runs the oldest queued job to its end; False when none was queued."""
        job_id = await asyncio.to_thread(self._tx, lambda s: (j := claim(s)) and j.id)
        if not job_id:
            return False
        try:
            kind, options = await asyncio.to_thread(self._tx, lambda s: _kind(s, job_id))
            if kind == "train":
                await self._train(job_id, options)
            else:
                await self._evaluate_job(job_id, options)
            await self._finish(job_id, "succeeded", None)
        except JobCancelled:
            await self._finish(job_id, "cancelled", None)
        except JobFailed as exc:
            await self._finish(job_id, "failed", str(exc))
        except Exception as exc:
            log.exception("model job %s failed", job_id)
            await self._finish(job_id, "failed", f"kesalahan tak terduga: {type(exc).__name__}")
        return True

    # -- steps ---------------------------------------------------------------------------------

    def _tx(self, work: Callable[[Session], Any]) -> Any:
        return in_transaction(self._sessions, work)

    async def _finish(self, job_id: int, status: str, error: str | None) -> None:
        def work(session: Session) -> None:
            job = session.get(ModelJob, job_id)
            if job is None:
                return
            job.status, job.error, job.finished_at = status, error, utcnow()
            if status == "succeeded":
                job.progress, job.stage = 1.0, "selesai"
            elif status == "cancelled":
                job.stage = "dibatalkan"
            version = session.get(ModelVersion, job.version_id) if job.version_id else None
            if version is not None and version.status == "training":
                version.status = "failed"
        await asyncio.to_thread(self._tx, work)

    def _data_paths(self, work: Path) -> list[Path]:
        root = self._config.root
        paths = [root / "data" / "nlu", root / "data" / "core"]
        reviewed = work / "reviewed.yml"
        return paths + ([reviewed] if reviewed.exists() else [])

    async def _train(self, job_id: int, options: dict[str, Any]) -> None:
        cfg = self._config
        epochs = options.get("epochs")

        def prepare(session: Session) -> tuple[str, Path]:
            name = time.strftime("pintu-%Y%m%d-%H%M%S")
            taken = set(session.scalars(select(ModelVersion.version)))
            n = 1
            while name in taken:
                n += 1
                name = f"{time.strftime('pintu-%Y%m%d-%H%M%S')}-{n}"
            work = cfg.work_dir / name
            work.mkdir(parents=True, exist_ok=True)
            export = training_data.write(training_data.labelled(session), work / "reviewed.yml")
            if not export.examples:
                (work / "reviewed.yml").unlink()
            training_data.domain_with(export.new_intents, work / "domain.yml")
            job = session.get(ModelJob, job_id)
            assert job is not None
            version = ModelVersion(
                version=name, path=str(cfg.models_dir.resolve() / "candidates" / f"{name}.tar.gz"),
                status="training", created_by=job.created_by,
                pipeline=cfg.config.read_text(encoding="utf-8"),
                epochs_override=int(epochs) if epochs else None,
                labelled_examples=len(export.examples))
            session.add(version)
            session.flush()
            job.version_id = version.id
            return name, work

        name, work = await asyncio.to_thread(self._tx, prepare)
        argv = ["train", "--data", *map(str, self._data_paths(work)), "--config", str(cfg.config),
                "--domain", str(work / "domain.yml"),
                "--out", str(cfg.models_dir / "candidates"), "--name", name]
        if epochs:
            argv += ["--epochs", str(int(epochs))]
        done = await self._step(job_id, argv, 0.0, 0.6, "melatih", work / "train.log")

        def trained(session: Session) -> None:
            version = registry.by_name(session, name)
            version.status, version.path = "ready", str(done["model"])
            version.data_hash, version.config_hash = done.get("data_hash"), done.get("config_hash")
            version.training_seconds, version.examples = done.get("seconds"), done.get("examples")
        await asyncio.to_thread(self._tx, trained)
        await self._evaluate(job_id, name, work, 0.6, 0.75, folds=0, epochs=epochs)
        live = await asyncio.to_thread(self._tx, lambda s: (
            v := registry.live_or_serving(s, cfg.models_dir)) and v.version)
        if live and live != name and not await self._has_current_heldout(live):
            await self._evaluate(job_id, live, cfg.work_dir / live, 0.75, 0.8, folds=0,
                                 epochs=None)
        if cfg.cv_folds >= 2:
            await self._evaluate(job_id, name, work, 0.8, 1.0, folds=cfg.cv_folds, epochs=epochs)

    async def _evaluate_job(self, job_id: int, options: dict[str, Any]) -> None:
        name = str(options.get("version") or "")
        folds = int(options.get("cv_folds", self._config.cv_folds))

        def attach(session: Session) -> None:
            version = registry.by_name(session, name)
            job = session.get(ModelJob, job_id)
            assert job is not None
            job.version_id = version.id

        try:
            await asyncio.to_thread(self._tx, attach)
        except LookupError as exc:
            raise JobFailed(f"versi model {name} tidak ada") from exc
        work = self._config.work_dir / name
        work.mkdir(parents=True, exist_ok=True)
        await self._evaluate(job_id, name, work, 0.0, 1.0, folds=folds,
                             epochs=options.get("epochs"))

    async def _has_current_heldout(self, name: str) -> bool:
        wanted = file_hash(self._config.test_set)

        def check(session: Session) -> bool:
            evaluation = registry.by_name(session, name).evaluation or {}
            return bool(evaluation.get("heldout")) and evaluation.get("test_set_hash") == wanted
        return bool(await asyncio.to_thread(self._tx, check))

    async def _evaluate(self, job_id: int, name: str, work: Path, lo: float, hi: float, *,
                        folds: int, epochs: Any) -> None:
        cfg = self._config
        path = await asyncio.to_thread(self._tx, lambda s: registry.by_name(s, name).path)
        out = work / ("evaluation-cv" if folds else "evaluation")
        argv = ["evaluate", "--model", path, "--test", str(cfg.test_set), "--out", str(out)]
        if folds >= 2:
            argv += ["--cv-folds", str(folds), "--data", *map(str, self._data_paths(work)),
                     "--config", str(cfg.config)]
            if epochs:
                argv += ["--epochs", str(int(epochs))]
        label = "validasi silang" if folds else f"mengevaluasi {name}"
        done = await self._step(job_id, argv, lo, hi, label, work / f"{out.name}.log")
        def store(session: Session) -> None:
            report = json.loads(Path(done["report"]).read_text(encoding="utf-8"))
            test_hash = file_hash(cfg.test_set)
            version = registry.by_name(session, name)
            evaluation = dict(version.evaluation or {})
            evaluation["heldout"] = report.get("heldout")
            evaluation["test_set_hash"] = test_hash
            evaluation["test_set"] = str(cfg.test_set.relative_to(cfg.root)) \
                if cfg.test_set.is_relative_to(cfg.root) else str(cfg.test_set)
            if report.get("cross_validation"):
                evaluation["cross_validation"] = report["cross_validation"]
            version.evaluation = evaluation
            version.confusion_png = done.get("confusion_matrix")
        await asyncio.to_thread(self._tx, store)

    async def _step(self, job_id: int, argv: Sequence[str], lo: float, hi: float, label: str,
                    log_path: Path) -> dict[str, Any]:
        """Runs one `nlu.jobs` command, mapping its progress into [lo, hi] of the job's bar."""
        cfg = self._config
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as errors:
            proc = await asyncio.create_subprocess_exec(
                str(cfg.rasa_python), "-m", "nlu.jobs", *argv, cwd=str(cfg.root),
                stdout=asyncio.subprocess.PIPE, stderr=errors,
                env=_rasa_env(cfg.root), limit=1 << 20)
            try:
                return await self._follow(job_id, proc, lo, hi, label)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    with contextlib.suppress(ProcessLookupError):
                        await proc.wait()

    async def _follow(self, job_id: int, proc: asyncio.subprocess.Process, lo: float, hi: float,
                      label: str) -> dict[str, Any]:
        assert proc.stdout is not None
        done: dict[str, Any] | None = None
        error: str | None = None
        last_write = 0.0
        while True:
            try:
                line = await asyncio.wait_for(proc.stdout.readline(), timeout=HEARTBEAT_S)
            except asyncio.TimeoutError:
                line = None
            if line == b"":
                break
            event: dict[str, Any] = {}
            if line:
                with contextlib.suppress(ValueError):
                    event = json.loads(line)
            if event.get("event") == "done":
                done = event
            elif event.get("event") == "error":
                error = str(event.get("message") or "")[:300]
            now = time.monotonic()
            if event.get("event") == "progress" or now - last_write > HEARTBEAT_S:
                if now - last_write < 0.5 and event.get("event") == "progress":
                    continue
                last_write = now
                fraction = float(event.get("progress", 0.0) or 0.0)
                stage = f"{label}: {event.get('stage', '')}".strip(": ")
                if not await self._progress(job_id, lo + (hi - lo) * min(max(fraction, 0), 1),
                                            stage if event else None):
                    proc.kill()
                    raise JobCancelled()
        code = await proc.wait()
        if code != 0 or done is None:
            raise JobFailed(f"{label} gagal" + (f": {error}" if error else f" (kode {code})"))
        await self._progress(job_id, hi, f"{label}: selesai")
        return done

    async def _progress(self, job_id: int, progress: float, stage: str | None) -> bool:
        """Writes the bar (never backwards) and the heartbeat; False when the job was cancelled."""
        def work(session: Session) -> bool:
            job = session.get(ModelJob, job_id)
            if job is None or job.status == "cancelling":
                return False
            job.progress = max(job.progress or 0.0, round(progress, 4))
            job.heartbeat_at = utcnow()
            if stage:
                job.stage = stage[:120]
            return True
        return bool(await asyncio.to_thread(self._tx, work))


def _kind(session: Session, job_id: int) -> tuple[str, dict[str, Any]]:
    job = session.get(ModelJob, job_id)
    if job is None:
        raise JobFailed("tugas hilang")
    return job.kind, dict(job.options or {})


def _rasa_env(root: Path) -> dict[str, str]:
    import os

    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    return {**keep, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONWARNINGS": "ignore", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
