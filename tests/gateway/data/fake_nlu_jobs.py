"""Stands in for `python -m nlu.jobs` (Rasa environment) in gateway tests: the same arguments
and JSON-lines output, no Rasa. FAKE_JOBS_SCORES (JSON {intent: f1}) sets the held-out scores;
FAKE_JOBS_FAIL=train makes training fail; FAKE_JOBS_SLOW=seconds slows each progress step."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def emit(**event: object) -> None:
    print(json.dumps(event), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command")
    parser.add_argument("--data", nargs="*", default=[])
    parser.add_argument("--config")
    parser.add_argument("--domain")
    parser.add_argument("--out")
    parser.add_argument("--name")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--model")
    parser.add_argument("--test")
    parser.add_argument("--cv-folds", type=int, default=0)
    args = parser.parse_args()
    slow = float(os.environ.get("FAKE_JOBS_SLOW", "0"))
    print("tensorflow chatter goes to stderr", file=sys.stderr)
    for step in range(1, 5):
        emit(event="progress", progress=step / 5, stage=f"DIETClassifier epoch {step}/4")
        time.sleep(slow)
    if args.command == "train":
        if os.environ.get("FAKE_JOBS_FAIL") == "train":
            emit(event="error", message="unknown component Foo")
            return 1
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        model = out / f"{args.name}.tar.gz"
        model.write_bytes(b"fake model")
        data = sorted(args.data)
        Path(out / f"{args.name}.data.json").write_text(json.dumps(data))
        emit(event="done", model=str(model.resolve()), seconds=1.5, data_hash="d" * 64,
             config_hash="c" * 64, examples=123, intents=3, epochs_override=args.epochs)
        return 0
    scores = json.loads(os.environ.get("FAKE_JOBS_SCORES", '{"ktp": 0.9, "kk": 0.8}'))
    by_model = json.loads(os.environ.get("FAKE_JOBS_SCORES_BY_MODEL", "{}"))
    stem = Path(args.model).name.removesuffix(".tar.gz")
    scores = by_model.get(stem, scores)
    per = {k: {"precision": v, "recall": v, "f1": v, "support": 12} for k, v in scores.items()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"model": stem, "test_set": args.test,
              "heldout": {"macro_f1": sum(scores.values()) / len(scores), "accuracy": 0.9,
                          "per_intent": per, "errors": []},
              "cross_validation": None}
    if args.cv_folds:
        report["cross_validation"] = {"folds": args.cv_folds, "macro_f1": 0.8, "accuracy": 0.8,
                                      "per_intent": per, "seconds": 2.0}
    (out / "evaluation.json").write_text(json.dumps(report))
    (out / "confusion_matrix.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    emit(event="done", report=str((out / "evaluation.json").resolve()),
         confusion_matrix=str((out / "confusion_matrix.png").resolve()),
         macro_f1=report["heldout"]["macro_f1"], cv_macro_f1=None, seconds=0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
