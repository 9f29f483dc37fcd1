"""The storage service's own /uploads/: ranges, conditional requests, traversal, several pools."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest

from pixelfox_storage import create_app
from pixelfox_storage.config import StorageSettings
from tests.serving.conftest import Files

SIZE = 100_000  # files.public


def _get(storage: str, relative: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{storage}/uploads/{relative}", headers=headers, timeout=30)


def _raw_get(base: str, target: str) -> int:
    """Send a request target exactly as given (HTTP clients tidy up ``..``); its status."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        head = conn.recv(4096).decode("latin1")
    return int(head.split(" ", 2)[1])


@pytest.mark.parametrize(
    ("range_header", "first", "last"),
    [
        pytest.param("bytes=0-0", 0, 0, id="first-byte"),
        pytest.param("bytes=99990-", 99990, SIZE - 1, id="open-ended"),
        pytest.param("bytes=-10", SIZE - 10, SIZE - 1, id="suffix"),
        pytest.param("bytes=-500000", 0, SIZE - 1, id="suffix-longer-than-file"),
        pytest.param("bytes=99000-500000", 99000, SIZE - 1, id="end-past-the-file"),
    ],
)
def test_one_byte_range_is_answered_with_206_and_exactly_those_bytes(
    storage: str, files: Files, range_header: str, first: int, last: int
) -> None:
    response = _get(storage, files.public, Range=range_header)

    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
    assert response.headers["content-length"] == str(last - first + 1)
    assert response.content == files.data(files.public)[first : last + 1]


def test_a_range_in_the_middle_of_a_large_file_is_streamed_from_its_offset(
    storage: str, files: Files
) -> None:
    response = _get(storage, files.large, Range="bytes=1000000-1599999")

    assert response.status_code == 206
    assert response.content == files.data(files.large)[1_000_000:1_600_000]


@pytest.mark.parametrize(
    "range_header",
    ["bytes=100000-", "bytes=200000-300000", "bytes=10-5", "bytes=-0", "bytes=abc", "bytes=-"],
)
def test_a_range_outside_the_file_or_malformed_is_416_with_the_files_length(
    storage: str, files: Files, range_header: str
) -> None:
    response = _get(storage, files.public, Range=range_header)

    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{SIZE}"
    assert response.json()["error"]["code"] == "RANGE_NOT_SATISFIABLE"


def test_several_ranges_or_another_unit_get_the_whole_file(storage: str, files: Files) -> None:
    for range_header in ("bytes=0-9,20-29", "items=0-9"):
        response = _get(storage, files.public, Range=range_header)
        assert response.status_code == 200
        assert response.content == files.data(files.public)


def test_if_range_with_the_current_etag_honours_the_range_and_a_stale_one_sends_all(
    storage: str, files: Files
) -> None:
    etag = _get(storage, files.public).headers["etag"]

    current = _get(storage, files.public, Range="bytes=0-9", **{"If-Range": etag})
    stale = _get(storage, files.public, Range="bytes=0-9", **{"If-Range": '"0-0"'})

    assert current.status_code == 206 and current.content == files.data(files.public)[:10]
    assert stale.status_code == 200 and stale.content == files.data(files.public)


def test_the_etag_is_nginxs_and_a_changed_etag_gets_the_file_again(
    storage: str, files: Files
) -> None:
    path = files.pool / files.public
    stat = path.stat()
    response = _get(storage, files.public)

    assert response.headers["etag"] == f'"{int(stat.st_mtime):x}-{stat.st_size:x}"'
    assert response.headers["accept-ranges"] == "bytes"
    assert (
        _get(
            storage, files.public, **{"If-None-Match": '"1-2", ' + response.headers["etag"]}
        ).status_code
        == 304
    )
    assert _get(storage, files.public, **{"If-None-Match": '"1-2"'}).status_code == 200
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert _get(storage, files.public, **{"If-Modified-Since": old}).status_code == 200


def test_head_answers_the_headers_of_get_without_a_body(storage: str, files: Files) -> None:
    response = httpx.head(f"{storage}/uploads/{files.large}")

    assert response.status_code == 200
    assert response.headers["content-length"] == str(2_000_000)
    assert response.headers["content-type"] == "image/png"
    assert response.content == b""


@pytest.mark.parametrize(
    "target",
    [
        "/uploads/original/../../../../etc/passwd",
        "/uploads/original/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/uploads/private/../original/x.jpg",
        "/uploads/original/2026/..%2f..%2f..%2fetc/passwd",
    ],
)
def test_a_path_that_climbs_out_of_the_pool_is_refused(storage: str, target: str) -> None:
    assert _raw_get(storage, target) == 400


def test_a_symlink_in_a_pool_pointing_outside_is_not_followed(storage: str, files: Files) -> None:
    link = files.second_pool / "original" / "2026" / "11" / "27" / "escape.jpg"
    link.symlink_to("/etc/passwd")
    try:
        assert _get(storage, "original/2026/11/27/escape.jpg").status_code == 404
    finally:
        link.unlink()


def test_a_file_is_found_in_whichever_of_the_nodes_pools_holds_it(
    storage: str, files: Files
) -> None:
    response = _get(storage, files.in_second_pool)

    assert response.status_code == 200
    assert response.content == files.data(files.in_second_pool, files.second_pool)
    assert response.headers["content-type"] == "image/gif"


def test_a_missing_file_is_404_and_a_missing_private_one_is_refused_before_looking(
    storage: str, files: Files
) -> None:
    missing = _get(storage, files.public.replace(".jpg", ".webp"))
    private = _get(storage, files.private.replace(".jpg", ".webp"))

    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "NOT_FOUND")
    assert (private.status_code, private.json()["error"]["code"]) == (403, "LINK_INVALID")


def test_uploads_are_read_only(storage: str, files: Files) -> None:
    response = httpx.put(f"{storage}/uploads/{files.public}", content=b"x")

    assert response.status_code == 405
    assert files.data(files.public) != b"x"


def test_with_serve_uploads_off_the_service_has_no_uploads_route() -> None:
    def rules(serve: bool) -> set[str]:
        app = create_app(StorageSettings(serve_uploads=serve, metrics_bind="off"))
        return {rule.rule for rule in app.url_map.iter_rules()}

    assert "/uploads/<path:relative>" in rules(True)
    assert "/uploads/<path:relative>" not in rules(False)
