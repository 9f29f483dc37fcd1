"""Files a person might drop on the upload page, made fresh for each test."""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass

from PIL import Image, ImageDraw


@dataclass(frozen=True)
class DropFile:
    name: str
    type: str
    data: bytes

    def as_js(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type, "b64": base64.b64encode(self.data).decode()}


def photo(name: str, width: int = 640, height: int = 420, fmt: str = "JPEG") -> DropFile:
    """A small picture with a gradient and a few shapes (so its thumbnail is recognisable)."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = int(255 * y / height)
        draw.line([(0, y), (width, y)], fill=(255 - shade // 2, 120 + shade // 3, shade))
    draw.ellipse(
        [width // 3, height // 4, width // 3 + height // 2, height // 4 + height // 2],
        fill=(255, 214, 90),
    )
    draw.rectangle([0, int(height * 0.8), width, height], fill=(40, 50, 70))
    out = io.BytesIO()
    image.save(out, fmt)
    mime = {"JPEG": "image/jpeg", "PNG": "image/png"}[fmt]
    return DropFile(name, mime, out.getvalue())


def too_large(name: str, at_least: int) -> DropFile:
    """A real JPEG bigger than ``at_least`` bytes (noise does not compress)."""
    side = 600
    while True:
        image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=95)
        if out.tell() > at_least:
            return DropFile(name, "image/jpeg", out.getvalue())
        side += 300


def text(name: str = "notes.txt") -> DropFile:
    return DropFile(name, "text/plain", b"shopping list: milk, eggs\n" * 20)


def fake_png(name: str = "fake.png") -> DropFile:
    """Text that claims to be a PNG: only the server can tell (it sniffs the bytes)."""
    return DropFile(name, "image/png", b"this is not a picture at all\n" * 40)


DROP_JS = """
async (files) => {
  const dt = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], f.name, { type: f.type }));
  }
  const zone = document.querySelector('#dropzone');
  for (const type of ['dragenter', 'dragover', 'drop']) {
    zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
  }
}
"""


def drop(page, files: list[DropFile]) -> None:  # type: ignore[no-untyped-def]
    """Drag ``files`` from the desktop onto the page's drop zone."""
    page.evaluate(DROP_JS, [f.as_js() for f in files])


PASTE_JS = """
(file) => {
  const dt = new DataTransfer();
  const bytes = Uint8Array.from(atob(file.b64), (c) => c.charCodeAt(0));
  dt.items.add(new File([bytes], file.name, { type: file.type }));
  const init = { clipboardData: dt, bubbles: true, cancelable: true };
  document.dispatchEvent(new ClipboardEvent('paste', init));
}
"""


def paste(page, file: DropFile) -> None:  # type: ignore[no-untyped-def]
    """Paste ``file`` from the clipboard (Ctrl+V) into the page."""
    page.evaluate(PASTE_JS, file.as_js())
