"""Guards the held-out sets: no test or dev message may appear in the training data.

Pure Python (PyYAML), run by `make test` before anything else.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# The held-out sets: never trained on, whatever their source (the review page's labels included).
HELD_OUT = (ROOT / "tests" / "nlu" / "test_nlu.yml", ROOT / "nlu" / "eval" / "dev_nlu.yml")
_MARKUP = re.compile(r"\[([^\]]+)\]\((?:[^)]+)\)|\[([^\]]+)\]\{[^}]+\}")


def messages(path: Path) -> dict[str, str]:
    """Plain text (entity markup removed, case and spaces folded) -> intent."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: dict[str, str] = {}
    for block in doc.get("nlu") or []:
        if "intent" not in block:
            continue
        for line in str(block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                text = _MARKUP.sub(lambda m: m.group(1) or m.group(2), line[2:])
                out[" ".join(text.lower().split())] = block["intent"]
    return out


def main() -> int:
    training: dict[str, str] = {}
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        training.update(messages(path))
    leaks = [(p.name, text) for p in HELD_OUT if p.exists() for text in messages(p)
             if text in training]
    if leaks:
        for name, text in leaks:
            print(f"held-out message also in training data ({name}): {text}", file=sys.stderr)
        return 1
    print(f"held-out sets are disjoint from {len(training)} training messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
