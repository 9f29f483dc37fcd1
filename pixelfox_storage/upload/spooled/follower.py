"""The spool follower: hash (and parse) upload bodies while nginx is still writing them.

nginx hands a spooled body over only once it is complete (see :mod:`.routes`).
On a CPU without SHA instructions, hashing 100 MB then takes longer than
nginx's whole write. So a thread lists each pool's ``.spool/`` every few
milliseconds, and each new file gets a thread of its own that reads the bytes
as they land (from the page cache) and

- a raw body: feeds them to SHA-256 (``hashlib`` releases the GIL);
- a multipart body (its first line is ``--<boundary>``): runs ingest's own
  multipart parse (:class:`~.followedform.FollowedForm`), the file part
  written and hashed into the pool's ``.incoming/`` as it comes.

At handover the request claims the file's state by inode (:func:`handover`);
the thread reads the short tail up to the file's final size and the upload
takes its result (:class:`~.bodyfile.Followed`). Whatever does
not fit — a raw body posted as a form, another boundary, a parse it gave up —
the upload does itself, as without a follower.

Bounds: at most :data:`MAX_FILES` files are followed at once (the others are
not followed at all); a file is forgotten when its name leaves ``.spool/``
(nginx deletes it when the request ends; a cut-off upload's part file goes
with it) or when it has not grown for the temp-file sweep's age. The follower
only reads plain files directly in ``.spool/`` (opened without following
links), holds no file past its name, and creates nothing but part files.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from .bodyfile import BodyFile
from .followedform import FollowedForm

log = logging.getLogger(__name__)

MAX_FILES = 8
# How often each .spool/ is listed: a new file is noticed within this.
SCAN_SECONDS = 0.003
# A followed file with nothing new is looked at again after this, doubling up to
# the cap while it stays idle (a slow client); a handover wakes it at once.
IDLE_SECONDS = (0.001, 0.02)
# Reads while following (about one nginx write) and for the tail after handover.
READ_BYTES = 1024 * 1024
TAIL_BYTES = 4 * 1024 * 1024
# A raw body's file is flushed to disk while the follower waits for more, once
# this much is unflushed (a form's file is not stored: its part is, see followedform).
SYNC_BYTES = 16 * 1024 * 1024
# "--", the longest boundary RFC 2046 allows, CRLF: the first line of a form.
FIRST_LINE_BYTES = 2 + 70 + 2

_Key = tuple[int, int]  # (st_dev, st_ino)

NOT_FOLLOWED = "spool body not followed: the follower is full"


class SpoolFollower:
    """Follows new files in the :attr:`spools` folders; see the module docstring."""

    def __init__(self, *, max_age: float, max_files: int = MAX_FILES) -> None:
        # (spool folder, its pool's base path); replaced, never changed in place.
        self.spools: list[tuple[Path, Path]] = []
        self.max_age = max_age
        self.max_files = max_files
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._waiting: dict[_Key, _Track] = {}  # followed, not claimed yet
        self._live: set[_Track] = set()  # threads running, claimed or not
        self._handed: set[_Key] = set()  # handed over before the watcher came: leave them
        self._seen: dict[Path, set[str]] = {}  # names already looked at, per .spool/
        self._scans = 0
        self._watcher = threading.Thread(target=self._watch, name="spool-follower", daemon=True)

    def start(self) -> None:
        self._watcher.start()

    def stop(self) -> None:
        """Stop watching and following; every unclaimed part file is removed."""
        self.stopping.set()
        if self._watcher.is_alive():
            self._watcher.join()
        with self.lock:
            live = list(self._live)
        for track in live:
            track.wake.set()
            track.thread.join()

    @contextlib.contextmanager
    def claim(self, device: int, inode: int) -> Iterator[_Track | None]:
        """The state of the followed file (device, inode), held by the caller until exit."""
        key = (device, inode)
        with self.lock:
            track = self._waiting.pop(key, None)
            if track is not None:
                track.claimed = True
            else:
                self._handed.add(key)
        try:
            yield track
        finally:
            if track is not None:
                track.release()
            else:
                with self.lock:
                    self._handed.discard(key)

    @property
    def following(self) -> int:
        with self.lock:
            return len(self._live)

    @property
    def scans(self) -> int:
        """How often every folder was listed. Once it has grown by two, a file that was
        there before has been looked at: it is followed, or left alone for good."""
        return self._scans

    # -- the watcher thread --------------------------------------------------------

    def _watch(self) -> None:
        while not self.stopping.wait(SCAN_SECONDS):
            for folder, base in self.spools:
                try:
                    self._scan(folder, base)
                except Exception:
                    log.exception("spool follower: listing %s failed", folder)
            self._scans += 1  # this thread alone writes it

    def _scan(self, folder: Path, base: Path) -> None:
        try:
            entries = [e for e in os.scandir(folder) if e.name.isdigit()]
        except FileNotFoundError:
            return
        seen = self._seen.setdefault(folder, set())
        seen.intersection_update(e.name for e in entries)  # names nginx deleted are done
        for entry in entries:
            if entry.name in seen:
                continue
            seen.add(entry.name)  # looked at once: followed now, or never
            if self.following < self.max_files:
                self._start_track(Path(entry.path), base)
            else:
                # The node then hashes this body at handover: slower, and worth knowing.
                log.info(NOT_FOLLOWED, extra={"body_file": entry.name, "max_files": self.max_files})

    def _start_track(self, path: Path, pool_base: Path) -> None:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        try:
            fd = os.open(path, flags)
        except OSError:  # gone already, or a symlink (ELOOP)
            return
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            return
        track = _Track(self, path, fd, (info.st_dev, info.st_ino), pool_base)
        with self.lock:
            handed = track.key in self._handed
            if not handed:
                self._waiting[track.key] = track
                self._live.add(track)
        if handed:
            os.close(fd)
            return
        track.thread.start()

    def ended(self, track: _Track) -> None:
        """Called by a track's thread as it ends (its file is closed by then)."""
        with self.lock:
            self._live.discard(track)
            if self._waiting.get(track.key) is track:
                del self._waiting[track.key]  # never claimed, and now never will be
            track.done = True
            waiters, track.waiters = track.waiters, []
            orphan = not track.claimed or track.released
        if orphan:
            track.discard()
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(_resolve, future)


class _Track:
    """One spool file, read by a thread of its own as nginx writes it (see bodyfile.Followed)."""

    def __init__(
        self, follower: SpoolFollower, path: Path, fd: int, key: _Key, pool_base: Path
    ) -> None:
        self.follower = follower
        self.path = path
        self.key = key
        self.pool_base = pool_base
        self.offset = 0
        self.synced = 0  # bytes flushed to disk (raw bodies, while idle)
        self.hash: hashlib._Hash | None = None  # a raw body
        self.parse: FollowedForm | None = None  # a multipart body
        self.failed = False  # gave up: nothing to offer
        # All below under follower.lock.
        self.claimed = False  # a handover holds it
        self.released = False  # ... and is done with it
        self.done = False
        self.target: int | None = None  # the file's final size, told at handover
        self.waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self.wake = threading.Event()
        self._fd = fd
        self.thread = threading.Thread(
            target=self._run, name=f"spool-follow-{path.name}", daemon=True
        )

    # -- the handover's side (event loop) --------------------------------------------

    async def sha256(self, size: int) -> str | None:
        if not await self._until(size) or self.hash is None:
            return None
        return self.hash.hexdigest()

    async def form(self, size: int, boundary: bytes) -> FollowedForm | None:
        if not await self._until(size):
            return None
        with self.follower.lock:
            form = self.parse
            if form is None or form.boundary != boundary:
                return None
            self.parse = None  # the caller's now
        return form

    async def _until(self, size: int) -> bool:
        """Wait until the thread has read ``size`` bytes (the whole file) or given up."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self.follower.lock:
            if self.target is None:
                self.target = size
            if self.done:
                future.set_result(None)
            else:
                self.waiters.append((loop, future))
        self.wake.set()
        await future
        return not self.failed and self.offset == size == self.target

    def release(self) -> None:
        with self.follower.lock:
            self.released = True
            done = self.done
        self.wake.set()
        if done:
            self.discard()

    def discard(self) -> None:
        """Remove the part file, unless a handover took it."""
        with self.follower.lock:
            form, self.parse = self.parse, None
        if form is not None:
            form.discard()

    # -- the thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._follow()
        except Exception:
            log.exception("spool follower: %s could not be followed", self.path)
            self.failed = True
        finally:
            self._settle()
            os.close(self._fd)
            self.follower.ended(self)

    def _settle(self) -> None:
        if self.parse is None:
            return
        try:
            self.parse.settle()  # the part's last write done: it may be taken or removed
        except OSError as exc:
            log.warning("spool follower: the part of %s could not be written: %s", self.path, exc)
            self.failed = True

    def _follow(self) -> None:
        idle, grew = IDLE_SECONDS[0], time.monotonic()
        while not self.released and not self.follower.stopping.is_set():
            target = self.target
            if target is not None and self.offset >= target:
                return
            want = READ_BYTES if target is None else min(TAIL_BYTES, target - self.offset)
            if self.offset == 0 and target is None:
                want = 0 if os.fstat(self._fd).st_size < FIRST_LINE_BYTES else want
            data = os.pread(self._fd, want, self.offset) if want else b""
            if data:
                if not self._take(data):
                    self.failed = True
                    return
                self.offset += len(data)
                idle, grew = IDLE_SECONDS[0], time.monotonic()
                continue
            if target is not None:
                self.failed = True  # shorter than the handover says: not ours to judge
                return
            if self._gone() or time.monotonic() - grew > self.follower.max_age:
                return
            if self.hash is not None and self.offset - self.synced >= SYNC_BYTES:
                # Waiting for nginx anyway: flush what it wrote of the raw body,
                # which becomes the stored file, so the commit's fsync finds little.
                os.fdatasync(self._fd)
                self.synced = self.offset
                continue
            self.wake.wait(idle)
            self.wake.clear()
            idle = min(idle * 2, IDLE_SECONDS[1])
        self.failed = True

    def _take(self, data: bytes) -> bool:
        if self.offset == 0:
            self._begin(data)
        if self.parse is None:
            assert self.hash is not None
            self.hash.update(data)
            return True
        try:
            self.parse.feed(data)
        except ValueError as exc:
            log.debug("spool follower: %s", exc)
            return False
        return True

    def _begin(self, first: bytes) -> None:
        end = first.find(b"\r\n", 0, FIRST_LINE_BYTES) if first.startswith(b"--") else -1
        if end > 2:
            with contextlib.suppress(ValueError):  # not a boundary the parser takes
                self.parse = FollowedForm(first[2:end], self.pool_base)
                return
        self.hash = hashlib.sha256()

    def _gone(self) -> bool:
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            return True
        return (info.st_dev, info.st_ino) != self.key


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@contextlib.contextmanager
def handover(follower: SpoolFollower | None, body_file: BodyFile) -> Iterator[None]:
    """Offer ``body_file`` what the follower did with it, for as long as the request runs."""
    if follower is None:
        yield
        return
    with follower.claim(body_file.device, body_file.inode) as track:
        body_file.follow = track
        yield
