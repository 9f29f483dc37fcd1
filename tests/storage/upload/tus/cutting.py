"""A tus client on raw sockets that can cut its connection anywhere, as a bad network does."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from urllib.parse import urlsplit

from tests.storage.upload.tus.conftest import CHUNK_TYPE, VERSION

SEND_BYTES = 1024 * 1024
# SO_LINGER on, 0 s: close() sends a reset, as a dead link's peer sees it.
LINGER_RESET = struct.pack("ii", 1, 0)


def patch_until(url: str, token: str, data: bytes, offset: int, stop: int) -> None:
    """PATCH ``data[offset:]`` announced whole, and reset the connection after ``stop`` bytes."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    head = (
        f"PATCH {parts.path} HTTP/1.1\r\nHost: node\r\nTus-Resumable: {VERSION}\r\n"
        f"Authorization: Bearer {token}\r\nUpload-Offset: {offset}\r\n"
        f"Content-Type: {CHUNK_TYPE}\r\nContent-Length: {len(data) - offset}\r\n\r\n"
    )
    try:
        sock.sendall(head.encode())
        view = memoryview(data)[offset:stop]
        while view:
            sent = sock.send(view[:SEND_BYTES])
            view = view[sent:]
    finally:
        # A reset, not a goodbye: the node hears nothing more of this request.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        sock.close()


class CuttingProxy:
    """A TCP proxy in front of the node that resets the connection once, after ``cut_at`` bytes.

    What a phone's network does to an upload: the client sees its request fail
    mid-body and must come back on its own.
    """

    def __init__(self, upstream: str, cut_at: int) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._cut_at = cut_at
        self._sent = 0
        self._lock = threading.Lock()
        self.cuts = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, counted: bool) -> None:
        try:
            while data := source.recv(65536):
                if counted and self._cut_here(len(data)):
                    for sock in (source, target):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
                        sock.close()
                    return
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _cut_here(self, size: int) -> bool:
        with self._lock:
            self._sent += size
            if self.cuts or self._sent < self._cut_at:
                return False
            self.cuts += 1
            return True
