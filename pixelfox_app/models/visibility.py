from __future__ import annotations

from enum import StrEnum


class Visibility(StrEnum):
    """Who sees an image: listed, by link only, or its owner and admins (signed links)."""

    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"
