"""Pool-relative paths checked without a pool, as the app checks what nodes report."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from pixelfox_protocol import layout


@pytest.mark.parametrize(
    ("path", "public"),
    [
        ("original/2024/01/02/abc.jpg", "original/2024/01/02/abc.jpg"),
        ("private/original/2024/01/02/abc.jpg", "original/2024/01/02/abc.jpg"),
        ("variants/2024/01/02/abc_thumb200.webp", "variants/2024/01/02/abc_thumb200.webp"),
        ("private/variants/2024/01/02/abc_w1024.avif", "variants/2024/01/02/abc_w1024.avif"),
    ],
)
def test_a_layout_path_passes_in_either_subtree_and_says_its_kind(path: str, public: str) -> None:
    assert layout.check(path) == PurePosixPath(public)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/original/2024/01/02/abc.jpg",
        "original/../../etc/passwd",
        "original/2024/../../x.jpg",
        "private/private/original/a.jpg",
        "private",
        ".incoming/abc.part",
        "original/2024/01/02/a b.jpg",
    ],
)
def test_anything_else_is_unsafe(path: str) -> None:
    with pytest.raises(layout.UnsafePath):
        layout.check(path)


def test_resolve_still_joins_only_public_layout_paths_under_the_base(tmp_path: Path) -> None:
    assert layout.resolve(tmp_path, "original/a.jpg") == tmp_path.resolve() / "original/a.jpg"
    with pytest.raises(layout.UnsafePath):
        layout.resolve(tmp_path, "private/original/a.jpg")


U = "0b4c2f7e-7d1a-4c55-9a55-3f1f7d0f2a11"
ORIGINAL = f"original/2024/01/02/{U}.jpg"


@pytest.mark.parametrize(
    "paths",
    [
        [ORIGINAL],
        [ORIGINAL, f"variants/2024/01/02/{U}_thumb200.webp", f"variants/2024/01/02/{U}_m.avif"],
        [f"private/original/2024/01/02/{U}.png", f"private/variants/2024/01/02/{U}_w16.jpg"],
    ],
)
def test_an_images_own_files_pass_and_name_its_original(paths: list[str]) -> None:
    assert layout.image_files(U, paths) == paths[0]


@pytest.mark.parametrize(
    "extra",
    [
        f"variants/2024/01/02/{U}.html",  # served as text/html: stored XSS
        f"variants/2024/01/02/{U}_thumb200.html",
        f"variants/2024/01/02/{U}_thumb200.svg",
        f"variants/2024/01/03/{U}_thumb200.webp",  # another date folder
        f"private/variants/2024/01/02/{U}_thumb200.webp",  # another subtree
        "variants/2024/01/02/1f4c2f7e-7d1a-4c55-9a55-3f1f7d0f2a11_thumb200.webp",  # another uuid
        f"variants/2024/01/02/../../../../{U}_thumb200.webp",
        f"variants/2024/01/02/{U}_Thumb.webp",  # not a variant name
        f"original/2024/01/02/{U}.png",  # a second original
        ORIGINAL,  # a file twice
    ],
)
def test_anything_but_the_images_own_files_is_unsafe(extra: str) -> None:
    with pytest.raises(layout.UnsafePath):
        layout.image_files(U, [ORIGINAL, extra])


def test_a_list_without_the_original_is_unsafe() -> None:
    with pytest.raises(layout.UnsafePath):
        layout.image_files(U, [f"variants/2024/01/02/{U}_thumb200.webp"])


@pytest.mark.parametrize(
    "path",
    [
        ORIGINAL,
        f"private/{ORIGINAL}",
        f"variants/2024/01/02/{U}_thumb200.webp",
        f"private/variants/2024/01/02/{U}_medium.avif",
    ],
)
def test_a_file_a_node_writes_names_its_image(path: str) -> None:
    assert layout.image_file(path) == U


@pytest.mark.parametrize(
    "path",
    [
        f"variants/2024/01/02/{U}.html",
        f"variants/2024/01/02/{U}_thumb200.html",
        f"original/2024/01/02/{U}.svg",
        f"original/2024/01/02/{U}_thumb200.webp",  # a variant's name among originals
        f"variants/2024/01/02/{U}_Thumb.webp",
        f"variants/2024/01/02/../{U}_thumb200.webp",
        f"/original/2024/01/02/{U}.jpg",
        f"other/2024/01/02/{U}.jpg",
        f"original/2024/1/02/{U}.jpg",
        "",
    ],
)
def test_anything_else_is_no_file_of_an_image(path: str) -> None:
    with pytest.raises(layout.UnsafePath):
        layout.image_file(path)
