"""Starts and stops the whole local stack: agency sandbox, action server, Rasa and the gateway.

`python -m bot.stack run` is what `make run` calls; tests use `Stack` to run the real thing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Service:
    name: str
    argv: list[str]
    health_url: str | None  # None: healthy when it is still running a moment after start
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None


@dataclass
class Ports:
    gateway: int = 8000
    rasa: int = 5005
    actions: int = 5055
    sandbox: int = 8100


@dataclass
class Stack:
    """The four processes of Pintu, started in dependency order, stopped in reverse."""

    ports: Ports = field(default_factory=Ports)
    env: Mapping[str, str] = field(default_factory=dict)
    log_dir: Path = ROOT / "var" / "log"
    # A model file or folder for Rasa; empty: the promoted model of MODELS_DIR (models/current),
    # else its newest file, as `registry.serving_file` decides.
    model: str = ""
    services: list[Service] = field(default_factory=list)
    _env: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.model:
            self.model = str(self._serving_model())
        venv = ROOT / ".venv" / "bin"
        rvenv = ROOT / ".venv-rasa" / "bin"
        p = self.ports
        host = "127.0.0.1"
        self.services = [
            Service(
                "sandbox",
                [str(venv / "uvicorn"), "sandbox.app:create_app", "--factory", "--host", host,
                 "--port", str(p.sandbox), "--log-level", "warning"],
                f"http://{host}:{p.sandbox}/healthz",
            ),
            Service(
                "actions",
                [str(rvenv / "rasa"), "run", "actions", "--actions", "actions",
                 "--port", str(p.actions), "--quiet"],
                f"http://{host}:{p.actions}/health",
            ),
            Service(
                "rasa",
                [str(rvenv / "rasa"), "run", "--enable-api", "--model", self.model,
                 "--interface", host, "--port", str(p.rasa),
                 "--endpoints", str(ROOT / "endpoints.yml"),
                 "--credentials", str(ROOT / "credentials.yml"), "--quiet"],
                f"http://{host}:{p.rasa}/status",
            ),
            Service(
                "gateway",
                [str(venv / "uvicorn"), "bot.app:create_app", "--factory", "--host", host,
                 "--port", str(p.gateway), "--log-level", "warning"],
                f"http://{host}:{p.gateway}/readyz",
            ),
        ]
        if self._shared_redis():
            # Webhooks are acknowledged by the web process alone; a worker process answers.
            self.services.append(Service(
                "worker", [str(venv / "python"), "-m", "bot.worker"], None))

    def _serving_model(self) -> Path:
        from .learning.registry import serving_file

        models_dir = Path({**os.environ, **self.env}.get("MODELS_DIR") or ROOT / "models")
        if not models_dir.is_absolute():
            models_dir = ROOT / models_dir
        return serving_file(models_dir) or models_dir

    def _shared_redis(self) -> bool:
        return bool({**os.environ, **self.env}.get("REDIS_URL"))

    def _environment(self) -> dict[str, str]:
        p = self.ports
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "RASA_URL": f"http://127.0.0.1:{p.rasa}",
            "ACTION_SERVER_URL": f"http://127.0.0.1:{p.actions}",
            "AGENCY_API_URL": f"http://127.0.0.1:{p.sandbox}",
            "GATEWAY_URL": f"http://127.0.0.1:{p.gateway}",
            # The sandbox reports status changes to the gateway as a real agency would.
            "SANDBOX_WEBHOOK_URL": f"http://127.0.0.1:{p.gateway}/webhooks/agency/status",
        }
        env.update(self.env)
        if "AGENCY_WEBHOOK_SECRETS" in env:  # the sandbox signs with the gateway's secrets
            env.setdefault("SANDBOX_WEBHOOK_SECRETS", env["AGENCY_WEBHOOK_SECRETS"])
        if self._shared_redis():
            env["RUN_WORKERS"] = "false"
        return env

    def start(self, timeout_s: float = 240.0) -> None:
        """Starts every service and waits until each is healthy, the gateway's /readyz last."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = self._environment()
        if env.get("REDIS_URL"):
            endpoints = self.log_dir / "rasa-endpoints.yml"
            endpoints.write_text(rasa_endpoints(env["REDIS_URL"]))
            endpoints.chmod(0o600)  # may hold the Redis password
            rasa = next(s for s in self.services if s.name == "rasa")
            rasa.argv[rasa.argv.index("--endpoints") + 1] = str(endpoints)
        self._env = env
        deadline = time.monotonic() + timeout_s
        try:
            for service in self.services:
                self._spawn(service, env)
                if service.name != "rasa":  # Rasa loads slowly; wait for it with the gateway
                    self._wait(service, deadline)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, service: Service, env: Mapping[str, str], mode: str = "wb") -> None:
        service.log_path = self.log_dir / f"{service.name}.log"
        with service.log_path.open(mode) as log_file:
            service.process = subprocess.Popen(  # noqa: S603 - our own fixed argv
                service.argv, cwd=ROOT, env=env, stdout=log_file,
                stderr=subprocess.STDOUT, start_new_session=True,
            )

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def kill(self, name: str) -> None:
        """Kills one running service at once (SIGKILL to its process group), as a crash would:
        fault injection (bench/faults.py)."""
        proc = self.service(name).process
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def revive(self, name: str, timeout_s: float = 180.0) -> None:
        """Starts a killed service again with the same settings (its log is appended to) and
        waits until it is healthy."""
        service = self.service(name)
        self._spawn(service, self._env, mode="ab")
        self._wait(service, time.monotonic() + timeout_s)

    def _wait(self, service: Service, deadline: float) -> None:
        if service.health_url is None:
            time.sleep(1.0)
            if service.process is not None and service.process.poll() is not None:
                raise RuntimeError(f"{service.name} exited early; see {service.log_path}")
            return
        while time.monotonic() < deadline:
            if service.process is not None and service.process.poll() is not None:
                raise RuntimeError(f"{service.name} exited early; see {service.log_path}")
            try:
                if httpx.get(service.health_url, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{service.name} not healthy in time; see {service.log_path}")

    def stop(self) -> None:
        """Stops every started service, newest first: SIGTERM, then SIGKILL after 10 s."""
        for service in reversed(self.services):
            proc = service.process
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                pass


RASA_TRACKER_TTL_S = 30 * 24 * 3600


def rasa_endpoints(redis_url: str) -> str:
    """Rasa's endpoints with its tracker and lock stores in Redis, so that several Rasa processes
    can serve the same residents (REDIS_URL set); without it Rasa keeps them in memory."""
    import json
    from urllib.parse import unquote, urlparse

    url = urlparse(redis_url)
    db = int(url.path.lstrip("/") or 0)
    common: dict[str, object] = {"url": url.hostname or "127.0.0.1", "port": url.port or 6379,
                                 "db": db, "use_ssl": url.scheme == "rediss"}
    if url.password:
        common["password"] = unquote(url.password)
    if url.username:
        common["username"] = unquote(url.username)
    tracker = {"type": "redis", **common, "key_prefix": "pintutracker",
               "record_exp": RASA_TRACKER_TTL_S}
    lock = {"type": "redis", **common, "key_prefix": "pintulock"}
    # JSON is YAML: no quoting surprises for passwords.
    return "\n".join([
        "# Written by bot/stack.py from REDIS_URL; do not edit.",
        "action_endpoint:",
        "  url: ${ACTION_SERVER_URL}/webhook",
        f"tracker_store: {json.dumps(tracker)}",
        f"lock_store: {json.dumps(lock)}",
        "",
    ])


def _run() -> int:
    stack = Stack()
    print("Starting Pintu: agency sandbox, action server, Rasa and gateway (about a minute)...")
    stack.start()
    p = stack.ports
    print(
        f"\nPintu is ready on http://127.0.0.1:{p.gateway} (readiness: /readyz, logs: var/log/).\n"
        "Chat from another terminal:\n"
        "  make chat\n"
        f"  curl -s -X POST http://127.0.0.1:{p.gateway}/api/chat "
        "-H 'content-type: application/json' \\\n"
        "       -d '{\"sender\": \"warga1\", \"text\": \"halo\"}'\n"
        f"Agency sandbox API docs: http://127.0.0.1:{p.sandbox}/docs\n"
        "Press Ctrl-C to stop everything."
    )
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping:
            for service in stack.services:
                if service.process is not None and service.process.poll() is not None:
                    print(f"{service.name} stopped unexpectedly; see {service.log_path}")
                    stopping = True
            time.sleep(0.5)
    finally:
        print("\nStopping Pintu...")
        stack.stop()
        print("Stopped.")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.stack")
    parser.add_argument("command", choices=["run"])
    parser.parse_args()
    sys.exit(_run())


if __name__ == "__main__":
    main()
