"""Images made at test time: good ones of each format, and the bad ones an attacker sends."""

from __future__ import annotations

import struct
import zlib

import pyvips


def _picture(width: int = 64, height: int = 48) -> pyvips.Image:
    return (pyvips.Image.xyz(width, height) % 256).cast("uchar").bandjoin([128, 64])


def jpeg(width: int = 64, height: int = 48) -> bytes:
    return bytes(_picture(width, height).jpegsave_buffer(Q=80))


def noisy_jpeg(width: int, height: int) -> bytes:
    """A JPEG that compresses badly, for bodies of several MB."""
    noise = pyvips.Image.gaussnoise(width, height, mean=128, sigma=60).cast("uchar")
    return bytes(noise.bandjoin([noise, noise]).jpegsave_buffer(Q=95))


def png(width: int = 64, height: int = 48) -> bytes:
    return bytes(_picture(width, height).pngsave_buffer())


def webp(width: int = 64, height: int = 48) -> bytes:
    return bytes(_picture(width, height).webpsave_buffer())


def avif(width: int = 64, height: int = 48) -> bytes:
    return bytes(_picture(width, height).heifsave_buffer(compression="av1", effort=0))


def gif_frames(frames: int, size: int = 4) -> bytes:
    """An animated GIF of ``frames`` tiny frames."""
    # Each frame differs from the one before, so no encoder can merge them.
    pages = [pyvips.Image.black(size, size).new_from_image(i % 2 * 255) for i in range(frames)]
    strip = pyvips.Image.arrayjoin(pages, across=1).cast("uchar").copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", size)
    return bytes(strip.gifsave_buffer())


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A small, well-formed PNG whose header claims ``width`` x ``height`` pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    # One compressed scanline of zeros; decoding would need the rest.
    idat = zlib.compress(b"\x00" * (width + 1), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)
SVG_BARE = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
TEXT = b"just some text, not an image at all\n" * 20
