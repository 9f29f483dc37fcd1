"""What a page offers for sharing: Open Graph / Twitter card tags and embed codes.

Every URL here is absolute, on the node that serves the file (or the CDN), as
``images.urls`` builds it. Private images get no tags at all: a link preview
would put a signed URL (and the picture) in front of whoever the page is
pasted to. Their owner still gets embed codes, with signed links that expire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Protocol

from ...images.visibility import is_private
from ...models import Image

# Link previews want about 1200 px wide; JPEG and PNG are what every crawler,
# forum and mail client shows, so they come before WebP and AVIF.
OG_MIN_WIDTH = 1200
_SHARE_FORMATS = {"jpeg": 0, "jpg": 0, "png": 1, "webp": 2, "avif": 3}
_PREVIEW_MIMES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


class Picture(Protocol):
    """One file of an image as a page shows it (``images.VariantLink`` is one)."""

    @property
    def kind(self) -> str: ...
    @property
    def format(self) -> str: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def url(self) -> str: ...


@dataclass(frozen=True)
class File:
    kind: str
    format: str
    width: int
    height: int
    url: str


@dataclass(frozen=True)
class OpenGraph:
    title: str
    description: str
    page_url: str
    image_url: str
    width: int
    height: int
    type: str = "website"


@dataclass(frozen=True)
class EmbedCode:
    key: str
    label: str
    text: str


@dataclass(frozen=True)
class EmbedSize:
    key: str
    label: str
    width: int
    height: int
    codes: list[EmbedCode]


def _rank(p: Picture) -> int:
    return _SHARE_FORMATS.get(p.format, 9)


def per_size(variants: Sequence[Picture]) -> list[Picture]:
    """One file per size (kind), the most widely shown format of each, smallest first."""
    best: dict[str, Picture] = {}
    for p in variants:
        if p.kind not in best or _rank(p) < _rank(best[p.kind]):
            best[p.kind] = p
    return sorted(best.values(), key=lambda p: (p.width, p.kind))


def _original(image: Image, original_url: str) -> Picture:
    fmt = image.mime.removeprefix("image/")
    return File("original", fmt, image.width, image.height, original_url)


def preview_picture(image: Image, variants: Sequence[Picture], original_url: str) -> Picture | None:
    """The file a link preview shows: the smallest size at least ``OG_MIN_WIDTH`` wide
    (else the largest), else the original when crawlers can show it."""
    sizes = [p for p in per_size(variants) if _rank(p) <= _SHARE_FORMATS["png"]] or per_size(
        variants
    )
    wide = [p for p in sizes if p.width >= OG_MIN_WIDTH]
    if wide:
        return wide[0]
    if image.mime in _PREVIEW_MIMES and image.width >= OG_MIN_WIDTH:
        return _original(image, original_url)
    if sizes:
        return sizes[-1]
    return _original(image, original_url) if image.mime in _PREVIEW_MIMES else None


def open_graph(
    image: Image,
    variants: Sequence[Picture],
    original_url: str,
    *,
    title: str,
    description: str,
    page_url: str,
) -> OpenGraph | None:
    """The tags of a page that stands for ``image``; None for a private image."""
    if is_private(image):
        return None
    picture = preview_picture(image, variants, original_url)
    if picture is None:
        return None
    return OpenGraph(title, description, page_url, picture.url, picture.width, picture.height)


def _codes(
    key: str, page_url: str, file_url: str, alt: str, width: int, height: int
) -> list[EmbedCode]:
    html_tag = (
        f'<a href="{escape(page_url)}"><img src="{escape(file_url)}" alt="{escape(alt)}"'
        f' width="{width}" height="{height}"></a>'
    )
    markdown_alt = alt.replace("[", "(").replace("]", ")")
    return [
        EmbedCode(f"{key}-direct", "Direct link", file_url),
        EmbedCode(f"{key}-html", "HTML", html_tag),
        EmbedCode(f"{key}-bbcode", "BBCode", f"[url={page_url}][img]{file_url}[/img][/url]"),
        EmbedCode(f"{key}-markdown", "Markdown", f"[![{markdown_alt}]({file_url})]({page_url})"),
    ]


def embed_sizes(
    image: Image, variants: Sequence[Picture], original_url: str, page_url: str
) -> list[EmbedSize]:
    """Direct link, HTML, BBCode and Markdown for the original and for each size."""
    alt = image.original_filename or image.short_id
    pictures = [_original(image, original_url), *reversed(per_size(variants))]
    return [
        EmbedSize(
            p.kind,
            "Original" if p.kind == "original" else p.kind,
            p.width,
            p.height,
            _codes(p.kind, page_url, p.url, alt, p.width, p.height),
        )
        for p in pictures
    ]
