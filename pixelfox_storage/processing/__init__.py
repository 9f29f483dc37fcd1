"""Image processing of a storage node: which variants, and the pyvips pipeline."""

from pixelfox_common.imagecheck import ImageLimits, ImageRejected

from .pipeline import Header, Rendition, harden, inspect, render
from .specs import DEFAULT_VARIANTS, FORMATS, VariantSpec, parse_variants, writable_formats

__all__ = [
    "DEFAULT_VARIANTS",
    "FORMATS",
    "Header",
    "ImageLimits",
    "ImageRejected",
    "Rendition",
    "VariantSpec",
    "harden",
    "inspect",
    "parse_variants",
    "render",
    "writable_formats",
]
