"""A good upload lands in the pool, is reported to the app, and is answered 201."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from pixelfox_protocol.internal import node_authorization
from tests.storage import images
from tests.storage.conftest import APP_ORIGIN, NODE_CREDENTIAL, NODE_ID, POOL_ID, Node


def _today() -> str:
    return datetime.now(UTC).strftime("%Y/%m/%d")


@contextlib.contextmanager
def upload_days() -> Iterator[set[str]]:
    """The UTC date folders an upload made inside may land in (it may cross midnight)."""
    days = {_today()}
    yield days
    days.add(_today())


def original_paths(days: set[str], image_uuid: str, ext: str) -> set[str]:
    return {f"original/{day}/{image_uuid}.{ext}" for day in days}


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("make", "filename", "ext", "mime"),
    [
        (images.jpeg, "holiday.jpg", "jpg", "image/jpeg"),
        (images.png, "diagram.png", "png", "image/png"),
        (images.webp, "sticker.webp", "webp", "image/webp"),
        (images.avif, "phone.avif", "avif", "image/avif"),
    ],
)
def test_multipart_upload_lands_at_its_dated_path_with_its_sha256(
    node: Node, make, filename: str, ext: str, mime: str
) -> None:
    data = make()
    claims = node.claims()
    with upload_days() as days:
        response = node.post(node.sign(claims), data, filename)

    assert response.status_code == 201, response.text
    assert response.json() == {
        "image_uuid": claims.image_uuid,
        "view_url": f"{APP_ORIGIN}/i/{claims.image_uuid[:8]}",
        "status_url": f"{APP_ORIGIN}/api/v1/image/status/{claims.image_uuid}",
    }
    [stored] = node.files()
    relative = stored.relative_to(node.pool).as_posix()
    assert relative in original_paths(days, claims.image_uuid, ext)
    assert stored.read_bytes() == data
    [completion] = node.app.completions
    assert completion == {
        "session_id": claims.session_id,
        "image_uuid": claims.image_uuid,
        "pool_id": POOL_ID,
        "path": relative,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "mime": mime,
        "width": 64,
        "height": 48,
        "original_filename": filename,
    }


def test_completion_carries_the_node_credential_and_the_sessions_request_id(node: Node) -> None:
    claims = node.claims()
    response = node.post(node.sign(claims), images.jpeg())

    assert response.status_code == 201, response.text
    [headers] = node.app.headers
    assert headers["Authorization"] == node_authorization(NODE_ID, NODE_CREDENTIAL)
    assert headers["X-Request-ID"] == claims.request_id
    assert response.headers["X-Request-ID"] == claims.request_id


def test_raw_put_stores_the_body_like_a_multipart_upload(node: Node) -> None:
    data = images.png()
    claims = node.claims()
    with upload_days() as days:
        response = node.put(
            node.sign(claims),
            data,
            "image/png",
            **{"Content-Disposition": 'attachment; filename="scan.png"'},
        )

    assert response.status_code == 201, response.text
    [stored] = node.files()
    assert stored.relative_to(node.pool).as_posix() in original_paths(
        days, claims.image_uuid, "png"
    )
    assert stored.read_bytes() == data
    assert node.app.completions[0]["original_filename"] == "scan.png"
    assert node.app.completions[0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_raw_put_streams_a_chunked_body(node: Node) -> None:
    data = images.jpeg(800, 600)

    def body():
        for i in range(0, len(data), 1000):
            yield data[i : i + 1000]

    response = node.put(node.token(), body())

    assert response.status_code == 201, response.text
    [stored] = node.files()
    assert stored.read_bytes() == data


def test_a_token_stores_one_file_only(node: Node) -> None:
    token = node.token()
    assert node.post(token, images.jpeg()).status_code == 201

    again = node.post(token, images.png(), "other.png")

    assert_error(again, 409, "TOKEN_USED")
    assert len(node.files()) == 1
    assert len(node.app.completions) == 1


def test_a_token_whose_upload_was_refused_may_be_used_again(node: Node) -> None:
    token = node.token()
    assert_error(node.post(token, images.TEXT, "notes.jpg"), 415, "UNSUPPORTED_TYPE")

    retried = node.post(token, images.jpeg())

    assert retried.status_code == 201, retried.text
    assert len(node.files()) == 1


def test_an_upload_the_app_refuses_is_removed_and_the_apps_error_passed_on(node: Node) -> None:
    node.app.status = 409
    node.app.error_code = "SESSION_INVALID"

    response = node.post(node.token(), images.jpeg())

    assert_error(response, 409, "SESSION_INVALID")
    assert node.files() == []
    assert not (node.state / "outbox").exists() or not list((node.state / "outbox").glob("*.json"))


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
def test_head_and_options_answer_204_without_a_token(node: Node, method: str) -> None:
    response = httpx.request(method, node.upload_url)

    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_preflight_from_the_apps_origin_allows_the_upload_headers(node: Node) -> None:
    response = httpx.options(
        node.upload_url,
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "Origin" in response.headers["Vary"]


def test_other_origins_get_no_cors_headers(node: Node) -> None:
    preflight = httpx.options(
        node.upload_url,
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    upload = node.post(node.token(), images.jpeg(), headers={"Origin": "https://evil.example"})

    for response in (preflight, upload):
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Methods" not in response.headers


def test_errors_to_the_apps_origin_are_readable_by_its_page(node: Node) -> None:
    response = httpx.post(
        node.upload_url, headers={"Origin": APP_ORIGIN}, files={"file": ("a.jpg", b"x")}
    )

    assert_error(response, 401, "TOKEN_MISSING")
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert response.headers["X-Content-Type-Options"] == "nosniff"
