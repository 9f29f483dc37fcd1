"""A hostile file sent over tus ends with the single upload's code and leaves nothing."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.storage import images
from tests.storage.conftest import Node
from tests.storage.upload.tus.conftest import Tus, metadata, tus_files


@pytest.fixture
def clean(node: Node) -> Iterator[Node]:
    yield node
    assert node.files() == []
    assert node.app.completions == []


def _code(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]


HOSTILE = [
    (images.TEXT * 400, "holiday.jpg"),
    (b"%PDF-1.4\n" + images.TEXT * 400, "doc.jpg"),
    (images.SVG, "logo.jpg"),
    (images.SVG * 60, "logo.png"),
    (images.png_bomb(30000, 30000), "bomb.png"),
    (images.gif_frames(201), "long.gif"),
    (images.jpeg(640, 480)[:9000], "cut.jpg"),
    (b"", "empty.jpg"),
]
IDS = ["text", "pdf", "small-svg", "large-svg", "pixel-bomb", "frames", "truncated", "empty"]


@pytest.mark.parametrize(("data", "filename"), HOSTILE, ids=IDS)
@pytest.mark.parametrize("chunk", [4096, 1 << 20], ids=["small-chunks", "one-chunk"])
def test_a_hostile_file_over_tus_ends_as_in_one_request_and_leaves_nothing(
    clean: Node, data: bytes, filename: str, chunk: int
) -> None:
    single = _code(clean.post(clean.token(), data, filename))
    assert single[0] in (415, 422)
    tus = Tus(clean, clean.token())

    answer = tus.send(data, chunk=chunk, filename=filename)

    assert _code(answer) == single
    assert tus_files(clean) == []
    # Nothing was stored, so the token may be tried again.
    fresh = tus.start(max(len(data), 1))
    assert tus.offset(fresh) == 0
    tus.delete(fresh)


@pytest.mark.parametrize(
    ("filename", "filetype"),
    [
        ("logo.svg", "image/jpeg"),
        ("page.html", "image/jpeg"),
        ("photo.jpg", "image/svg+xml"),
        ("a.jpg", "text/xml"),
        ("scan.jpg", "image/tiff"),
    ],
)
def test_a_declared_foreign_type_is_refused_at_creation_before_any_byte(
    clean: Node, filename: str, filetype: str
) -> None:
    tus = Tus(clean, clean.token())

    answer = tus.create(5000, **{"Upload-Metadata": metadata(filename=filename, filetype=filetype)})

    assert _code(answer) == (415, "UNSUPPORTED_TYPE")
    assert tus_files(clean) == []


def test_a_file_name_that_climbs_directories_is_refused_at_creation(clean: Node) -> None:
    answer = Tus(clean, clean.token()).create(5000, filename="../../etc/passwd.jpg")

    assert _code(answer) == (400, "INVALID_FILENAME")
    assert tus_files(clean) == []


def test_a_wrong_type_is_refused_at_its_first_8_kib_not_at_its_end(clean: Node) -> None:
    tus = Tus(clean, clean.token())
    url = tus.start(10_000_000, filename="movie.jpg")

    answer = tus.patch(url, 0, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 9000)

    assert _code(answer) == (415, "UNSUPPORTED_TYPE")
    assert tus_files(clean) == []
    assert tus.head(url).status_code == 404
