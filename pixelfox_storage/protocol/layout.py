"""Where files live inside a pool. Paths are relative to the pool's base path."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path, PurePosixPath

_UUID = re.compile(r"^[0-9a-f]{32}$|^[0-9a-f-]{36}$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")

# Extension written for each accepted MIME type.
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/avif": "avif",
    "image/heic": "heic",
    "image/tiff": "tiff",
}


def original_path(image_uuid: str, ext: str, when: datetime) -> str:
    return f"original/{when:%Y/%m/%d}/{image_uuid}.{ext}"


def variant_path(image_uuid: str, variant: str, fmt: str, when: datetime) -> str:
    return f"variants/{when:%Y/%m/%d}/{image_uuid}_{variant}.{fmt}"


class UnsafePath(ValueError):
    pass


def resolve(base: Path, relative: str) -> Path:
    """Join a pool-relative path to the pool's base, refusing any escape."""
    rel = PurePosixPath(relative)
    if rel.is_absolute() or not rel.parts or any(p in ("..", "") for p in rel.parts):
        raise UnsafePath(relative)
    if rel.parts[0] not in ("original", "variants") or not all(_NAME.match(p) for p in rel.parts):
        raise UnsafePath(relative)
    full = (base / rel).resolve()
    if not full.is_relative_to(base.resolve()):
        raise UnsafePath(relative)
    return full
