"""Variants from an original with pyvips: decode once, derive, strip, encode.

Decisions, each for a reason:

- **Decode once.** The original is decoded once, at the largest box, with
  shrink-on-load (JPEG DCT scaling, WebP/HEIF scaled decode), and kept in
  memory; every smaller variant is resized from that in-memory image.
  Decoding per variant costs a decode each time (bench/variants.py).
- **Upright, sRGB, 8 bit.** The resize applies the EXIF orientation; images
  with an embedded profile (Adobe RGB, Display P3 …) and CMYK are converted
  to sRGB with their profile, grey and 16-bit ones to 8-bit sRGB; untagged
  images are taken as sRGB.
- **No metadata at all.** EXIF (GPS, camera serials), XMP, IPTC, comments and
  the ICC profile are dropped from every variant. Dropping the ICC profile is
  deliberate: the pixels already are sRGB, which browsers assume for untagged
  images, and a profile costs up to a few KB on a 5 KB thumbnail.
- **Animations: first frame.** ``thumbnail`` reads page 0 only; the variants
  are stills and the original stays animated for whoever wants it.
- **Alpha** is kept in WebP/AVIF and flattened onto white for JPEG.
- **Hardened libvips.** Only the loaders of accepted upload types may run
  (no SVG, PDF, matrix, raw, vips …, nothing libvips marks untrusted), the
  operation cache is off (each file is seen once; the cache would only hold
  memory and file handles), and libvips runs one thread per image: AV1 output
  depends on the encoder's thread count, and one thread keeps the bytes equal
  on every node. Parallelism comes from running jobs side by side.
- **Large buffers mapped.** glibc raises its mmap threshold each time a large
  block is freed, after which a job's multi-MB buffers come from the heap,
  where they fragment and stay resident; a worker with two jobs at a time
  grows job after job. ``tune_malloc`` pins the threshold, so that every such
  buffer is returned to the system when it is freed.
- **One whole-image decode at a time.** Most originals decode in strips, but
  a progressive JPEG keeps all its DCT coefficients until the last scan (72 MB
  for 24 MP at 4:2:0, 150 MB at 4:4:4, however small the output), and GIF,
  interlaced PNG and HEIF decode the whole image (a 12 MP AVIF: ~190 MB).
  Such decodes take turns within a process, so two of them never add up.
- **Limits again.** Pixel and frame limits are checked from the header before
  anything is decoded, although the node's ingest checked them too.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyvips

from pixelfox_common.imagecheck import (
    ImageLimits,
    ImageRejected,
    check_limits,
    harden_vips,
    vips_reason,
)

from .specs import VariantSpec, save_options, writable_formats

# What an opened original must say about itself ("vips-loader"): the loaders of
# accepted upload types. ``imagecheck.harden_vips`` blocks every other loader.
ALLOWED_LOADER_NICKNAMES = frozenset(
    {"jpegload", "pngload", "webpload", "gifload", "heifload", "tiffload"}
)
# Metadata fields removed from the decoded image before encoding; the savers are
# also told to keep nothing. Two layers, because a saver's idea of "metadata"
# has changed between libvips releases.
_METADATA_PREFIXES = (
    "exif-",
    "xmp-",
    "iptc-",
    "icc-",
    "png-comment",
    "gif-comment",
    "heif-",
    "orientation",
    "gainmap",
)
_KEEP_NONE = 0  # VipsForeignKeep NONE
_AV1_ENCODER = threading.Lock()
_WHOLE_IMAGE_DECODE = threading.Lock()
_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter
# Blocks of at least this size get their own mapping. A 1280 px image is ~3 MB,
# the decoder's and encoders' working buffers 1-20 MB; small objects are not
# affected. A worker making eight 24 MP sets two at a time peaked at 165-174 MB
# with glibc's sliding threshold, 142-149 MB with 1 MB (4 MB: 157-170 MB), for
# ~3 % more CPU time: fresh pages are faulted in and zeroed (bench/variants.py).
MMAP_THRESHOLD = 1 << 20


@dataclass(frozen=True)
class Header:
    width: int
    height: int
    frames: int
    loader: str
    whole: bool = False  # the decode holds the whole image (or its coefficients)


@dataclass(frozen=True)
class Rendition:
    variant: str
    fmt: str
    data: bytes
    width: int
    height: int


def harden() -> None:
    """Restrict libvips for untrusted input; idempotent, call before any decode.

    The loader whitelist is the node ingest's (one list for the whole node);
    the worker adds one thread per image for byte-identical AV1 output and
    pins glibc's mmap threshold (see ``tune_malloc``).
    """
    harden_vips()
    pyvips.concurrency_set(1)
    tune_malloc()


@cache
def tune_malloc(threshold: int = MMAP_THRESHOLD) -> bool:
    """Give buffers of ``threshold`` bytes or more back to the system when freed.

    Process-wide (like ``MALLOC_MMAP_THRESHOLD_``) and safe to call at any
    time; False where the C library is not glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, threshold))


def inspect(original: Path, limits: ImageLimits) -> Header:
    """Read the header only and enforce type, pixel and frame limits (as the upload did)."""
    harden()
    try:
        head = pyvips.Image.new_from_file(str(original), access="sequential")
    except pyvips.Error as exc:
        raise ImageRejected("INVALID_IMAGE", f"not a readable image: {vips_reason(exc)}") from exc
    loader = head.get("vips-loader") if head.get_typeof("vips-loader") else ""
    if loader not in ALLOWED_LOADER_NICKNAMES:
        raise ImageRejected("UNSUPPORTED_TYPE", f"loader {loader or '?'} is not allowed")
    frames = head.get("n-pages") if head.get_typeof("n-pages") else 1
    check_limits(head.width, head.height, frames, limits)
    return Header(head.width, head.height, frames, loader, _decodes_whole(head, loader))


def _decodes_whole(head: pyvips.Image, loader: str) -> bool:
    if loader in ("heifload", "gifload"):
        return True
    field = "jpeg-multiscan" if loader == "jpegload" else "interlaced"
    return bool(head.get_typeof(field) and head.get(field))


def render(
    original: Path,
    specs: Sequence[VariantSpec],
    limits: ImageLimits | None = None,
    *,
    only: Collection[tuple[str, str]] | None = None,
) -> Iterator[Rendition]:
    """Encode the variants of ``specs``; yields one rendition at a time, largest first.

    ``only`` restricts the output to some (variant, format) pairs. The decode
    size always follows the whole set, so a variant made alone is byte for byte
    the one made with all others. Formats the libvips build cannot write (AVIF
    without an AV1 encoder) are skipped. Raises :class:`ImageRejected` for input
    that must not be processed.
    """
    writable = writable_formats()
    ordered = sorted(specs, key=lambda s: -s.box)
    plan = [
        (
            spec,
            [f for f in spec.formats if f in writable and (only is None or (spec.name, f) in only)],
        )
        for spec in ordered
    ]
    if not any(fmts for _, fmts in plan):
        return
    header = inspect(original, limits or ImageLimits())
    try:
        # The decoded base is sequential: materialise it once, then derive from memory.
        with _WHOLE_IMAGE_DECODE if header.whole else nullcontext():
            base = _clean(_decode(original, header, ordered[0].box)).copy_memory()
    except pyvips.Error as exc:
        raise ImageRejected("INVALID_IMAGE", f"cannot decode: {vips_reason(exc)}") from exc
    for spec, fmts in plan:
        if not fmts:
            continue
        # Smaller sizes come from the decoded base, not from the previous size, so
        # rounding does not add up (3000x2000 gives 200x133 directly, 200x134 via 400).
        sized = base
        if max(base.width, base.height) > spec.box:
            sized = base.thumbnail_image(
                spec.box, height=spec.box, size="down", no_rotate=True
            ).copy_memory()
        for fmt in fmts:
            yield Rendition(spec.name, fmt, _encode(sized, fmt), sized.width, sized.height)


def _decode(original: Path, header: Header, box: int) -> pyvips.Image:
    """The original, upright and in sRGB, fitted into box x box."""
    if header.loader == "jpegload":
        # libjpeg scales while decoding (DCT scaling) by 2, 4 or 8. ``thumbnail``
        # would only use it to leave at least a factor of two for its final resize,
        # i.e. decode a 12 MP photo in full for a 1280 px variant; decoding at the
        # largest scale that stays above the box, as Pillow's draft mode does, is
        # about twice as fast for the whole set (bench/variants.py).
        shrink = 1
        while shrink < 8 and max(header.width, header.height) // (shrink * 2) >= box:
            shrink *= 2
        loaded = pyvips.Image.new_from_file(
            str(original), access="sequential", shrink=shrink, fail_on="error"
        )
        image = loaded.thumbnail_image(box, height=box, size="down")
    else:
        # Other loaders: ``thumbnail`` does their shrink-on-load (WebP and HEIF scale).
        image = pyvips.Image.thumbnail(str(original), box, height=box, size="down", fail_on="error")
    return _to_srgb(image)


def _to_srgb(image: pyvips.Image) -> pyvips.Image:
    """Colour-manage tagged and CMYK images into sRGB, after the resize.

    Done here rather than with ``thumbnail(output_profile=…)``, which also
    transforms untagged images and cost 0.6 s for one 1280 px image on one
    core, against 20 ms for ``icc_transform`` of the resized image.
    """
    cmyk = image.interpretation == "cmyk"
    if not cmyk and not image.get_typeof("icc-profile-data"):
        return image  # untagged: taken as sRGB, as browsers do
    try:
        return image.icc_transform(
            "srgb", embedded=True, input_profile="cmyk" if cmyk else "srgb", depth=8
        )
    except pyvips.Error:
        # A broken embedded profile: ignore it rather than refuse the picture.
        return image.colourspace("srgb")


def _clean(image: pyvips.Image) -> pyvips.Image:
    """An 8-bit sRGB copy carrying no metadata."""
    if image.interpretation != "srgb" or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    image = image.copy()
    for name in image.get_fields():
        if name.startswith(_METADATA_PREFIXES):
            image.remove(name)
    return image


def _encode(image: pyvips.Image, fmt: str) -> bytes:
    saver, options = save_options(fmt)
    if fmt == "jpg" and image.hasalpha():
        image = image.flatten(background=[255, 255, 255]).cast("uchar")
    if fmt == "avif":
        # The AV1 encoder is a job's largest allocation (~25 MB at 1280 px, more
        # than a baseline JPEG's decode). One at a time per process bounds the
        # worst case of parallel jobs encoding AVIF together; AVIF is a fifth of
        # a set's time, so jobs rarely wait on each other here.
        with _AV1_ENCODER:
            data: bytes = getattr(image, saver)(keep=_KEEP_NONE, **options)
        return data
    data = getattr(image, saver)(keep=_KEEP_NONE, **options)
    return data
