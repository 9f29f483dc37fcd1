"""tus 1.0 core and creation, rule by rule, over plain HTTP against a real storage service."""

from __future__ import annotations

import hashlib
import os

import httpx

from tests.storage import images
from tests.storage.conftest import APP_ORIGIN, Node
from tests.storage.test_upload_accepts import assert_error
from tests.storage.upload.tus.conftest import CHUNK_TYPE, VERSION, Tus, tus_files


def test_options_tells_the_version_extensions_and_largest_size_without_a_token(
    node: Node,
) -> None:
    answer = httpx.options(Tus(node, "").endpoint)

    assert answer.status_code == 204
    assert answer.headers["Tus-Version"] == VERSION
    assert answer.headers["Tus-Resumable"] == VERSION
    assert set(answer.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "expiration",
        "checksum",
        "termination",
    }
    assert int(answer.headers["Tus-Max-Size"]) > 0
    assert set(answer.headers["Tus-Checksum-Algorithm"].split(",")) == {"sha1", "sha256"}


def test_a_creation_answers_201_with_the_upload_location_and_its_expiry(tus: Tus) -> None:
    created = tus.create(1000)

    assert created.status_code == 201
    assert created.headers["Location"].startswith("/api/internal/upload/tus/")
    assert created.headers["Upload-Expires"].endswith(" GMT")
    assert created.headers["Tus-Resumable"] == VERSION


def test_a_new_upload_stands_at_offset_zero_and_knows_its_length(tus: Tus) -> None:
    url = tus.start(1000)

    answer = tus.head(url)

    assert answer.status_code == 200
    assert answer.headers["Upload-Offset"] == "0"
    assert answer.headers["Upload-Length"] == "1000"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Upload-Metadata"].startswith("filename ")


def test_each_patch_moves_the_offset_by_what_it_carried(tus: Tus) -> None:
    url = tus.start(10_000)

    first = tus.patch(url, 0, b"\xff\xd8" + b"x" * 2998)

    assert first.status_code == 204
    assert first.headers["Upload-Offset"] == "3000"
    assert tus.offset(url) == 3000


def test_a_patch_at_the_wrong_offset_is_refused_409_and_changes_nothing(tus: Tus) -> None:
    url = tus.start(10_000)
    tus.patch(url, 0, b"\xff\xd8" + b"x" * 998)

    answer = tus.patch(url, 500, b"y" * 100)

    assert_error(answer, 409, "TUS_OFFSET_MISMATCH")
    assert answer.headers["Upload-Offset"] == "1000"
    assert tus.offset(url) == 1000


def test_another_protocol_version_is_refused_412_naming_ours(tus: Tus) -> None:
    answer = httpx.post(
        tus.endpoint, headers={**tus.headers(), "Tus-Resumable": "0.2.2", "Upload-Length": "10"}
    )

    assert_error(answer, 412, "TUS_VERSION_UNSUPPORTED")
    assert answer.headers["Tus-Version"] == VERSION
    assert tus_files(tus.node) == []


def test_a_request_without_the_tus_header_is_refused_412(tus: Tus) -> None:
    url = tus.start(100)

    answer = httpx.head(url, headers={"Authorization": f"Bearer {tus.token}"})

    assert answer.status_code == 412
    assert answer.headers["Tus-Resumable"] == VERSION


def test_a_patch_that_is_not_an_offset_stream_is_refused_415(tus: Tus) -> None:
    url = tus.start(100)

    answer = tus.patch(url, 0, b"x" * 10, **{"Content-Type": "image/jpeg"})

    assert_error(answer, 415, "TUS_CONTENT_TYPE")
    assert tus.offset(url) == 0


def test_every_answer_carries_tus_resumable_errors_included(tus: Tus) -> None:
    url = tus.start(100)
    answers = [
        tus.head(url),
        tus.patch(url, 7, b"x"),
        tus.head(url + "0"),
        httpx.patch(url, headers={"Tus-Resumable": VERSION}),
        tus.delete(url),
    ]

    assert [a.headers.get("Tus-Resumable") for a in answers] == [VERSION] * len(answers)


def test_a_length_above_the_tokens_limit_is_refused_413_before_any_byte(node: Node) -> None:
    tus = Tus(node, node.token(max_size=5000))

    answer = tus.create(5001, body=b"\xff\xd8" + b"x" * 100)

    assert_error(answer, 413, "FILE_TOO_LARGE")
    assert answer.json()["error"]["details"]["max_size"] == 5000
    assert tus_files(node) == []
    # The token was not taken: it still works (here for a single upload).
    assert node.post(tus.token, images.jpeg()).status_code == 201


def test_a_creation_without_a_length_is_refused_400(tus: Tus) -> None:
    answer = httpx.post(tus.endpoint, headers=tus.headers())

    assert_error(answer, 400, "BAD_REQUEST")
    assert tus_files(tus.node) == []


def test_creation_with_upload_takes_the_first_bytes_in_the_same_request(tus: Tus) -> None:
    data = images.jpeg(640, 480)

    created = tus.create(len(data), body=data[:4000])

    assert created.status_code == 201
    assert created.headers["Upload-Offset"] == "4000"
    url = tus.url_of(created)
    assert tus.patch(url, 4000, data[4000:]).status_code == 201


def test_creation_with_the_whole_file_answers_like_a_single_upload(tus: Tus) -> None:
    data = images.jpeg(640, 480)

    created = tus.create(len(data), body=data)

    assert created.status_code == 201
    assert created.json()["image_uuid"]
    assert created.headers["Location"].startswith("/api/internal/upload/tus/")
    assert tus.node.app.completions[0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_creation_sent_again_finds_the_same_upload(tus: Tus) -> None:
    first = tus.create(5000, body=b"\xff\xd8" + b"x" * 998)

    again = tus.create(5000, body=b"\xff\xd8" + b"x" * 998)

    assert again.status_code == 201
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Upload-Offset"] == "1000"


def test_the_last_byte_gets_the_single_uploads_answer_and_report(tus: Tus) -> None:
    data = images.jpeg(1200, 900)

    final = tus.send(data, chunk=10_000, filename="holiday.jpg")

    assert final.status_code == 201
    body = final.json()
    assert set(body) == {"image_uuid", "view_url", "status_url"}
    assert final.headers["Upload-Offset"] == str(len(data))
    [completion] = tus.node.app.completions
    assert completion["sha256"] == hashlib.sha256(data).hexdigest()
    assert completion["size"] == len(data)
    assert completion["mime"] == "image/jpeg"
    assert completion["original_filename"] == "holiday.jpg"
    stored = tus.node.pool / completion["path"]
    assert stored.read_bytes() == data
    assert oct(stored.stat().st_mode & 0o777) == "0o640"


def test_the_same_file_stored_over_tus_and_in_one_request_is_recorded_alike(node: Node) -> None:
    data = images.png(500, 400)
    assert Tus(node, node.token()).send(data, chunk=7_000, filename="d.png").status_code == 201
    assert node.post(node.token(), data, "d.png").status_code == 201

    over_tus, single = node.app.completions
    for same in ("size", "sha256", "mime", "width", "height", "original_filename"):
        assert over_tus[same] == single[same]


def test_a_committed_upload_answers_its_last_chunk_again_and_its_offset(tus: Tus) -> None:
    data = images.jpeg(300, 200)
    url = tus.start(len(data))
    final = tus.patch(url, 0, data)

    again = tus.patch(url, len(data), b"")

    assert again.status_code == final.status_code == 201
    assert again.json() == final.json()
    assert tus.offset(url) == len(data)
    assert len(tus.node.app.completions) == 1
    # Only the record stays, not a second copy of the bytes.
    assert [p.suffix for p in tus_files(tus.node)] == [".info"]


def test_a_chunk_past_the_upload_length_is_refused_413_and_discarded(tus: Tus) -> None:
    url = tus.start(3000)
    tus.patch(url, 0, b"\xff\xd8" + b"x" * 998)

    answer = tus.patch(url, 1000, b"y" * 2001)

    assert_error(answer, 413, "FILE_TOO_LARGE")
    assert tus.offset(url) == 1000


def test_a_live_upload_holds_its_whole_length_on_disk(node: Node) -> None:
    length = 256 * 1024 * 1024
    tus = Tus(node, node.token(max_size=length))
    before = os.statvfs(tus.node.pool)

    url = tus.start(length, filename="big.jpg")

    after = os.statvfs(tus.node.pool)
    [data] = [p for p in tus_files(tus.node) if p.suffix == ".data"]
    assert data.stat().st_size == 0
    assert data.stat().st_blocks * 512 >= length
    # Seen by every space check on the pool (others share this disk: allow some noise).
    freed = (before.f_bavail - after.f_bavail) * after.f_frsize
    assert freed > length * 0.8
    assert tus.delete(url).status_code == 204


def test_answers_to_the_apps_origin_expose_the_tus_headers(tus: Tus) -> None:
    url = tus.start(100)

    preflight = httpx.options(
        url,
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "upload-offset,tus-resumable,authorization",
        },
    )
    answer = tus.head(url, Origin=APP_ORIGIN)

    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    allowed = preflight.headers["Access-Control-Allow-Headers"]
    for header in ("Upload-Offset", "Upload-Length", "Upload-Metadata", "Upload-Checksum"):
        assert header in allowed
    assert "Tus-Resumable" in allowed and "Authorization" in allowed
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    exposed = answer.headers["Access-Control-Expose-Headers"]
    for header in ("Location", "Upload-Offset", "Upload-Length", "Tus-Version", "Tus-Max-Size"):
        assert header in exposed


def test_another_origin_gets_no_cors_headers(tus: Tus) -> None:
    answer = httpx.options(tus.endpoint, headers={"Origin": "https://evil.example"})

    assert "Access-Control-Allow-Origin" not in answer.headers


def test_method_override_lets_a_post_carry_a_patch(tus: Tus) -> None:
    url = tus.start(5000)

    answer = httpx.post(
        url,
        headers=tus.headers(
            **{
                "X-HTTP-Method-Override": "PATCH",
                "Upload-Offset": "0",
                "Content-Type": CHUNK_TYPE,
            }
        ),
        content=b"\xff\xd8" + b"x" * 98,
    )

    assert answer.status_code == 204
    assert tus.offset(url) == 100
