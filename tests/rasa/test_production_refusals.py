"""The action server refuses to start in production with plain HTTP towards the agencies or the
gateway off this machine, a placeholder internal token or debug logging; the message names each
setting, never its value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from actions import production

ROOT = Path(__file__).resolve().parents[2]
SAFE = {"PINTU_ENV": "production", "INTERNAL_API_TOKEN": "a8f3c91e5d7b2046",
        "AGENCY_API_URL": "https://api.dukcapil.tangerangkota.go.id",
        "GATEWAY_URL": "http://127.0.0.1:8000",
        "LOOKUP_KEY": "5c1f0e9a7b3d24861f0a9c7e3b5d2a4f"}


def test_safe_production_settings_and_development_pass() -> None:
    assert production.refusals(SAFE) == []
    assert production.refusals({"AGENCY_API_URL": "http://10.1.2.3:8100"}) == []


@pytest.mark.parametrize(("overrides", "named"), [
    ({"AGENCY_API_URL": "http://10.1.2.3:8100"}, "AGENCY_API_URL must be an https"),
    ({"GATEWAY_URL": "http://gateway.internal:8000"}, "GATEWAY_URL must be an https"),
    ({"INTERNAL_API_TOKEN": "dev-internal-token"}, "INTERNAL_API_TOKEN is missing"),
    ({"LOG_LEVEL": "debug"}, "LOG_LEVEL must not be DEBUG"),
    ({"LOOKUP_KEY": "dev-lookup-key"}, "LOOKUP_KEY is missing"),
])
def test_each_unsafe_setting_is_named(overrides: dict[str, str], named: str) -> None:
    found = "; ".join(production.refusals({**SAFE, **overrides}))
    assert named in found
    assert all(value not in found for value in overrides.values() if len(value) > 5)


def test_the_action_server_process_stops_before_it_serves(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **SAFE,
           "AGENCY_API_URL": "http://10.1.2.3:8100"}
    done = subprocess.run([sys.executable, "-c", "import actions"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert done.stderr.strip().endswith(
        "Pintu's action server will not start: AGENCY_API_URL must be an https:// address "
        "(plain http only on 127.0.0.1/localhost)")
    assert "10.1.2.3" not in done.stderr
