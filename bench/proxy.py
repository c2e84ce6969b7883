"""A TCP proxy that can cut a service off, as a crash looks from its clients: every open
connection is reset and new ones are refused until it is restored.

The fault benchmark puts one in front of PostgreSQL, which is the machine's shared server and
cannot be killed for a benchmark: from the gateway's side a crashed and restarted PostgreSQL is
exactly this (connections reset, refused, then accepted again); what PostgreSQL itself keeps
across a crash is its write-ahead log's business, not Pintu's.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any


class CuttableProxy:
    """Forwards 127.0.0.1:`port` to `target`; `cut()` and `restore()` in the same event loop."""

    def __init__(self, target_host: str, target_port: int, port: int = 0) -> None:
        self.target = (target_host, target_port)
        self.port = port or _free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port,
                                                  reuse_address=True)

    async def cut(self) -> None:
        """Refuses new connections and resets every open one."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            sock = writer.get_extra_info("socket")
            if sock is not None:  # RST rather than FIN: a crashed peer does not say goodbye
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    b"\x01\x00\x00\x00\x00\x00\x00\x00")
            writer.close()
        self._writers.clear()

    async def restore(self) -> None:
        await self.start()

    async def aclose(self) -> None:
        await self.cut()

    async def _serve(self, client_reader: asyncio.StreamReader,
                     client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        self._writers.update((client_writer, upstream_writer))
        await asyncio.gather(_pipe(client_reader, upstream_writer),
                             _pipe(upstream_reader, client_writer))
        self._writers.discard(client_writer)
        self._writers.discard(upstream_writer)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.close()


class ProxyThread:
    """A `CuttableProxy` on an event loop of its own thread, for callers on any loop (the stack
    needs the proxy before the benchmark's loop starts, and after it ends)."""

    def __init__(self, target_host: str, target_port: int, port: int = 0) -> None:
        import threading

        self.proxy = CuttableProxy(target_host, target_port, port)
        self.port = self.proxy.port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def _call(self, coroutine: Any) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def start(self) -> ProxyThread:
        self._thread.start()
        self._call(self.proxy.start())
        return self

    def cut(self) -> None:
        self._call(self.proxy.cut())

    def restore(self) -> None:
        self._call(self.proxy.restore())

    def stop(self) -> None:
        self._call(self.proxy.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()  # else its self-pipe sockets leak (ResourceWarning in tests)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
