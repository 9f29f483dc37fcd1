"""Is this an image we accept? File names, magic bytes and a guarded libvips look.

Three judges, cheapest first, each raising :class:`APIError` with a stable code:

- :func:`clean_filename` — the name the client gave (traversal, control characters);
- :func:`sniff` — the first bytes (``filetype``) plus the extension whitelist;
  SVG and XML are refused whatever the settings say;
- :func:`inspect` — libvips opens the file with only our loaders unblocked,
  checks the format, the pixel and frame limits from the *header* (a bomb is
  refused before any pixel is decoded), and then, for the formats whose
  header does not prove the file complete (JPEG, PNG), decodes it cheaply to
  catch truncation. :func:`inspect` blocks: run it in a thread.

The node's variant pipeline (``pixelfox_storage.processing``) judges an
original again before decoding it, with the same :class:`ImageLimits`, the same
:func:`check_limits` and the same :class:`ImageRejected`.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import filetype
import pyvips

from pixelfox_protocol.errors import APIError

# Bytes needed to sniff every type we accept (ISOBMFF brands may sit a little in).
SNIFF_BYTES = 8192

# Extensions a client's file name may carry, by the type they stand for.
EXTENSION_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "jpe": "image/jpeg",
    "jfif": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "heic": "image/heic",
    "heif": "image/heic",
    "tif": "image/tiff",
    "tiff": "image/tiff",
}

# The libvips loader classes we let run; every other loader stays blocked.
_LOADERS = {
    "image/jpeg": "VipsForeignLoadJpeg",
    "image/png": "VipsForeignLoadPng",
    "image/gif": "VipsForeignLoadNsgif",
    "image/webp": "VipsForeignLoadWebp",
    "image/avif": "VipsForeignLoadHeif",
    "image/heic": "VipsForeignLoadHeif",
    "image/tiff": "VipsForeignLoadTiff",
}
# What the opened image must say about itself ("vips-loader" metadata).
_LOADER_NAMES = {
    "image/jpeg": "jpegload",
    "image/png": "pngload",
    "image/gif": "gifload",
    "image/webp": "webpload",
    "image/avif": "heifload",
    "image/heic": "heifload",
    "image/tiff": "tiffload",
}
# Formats whose header parse already walks the whole file (a truncated WebP,
# AVIF/HEIC, GIF or TIFF fails to open); JPEG and PNG need a decode to tell.
_DECODE_TO_VERIFY = {"image/jpeg", "image/png"}

_MARKUP_STARTS = (b"<?xml", b"<svg", b"<!doctype", b"<!--", b"<html")


@dataclass(frozen=True)
class ImageLimits:
    """How large one image may be: the operator's ``max_pixels`` and ``max_frames``."""

    max_pixels: int = 100_000_000
    max_frames: int = 200


class ImageRejected(APIError):
    """This file is not an image we accept; a stable code from ``pixelfox_protocol.errors``.

    An :class:`APIError`, so an upload answers it as it is; the worker records it
    on the image instead (retrying will not help).
    """


@dataclass(frozen=True)
class ImageInfo:
    mime: str
    width: int
    height: int
    frames: int


def clean_filename(name: str) -> str:
    """The client's file name as we keep it (for display only), or INVALID_FILENAME.

    The stored path never uses it; still, a name that tries to climb
    directories or hides control characters is refused rather than mended,
    so that what the user sees is what they sent.
    """
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        return ""
    if (
        "/" in name
        or "\\" in name
        or name in (".", "..")
        or any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name)
    ):
        raise APIError("INVALID_FILENAME", details={"filename": name[:255]})
    if len(name.encode()) > 255:
        raise APIError("INVALID_FILENAME", "The file name is longer than 255 bytes.")
    return name


def extension_of(name: str) -> str:
    _, dot, ext = name.rpartition(".")
    return ext.lower() if dot and ext else ""


def check_extension(filename: str, allowed_types: frozenset[str]) -> None:
    """A name without an extension passes (the bytes decide); a foreign one does not."""
    ext = extension_of(filename)
    if not ext:
        return
    if ext in ("svg", "svgz", "xml", "html", "htm", "xhtml"):
        raise APIError("UNSUPPORTED_TYPE", "SVG and XML files are not accepted.")
    if EXTENSION_TYPES.get(ext) not in allowed_types:
        raise APIError("UNSUPPORTED_TYPE", details={"extension": ext})


def sniff(head: bytes, allowed_types: frozenset[str]) -> str:
    """The MIME type the first bytes prove, or UNSUPPORTED_TYPE / INVALID_IMAGE."""
    if not head:
        raise ImageRejected("INVALID_IMAGE", "The file is empty.")
    text = head[:256].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(_MARKUP_STARTS) or b"<svg" in head[:1024].lower():
        raise ImageRejected("UNSUPPORTED_TYPE", "SVG and XML files are not accepted.")
    kind = filetype.image_match(head)
    if kind is None or kind.mime not in allowed_types or kind.mime not in _LOADERS:
        found = kind.mime if kind is not None else "unknown"
        raise ImageRejected("UNSUPPORTED_TYPE", details={"detected": found})
    return str(kind.mime)


_hardened = threading.Lock()
_hardened_done = False


def harden_vips() -> None:
    """Block every libvips loader but ours, and untrusted operations, in this process.

    Process-wide and idempotent. The operation cache is switched off so that a
    rejected temporary file is not held open (and its space kept) by the cache.
    """
    global _hardened_done
    with _hardened:
        if _hardened_done:
            return
        pyvips.block_untrusted_set(True)
        pyvips.operation_block_set("VipsForeignLoad", True)
        for loader in set(_LOADERS.values()):
            pyvips.operation_block_set(loader, False)
        pyvips.cache_set_max(0)
        # libvips reports every thread pool it finishes at INFO: noise per upload.
        logging.getLogger("pyvips").setLevel(logging.WARNING)
        _hardened_done = True


def inspect(path: Path, mime: str, limits: ImageLimits, *, verify_decode: bool = True) -> ImageInfo:
    """Open ``path`` (sniffed as ``mime``) with libvips and judge it. Blocking."""
    harden_vips()
    try:
        image = _load(path, mime)
        loader = str(image.get("vips-loader"))
        width, height = int(image.width), int(image.height)
        frames = int(image.get("n-pages")) if image.get_typeof("n-pages") else 1
        page_height = int(image.get("page-height")) if image.get_typeof("page-height") else height
    except pyvips.Error as exc:
        raise ImageRejected("INVALID_IMAGE", details={"reason": vips_reason(exc)}) from exc
    if loader != _LOADER_NAMES[mime]:
        raise ImageRejected("UNSUPPORTED_TYPE", details={"detected": mime, "decoder": loader})
    if mime in ("image/avif", "image/heic"):
        compression = (
            str(image.get("heif-compression")) if image.get_typeof("heif-compression") else ""
        )
        mime = "image/avif" if compression == "av1" else "image/heic"
    # Animated formats report the first page's height as page-height.
    if frames > 1 and 0 < page_height < height:
        height = page_height
    if width <= 0 or height <= 0:
        raise ImageRejected("INVALID_IMAGE", "The image has no pixels.")
    check_limits(width, height, frames, limits)
    if verify_decode and mime in _DECODE_TO_VERIFY:
        _decode(path, mime)
    return ImageInfo(mime=mime, width=width, height=height, frames=frames)


def check_limits(width: int, height: int, frames: int, limits: ImageLimits) -> None:
    """IMAGE_TOO_LARGE when the header's size or frame count is over ``limits``."""
    if width * height > limits.max_pixels:
        raise ImageRejected(
            "IMAGE_TOO_LARGE",
            f"The image has {width}x{height} pixels; at most {limits.max_pixels} are accepted.",
            details={"width": width, "height": height, "max_pixels": limits.max_pixels},
        )
    if frames > limits.max_frames:
        raise ImageRejected(
            "IMAGE_TOO_LARGE",
            f"The image has {frames} frames; at most {limits.max_frames} are accepted.",
            details={"frames": frames, "max_frames": limits.max_frames},
        )


def _decode(path: Path, mime: str) -> None:
    # JPEG decodes at 1/8 scale: every byte of entropy-coded data is still read
    # (so truncation shows) at a fraction of a full decode's cost.
    options: dict[str, object] = {"shrink": 8} if mime == "image/jpeg" else {}
    try:
        _load(path, mime, **options).avg()
    except pyvips.Error as exc:
        raise ImageRejected(
            "INVALID_IMAGE",
            "The image is damaged or incomplete.",
            details={"reason": vips_reason(exc)},
        ) from exc


def _load(path: Path, mime: str, **options: object) -> pyvips.Image:
    # The loader of the sniffed type, called by name: libvips never gets to pick
    # another one for these bytes, whatever they resemble.
    loader = getattr(pyvips.Image, _LOADER_NAMES[mime])
    return loader(str(path), access="sequential", fail_on="truncated", **options)


def vips_reason(exc: Exception) -> str:
    """What libvips said, in one line (its messages run over several)."""
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
