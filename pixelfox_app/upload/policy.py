"""What an upload must satisfy before any byte moves: rate limits, size and type.

The same checks run for a direct-upload session and for a proxy upload; the
bytes themselves are judged later by the shared ingest code (sniffing and
decoding), wherever they land.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pixelfox_common.imagecheck import (
    EXTENSION_TYPES,
    check_extension,
    clean_filename,
    extension_of,
)
from pixelfox_common.ingest import IngestLimits
from pixelfox_protocol.errors import APIError

from .. import knobs
from ..auth.ratelimit import rate_limits, request_client_address
from ..models import User


@dataclass(frozen=True)
class UploadPolicy:
    """The operator's knobs that judge an upload, read once per request."""

    max_bytes: int
    allowed_types: frozenset[str]
    direct: bool
    ip_per_minute: int
    user_per_minute: int
    max_pixels: int
    max_frames: int

    @classmethod
    async def load(cls) -> UploadPolicy:
        values: dict[str, Any] = await knobs.get_all()
        return cls(
            max_bytes=int(values["max_upload_bytes"]),
            allowed_types=frozenset(str(t).lower() for t in values["allowed_types"]),
            direct=bool(values["direct_upload"]),
            ip_per_minute=int(values["upload_rate_limit_per_minute"]),
            user_per_minute=int(values["upload_user_rate_limit_per_minute"]),
            max_pixels=int(values["max_pixels"]) or 1,
            max_frames=int(values["max_frames"]) or 1,
        )

    def ingest_limits(self, max_size: int) -> IngestLimits:
        """What the shared ingest code enforces on the bytes of one upload."""
        return IngestLimits(
            max_size=max_size,
            allowed_types=self.allowed_types,
            max_pixels=self.max_pixels,
            max_frames=self.max_frames,
        )


def is_markup(mime: str) -> bool:
    """SVG and XML carry scripts into a browser; they are refused whatever the settings say."""
    return "svg" in mime or "xml" in mime


def _normalise(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def check_type(policy: UploadPolicy, filename: str, content_type: str) -> tuple[str, str]:
    """The cleaned file name and the declared MIME type (may be empty: the node sniffs).

    Raises INVALID_FILENAME or UNSUPPORTED_TYPE. The name is judged by the very
    code the nodes use on the upload itself; the declared type and the name's
    extension must both be acceptable, and either may be missing.
    """
    name = clean_filename(filename)
    check_extension(name, policy.allowed_types)
    declared = _normalise(content_type)
    # Browsers send application/octet-stream for types they do not know.
    if declared == "application/octet-stream":
        declared = ""
    if is_markup(declared):
        raise APIError("UNSUPPORTED_TYPE", "SVG and XML files are not accepted.")
    if declared and declared not in policy.allowed_types:
        raise APIError("UNSUPPORTED_TYPE", details={"content_type": declared})
    return name, declared or EXTENSION_TYPES.get(extension_of(name), "")


def check_size(policy: UploadPolicy, file_size: int) -> None:
    if file_size > policy.max_bytes:
        raise APIError(
            "FILE_TOO_LARGE",
            f"The file is larger than the upload limit of {policy.max_bytes} bytes.",
            details={"max_bytes": policy.max_bytes},
        )


async def check_rate(policy: UploadPolicy, user: User) -> None:
    """Count this upload against the per-address and the per-user limit."""
    limits = rate_limits()
    await limits.hit("upload-ip", policy.ip_per_minute, request_client_address())
    await limits.hit("upload-user", policy.user_per_minute, str(user.id))
