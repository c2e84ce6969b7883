"""`make nlu-eval`: per-intent F1 and a confusion matrix on the project test set, and a 5-fold
cross-validation of the training data, all under reports/."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from nlu.evaluation import ROOT, Scores, evaluate, latest_model

TEST_SET = ROOT / "tests" / "nlu" / "test_nlu.yml"
REPORTS = ROOT / "reports"


def write_confusion_matrix(scores: Scores, path: Path, *, test_name: str = TEST_SET.name) -> None:
    """The confusion matrix of `scores` as a PNG, titled with the test set's name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    labels = sorted(set(scores.labels) | set(scores.predicted))
    fig, ax = plt.subplots(figsize=(14, 12))
    ConfusionMatrixDisplay.from_predictions(
        scores.truth, scores.predicted, labels=labels, ax=ax, xticks_rotation=90, colorbar=False
    )
    ax.set_title(f"Pintu intents on {test_name}: macro-F1 {scores.macro_f1:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def cross_validate(folds: int, out: Path) -> dict:
    """Rasa's own k-fold cross-validation on data/nlu with config.yml."""
    subprocess.run(  # noqa: S603 - fixed argv
        [str(Path(sys.executable).parent / "rasa"), "test", "nlu", "--nlu", "data/nlu",
         "--config", "config.yml", "--cross-validation", "--folds", str(folds),
         "--out", str(out), "--quiet"],
        cwd=ROOT, check=True,
    )
    report = json.loads((out / "intent_report.json").read_text())
    return {"folds": folds, "macro_f1": report["macro avg"]["f1-score"],
            "accuracy": report.get("accuracy"), "weighted_f1": report["weighted avg"]["f1-score"]}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m nlu.evaluate")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--skip-cv", action="store_true")
    args = parser.parse_args()
    REPORTS.mkdir(exist_ok=True)
    model = latest_model()
    scores = evaluate(model, TEST_SET)
    (REPORTS / "intent_report.json").write_text(json.dumps({
        "model": model.name, "test_set": str(TEST_SET.relative_to(ROOT)),
        "accuracy": scores.accuracy, "macro_f1": scores.macro_f1, "per_intent": scores.per_intent,
    }, indent=2))
    (REPORTS / "intent_errors.json").write_text(json.dumps(
        scores.error_records(), indent=2, ensure_ascii=False))
    write_confusion_matrix(scores, REPORTS / "confusion_matrix.png")
    print(f"test set: macro-F1 {scores.macro_f1:.3f}, accuracy {scores.accuracy:.3f}")
    for intent, row in sorted(scores.per_intent.items(), key=lambda kv: kv[1]["f1"]):
        print(f"  {intent:22s} F1 {row['f1']:.3f}  (n={row['support']})")
    if not args.skip_cv:
        summary = cross_validate(args.folds, REPORTS / "cross-validation")
        (REPORTS / "cross_validation_summary.json").write_text(json.dumps(summary, indent=2))
        print(f"{args.folds}-fold cross-validation: macro-F1 {summary['macro_f1']:.3f}")
    print(f"reports written to {REPORTS.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
