"""Turn one original on local disk into its variant files (runs in a worker thread)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyvips

from pixelfox_protocol import layout, links
from pixelfox_protocol.internal import VariantInfo, VariantReport

from ..processing import ImageLimits, ImageRejected, VariantSpec, harden, render, writable_formats
from .files import discard_temp_files, original_date, write_atomically


def make_variants(
    base: Path,
    image_uuid: str,
    path: str,
    specs: tuple[VariantSpec, ...],
    limits: ImageLimits,
    *,
    force: bool = False,
) -> VariantReport:
    """Write every variant of an image beside its original and describe them.

    The original is looked for where ``path`` says and, should the image's
    visibility have changed since the job was queued, in the other subtree;
    the variants go to the subtree it is in (``private/variants/…`` for a
    private image). Variants already at their final path are kept (a file there is always whole,
    see ``files.write_atomically``, and encoding is deterministic), so a job that
    is retried only to reach the app does not encode again. ``force`` encodes
    everything anew. Input that must not be processed gives a ``failed`` report.
    """
    try:
        path = links.file_now(base, path)
        original = links.resolve_file(base, path)
        when = original_date(path)
    except (layout.UnsafePath, ValueError) as exc:
        return VariantReport(state="failed", error=f"BAD_REQUEST: bad original path {exc}")
    private = layout.is_private(path)
    if not original.is_file():
        return VariantReport(state="failed", error=f"NOT_FOUND: original {path} is missing")

    harden()
    discard_temp_files(base, image_uuid)
    writable = writable_formats()
    done: list[VariantInfo] = []
    missing: set[tuple[str, str]] = set()
    for spec in specs:
        for fmt in spec.formats:
            if fmt not in writable:
                continue
            rel = layout.variant_path(image_uuid, spec.name, fmt, when, private=private)
            existing = None if force else _describe(base, rel, spec.name, fmt)
            if existing is None:
                missing.add((spec.name, fmt))
            else:
                done.append(existing)

    try:
        if missing:
            for rendition in render(original, specs, limits, only=missing):
                rel = layout.variant_path(
                    image_uuid, rendition.variant, rendition.fmt, when, private=private
                )
                write_atomically(base, links.resolve_file(base, rel), rendition.data)
                done.append(
                    VariantInfo(
                        kind=rendition.variant,
                        format=rendition.fmt,
                        path=rel,
                        size=len(rendition.data),
                        sha256=hashlib.sha256(rendition.data).hexdigest(),
                        width=rendition.width,
                        height=rendition.height,
                    )
                )
    except ImageRejected as exc:
        return VariantReport(state="failed", error=str(exc))  # "CODE: message"
    order = {(s.name, f): i for i, s in enumerate(specs) for f in s.formats}
    done.sort(key=lambda v: order.get((v.kind, v.format), len(order)))
    return VariantReport(state="ready", variants=done)


def _describe(base: Path, rel: str, kind: str, fmt: str) -> VariantInfo | None:
    """The VariantInfo of a variant file that is already in place, or None."""
    full = links.resolve_file(base, rel)
    try:
        data = full.read_bytes()  # variants are small; the hash goes to the app with the report
        head = pyvips.Image.new_from_buffer(data, "", access="sequential")
    except (OSError, pyvips.Error):
        return None
    return VariantInfo(
        kind=kind,
        format=fmt,
        path=rel,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        width=head.width,
        height=head.height,
    )
