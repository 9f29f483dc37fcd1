"""What one upload may be, and the size check that needs no byte of its body."""

from __future__ import annotations

from dataclasses import dataclass

from pixelfox_protocol.errors import APIError

from ..imagecheck import ImageLimits

DEFAULT_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"})
# What a multipart body may carry beyond the file itself: boundaries, part
# headers and small form fields. A declared length above max_size + this is
# refused before a byte is read.
MULTIPART_OVERHEAD = 64 * 1024


@dataclass(frozen=True, kw_only=True)
class IngestLimits(ImageLimits):
    """What one upload may be. ``max_size`` comes from the token (or the policy).

    The pixel and frame limits are the image checker's (:class:`ImageLimits`),
    which the node's variant pipeline applies again.
    """

    max_size: int
    allowed_types: frozenset[str] = DEFAULT_TYPES
    # Decode JPEG/PNG once (cheaply) to catch truncated files.
    verify_decode: bool = True
    # A body that sends nothing for this long is cut off (INCOMPLETE_UPLOAD).
    idle_timeout: float = 120.0


def check_declared_length(
    content_length: int | None, limits: IngestLimits, *, multipart: bool
) -> None:
    """FILE_TOO_LARGE before reading, when the declared length already says so."""
    if content_length is None:
        return
    allowed = limits.max_size + (MULTIPART_OVERHEAD if multipart else 0)
    if content_length > allowed:
        raise too_large(limits)


def too_large(limits: IngestLimits) -> APIError:
    return APIError(
        "FILE_TOO_LARGE",
        f"The file is larger than this upload allows ({limits.max_size} bytes).",
        details={"max_size": limits.max_size},
    )
