"""Fixtures shared by every test folder; runs under both environments."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.shared.leaks import LogCapture, capture_logs


@pytest.fixture(autouse=True)
def _no_outside_network(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Unit tests cannot reach beyond 127.0.0.1: a connection elsewhere fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1") and \
                not host.startswith("/"):
            raise RuntimeError(f"test tried to reach the network: {host}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def leak_capture(capfd: pytest.CaptureFixture[str]) -> Iterator[LogCapture]:
    """Every log record of every logger (Pintu's at DEBUG) and all stdout/stderr of the test;
    `leak_capture.assert_clean()` fails on any canary of `tests.shared.leaks`."""
    with capture_logs() as capture:
        capture.output = lambda: "".join(capfd.readouterr())
        yield capture
