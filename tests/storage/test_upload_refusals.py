"""Bad input gets a clear 4xx with a stable code, and leaves nothing in the pool."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.storage import images
from tests.storage.conftest import Node
from tests.storage.test_upload_accepts import assert_error


@pytest.fixture
def clean(node: Node) -> Iterator[Node]:
    """The node; after the test, the pool must hold no file and the app no completion."""
    yield node
    assert node.files() == []
    assert node.app.completions == []


def _chunks(data: bytes, size: int = 65536) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def raw_request(
    node: Node, head: str, body: bytes = b"", close_after: bool = False
) -> tuple[int, bytes]:
    """Send bytes as they are (no client library fixing them); (status, answer body)."""
    parts = urlsplit(node.upload_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + body)
        answer = b""
        while True:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2]


# -- size ---------------------------------------------------------------------


def test_a_declared_length_over_the_limit_is_refused_before_the_body(clean: Node) -> None:
    token = clean.token(max_size=1000)
    # The body is never sent: the answer must come from the headers alone.
    head = (
        f"PUT /api/internal/upload HTTP/1.1\nHost: node\nAuthorization: Bearer {token}\n"
        "Content-Type: image/jpeg\nContent-Length: 100000000\nConnection: close\n\n"
    )
    status, body = raw_request(clean, head)

    assert status == 413
    assert b"FILE_TOO_LARGE" in body


def test_a_multipart_body_over_the_limit_is_cut_off(clean: Node) -> None:
    big = images.jpeg(1600, 1200)
    assert_error(clean.post(clean.token(max_size=len(big) - 1), big), 413, "FILE_TOO_LARGE")


def test_a_chunked_body_over_the_limit_is_cut_off_without_a_length_to_trust(clean: Node) -> None:
    big = images.jpeg(1600, 1200)
    response = clean.put(clean.token(max_size=len(big) - 1), _chunks(big, 4096))
    assert_error(response, 413, "FILE_TOO_LARGE")


def test_a_chunked_multipart_body_over_the_limit_is_cut_off(clean: Node) -> None:
    big = images.jpeg(1600, 1200)
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + big
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = httpx.post(
        clean.upload_url,
        content=_chunks(body, 8192),
        headers={
            "Authorization": f"Bearer {clean.token(max_size=len(big) - 1)}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert_error(response, 413, "FILE_TOO_LARGE")


def test_a_file_of_exactly_the_limit_is_taken(node: Node) -> None:
    data = images.jpeg()
    assert node.post(node.token(max_size=len(data)), data).status_code == 201


# -- type ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (images.TEXT, "holiday.jpg"),  # spoofed: text named like a photo
        (images.SVG, "logo.jpg"),
        (images.SVG_BARE, "logo.png"),
        (images.SVG, "logo.svg"),
        (images.jpeg(), "photo.html"),  # an image under a name a browser would render
        (images.jpeg(), "photo.svg"),
        (b"%PDF-1.4\n" + images.TEXT, "doc.jpg"),
    ],
    ids=[
        "text-as-jpg",
        "svg-as-jpg",
        "bare-svg-as-png",
        "svg",
        "jpeg-as-html",
        "jpeg-as-svg",
        "pdf",
    ],
)
def test_files_that_are_not_accepted_images_are_refused_415(
    clean: Node, data: bytes, filename: str
) -> None:
    assert_error(clean.post(clean.token(), data, filename), 415, "UNSUPPORTED_TYPE")


@pytest.mark.parametrize(
    "content_type", ["image/svg+xml", "text/xml", "text/html", "application/pdf"]
)
def test_raw_bodies_declared_as_foreign_types_are_refused_415(
    clean: Node, content_type: str
) -> None:
    assert_error(clean.put(clean.token(), images.jpeg(), content_type), 415, "UNSUPPORTED_TYPE")


def test_a_type_the_operator_did_not_allow_is_refused_415(clean: Node) -> None:
    tiff = bytes(__import__("pyvips").Image.black(8, 8).tiffsave_buffer())
    assert_error(clean.post(clean.token(), tiff, "scan.tiff"), 415, "UNSUPPORTED_TYPE")


# -- image content ------------------------------------------------------------


@pytest.mark.parametrize(("make", "name"), [(images.jpeg, "cut.jpg"), (images.png, "cut.png")])
def test_a_truncated_image_is_refused_422(clean: Node, make, name: str) -> None:
    whole = make(640, 480)
    response = clean.post(clean.token(), whole[: len(whole) * 2 // 3], name)
    assert_error(response, 422, "INVALID_IMAGE")


def test_an_empty_file_is_refused_422(clean: Node) -> None:
    assert_error(clean.post(clean.token(), b"", "empty.jpg"), 422, "INVALID_IMAGE")


def test_a_pixel_bomb_is_refused_from_its_header(clean: Node) -> None:
    response = clean.post(clean.token(), images.png_bomb(30000, 30000), "bomb.png")

    assert_error(response, 422, "IMAGE_TOO_LARGE")
    assert response.json()["error"]["details"]["width"] == 30000


def test_an_animation_with_too_many_frames_is_refused(clean: Node) -> None:
    response = clean.post(clean.token(), images.gif_frames(201), "long.gif")

    assert_error(response, 422, "IMAGE_TOO_LARGE")
    assert response.json()["error"]["details"]["frames"] == 201


# -- form and names -----------------------------------------------------------


def multipart(filename: bytes, data: bytes, boundary: str = "xXx") -> tuple[bytes, str]:
    """A form with one ``file`` part, its name sent byte for byte (no client escaping)."""
    body = (
        b'--%s\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n%s\r\n--%s--\r\n"
    ) % (boundary.encode(), filename, data, boundary.encode())
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    "filename",
    [
        b"../../etc/cron.d/evil.jpg",
        b"..\\..\\evil.jpg",
        b"/etc/passwd.jpg",
        b"evil\x00.jpg",
        b"a\x1b[2J.jpg",
    ],
)
def test_a_file_name_that_climbs_directories_or_hides_controls_is_refused(
    clean: Node, filename: bytes
) -> None:
    body, content_type = multipart(filename, images.jpeg())
    response = httpx.post(
        clean.upload_url,
        content=body,
        headers={"Authorization": f"Bearer {clean.token()}", "Content-Type": content_type},
    )

    assert_error(response, 400, "INVALID_FILENAME")
    outside = clean.pool.parent
    assert not (outside / "etc").exists() and not (outside / "evil.jpg").exists()


def test_a_form_without_a_file_field_is_refused(clean: Node) -> None:
    response = httpx.post(
        clean.upload_url,
        headers={"Authorization": f"Bearer {clean.token()}"},
        files={"picture": ("a.jpg", images.jpeg())},
    )
    assert_error(response, 400, "MISSING_FILE")


def test_a_post_that_is_not_multipart_is_refused(clean: Node) -> None:
    response = httpx.post(
        clean.upload_url, headers={"Authorization": f"Bearer {clean.token()}"}, json={"file": "x"}
    )
    assert_error(response, 400, "BAD_REQUEST")


def test_a_multipart_body_that_ends_early_is_refused(clean: Node) -> None:
    boundary = "cut0ff"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
    ).encode() + images.jpeg()  # no closing boundary
    head = (
        f"POST /api/internal/upload HTTP/1.1\nHost: node\nAuthorization: Bearer {clean.token()}\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\n"
        f"Content-Length: {len(body)}\nConnection: close\n\n"
    )
    status, answer = raw_request(clean, head, body)

    assert status == 400
    assert b"INCOMPLETE_UPLOAD" in answer


# -- pool ---------------------------------------------------------------------


def test_a_token_for_a_pool_this_node_does_not_hold_is_refused(clean: Node) -> None:
    assert_error(clean.post(clean.token(pool_id=999), images.jpeg()), 403, "POOL_NOT_ON_NODE")


def test_a_pool_that_cannot_take_the_allowed_size_answers_507(clean: Node) -> None:
    # No Content-Length (chunked): the node must plan for the token's whole max_size.
    response = clean.put(clean.token(max_size=10**18), _chunks(images.jpeg()))
    assert_error(response, 507, "STORAGE_FULL")


def test_refusals_leave_no_temporary_file(node: Node) -> None:
    node.post(node.token(), images.TEXT, "a.jpg")
    node.post(node.token(), images.png_bomb(), "b.png")
    node.post(node.token(max_size=10), images.jpeg(), "c.jpg")

    assert node.temp_files() == []
    assert node.files() == []
