"""``GET /uploads/<path>`` without nginx: the single-host appliance's downloads.

The same rules as the shipped nginx configuration (docs/nginx/), so a link
that works on one works on the other:

- only ``original/``, ``variants/`` and ``private/`` of a pool are served;
  anything else, dot directories included, is 404, and a path that tries to
  leave the pool is 400 (``protocol.layout.resolve``);
- ``private/`` needs a signed link (``protocol.links``): tampered or unknown
  key → 403 ``LINK_INVALID``, past its time → 410 ``LINK_EXPIRED``;
- ``ETag`` (nginx's ``"<mtime>-<size>"`` in hex) and ``Last-Modified``, with
  ``If-None-Match``/``If-Modified-Since`` → 304; one byte range (``Range``,
  ``If-Range``) → 206, an unsatisfiable or malformed one → 416; several
  ranges get the whole file (allowed by RFC 9110, and rare for images);
- content-addressed paths never change: public files are cacheable for a year
  (``immutable``), private ones only by the browser, briefly;
- the body is streamed in chunks read by a worker thread, never held whole.

A node may hold several pools; a file is looked for in each (file names are
UUIDs, so at most one has it — and during a move, either copy is the file).
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path, PurePosixPath

from quart import Blueprint, Quart, Response, current_app, request

from pixelfox_protocol import layout, links
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import PoolInfo

from .config import StorageSettings

blueprint = Blueprint("uploads", __name__)

# Bytes per read while streaming; files up to SMALL_FILE are read in one go.
CHUNK = 256 * 1024
SMALL_FILE = 64 * 1024
PUBLIC_CACHE = "public, max-age=31536000, immutable"
PRIVATE_CACHE = "private, max-age=300"
CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "heic": "image/heic",
    "tiff": "image/tiff",
}
_SINGLE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class Opened:
    """A file found in a pool: its open descriptor, its stat, and its bytes if small."""

    fd: int
    size: int
    mtime: int
    data: bytes | None

    def close(self) -> None:
        os.close(self.fd)


def install(app: Quart, settings: StorageSettings) -> None:
    """Serve ``/uploads/`` from this node's pools (needs the upload module's pool map)."""
    app.extensions["link_keys"] = links.LinkKeys.of(
        settings.link_secret.strip(), settings.link_previous_secret.strip()
    )
    app.register_blueprint(blueprint)


def _pools() -> list[PoolInfo]:
    pools: list[PoolInfo] = current_app.extensions["upload"].known_pools()
    return pools


def _check_link(relative: str) -> bool:
    """Whether the file is private; raises when its link does not allow it."""
    if not links.is_private(relative):
        return False
    keys: links.LinkKeys = current_app.extensions["link_keys"]
    # request.path is the decoded path, as nginx's $uri (the app signs decoded paths).
    state = links.verify(request.path, request.args, keys, time.time())
    if state == links.LinkState.EXPIRED:
        raise APIError("LINK_EXPIRED")
    if state != links.LinkState.VALID:
        raise APIError("LINK_INVALID")
    return True


def _candidates(bases: Sequence[Path], relative: str) -> list[Path]:
    """The file's path in each pool; NOT_FOUND for one outside the served
    directories (as nginx, whose other locations are 404)."""
    try:
        return [links.resolve_file(base, relative) for base in bases]
    except layout.UnsafePath as exc:
        raise APIError("NOT_FOUND") from exc


def open_regular(paths: Sequence[Path]) -> Opened | None:
    """Open the first regular file among ``paths`` (runs in a worker thread)."""
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue
        except OSError:
            # O_NOFOLLOW on a symlink (ELOOP), a permission problem: not servable.
            continue
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            continue
        data = os.pread(fd, info.st_size, 0) if info.st_size <= SMALL_FILE else None
        return Opened(fd, info.st_size, int(info.st_mtime), data)
    return None


def _find(bases: Sequence[Path], relative: str) -> Opened | None:
    return open_regular(_candidates(bases, relative))


def etag_of(size: int, mtime: int) -> str:
    """nginx's ETag: hex modification time and size."""
    return f'"{mtime:x}-{size:x}"'


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def not_modified(etag: str, mtime: int) -> bool:
    """If-None-Match (weak comparison), else If-Modified-Since, says the client has it."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = _etags(if_none_match)
        return "*" in tags or etag in tags
    since = request.headers.get("If-Modified-Since")
    if since:
        try:
            return mtime <= int(parsedate_to_datetime(since).timestamp())
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
    return False


def _if_range_holds(etag: str, mtime: int) -> bool:
    condition = request.headers.get("If-Range")
    if condition is None:
        return True
    condition = condition.strip()
    if condition.startswith('"') or condition.startswith("W/"):
        return condition == etag  # strong comparison only
    try:
        return mtime <= int(parsedate_to_datetime(condition).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return False


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) of one ``Range``; None for the whole file; 416 when unsatisfiable.

    Like nginx, a malformed ``bytes=`` range is refused rather than ignored; other
    units and multiple ranges are ignored (the whole file is sent).
    """
    if not header:
        return None
    header = header.strip()
    if not header.lower().startswith("bytes=") or "," in header:
        return None
    match = _SINGLE_RANGE.match(header.replace(" ", ""))
    first: int | None = None
    last: int | None = None
    if match is not None:
        start, end = match.groups()
        if start:
            first = int(start)
            last = min(int(end), size - 1) if end else size - 1
            if end and int(end) < first:
                first = None
        elif end and int(end) > 0:
            first, last = max(size - int(end), 0), size - 1
    if first is None or last is None or first >= size:
        raise APIError("RANGE_NOT_SATISFIABLE", headers={"Content-Range": f"bytes */{size}"})
    return first, last


async def stream_opened(opened: Opened, offset: int, length: int) -> AsyncIterator[bytes]:
    try:
        while length > 0:
            chunk = await asyncio.to_thread(os.pread, opened.fd, min(CHUNK, length), offset)
            if not chunk:
                return  # the file shrank under us; the client sees a short body
            offset += len(chunk)
            length -= len(chunk)
            yield chunk
    finally:
        opened.close()


@blueprint.route("/uploads/<path:relative>", methods=["GET", "HEAD"])
async def serve_upload(relative: str) -> Response:
    """A file of one of this node's pools (see the module docstring for the rules)."""
    if ".." in relative.split("/") or relative.startswith("/"):
        raise APIError("BAD_REQUEST", "This is not a path inside a pool.")
    private = _check_link(relative)
    pools = _pools()
    if not pools:
        raise APIError("UNAVAILABLE", "This node does not know its pools yet.")
    # One trip to a worker thread: resolving the path stats the disk, too.
    opened = await asyncio.to_thread(_find, [Path(p.base_path) for p in pools], relative)
    if opened is None:
        raise APIError("NOT_FOUND")
    keep_open = False
    try:
        etag = etag_of(opened.size, opened.mtime)
        headers = {
            "ETag": etag,
            "Last-Modified": formatdate(opened.mtime, usegmt=True),
            "Cache-Control": PRIVATE_CACHE if private else PUBLIC_CACHE,
            "Accept-Ranges": "bytes",
            "Access-Control-Allow-Origin": "*",
        }
        if not_modified(etag, opened.mtime):
            return Response([], 304, headers)
        wanted = None
        if _if_range_holds(etag, opened.mtime):
            wanted = byte_range(request.headers.get("Range"), opened.size)
        first, last = wanted if wanted is not None else (0, opened.size - 1)
        length = last - first + 1
        status = 200
        if wanted is not None:
            status = 206
            headers["Content-Range"] = f"bytes {first}-{last}/{opened.size}"
        suffix = PurePosixPath(relative).suffix.lstrip(".").lower()
        headers["Content-Type"] = CONTENT_TYPES.get(suffix, "application/octet-stream")
        if request.method == "HEAD":
            response = Response([], status, headers)
        elif opened.data is not None:
            response = Response(opened.data[first : last + 1], status, headers)
        else:
            keep_open = True
            response = Response(stream_opened(opened, first, length), status, headers)
            # A large file on a slow line may take longer than Quart's 60 s default.
            response.timeout = None
        response.headers["Content-Length"] = str(length)
        return response
    finally:
        if not keep_open:
            opened.close()
