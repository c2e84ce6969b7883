"""`python -m bot.learning`: every step of the retraining loop from the command line.

    review [--reason unsure|fallback|flagged]     list the review queue's groups
    label --by USER --intent NAME ID [ID ...]     label predictions (ids from `review`)
    dismiss --by USER ID [ID ...]                 take predictions out of the queue
    export PATH                                   write the labelled messages as Rasa NLU YAML
    versions                                      list model versions and which one is live
    train [--by USER] [--epochs N]                train, evaluate and cross-validate a candidate
    evaluate VERSION [--cv-folds K]               evaluate a version (held-out + cross-validation)
    promote VERSION --by USER [--override-reason TEXT]
    rollback [VERSION] --by USER                  restore the previous (or a named) live version

Jobs started here run in this process, printing their progress; the database is the gateway's
(DATABASE_URL). Exit status 0 on success, 1 on a refusal or failure (with the reason on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..db import make_engine, make_sessionmaker
from ..models import ModelJob, ModelVersion, StaffUser
from ..settings import Settings, get_settings
from ..staff import audit
from . import jobs, predictions, promotion, registry, training_data


def _staff(session: Session, username: str | None) -> int | None:
    if username is None:
        return None
    found = session.scalar(select(StaffUser.id).where(StaffUser.username == username,
                                                      StaffUser.active.is_(True)))
    if found is None:
        raise SystemExit(f"error: no active staff account {username!r}")
    return int(found)


def _review(session: Session, args: argparse.Namespace) -> None:
    groups = predictions.review_groups(session, reason=args.reason, limit=args.limit)
    print(f"{predictions.pending_count(session)} pending; {len(groups)} groups")
    for g in groups:
        guess = f"{g.sample.intent} {g.sample.confidence:.2f}" if g.sample.intent else "-"
        print(f"{g.count:5d}  ids={','.join(map(str, g.ids[:20]))}  [{guess}]  "
              f"{'/'.join(sorted(g.reasons))}  {g.sample.text[:80]}")


def _label(session: Session, args: argparse.Namespace) -> None:
    staff_id = _staff(session, args.by)
    assert staff_id is not None
    n = predictions.label(session, args.ids, args.intent, staff_id)
    audit.record(session, staff_id, "nlu_labelled", f"predictions:{n}",
                 detail={"ids": args.ids[:50], "intent": args.intent, "via": "cli"})
    print(f"labelled {n} as {args.intent}")


def _dismiss(session: Session, args: argparse.Namespace) -> None:
    staff_id = _staff(session, args.by)
    assert staff_id is not None
    n = predictions.dismiss(session, args.ids, staff_id)
    audit.record(session, staff_id, "nlu_dismissed", f"predictions:{n}",
                 detail={"ids": args.ids[:50], "via": "cli"})
    print(f"dismissed {n}")


def _export(session: Session, args: argparse.Namespace) -> None:
    from pathlib import Path

    done = training_data.write(training_data.labelled(session), Path(args.path))
    print(f"wrote {len(done.examples)} examples to {done.path} "
          f"({done.skipped_held_out} left out: in a held-out set; new intents: "
          f"{', '.join(done.new_intents) or 'none'})")


def _versions(session: Session, settings: Settings) -> None:
    registry.sync_files(session, settings.models_dir)
    live = registry.live_or_serving(session, settings.models_dir)
    for v in registry.versions(session):
        heldout = (v.evaluation or {}).get("heldout") or {}
        cv = (v.evaluation or {}).get("cross_validation") or {}
        mark = "*" if live is not None and v.id == live.id else " "
        f1 = f"{heldout['macro_f1']:.3f}" if heldout else "  -  "
        cvf = f"{cv['macro_f1']:.3f}" if cv else "  -  "
        print(f"{mark} {v.version:28s} {v.status:8s} test {f1}  cv {cvf}  "
              f"data {(v.data_hash or '-')[:12]}")


async def _run_job(sessions: sessionmaker, settings: Settings, kind: str,
                   options: dict[str, Any], staff_id: int | None) -> int:
    with sessions.begin() as session:
        try:
            job_id = jobs.enqueue(session, kind, staff_id=staff_id, options=options).id
        except jobs.JobBusy as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    runner = jobs.JobRunner(sessions, jobs.RunnerConfig(
        rasa_python=settings.rasa_python, models_dir=settings.models_dir,
        cv_folds=int(options.get("cv_folds", settings.nlu_cv_folds))))
    work = asyncio.create_task(runner.run_once())
    shown = ""
    while True:
        with sessions() as session:
            job = session.get(ModelJob, job_id)
            assert job is not None
            line = f"{100 * job.progress:5.1f}%  {job.stage}"
            status, error, version_id = job.status, job.error, job.version_id
        if line != shown:
            print(line, flush=True)
            shown = line
        if status not in jobs.ACTIVE:
            break
        await asyncio.sleep(1.0)
    await work
    with sessions() as session:
        version = session.get(ModelVersion, version_id) if version_id else None
        name = version.version if version else "-"
    if status != "succeeded":
        print(f"error: job {status}: {error or ''}", file=sys.stderr)
        return 1
    print(f"done: {name}")
    return 0


async def _promote(sessions: sessionmaker, settings: Settings, version: str, by: str | None,
                   reason: str | None) -> int:
    with sessions() as session:
        staff_id = _staff(session, by)
    try:
        outcome = await promotion.promote(
            sessions, settings.rasa_servers, settings.internal_api_token, settings.models_dir,
            version, staff_id=staff_id, override_reason=reason)
    except promotion.PromotionRefused as exc:
        print("refused by the gate: " + "; ".join(exc.gate.reasons) +
              " (--override-reason to promote anyway)", file=sys.stderr)
        return 1
    except (LookupError, ValueError, promotion.PromotionFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{outcome.action}: {outcome.version} is live (was {outcome.previous or '-'}) on "
          f"{len(outcome.servers)} Rasa server(s)")
    return 0


def _previous(session: Session, settings: Settings) -> str | None:
    last = registry.last_promotion(session)
    if last is None or last.previous_id is None:
        return None
    before = session.get(ModelVersion, last.previous_id)
    return before.version if before else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.learning",
                                     description="The NLU retraining loop (docs/retraining.md).")
    sub = parser.add_subparsers(dest="command", required=True)
    review = sub.add_parser("review")
    review.add_argument("--reason", choices=predictions.REASONS)
    review.add_argument("--limit", type=int, default=50)
    for name in ("label", "dismiss"):
        p = sub.add_parser(name)
        p.add_argument("--by", required=True, help="the staff account doing it")
        if name == "label":
            p.add_argument("--intent", required=True)
        p.add_argument("ids", type=int, nargs="+")
    sub.add_parser("export").add_argument("path")
    sub.add_parser("versions")
    train = sub.add_parser("train")
    train.add_argument("--by")
    train.add_argument("--epochs", type=int)
    train.add_argument("--cv-folds", type=int)
    evaluate = sub.add_parser("evaluate")
    evaluate.add_argument("version")
    evaluate.add_argument("--cv-folds", type=int)
    evaluate.add_argument("--by")
    promote = sub.add_parser("promote")
    promote.add_argument("version")
    promote.add_argument("--by", required=True)
    promote.add_argument("--override-reason")
    rollback = sub.add_parser("rollback")
    rollback.add_argument("version", nargs="?")
    rollback.add_argument("--by", required=True)
    args = parser.parse_args(argv)

    settings = get_settings()
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        if args.command in ("review", "label", "dismiss", "export"):
            work = {"review": _review, "label": _label, "dismiss": _dismiss,
                    "export": _export}[args.command]
            with sessions.begin() as session:
                try:
                    work(session, args)
                except ValueError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 1
            return 0
        if args.command == "versions":
            with sessions.begin() as session:
                _versions(session, settings)
            return 0
        if args.command in ("train", "evaluate"):
            with sessions() as session:
                staff_id = _staff(session, args.by)
            options: dict[str, Any] = {}
            if args.command == "train" and args.epochs:
                options["epochs"] = args.epochs
            if args.command == "evaluate":
                options["version"] = args.version
            if args.cv_folds is not None:
                options["cv_folds"] = args.cv_folds
            return asyncio.run(_run_job(sessions, settings, args.command, options, staff_id))
        if args.command == "promote":
            return asyncio.run(_promote(sessions, settings, args.version, args.by,
                                        args.override_reason))
        with sessions() as session:
            target = args.version or _previous(session, settings)
        if target is None:
            print("error: nothing to roll back to", file=sys.stderr)
            return 1
        return asyncio.run(_promote(sessions, settings, target, args.by, None))
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
