"""What every benchmark reports besides its figures: progress on stderr, the machine it ran on,
how busy the rest of the machine was, and the result object (last line of stdout and
`bench/results/<name>.json`)."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from typing import Any, NoReturn

from bot.stack import ROOT

RESULTS = ROOT / "bench" / "results"


def say(message: str) -> None:
    """Progress, on stderr (stdout's last line is the result)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """CPU count, Python, platform, load average, commit and model: what the figures depend on."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,  # noqa: S607
                                capture_output=True, text=True, check=False).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=ROOT,  # noqa: S607
                                    capture_output=True, text=True, check=False).stdout.strip())
    except OSError:
        commit, dirty = "", False
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_1m_at_start": os.getloadavg()[0],
        "git_commit": commit + ("+dirty" if dirty else ""),
        "model": models[-1].name if models else None,
    }


def outside_load(usages: Iterable[dict[str, float] | None],
                 quiet_cores: float = 0.25) -> dict[str, Any]:
    """The most CPU other programs took in any of `usages` (`cpu.usage` results, in cores): above
    `quiet_cores` the figures measure the neighbours as much as Pintu, and the run should be
    repeated."""
    most = max((cores.get("others", 0.0) for cores in usages if cores), default=0.0)
    if most > quiet_cores:
        say(f"warning: other programs used up to {most:.2f} cores during the run; "
            "repeat it on a quiet machine before comparing figures")
    return {"others_cores_max": most, "quiet": most <= quiet_cores}


def _interrupted(signum: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt(f"signal {signum}")


def stop_on_sigterm() -> None:
    """A kill stops the stack as Ctrl-C does (the harness stops it on KeyboardInterrupt)."""
    signal.signal(signal.SIGTERM, _interrupted)


def publish(result: dict[str, Any]) -> None:
    """Writes `bench/results/<name>.json` and prints the result as stdout's last line."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
    (RESULTS / f"{result['name']}.json").write_text(text)
    print(json.dumps(result, ensure_ascii=False), flush=True)
