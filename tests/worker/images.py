"""Test originals, made at test time: photos with GPS EXIF, rotated, animated, bombs."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pyvips
from PIL import Image, ImageCms

CAMERA = "PixelFoxCam"
CREATOR = "PixelFoxSecretCreator"
GPS = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>'
    + CREATOR.encode()
    + b"</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
    b'<?xpacket end="w"?>'
)
RED, BLUE = (255, 0, 0), (0, 0, 255)


def photo(path: Path, width: int = 1600, height: int = 1200, *, quality: int = 90) -> Path:
    """A photo-like JPEG (gradients and grain), no metadata."""
    x = pyvips.Image.xyz(width, height)
    rgb = (x[0] * 255 / width).bandjoin([x[1] * 255 / height, (x[0] + x[1]) % 256])
    grain = pyvips.Image.gaussnoise(width, height, sigma=12)
    image = (rgb + grain.bandjoin([grain, grain])).cast("uchar")
    image.jpegsave(str(path), Q=quality)
    return path


def tagged_photo(path: Path, *, orientation: int = 1, size: tuple[int, int] = (600, 300)) -> Path:
    """A JPEG whose left half is red and right half blue, carrying EXIF with GPS,
    a camera make, XMP, an ICC profile and a comment."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    exif = Image.Exif()
    exif[0x010F] = CAMERA  # Make
    exif[0x0112] = orientation
    exif.get_ifd(0x8825).update(GPS)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image.save(
        path, quality=95, exif=exif.tobytes(), icc_profile=icc, xmp=XMP, comment=b"secret comment"
    )
    return path


def animated_gif(path: Path, colours: list[tuple[int, int, int]], size: int = 64) -> Path:
    frames = [Image.new("RGB", (size, size), c) for c in colours]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height but whose data is one tiny row:
    decoding it would fail or explode, reading the header is enough to refuse it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" + b"\x00" * 3 * 8)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def svg(path: Path) -> Path:
    path.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        '<rect width="100" height="100" fill="red"/></svg>'
    )
    return path


def loader_of(data: bytes) -> str:
    image = pyvips.Image.new_from_buffer(data, "")
    return str(image.get("vips-loader"))


def pixel(data: bytes, x: int, y: int) -> list[float]:
    image = pyvips.Image.new_from_buffer(data, "")
    return list(image(x, y))
