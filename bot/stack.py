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
    """The first process of each kind; replica n (2, 3, ...) listens on the port plus n - 1."""

    gateway: int = 8000
    rasa: int = 5005
    actions: int = 5055
    sandbox: int = 8100


def replica_name(kind: str, n: int) -> str:
    """`rasa`, `rasa-2`, ...: the first of a kind keeps its plain name."""
    return kind if n == 1 else f"{kind}-{n}"


@dataclass
class Stack:
    """The processes of Pintu, started in dependency order, stopped in reverse.

    `replicas` (default: STACK_REPLICAS, else 1) gateway web processes, workers and Rasa
    servers, named `gateway`, `gateway-2`, ...; more than one needs Redis (REDIS_URL), where the
    gateways share their queues and the Rasa servers their conversations (endpoints-redis.yml).
    """

    ports: Ports = field(default_factory=Ports)
    env: Mapping[str, str] = field(default_factory=dict)
    log_dir: Path = ROOT / "var" / "log"
    # A model file or folder for Rasa; empty: the promoted model of MODELS_DIR (models/current),
    # else its newest file, as `registry.serving_file` decides.
    model: str = ""
    replicas: int = 0
    services: list[Service] = field(default_factory=list)
    _env: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.model:
            self.model = str(self._serving_model())
        if not self.replicas:
            self.replicas = int(self._setting("STACK_REPLICAS") or 1)
        if self.replicas > 1 and not self._shared_redis():
            raise ValueError("several gateways and Rasa servers need REDIS_URL")
        venv = ROOT / ".venv" / "bin"
        rvenv = ROOT / ".venv-rasa" / "bin"
        p = self.ports
        host = "127.0.0.1"
        endpoints = "endpoints-redis.yml" if self._shared_redis() else "endpoints.yml"
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
        ]
        for port, n in self._replica_ports(p.rasa):
            self.services.append(Service(
                replica_name("rasa", n),
                [str(rvenv / "rasa"), "run", "--enable-api", "--model", self.model,
                 "--interface", host, "--port", str(port),
                 "--endpoints", str(ROOT / endpoints),
                 "--credentials", str(ROOT / "credentials.yml"), "--quiet"],
                f"http://{host}:{port}/status",
            ))
        for port, n in self._replica_ports(p.gateway):
            self.services.append(Service(
                replica_name("gateway", n),
                [str(venv / "uvicorn"), "bot.app:create_app", "--factory", "--host", host,
                 "--port", str(port), "--log-level", "warning"],
                f"http://{host}:{port}/readyz",
            ))
        if self._shared_redis():
            # Webhooks are acknowledged by the web processes alone; worker processes answer.
            for _, n in self._replica_ports(0):
                self.services.append(Service(
                    replica_name("worker", n), [str(venv / "python"), "-m", "bot.worker"], None))

    def _replica_ports(self, first: int) -> list[tuple[int, int]]:
        return [(first + n - 1, n) for n in range(1, self.replicas + 1)]

    def urls(self, kind: str) -> list[str]:
        """Where each replica of `gateway` or `rasa` listens."""
        first = {"gateway": self.ports.gateway, "rasa": self.ports.rasa}[kind]
        return [f"http://127.0.0.1:{port}" for port, _ in self._replica_ports(first)]

    def _serving_model(self) -> Path:
        from .learning.registry import serving_file

        models_dir = Path({**os.environ, **self.env}.get("MODELS_DIR") or ROOT / "models")
        if not models_dir.is_absolute():
            models_dir = ROOT / models_dir
        return serving_file(models_dir) or models_dir

    def _setting(self, name: str) -> str:
        return {**os.environ, **self.env}.get(name) or ""

    def _shared_redis(self) -> bool:
        return bool(self._setting("REDIS_URL"))

    def _environment(self) -> dict[str, str]:
        p = self.ports
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "RASA_URL": f"http://127.0.0.1:{p.rasa}",
            "RASA_URLS": ",".join(self.urls("rasa")),
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
            env.update(rasa_redis_env(env.get("RASA_REDIS_URL") or env["REDIS_URL"]))
            if self.replicas > 1:
                # A crashed Rasa's claim on a conversation blocks the others until it expires
                # (Rasa's default: 60 s). Shorter than the gateway's 10 s wait for a turn, the
                # message it was running is answered by another server within that wait,
                # once; longer, the gateway gives up and retries it, and the turn runs twice.
                # One server keeps the default: a turn slowed past 8 s (a model loading
                # beside it) would lose its claim to the resident's next message.
                env.setdefault("TICKET_LOCK_LIFETIME", "8")
            env.setdefault("RASA_TRACKER_TTL_S", str(RASA_TRACKER_TTL_S))
        return env

    def start(self, timeout_s: float = 240.0) -> None:
        """Starts every service and waits until each is healthy, the gateway's /readyz last."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = self._environment()
        self._env = env
        deadline = time.monotonic() + timeout_s
        try:
            for service in self.services:
                self._spawn(service, env)
                if not service.name.startswith("rasa"):  # Rasa loads slowly: waited for below
                    self._wait(service, deadline)
            for service in self.services:  # the gateway answers once one Rasa does: all of them
                if service.name.startswith("rasa"):
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
        """A service by name; `rasa-1` is `rasa`."""
        kind, _, n = name.rpartition("-")
        name = kind if n == "1" else name
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


# Rasa's conversations expire this long after their last message: its sessions end after two
# hours without one (domain.yml) and carry no slots over, so later they serve nothing.
RASA_TRACKER_TTL_S = 3 * 3600


def rasa_redis_env(redis_url: str) -> dict[str, str]:
    """The variables of endpoints-redis.yml (Rasa's tracker and lock stores) from a Redis URL."""
    from urllib.parse import unquote, urlparse

    url = urlparse(redis_url)
    return {
        "RASA_REDIS_HOST": url.hostname or "127.0.0.1",
        "RASA_REDIS_PORT": str(url.port or 6379),
        "RASA_REDIS_DB": str(int(url.path.lstrip("/") or 0)),
        "RASA_REDIS_USERNAME": unquote(url.username or ""),
        "RASA_REDIS_PASSWORD": unquote(url.password or ""),
        "RASA_REDIS_SSL": "true" if url.scheme == "rediss" else "",
    }


def _run() -> int:
    stack = Stack()
    print("Starting Pintu: agency sandbox, action server, Rasa and gateway (about a minute)...")
    stack.start()
    p = stack.ports
    if stack.replicas > 1:
        print(f"{stack.replicas} gateways ({', '.join(stack.urls('gateway'))}), "
              f"{stack.replicas} workers and {stack.replicas} Rasa servers "
              f"({', '.join(stack.urls('rasa'))}) share Redis and the database.")
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
