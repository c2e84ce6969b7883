"""The fake Graph API (`tests.fakes.graph_api.FakeGraph`) in processes of its own, so that a
benchmark measuring Pintu's sending never measures the fake sharing Pintu's event loop.

`GraphProcesses(workers=2)` starts `workers` processes serving the same port (SO_REUSEPORT: the
kernel spreads connections across them). Each keeps its own record of the messages it accepted
and writes it, on SIGTERM, as JSON lines to its own file: `stop()` then returns every process's
`Arrival`s together. Run alone: `python -m bench.graph_procs serve --port P --out FILE`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from bot.stack import ROOT
from tests.fakes.graph_api import FakeGraph
from tests.fakes.server import free_port


@dataclass(frozen=True)
class Arrival:
    """One message the fake answered: its status, the recipient, the text (or the interactive
    body's text) and the wall-clock time it arrived."""

    status: int
    to: str
    text: str
    wall: float


def _text(body: object) -> str:
    if not isinstance(body, dict):
        return ""
    if isinstance(body.get("text"), dict):
        return str(body["text"].get("body", ""))
    interactive = body.get("interactive")
    if isinstance(interactive, dict) and isinstance(interactive.get("body"), dict):
        return str(interactive["body"].get("text", ""))
    return ""


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    return sock


def serve(port: int, token: str, out: Path) -> None:
    """Serves the fake on `port` (shared with the other processes) until SIGTERM, then writes
    the messages it saw to `out`."""
    import uvicorn

    graph = FakeGraph(token)
    config = uvicorn.Config(graph.app, log_level="warning", lifespan="off", access_log=False,
                            timeout_graceful_shutdown=2, backlog=2048)
    server = uvicorn.Server(config)
    sock = _listen(port)
    # uvicorn re-raises the SIGTERM it caught once it has stopped; with the default handler
    # that would kill the process before it writes what it saw.
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        import uvloop
        uvloop.run(server.serve(sockets=[sock]))
    except ImportError:
        asyncio.run(server.serve(sockets=[sock]))
    lines = [json.dumps([call.status, str((call.body or {}).get("to", "")), _text(call.body),
                         call.wall])
             for call in graph.calls("message")]
    out.write_text("\n".join(lines) + ("\n" if lines else ""))


class GraphProcesses:
    """`workers` fake Graph API processes on one port; `with` starts and stops them."""

    def __init__(self, token: str, *, workers: int = 2, port: int = 0,
                 work: Path | None = None) -> None:
        self.token = token
        self.workers = workers
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._work = work or ROOT / "var" / "bench" / "graph"
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def pids(self) -> dict[str, int]:
        return {f"graph{i}": p.pid for i, p in enumerate(self._procs)}

    def _out(self, i: int) -> Path:
        return self._work / f"graph-{self.port}-{i}.jsonl"

    def start(self) -> GraphProcesses:
        self._work.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for i in range(self.workers):
            self._out(i).unlink(missing_ok=True)
            log = (self._work / f"graph-{self.port}-{i}.log").open("ab")
            self._procs.append(subprocess.Popen(  # noqa: S603 - our own fixed argv
                [sys.executable, "-m", "bench.graph_procs", "serve", "--port", str(self.port),
                 "--token", self.token, "--out", str(self._out(i))],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
            log.close()
        self._wait_ready()
        return self

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self._procs):
                raise RuntimeError("a fake Graph API process exited at start")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    time.sleep(0.5)  # the others bind in the same moment
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the fake Graph API did not start")

    def stop(self) -> list[Arrival]:
        """Stops the processes and returns every message they saw."""
        for proc in self._procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        arrivals: list[Arrival] = []
        for i, proc in enumerate(self._procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            path = self._out(i)
            if path.exists():
                for line in path.read_text().splitlines():
                    status, to, text, wall = json.loads(line)
                    arrivals.append(Arrival(int(status), to, text, float(wall)))
        self._procs.clear()
        return arrivals

    def __enter__(self) -> GraphProcesses:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._procs:
            self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("serve", help="one fake process (GraphProcesses starts several)")
    one.add_argument("--port", type=int, required=True)
    one.add_argument("--token", required=True)
    one.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    serve(args.port, args.token, args.out)


if __name__ == "__main__":
    main()
