"""Request bodies that stream with backpressure, for routes that take large uploads.

Quart's own ``Body`` buffers whatever arrives, however fast the handler
consumes it, and caps bodies by ``MAX_CONTENT_LENGTH`` (16 MiB by default)
before a handler can say otherwise. With :func:`install`:

- the receiving side pauses while more than ``HIGH_WATER`` bytes wait in the
  buffer, so hypercorn stops reading the socket and TCP slows the client down
  (memory per upload stays flat);
- chunks are handed over as they arrived (no joining copy);
- ``MAX_CONTENT_LENGTH`` still applies, but a streaming handler that counts
  bytes itself may lift it for its request: ``request.body.max_content_length = None``;
- a handler that awaits the whole body (``await request.get_data()``, forms)
  switches the buffer to unbounded for that request, as before.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Generator
from typing import Any

from hypercorn.typing import ASGIReceiveCallable
from quart import Quart
from quart.asgi import ASGIHTTPConnection
from quart.wrappers.request import Body, Request
from werkzeug.exceptions import RequestEntityTooLarge

HIGH_WATER = 1024 * 1024
# Socket read size for hypercorn (its default is 64 KiB). Fewer, larger reads cut
# the per-chunk cost of h11, hypercorn and Quart by ~15% CPU on a 100 MB upload
# (bench/upload_ingest.py); memory stays bounded by hypercorn's app queue of
# ``max_app_queue_size`` (10) messages of at most this size per connection.
READ_SIZE = 256 * 1024


class StreamBody(Body):
    """A request body that tells its receiver to wait while the handler catches up."""

    def __init__(self, expected_content_length: int | None, max_content_length: int | None) -> None:
        super().__init__(None, None)
        self.expected_content_length = expected_content_length
        self.max_content_length = max_content_length
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self.received = 0
        self._whole = False
        self._room = asyncio.Event()
        self._room.set()

    def _over_limit(self) -> bool:
        limit = self.max_content_length
        if limit is None:
            return False
        declared = self.expected_content_length
        return self.received > limit or (declared is not None and declared > limit)

    async def wait_for_room(self) -> None:
        await self._room.wait()

    def append(self, data: bytes) -> None:
        if not data or self._complete.is_set():
            return
        self._chunks.append(data)
        self._buffered += len(data)
        self.received += len(data)
        self._has_data.set()
        if self._whole and self._over_limit():
            # Whole-body reads keep Quart's rule: stop buffering past the cap.
            self._must_raise = RequestEntityTooLarge()
            self.set_complete()
        elif not self._whole and self._buffered >= HIGH_WATER:
            self._room.clear()

    async def __anext__(self) -> bytes:
        if self._over_limit():
            raise RequestEntityTooLarge()
        if not self._chunks and not self._complete.is_set():
            await self._has_data.wait()
        if not self._chunks:
            if self._must_raise is not None:
                raise self._must_raise
            raise StopAsyncIteration()
        data = self._chunks.popleft()
        self._buffered -= len(data)
        if not self._chunks:
            self._has_data.clear()
            if self._complete.is_set():
                self._has_data.set()
        if self._buffered < HIGH_WATER:
            self._room.set()
        return data

    def __await__(self) -> Generator[Any, None, Any]:
        self._whole = True
        self._room.set()
        if self._over_limit():
            raise RequestEntityTooLarge()
        yield from self._complete.wait().__await__()
        if self._must_raise is not None:
            raise self._must_raise
        data = b"".join(self._chunks)
        self._chunks.clear()
        self._chunks.append(data)
        return data

    def clear(self) -> None:
        self._chunks.clear()
        self._buffered = 0
        self._room.set()


class StreamHTTPConnection(ASGIHTTPConnection):
    """Reads the next ASGI message only when the request body has room for it."""

    async def handle_messages(self, request: Request, receive: ASGIReceiveCallable) -> None:
        body = request.body
        wait = body.wait_for_room if isinstance(body, StreamBody) else None
        while True:
            if wait is not None:
                await wait()
            message = await receive()
            if message["type"] == "http.request":
                body.append(message.get("body", b""))
                if not message.get("more_body", False):
                    body.set_complete()
            elif message["type"] == "http.disconnect":
                return


def tune_hypercorn_reads(size: int = READ_SIZE) -> None:
    """Let hypercorn read the socket in ``size`` pieces (process-wide).

    Hypercorn has no setting for it; its asyncio server reads the module
    constant on every read, so setting it takes effect for new reads at once.
    """
    from hypercorn.asyncio import tcp_server

    tcp_server.MAX_RECV = size


def install(app: Quart) -> None:
    """Use streaming bodies with backpressure for every request of ``app``.

    Call it after ``web.install``: the app's request class is kept and only its
    body class replaced.
    """
    base = app.request_class

    class StreamRequest(base):  # type: ignore[valid-type,misc]
        body_class = StreamBody

    app.request_class = StreamRequest
    app.asgi_http_class = StreamHTTPConnection


# Before an early refusal, at most this much of the unread body is read away
# (for at most this long): a server that closes a connection with unread bytes
# in it sends a reset, and the client loses the answer along with it. nginx
# does the same with its lingering close; hypercorn has none.
DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_SECONDS = 5.0
# A client that sends nothing for this long is not waiting to be heard out.
DRAIN_IDLE_SECONDS = 0.5


async def drain(body: Any, max_bytes: int = DRAIN_BYTES, seconds: float = DRAIN_SECONDS) -> None:
    """Read away what is left of a refused request's body, within bounds."""
    if isinstance(body, StreamBody):
        body.max_content_length = None
    drained = 0
    chunks = aiter(body)
    try:
        async with asyncio.timeout(seconds):
            while drained <= max_bytes:
                chunk = await asyncio.wait_for(anext(chunks), DRAIN_IDLE_SECONDS)
                drained += len(chunk)
    except Exception:  # noqa: S110 - best effort (idle, ended, too long): the refusal goes out
        pass
