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
