"""Image processing of a storage node: which variants, and the pyvips pipeline."""

from .pipeline import Header, ImageRejected, Limits, Rendition, harden, inspect, render
from .specs import DEFAULT_VARIANTS, FORMATS, VariantSpec, parse_variants, writable_formats

__all__ = [
    "DEFAULT_VARIANTS",
    "FORMATS",
    "Header",
    "ImageRejected",
    "Limits",
    "Rendition",
    "VariantSpec",
    "harden",
    "inspect",
    "parse_variants",
    "render",
    "writable_formats",
]
