"""The variant pipeline on real files with the real libvips (no worker process)."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
import pyvips
from PIL import Image

from pixelfox_storage.processing import (
    ImageLimits,
    ImageRejected,
    parse_variants,
    render,
    writable_formats,
)
from pixelfox_storage.processing.specs import DEFAULT_VARIANTS
from tests.worker import images

SPECS = parse_variants(DEFAULT_VARIANTS)


def by_name(original: Path, limits: ImageLimits | None = None, only=None):  # type: ignore[no-untyped-def]
    return {(r.variant, r.fmt): r for r in render(original, SPECS, limits, only=only)}


def test_every_variant_fits_its_box_in_every_format(tmp_path: Path) -> None:
    out = by_name(images.photo(tmp_path / "p.jpg", 3000, 2000))

    assert set(out) == {
        ("thumb200", "jpg"),
        ("thumb200", "webp"),
        ("thumb400", "jpg"),
        ("thumb400", "webp"),
        ("medium", "jpg"),
        ("medium", "webp"),
        ("medium", "avif"),
    }
    sizes = {name: (r.width, r.height) for (name, _), r in out.items()}
    assert sizes == {"medium": (1280, 853), "thumb400": (400, 267), "thumb200": (200, 133)}
    loaders = {"jpg": "jpegload", "webp": "webpload", "avif": "heifload"}
    for (_, fmt), rendition in out.items():
        decoded = pyvips.Image.new_from_buffer(rendition.data, "")
        assert decoded.get("vips-loader") == f"{loaders[fmt]}_buffer"
        assert (decoded.width, decoded.height) == (rendition.width, rendition.height)
    avif = pyvips.Image.new_from_buffer(out[("medium", "avif")].data, "")
    assert avif.get("heif-compression") == "av1"


def test_small_originals_are_never_upscaled(tmp_path: Path) -> None:
    out = by_name(images.photo(tmp_path / "small.jpg", 300, 150))

    assert (out[("medium", "jpg")].width, out[("medium", "jpg")].height) == (300, 150)
    assert (out[("thumb200", "webp")].width, out[("thumb200", "webp")].height) == (200, 100)


def test_no_variant_carries_exif_gps_xmp_icc_or_comments(tmp_path: Path) -> None:
    original = images.tagged_photo(tmp_path / "gps.jpg")
    source_fields = pyvips.Image.new_from_file(str(original)).get_fields()
    assert "exif-ifd3-GPSLatitude" in source_fields and "xmp-data" in source_fields

    for (name, fmt), rendition in by_name(original).items():
        fields = pyvips.Image.new_from_buffer(rendition.data, "").get_fields()
        leaked = [
            f for f in fields if f.startswith(("exif-", "xmp", "iptc", "icc")) or "comment" in f
        ]
        assert leaked == [], f"{name}.{fmt} carries {leaked}"
        for marker in (images.CAMERA.encode(), images.CREATOR.encode(), b"Exif\x00\x00", b"secret"):
            assert marker not in rendition.data, f"{name}.{fmt} contains {marker!r}"
        if fmt in ("jpg", "webp"):
            with Image.open(BytesIO(rendition.data)) as decoded:
                assert dict(decoded.getexif()) == {}
                assert decoded.getexif().get_ifd(0x8825) == {}


def test_exif_orientation_is_applied_to_the_pixels(tmp_path: Path) -> None:
    # Stored 600x300, left half red, right half blue; orientation 6 means "turn
    # 90 degrees clockwise to view": upright it is 300x600, red on top.
    original = images.tagged_photo(tmp_path / "rotated.jpg", orientation=6)

    for (name, fmt), rendition in by_name(original).items():
        assert rendition.height > rendition.width, f"{name}.{fmt} not upright"
        top = images.pixel(rendition.data, rendition.width // 2, 2)
        bottom = images.pixel(rendition.data, rendition.width // 2, rendition.height - 3)
        assert top[0] > 200 and top[2] < 60, f"{name}.{fmt} top is {top}"
        assert bottom[2] > 200 and bottom[0] < 60, f"{name}.{fmt} bottom is {bottom}"


def test_processing_the_same_original_twice_gives_identical_bytes(tmp_path: Path) -> None:
    original = images.photo(tmp_path / "p.jpg", 2400, 1600)

    first = {key: r.data for key, r in by_name(original).items()}
    second = {key: r.data for key, r in by_name(original).items()}
    alone = by_name(original, only={("thumb200", "webp")})

    assert first == second
    # Made alone (a retry that lost only this file), a variant is the same too.
    assert list(alone) == [("thumb200", "webp")]
    assert alone[("thumb200", "webp")].data == first[("thumb200", "webp")]


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("cmyk.jpg", lambda p: Image.new("CMYK", (320, 200), (0, 255, 255, 0)).save(p)),
        ("grey.png", lambda p: Image.new("L", (320, 200), 128).save(p)),
        (
            "rgb16.png",
            lambda p: pyvips.Image.black(320, 200, bands=3)
            .cast("ushort")
            .new_from_image([60000, 1000, 1000])
            .copy(interpretation="rgb16")
            .pngsave(str(p)),
        ),
    ],
)
def test_cmyk_grey_and_16_bit_originals_become_8_bit_srgb(tmp_path: Path, name, make) -> None:  # type: ignore[no-untyped-def]
    original = tmp_path / name
    make(original)

    for rendition in by_name(original).values():
        decoded = pyvips.Image.new_from_buffer(rendition.data, "")
        assert decoded.bands == 3 and decoded.format == "uchar"
        assert decoded.interpretation == "srgb"
    if name == "cmyk.jpg":  # cyan-less, magenta and yellow full: red on screen
        red, green, blue = images.pixel(by_name(original)[("medium", "jpg")].data, 10, 10)
        assert red > 200 and green < 80 and blue < 80


def test_a_display_p3_photo_is_converted_to_srgb_with_its_profile(tmp_path: Path) -> None:
    srgb = pyvips.Image.black(200, 100, bands=3).new_from_image([200, 100, 50])
    p3 = srgb.copy(interpretation="srgb").icc_transform("p3", input_profile="srgb")
    stored = list(p3(5, 5))  # the same colour in P3 numbers: about (187, 105, 62)
    p3.jpegsave(str(tmp_path / "p3.jpg"), Q=95)  # keeps the embedded P3 profile

    for (name, fmt), rendition in by_name(tmp_path / "p3.jpg").items():
        got = images.pixel(rendition.data, 5, 5)
        assert all(abs(g - w) <= 4 for g, w in zip(got, [200, 100, 50], strict=True)), (
            f"{name}.{fmt}: {got}, stored as {stored}"
        )


def test_alpha_is_kept_in_webp_and_avif_and_flattened_on_white_in_jpeg(tmp_path: Path) -> None:
    original = tmp_path / "alpha.png"
    Image.new("RGBA", (300, 200), (255, 0, 0, 0)).save(original)

    out = by_name(original)

    assert pyvips.Image.new_from_buffer(out[("medium", "webp")].data, "").hasalpha()
    assert pyvips.Image.new_from_buffer(out[("medium", "avif")].data, "").hasalpha()
    jpeg = pyvips.Image.new_from_buffer(out[("medium", "jpg")].data, "")
    assert not jpeg.hasalpha()
    assert min(jpeg(5, 5)) > 245  # fully transparent became white


def test_an_animation_gives_still_variants_of_its_first_frame(tmp_path: Path) -> None:
    original = images.animated_gif(tmp_path / "anim.gif", [images.RED, (0, 255, 0), images.BLUE])

    for rendition in by_name(original).values():
        decoded = pyvips.Image.new_from_buffer(rendition.data, "")
        assert not decoded.get_typeof("n-pages") or decoded.get("n-pages") == 1
        red, green, blue = decoded(10, 10)[:3]
        assert red > 200 and green < 60 and blue < 60


def test_svg_is_refused_although_this_libvips_has_an_svg_loader(tmp_path: Path) -> None:
    assert pyvips.type_find("VipsOperation", "svgload") != 0  # the block is what refuses it

    with pytest.raises(ImageRejected) as refused:
        by_name(images.svg(tmp_path / "drawing.jpg"))

    assert refused.value.code in ("INVALID_IMAGE", "UNSUPPORTED_TYPE")


def test_a_pixel_bomb_is_refused_from_its_header_before_decoding(tmp_path: Path) -> None:
    # 60000 x 60000 claimed, a few bytes of data: a decode would fail differently.
    bomb = images.png_claiming(tmp_path / "bomb.png", 60_000, 60_000)

    with pytest.raises(ImageRejected) as refused:
        by_name(bomb)

    assert refused.value.code == "IMAGE_TOO_LARGE"
    assert "60000x60000" in str(refused.value)


def test_too_many_frames_are_refused(tmp_path: Path) -> None:
    original = images.animated_gif(tmp_path / "long.gif", [images.RED, images.BLUE] * 3)

    with pytest.raises(ImageRejected) as refused:
        by_name(original, limits=ImageLimits(max_frames=4))

    assert refused.value.code == "IMAGE_TOO_LARGE"


def test_a_truncated_original_is_refused_as_invalid(tmp_path: Path) -> None:
    whole = images.photo(tmp_path / "whole.jpg", 800, 600).read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole[: len(whole) // 3])

    with pytest.raises(ImageRejected) as refused:
        by_name(cut)

    assert refused.value.code == "INVALID_IMAGE"


def test_this_libvips_build_writes_avif_but_not_jpeg_xl() -> None:
    assert writable_formats() == frozenset({"jpg", "webp", "avif"})


@pytest.mark.parametrize(
    "text",
    [
        "thumb:200",  # no formats
        "thumb:big:jpg",
        "thumb:200:gif",
        "Thumb:200:jpg",
        "thumb:8:jpg",
        "a:200:jpg,a:400:webp",
    ],
)
def test_a_malformed_variant_set_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_variants(text)


def test_a_variant_set_is_ordered_largest_first() -> None:
    specs = parse_variants("small:100:jpg, big:900:webp+avif")

    assert [(s.name, s.box, s.formats) for s in specs] == [
        ("big", 900, ("webp", "avif")),
        ("small", 100, ("jpg",)),
    ]
