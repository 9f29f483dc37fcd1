"""Which file a link preview shows, and the embed codes' escaping (no database needed)."""

from __future__ import annotations

from pixelfox_app.models import Image, Visibility
from pixelfox_app.web.pages.sharing import File, embed_sizes, open_graph, preview_picture

ORIGINAL = "http://s01.pixelfox.test/uploads/original/a.jpg"


def _image(**fields: object) -> Image:
    values: dict[str, object] = {
        "short_id": "abc",
        "original_filename": "a.jpg",
        "mime": "image/jpeg",
        "width": 3000,
        "height": 2000,
        "visibility": Visibility.PUBLIC,
    }
    values.update(fields)
    return Image(**values)


def _file(kind: str, fmt: str, width: int) -> File:
    return File(kind, fmt, width, width * 2 // 3, f"http://s01.pixelfox.test/{kind}.{fmt}")


def test_the_preview_is_the_smallest_wide_enough_jpeg_or_png():
    variants = [
        _file("thumb400", "webp", 400),
        _file("large", "webp", 2048),
        _file("large", "jpeg", 2048),
        _file("medium", "webp", 1280),
        _file("medium", "jpeg", 1280),
    ]
    picked = preview_picture(_image(), variants, ORIGINAL)
    assert picked is not None and (picked.kind, picked.format) == ("medium", "jpeg")


def test_without_a_wide_size_the_original_or_the_largest_size_stands_in():
    small = [_file("thumb400", "jpeg", 400)]
    assert preview_picture(_image(), small, ORIGINAL).url == ORIGINAL  # type: ignore[union-attr]
    narrow = _image(width=800, height=600)
    assert preview_picture(narrow, small, ORIGINAL).kind == "thumb400"  # type: ignore[union-attr]
    # Still processing: the original, if crawlers can show its format.
    assert preview_picture(_image(), [], ORIGINAL).url == ORIGINAL  # type: ignore[union-attr]
    assert preview_picture(_image(mime="image/avif"), [], ORIGINAL) is None


def test_private_and_changing_to_private_images_have_no_tags():
    variants = [_file("medium", "jpeg", 1280)]
    for image in (
        _image(visibility=Visibility.PRIVATE),
        _image(visibility=Visibility.PUBLIC, visibility_target=Visibility.PRIVATE),
    ):
        assert (
            open_graph(image, variants, ORIGINAL, title="t", description="", page_url="p") is None
        )


def test_embed_codes_escape_the_file_name():
    image = _image(original_filename='x" onerror="alert(1) [a].jpg')
    (original,) = embed_sizes(image, [], ORIGINAL, "http://app/i/abc")
    codes = {c.label: c.text for c in original.codes}
    assert 'alt="x&quot; onerror=&quot;alert(1) [a].jpg"' in codes["HTML"]
    assert codes["Markdown"].startswith('[![x" onerror="alert(1) (a).jpg](')
