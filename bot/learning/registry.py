"""Model versions, the promotion gate, and which model is live.

Every trained model is a `ModelVersion` row with its file, training data hash, pipeline and scores.
The live model is the one last promoted (or rolled back to); its file is also named in
`models/current` so that a restarted stack serves it without asking the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nlu.evaluation import latest_model

from ..db import utcnow
from ..models import ModelPromotion, ModelVersion

POINTER = "current"
MAX_MACRO_DROP = 0.01  # one point of macro-F1
MAX_INTENT_DROP = 0.05  # five points of any intent's F1


def pointer_path(models_dir: Path) -> Path:
    return models_dir / POINTER


def current_file(models_dir: Path) -> Path | None:
    """The model file last promoted here, when `models/current` names one that exists."""
    pointer = pointer_path(models_dir)
    if not pointer.is_file():
        return None
    named = Path(pointer.read_text(encoding="utf-8").strip())
    path = named if named.is_absolute() else models_dir / named
    return path if path.is_file() and path.name.endswith(".tar.gz") else None


def write_pointer(models_dir: Path, model_file: Path) -> None:
    """Names the live model for the next start (atomically: a reader sees old or new)."""
    pointer = pointer_path(models_dir)
    try:
        named = str(model_file.resolve().relative_to(models_dir.resolve()))
    except ValueError:
        named = str(model_file.resolve())
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(named + "\n", encoding="utf-8")
    tmp.replace(pointer)


def serving_file(models_dir: Path) -> Path | None:
    """What a starting Rasa server should load: the promoted model, else the newest in models/."""
    promoted = current_file(models_dir)
    if promoted is not None:
        return promoted
    try:
        return latest_model(models_dir)
    except FileNotFoundError:
        return None


def stem(path: Path | str) -> str:
    name = Path(path).name
    return name[:-len(".tar.gz")] if name.endswith(".tar.gz") else name


def sync_files(session: Session, models_dir: Path) -> None:
    """Registers model files trained outside the admin page (`make train`) so they can be
    compared, promoted and restored like any other."""
    known = set(session.scalars(select(ModelVersion.version)))
    files = list(models_dir.glob("*.tar.gz")) + list((models_dir / "candidates").glob("*.tar.gz"))
    for path in sorted(files, key=lambda p: p.stat().st_mtime):
        if stem(path) not in known:
            session.add(ModelVersion(version=stem(path), path=str(path.resolve()), status="ready"))
            known.add(stem(path))
    session.flush()


def last_promotion(session: Session) -> ModelPromotion | None:
    found = history(session, limit=1)
    return found[0] if found else None


def live(session: Session) -> ModelVersion | None:
    """The version promoted last (a rollback counts as a promotion of the older one)."""
    last = last_promotion(session)
    return session.get(ModelVersion, last.version_id) if last is not None else None


def live_or_serving(session: Session, models_dir: Path) -> ModelVersion | None:
    """The live version; before any promotion, the file the stack serves."""
    found = live(session)
    if found is not None:
        return found
    serving = serving_file(models_dir)
    if serving is None:
        return None
    sync_files(session, models_dir)
    return session.scalar(select(ModelVersion).where(ModelVersion.version == stem(serving)))


def versions(session: Session) -> list[ModelVersion]:
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.created_at.desc(),
                                                              ModelVersion.id.desc())))


def by_name(session: Session, version: str) -> ModelVersion:
    """Raises LookupError when there is no such version."""
    found = session.scalar(select(ModelVersion).where(ModelVersion.version == version))
    if found is None:
        raise LookupError(f"no model version {version!r}")
    return found


def was_live(session: Session, version: ModelVersion) -> bool:
    """Whether residents were served by it: promoted once, or live when another replaced it."""
    return session.scalar(select(ModelPromotion.id).where(
        (ModelPromotion.version_id == version.id) | (ModelPromotion.previous_id == version.id))
        .limit(1)) is not None


@dataclass
class IntentRow:
    intent: str
    live: float | None
    candidate: float | None
    support: int

    @property
    def delta(self) -> float | None:
        if self.live is None or self.candidate is None:
            return None
        return self.candidate - self.live


@dataclass
class Gate:
    """The comparison of a candidate with the live model on the fixed held-out set."""

    passed: bool
    macro_live: float | None
    macro_candidate: float | None
    rows: list[IntentRow] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "macro_live": self.macro_live,
                "macro_candidate": self.macro_candidate, "reasons": self.reasons}


def _heldout(version: ModelVersion | None) -> dict[str, Any] | None:
    if version is None:
        return None
    found = (version.evaluation or {}).get("heldout")
    return found if isinstance(found, dict) else None


def gate(candidate: ModelVersion, current: ModelVersion | None, *,
         max_macro_drop: float = MAX_MACRO_DROP,
         max_intent_drop: float = MAX_INTENT_DROP) -> Gate:
    """Refuses a candidate whose held-out macro-F1 is more than a point below the live model's,
    or any of whose intents lost more than five points of F1; an unevaluated candidate fails."""
    cand = _heldout(candidate)
    base = _heldout(current) if current is not None and current.id != candidate.id else None
    if cand is None:
        return Gate(False, None, None, reasons=["kandidat belum dievaluasi"])
    per_cand: dict[str, Any] = cand.get("per_intent") or {}
    per_base: dict[str, Any] = (base or {}).get("per_intent") or {}
    rows = [IntentRow(intent, (per_base.get(intent) or {}).get("f1"),
                      (per_cand.get(intent) or {}).get("f1"),
                      int((per_cand.get(intent) or per_base.get(intent) or {}).get("support", 0)))
            for intent in sorted(set(per_cand) | set(per_base))]
    result = Gate(True, (base or {}).get("macro_f1"), cand.get("macro_f1"), rows)
    if base is None:
        return result  # nothing live to compare with: the first model
    if result.macro_live is not None and result.macro_candidate is not None and \
            result.macro_live - result.macro_candidate > max_macro_drop + 1e-9:
        result.reasons.append(
            f"macro-F1 turun {100 * (result.macro_live - result.macro_candidate):.1f} poin "
            f"(batas {100 * max_macro_drop:.0f})")
    for row in rows:
        if row.delta is not None and -row.delta > max_intent_drop + 1e-9:
            result.reasons.append(f"F1 {row.intent} turun {-100 * row.delta:.1f} poin "
                                  f"(batas {100 * max_intent_drop:.0f})")
        elif row.live is not None and row.candidate is None:
            result.reasons.append(f"intent {row.intent} tidak ada pada kandidat")
    result.passed = not result.reasons
    return result


def record_promotion(session: Session, version: ModelVersion, previous: ModelVersion | None,
                     *, staff_id: int | None, action: str, gate_result: Gate | None,
                     override_reason: str | None, servers: dict[str, Any]) -> ModelPromotion:
    now = utcnow()
    version.promoted_at = now
    promotion = ModelPromotion(
        at=now, version_id=version.id, previous_id=previous.id if previous else None,
        staff_id=staff_id, action=action,
        gate=gate_result.as_json() if gate_result is not None else {},
        override_reason=override_reason or None, servers=servers)
    session.add(promotion)
    session.flush()
    return promotion


def history(session: Session, limit: int = 20) -> list[ModelPromotion]:
    return list(session.scalars(select(ModelPromotion).order_by(
        ModelPromotion.at.desc(), ModelPromotion.id.desc()).limit(limit)))
