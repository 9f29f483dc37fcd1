"""Which variants a node makes, and with which encoder settings.

A variant is a named bounding box (``thumb200`` fits in 200x200, never
upscaled) written in one or more formats. The set is configurable with
``PIXELFOX_VARIANTS``, e.g. ``thumb200:200:jpg+webp,medium:1280:jpg+webp+avif``.

Encoder settings are fixed here, not per installation: the same original must
always give the same bytes (the tests and the stuck-job sweeper rely on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from pixelfox_protocol import layout

# Formats the node can write (the layout's). The name is also the file extension
# and the ``ImageVariant.format`` the app records.
FORMATS = layout.VARIANT_FORMATS

DEFAULT_VARIANTS = "thumb200:200:jpg+webp,thumb400:400:jpg+webp,medium:1280:jpg+webp+avif"

# Settings shared with bench/variants.py, which gives Pillow the same numbers.
JPEG_QUALITY = 82
WEBP_QUALITY = 80
# libwebp's "method"; 4 is its own default. WebP is the set's largest cost, but
# effort 2 (half the time) makes files ~10 % larger: every download pays for
# that, the encode is paid once.
WEBP_EFFORT = 4
AVIF_QUALITY = 55
# libheif's effort e runs aom at speed 9 - e. For one 1280 px image on one core,
# Q55 (measured here, loaded machine): effort 0 took 0.10-0.15 s and gave 3-4 %
# smaller files at equal PSNR than effort 1 (0.14-0.22 s); effort 2 cut another
# 20 % off the file for four times effort 1's time, effort 4 took 4.5-5 s and
# ~200 MB of RSS. Effort 0 keeps AVIF at about a fifth of a set (bench/variants.py).
AVIF_EFFORT = 0

_NAME = layout.VARIANT_NAME


@dataclass(frozen=True)
class VariantSpec:
    name: str
    box: int  # the longest edge fits in box x box
    formats: tuple[str, ...]


def parse_variants(text: str) -> tuple[VariantSpec, ...]:
    """Parse ``name:box:fmt+fmt,…``; raises ValueError naming the bad entry."""
    specs: list[VariantSpec] = []
    for entry in (e.strip() for e in (text or DEFAULT_VARIANTS).split(",")):
        if not entry:
            continue
        parts = entry.split(":")
        if len(parts) != 3:
            raise ValueError(f"variant {entry!r} is not 'name:box:format+format'")
        name, box, formats = parts[0].strip(), parts[1].strip(), parts[2].split("+")
        if not _NAME.match(name):
            raise ValueError(f"variant name {name!r}: lowercase letters, digits, dashes")
        if not box.isdigit() or not 16 <= int(box) <= 8192:
            raise ValueError(f"variant {name!r}: box must be 16-8192 pixels")
        fmts = tuple(f.strip().lower() for f in formats if f.strip())
        unknown = [f for f in fmts if f not in FORMATS]
        if unknown or not fmts:
            raise ValueError(f"variant {name!r}: formats must be among {', '.join(FORMATS)}")
        specs.append(VariantSpec(name, int(box), fmts))
    if len({s.name for s in specs}) != len(specs):
        raise ValueError("variant names must be unique")
    # Largest first: the pipeline decodes once at the largest box and derives the rest.
    return tuple(sorted(specs, key=lambda s: -s.box))


def save_options(fmt: str) -> tuple[str, dict[str, Any]]:
    """The pyvips saver and its options for a format (metadata is dropped separately)."""
    if fmt == "jpg":
        return "jpegsave_buffer", {
            "Q": JPEG_QUALITY,
            "optimize_coding": True,
            "interlace": True,
        }
    if fmt == "webp":
        return "webpsave_buffer", {"Q": WEBP_QUALITY, "effort": WEBP_EFFORT}
    if fmt == "avif":
        return "heifsave_buffer", {
            "Q": AVIF_QUALITY,
            "effort": AVIF_EFFORT,
            "compression": "av1",
            "bitdepth": 8,
        }
    raise ValueError(f"unknown format {fmt!r}")


@cache
def writable_formats() -> frozenset[str]:
    """Formats this libvips build can write; AVIF needs heifsave with an AV1 encoder."""
    import pyvips

    writable = {"jpg", "webp"}
    try:
        probe = pyvips.Image.black(16, 16, bands=3)
        probe.heifsave_buffer(compression="av1", Q=50, effort=0)
        writable.add("avif")
    except pyvips.Error:
        pass
    return frozenset(writable)
