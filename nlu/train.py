"""Trains the Rasa model into models/ (`make train`); `--if-needed` skips when nothing changed.

The inputs' fingerprint is kept beside the model, so a fresh clone (no model) trains and a changed
training file retrains, while an unchanged tree starts in a second.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
STAMP = MODELS / ".inputs.sha256"


def training_inputs() -> list[Path]:
    """Every file whose change must retrain the model."""
    files = [ROOT / "config.yml", ROOT / "domain.yml"]
    for pattern in ("data/nlu/*.yml", "data/core/*.yml", "data/normalization/*",
                    "nlu/components/*.py", "nlu/normalize.py", "nlu/geo.py", "nlu/nik.py",
                    "data/geo/*.yml"):
        files.extend(sorted(ROOT.glob(pattern)))
    return [f for f in files if f.is_file()]


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in training_inputs():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def has_current_model(print_=print) -> bool:
    models = sorted(MODELS.glob("*.tar.gz"))
    if not models:
        print_("no trained model in models/: training one")
        return False
    if not STAMP.exists() or STAMP.read_text().strip() != fingerprint():
        print_("training data or pipeline changed since the last model: retraining")
        return False
    return True


def train(out: Path = MODELS) -> Path:
    """Runs `rasa train` and returns the new model's path."""
    out.mkdir(parents=True, exist_ok=True)
    name = time.strftime("pintu-%Y%m%d-%H%M%S")
    started = time.monotonic()
    cmd = [str(Path(sys.executable).parent / "rasa"), "train", "--config", "config.yml",
           "--domain", "domain.yml", "--data", "data/nlu", "data/core", "--out", str(out),
           "--fixed-model-name", name, "--quiet"]
    # Rasa's pinned dependencies warn by the hundred on import; the training log stays readable.
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(cmd, cwd=ROOT, check=True, env=env)  # noqa: S603 - fixed argv
    elapsed = time.monotonic() - started
    print(f"trained {name} in {elapsed:.0f} s")
    (out / ".last-training-seconds").write_text(f"{elapsed:.1f}\n")
    if out == MODELS:
        STAMP.write_text(fingerprint() + "\n")
    return out / f"{name}.tar.gz"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m nlu.train")
    parser.add_argument("--if-needed", action="store_true", help="skip when the model is current")
    args = parser.parse_args()
    if args.if_needed and has_current_model():
        return
    train()


if __name__ == "__main__":
    main()
