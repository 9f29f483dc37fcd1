"""Small real images for upload tests (made with Pillow, a dev dependency)."""

from __future__ import annotations

import io

from PIL import Image


def jpeg(width: int = 64, height: int = 48, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def png(width: int = 32, height: int = 32) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 128, 255, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def noisy_jpeg(width: int, height: int) -> bytes:
    """A JPEG that does not compress well, for size limits."""
    import os

    noise = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
