"""One upload token cannot fill a node's disk through nginx's spool.

A real nginx runs the nginx role's storage site in front of a real storage
service, with the operator's upload limit at 256 MB so that nginx itself would
take a 200 MB body. What keeps the spool small is the node's pre-check: a body
declared larger than its token allows is never spooled, and the token is held
as busy from the pre-check on, so parallel connections with one token cannot
each make nginx spool a body.

The spool folder is watched with inotify (every file nginx creates in it is
counted, however briefly it lives) and its size is sampled while the uploads
run. Every client stops sending once it has its answer; the uploads' bodies
come from a generator and are never held in memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import socket
import struct
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from pixelfox_protocol.internal import UPLOAD_PATH
from pixelfox_storage.upload import token_check
from tests.serving.nginx import LENGTH_REQUIRED
from tests.storage import images
from tests.storage.conftest import NODE_ID, FakeApp
from tests.storage.upload.spooled.conftest import Front, running_front, wait_for

MB = 1024 * 1024
BIG_BODY = 200 * MB
PARALLEL = 20
# "A few MB": what the spool may hold at any time while 20 x 200 MB are refused.
SPOOL_CAP = 4 * MB
# How long any one upload may take before the test gives up on it (a hang, not timing).
ANSWER_SECONDS = 120.0

_IN_CREATE = 0x100
_IN_MOVED_TO = 0x80
_EVENT = struct.Struct("iIII")


@pytest.fixture(scope="module")
def front(
    tmp_path_factory: pytest.TempPathFactory, fake_app: FakeApp, module_prefix: str
) -> Iterator[Front]:
    """The node behind nginx, with an upload limit above the test's 200 MB bodies."""
    with running_front(
        tmp_path_factory, fake_app, module_prefix, max_upload_bytes=256 * MB
    ) as running:
        yield running


@pytest.fixture
def clean(front: Front) -> Iterator[Front]:
    front.reset()
    yield front
    # nginx deletes its spool file just after the answer; nothing may stay.
    wait_for(lambda: not front.spool_files() and not front.node.temp_files())
    assert front.spool_files() == []
    assert front.node.temp_files() == []
    front.reset()


class SpoolWatch:
    """Every file created in a folder (inotify), and the folder's largest sampled size."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.created: list[str] = []
        self.largest = 0
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        mask = _IN_CREATE | _IN_MOVED_TO
        if self._libc.inotify_add_watch(self._fd, str(folder).encode(), mask) < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {folder}")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SpoolWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._read_events()
        os.close(self._fd)

    def _run(self) -> None:
        while not self._stop.is_set():
            select.select([self._fd], [], [], 0.01)
            self._read_events()
            self.largest = max(self.largest, self._size())

    def _read_events(self) -> None:
        with contextlib.suppress(BlockingIOError):
            data = os.read(self._fd, 65536)
            offset = 0
            while offset < len(data):
                _, _, _, length = _EVENT.unpack_from(data, offset)
                start = offset + _EVENT.size
                self.created.append(data[start : start + length].rstrip(b"\0").decode())
                offset = start + length

    def _size(self) -> int:
        total = 0
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.folder):
                with contextlib.suppress(FileNotFoundError):
                    total += entry.stat(follow_symlinks=False).st_size
        return total


@dataclass
class Answer:
    status: int
    body: bytes
    sent: int  # body bytes the client got out before it had its answer

    @property
    def code(self) -> str:
        return str(json.loads(self.body)["error"]["code"])


def _repeat(total: int, piece: bytes) -> Iterator[bytes]:
    """``total`` bytes, ``piece`` after ``piece``: a large body without holding it."""
    left = total
    while left > 0:
        yield piece[:left]
        left -= len(piece)


def _parse(raw: bytes) -> tuple[int, bytes] | None:
    """(status, body) of the first complete HTTP answer in ``raw``, or None yet."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    return (status, rest[:length]) if len(rest) >= length else None


def _put_head(token: str, declared: int, content_type: str = "image/jpeg") -> bytes:
    return (
        f"PUT {UPLOAD_PATH} HTTP/1.1\r\nHost: {NODE_ID}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {declared}\r\n\r\n"
    ).encode()


def _connect(front: Front) -> socket.socket:
    """A connection to the node's nginx."""
    return socket.create_connection(("127.0.0.1", front.nginx.port), timeout=ANSWER_SECONDS)


def send_upload(
    front: Front,
    token: str,
    declared: int,
    body: Iterator[bytes],
    *,
    content_type: str = "image/jpeg",
    then_close_writing: bool = False,
) -> Answer | None:
    """A PUT declaring ``declared`` bytes, sending ``body`` until nginx answers.

    None when the connection ends without an answer. With
    ``then_close_writing``, the client shuts its side after ``body`` (a body
    shorter than declared, then silence).
    """
    head = _put_head(token, declared, content_type)
    with _connect(front) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        pending, sent, writing, received = b"", 0, True, b""
        while True:
            watch_write = [sock] if writing else []
            readable, writable, _ = select.select([sock], watch_write, [], ANSWER_SECONDS)
            if not readable and not writable:
                raise AssertionError(f"no answer within {ANSWER_SECONDS}s after {sent} bytes")
            if readable:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    data = b""
                received += data
                if (answer := _parse(received)) is not None:
                    return Answer(answer[0], answer[1], sent)
                if not data:
                    return None
            if writable:
                if not pending:
                    pending = next(body, b"")
                if not pending:
                    writing = False
                    if then_close_writing:
                        sock.shutdown(socket.SHUT_WR)
                    continue
                try:
                    count = sock.send(pending)
                except BlockingIOError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    writing = False
                    continue
                pending, sent = pending[count:], sent + count


def _in_parallel(count: int, upload: object) -> list[Answer | None]:
    assert callable(upload)
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: upload(), range(count)))


def test_parallel_200_mb_bodies_against_a_one_byte_token_never_reach_the_spool(
    clean: Front,
) -> None:
    token = clean.node.token(max_size=1)
    piece = os.urandom(MB)

    def upload() -> Answer | None:
        return send_upload(clean, token, BIG_BODY, _repeat(BIG_BODY, piece))

    with SpoolWatch(clean.spool) as watch:
        answers = _in_parallel(PARALLEL, upload)

    for answer in answers:
        assert answer is not None
        assert (answer.status, answer.code) == (413, "FILE_TOO_LARGE"), answer.body
        assert answer.sent < BIG_BODY  # refused while the body was still coming
    assert watch.created == []  # nginx never opened a spool file
    assert watch.largest <= SPOOL_CAP
    assert clean.node.files() == []
    assert clean.node.app.completions == []


def test_parallel_uploads_with_one_token_spool_once_and_store_once(clean: Front) -> None:
    data = images.noisy_jpeg(2000, 1500)  # ~3 MB
    token = clean.node.token()

    def upload() -> Answer | None:
        return send_upload(clean, token, len(data), _repeat(len(data), data))

    with SpoolWatch(clean.spool) as watch:
        answers = _in_parallel(PARALLEL, upload)

    outcomes = sorted((a.status, a.code if a.status >= 400 else "") for a in answers if a)
    assert len(outcomes) == PARALLEL
    assert outcomes == [(201, "")] + [(409, "TOKEN_USED")] * (PARALLEL - 1)
    # Only the upload that held the token was spooled; the rest were refused first.
    assert len(watch.created) == 1, watch.created
    assert watch.largest <= len(data)
    [stored] = clean.stored()
    assert stored.read_bytes() == data
    assert len(clean.node.app.completions) == 1
    assert clean.stored_bodies()[-1] == "spooled"


def test_a_second_connection_with_a_held_token_is_refused_before_it_is_spooled(
    clean: Front,
) -> None:
    # The first upload declares its length and sends half; nginx spools it.
    data = images.noisy_jpeg(640, 480) + os.urandom(3 * MB)
    token = clean.node.token()
    with SpoolWatch(clean.spool) as watch, _connect(clean) as first:
        first.sendall(_put_head(token, len(data)) + data[: len(data) // 2])
        wait_for(clean.spool_files)
        assert len(clean.spool_files()) == 1, "nginx never spooled the first body"

        second = send_upload(clean, token, len(data), _repeat(len(data), data))

        assert second is not None
        assert (second.status, second.code) == (409, "TOKEN_USED")
        assert len(watch.created) == 1  # the second body was never spooled
        # The first one still goes through: its hold is taken over, not lost.
        first.sendall(data[len(data) // 2 :])
        first.settimeout(ANSWER_SECONDS)
        received = b""
        while (answer := _parse(received)) is None:
            chunk = first.recv(65536)
            assert chunk, received
            received += chunk
    assert answer[0] == 201, answer
    [stored] = clean.stored()
    assert stored.read_bytes() == data


def test_a_body_longer_than_declared_is_cut_at_the_declared_length(clean: Front) -> None:
    data = images.noisy_jpeg(640, 480)
    token = clean.node.token(max_size=len(data))
    # What follows the declared length is not this body: nginx reads it as the
    # next request on the connection, and refuses that (400).
    junk = b"x" * (2 * MB)

    with SpoolWatch(clean.spool) as watch:
        answer = send_upload(clean, token, len(data), iter([data, junk]))

    assert answer is not None
    assert answer.status == 201, answer.body
    assert watch.largest <= len(data)
    [stored] = clean.stored()
    assert stored.read_bytes() == data


def test_a_body_shorter_than_declared_is_never_handed_over(clean: Front) -> None:
    data = images.noisy_jpeg(640, 480)
    token = clean.node.token()
    judged_before = _judged(clean)

    answer = send_upload(clean, token, len(data) + MB, iter([data]), then_close_writing=True)

    # nginx gives up on the body (400, "client prematurely closed connection")
    # and closes without passing anything on.
    assert answer is None or answer.status == 400, answer
    wait_for(lambda: not clean.spool_files())
    assert clean.node.files() == []
    assert clean.node.app.completions == []
    assert _judged(clean) == judged_before  # the node never saw the body
    # The pre-check's hold is not given back by nginx: it lapses by itself
    # (token_check.spool_hold_seconds); until then the token is busy.
    retry = send_upload(clean, token, len(data), iter([data]))
    assert retry is not None
    assert (retry.status, retry.code) == (409, "TOKEN_USED")


def _judged(front: Front) -> int:
    """How many uploads the node has stored or refused so far."""
    return len(front.log_records("upload stored")) + len(front.log_records("upload not stored"))


def test_a_chunked_body_is_refused_with_411_in_the_node_error_shape(clean: Front) -> None:
    head = (
        f"PUT {UPLOAD_PATH} HTTP/1.1\r\nHost: {NODE_ID}\r\n"
        f"Authorization: Bearer {clean.node.token(max_size=1)}\r\n"
        "Content-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunk = os.urandom(256 * 1024)
    with SpoolWatch(clean.spool) as watch, _connect(clean) as sock:
        sock.sendall(head)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        received = b""
        while (answer := _parse(received)) is None:
            data = sock.recv(65536)
            assert data, received
            received += data

    status, body = answer
    assert status == 411
    assert json.loads(body) == LENGTH_REQUIRED.to_dict()
    assert watch.created == []


def test_the_pre_checks_hold_lasts_for_the_declared_length_at_a_slow_pace_and_is_bounded() -> None:
    assert token_check.spool_hold_seconds(0) == 30
    assert token_check.spool_hold_seconds(10 * 128 * 1024) == 40
    assert token_check.spool_hold_seconds(200 * MB) == 30 + 1600
    assert token_check.spool_hold_seconds(100 * 1024 * MB) == token_check.SPOOL_HOLD_MAX_SECONDS
