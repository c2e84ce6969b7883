"""Retraining benchmark (issue 5): how long the admin page's "Latih model baru" takes to train a
full model on the whole training set, and the held-out macro-F1 of what it trained.

    PYTHONPATH=. .venv/bin/python -m bench.train [--epochs N]

Runs exactly the commands the job runner runs (`bot/learning/jobs.py`) in the Rasa environment:
`python -m nlu.jobs train` on data/nlu and data/core with config.yml and domain.yml (all epochs
of the pipeline unless --epochs), then `python -m nlu.jobs evaluate` on the fixed held-out set.
No stack is needed; the model goes to a temporary folder and is deleted. Two results:

- `bench/results/train.json`: wall-clock seconds of the training command (start of the process to
  its `done` line), with Rasa's own training time, the number of examples and the target (300 s);
- `bench/results/nlu_macro_f1.json`: the trained model's intent macro-F1 on tests/nlu/test_nlu.yml.

Progress goes to stderr; the last line of stdout is the training result. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.learning.jobs import TEST_SET
from bot.settings import get_settings
from bot.stack import ROOT

from . import cpu, report

TARGET_S = 300.0


def _job(python: Path, argv: list[str], log: Path) -> tuple[dict[str, Any], float]:
    """Runs one `nlu.jobs` command; its `done` event and the wall-clock seconds it took."""
    started = time.perf_counter()
    with log.open("wb") as errors:
        proc = subprocess.run([str(python), "-m", "nlu.jobs", *argv], cwd=ROOT,  # noqa: S603
                              stdout=subprocess.PIPE, stderr=errors, check=False,
                              env={**_env(), "PYTHONPATH": str(ROOT)})
    seconds = time.perf_counter() - started
    events = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]
    done = next((e for e in events if e.get("event") == "done"), None)
    if proc.returncode != 0 or done is None:
        failed: dict[str, Any] = next((e for e in events if e.get("event") == "error"), {})
        report.say(f"nlu.jobs {argv[0]} failed: {failed.get('message')}; see {log}")
        sys.exit(1)
    return done, seconds


def _children_cpu_s() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _with_training(usage: dict[str, float] | None, cores: float) -> dict[str, float] | None:
    """`cpu.usage` counts the finished training process as another program's; it is ours."""
    if usage is None:
        return None
    return {**usage, "training": round(cores, 2),
            "others": round(max(0.0, usage["others"] - cores), 2)}


def _env() -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.train", description=__doc__)
    parser.add_argument("--epochs", type=int, help="cut every trained component to N epochs")
    args = parser.parse_args()
    report.stop_on_sigterm()
    python = get_settings().rasa_python
    machine = report.machine()
    with tempfile.TemporaryDirectory(prefix="pintu-bench-train-") as tmp:
        out = Path(tmp)
        argv = ["train", "--data", str(ROOT / "data" / "nlu"), str(ROOT / "data" / "core"),
                "--config", str(ROOT / "config.yml"), "--domain", str(ROOT / "domain.yml"),
                "--out", str(out), "--name", "bench-train"]
        if args.epochs:
            argv += ["--epochs", str(args.epochs)]
        report.say("training a full model as the admin page does (about 4 minutes)")
        before, children = cpu.snapshot({}), _children_cpu_s()
        trained, wall_s = _job(python, argv, out / "train.log")
        during = _with_training(cpu.usage(before, cpu.snapshot({})),
                                (_children_cpu_s() - children) / wall_s)
        report.say(f"trained in {wall_s:.1f} s; evaluating on the held-out set")
        evaluated, eval_s = _job(python, ["evaluate", "--model", str(trained["model"]),
                                          "--test", str(TEST_SET), "--out", str(out / "eval")],
                                 out / "evaluate.log")
        heldout = json.loads(Path(evaluated["report"]).read_text())["heldout"]
    outside = report.outside_load([during])
    config = {"epochs": args.epochs or "pipeline", "data": ["data/nlu", "data/core"],
              "command": "python -m nlu.jobs train (as bot/learning/jobs.py runs it)"}
    report.publish({
        "name": "nlu_macro_f1", "value": round(float(heldout["macro_f1"]), 4), "unit": "f1",
        "test_set": str(TEST_SET.relative_to(ROOT)),
        "accuracy": round(float(heldout["accuracy"]), 4),
        "examples": sum(int(v.get("support", 0)) for v in heldout["per_intent"].values()),
        "evaluation_s": round(eval_s, 1), "config": config, "machine": machine,
    })
    report.publish({
        "name": "train", "value": round(wall_s, 1), "unit": "s", "target_s": TARGET_S,
        "within_target": wall_s < TARGET_S, "rasa_training_s": trained.get("seconds"),
        "examples": trained.get("examples"), "heldout_macro_f1": round(heldout["macro_f1"], 4),
        "outside_load": outside, "config": config, "machine": machine,
    })


if __name__ == "__main__":
    main()
