"""Trains every candidate pipeline in nlu/pipelines/ on data/nlu and scores it on held-out data.

`python -m nlu.compare [--eval nlu/eval/dev_nlu.yml]` writes reports/pipeline-comparison.json and
prints a Markdown table for docs/nlu.md. NLU-only models go to a temporary folder, never models/.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nlu.evaluation import ROOT, evaluate


def train_nlu(config: Path, out: Path) -> tuple[Path, float]:
    started = time.monotonic()
    subprocess.run(  # noqa: S603 - fixed argv
        [str(Path(sys.executable).parent / "rasa"), "train", "nlu", "--config", str(config),
         "--nlu", "data/nlu", "--out", str(out), "--fixed-model-name", config.stem, "--quiet"],
        cwd=ROOT, check=True,
    )
    return out / f"{config.stem}.tar.gz", time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m nlu.compare")
    parser.add_argument("--eval", type=Path, default=ROOT / "nlu" / "eval" / "dev_nlu.yml")
    parser.add_argument("pipelines", nargs="*", type=Path)
    args = parser.parse_args()
    pipelines = args.pipelines or sorted((ROOT / "nlu" / "pipelines").glob("*.yml"))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for config in pipelines:
            model, seconds = train_nlu(config, Path(tmp))
            scores = evaluate(model, args.eval)
            results.append({"pipeline": config.stem, "train_seconds": round(seconds, 1),
                            "accuracy": round(scores.accuracy, 4),
                            "macro_f1": round(scores.macro_f1, 4)})
            print(json.dumps(results[-1]), flush=True)
    out = ROOT / "reports" / "pipeline-comparison.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"eval_file": str(args.eval.relative_to(ROOT)),
                               "results": results}, indent=2))
    print("\n| pipeline | macro-F1 | accuracy | training (s) |\n|---|---|---|---|")
    for r in results:
        print(f"| {r['pipeline']} | {r['macro_f1']:.3f} | {r['accuracy']:.3f} | "
              f"{r['train_seconds']:.0f} |")


if __name__ == "__main__":
    main()
