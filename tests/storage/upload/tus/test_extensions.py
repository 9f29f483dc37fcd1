"""tus's checksum, expiration and termination extensions, over plain HTTP."""

from __future__ import annotations

import hashlib
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.storage import images
from tests.storage.conftest import Node
from tests.storage.test_upload_accepts import assert_error
from tests.storage.test_upload_outbox import wait_for
from tests.storage.upload.tus.conftest import PHOTO, Tus, checksum, tus_files

# -- checksum -----------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_a_chunk_with_the_right_checksum_is_taken(tus: Tus, algorithm: str) -> None:
    data = images.jpeg(640, 480)
    url = tus.start(len(data))

    head, rest = data[:9000], data[9000:]

    first = tus.patch(url, 0, head, **{"Upload-Checksum": checksum(algorithm, head)})
    last = tus.patch(url, 9000, rest, **{"Upload-Checksum": checksum(algorithm, rest)})

    assert first.status_code == 204
    assert first.headers["Upload-Offset"] == "9000"
    assert last.status_code == 201
    assert tus.node.app.completions[0]["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_a_chunk_that_does_not_match_its_checksum_is_refused_460_and_discarded(
    tus: Tus, algorithm: str
) -> None:
    data = images.jpeg(640, 480)
    url = tus.start(len(data))
    tus.patch(url, 0, data[:5000])
    chunk = data[5000:9000]
    garbled = chunk[:-1] + b"\x00"

    answer = tus.patch(url, 5000, garbled, **{"Upload-Checksum": checksum(algorithm, chunk)})

    assert_error(answer, 460, "TUS_CHECKSUM_MISMATCH")
    assert answer.headers["Upload-Offset"] == "5000"
    assert tus.offset(url) == 5000
    assert not any(p.suffix == ".chunk" for p in tus_files(tus.node))
    # The client sends the chunk again, right this time; the file comes out whole.
    assert tus.patch(url, 5000, data[5000:]).status_code == 201
    assert tus.node.app.completions[0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_checksum_algorithm_we_do_not_speak_is_refused_400(tus: Tus) -> None:
    url = tus.start(1000)

    answer = tus.patch(url, 0, b"\xff\xd8xx", **{"Upload-Checksum": "crc32 AAAAAA=="})

    assert_error(answer, 400, "TUS_CHECKSUM_UNSUPPORTED")
    assert tus.offset(url) == 0


def test_a_checksum_that_is_no_digest_is_refused_400(tus: Tus) -> None:
    url = tus.start(1000)

    answer = tus.patch(url, 0, b"\xff\xd8xx", **{"Upload-Checksum": "sha1 not-base64!"})

    assert_error(answer, 400, "BAD_REQUEST")


# -- expiration ---------------------------------------------------------------


def test_every_answer_on_a_live_upload_says_when_it_expires(tus: Tus) -> None:
    url = tus.start(5000)

    answers = [tus.head(url), tus.patch(url, 0, b"\xff\xd8" + b"x" * 98)]

    expires = {a.headers["Upload-Expires"] for a in answers}
    assert len(expires) == 1
    stamp = time.mktime(time.strptime(expires.pop(), "%a, %d %b %Y %H:%M:%S GMT"))
    # 24 hours by default (mktime reads the stamp as local time: compare in UTC).
    assert abs(stamp - time.timezone - time.time() - 24 * 3600) < 120


def test_an_unfinished_upload_is_swept_when_it_expires_and_its_token_freed(brief: Node) -> None:
    tus = Tus(brief, brief.token())
    url = tus.start(len(PHOTO))
    tus.patch(url, 0, PHOTO[:10_000])

    wait_for(lambda: tus_files(brief) == [], timeout=10)

    assert tus.head(url).status_code == 404
    # Its space and its token are given back: the token still creates a fresh upload.
    assert tus.offset(tus.start(len(PHOTO))) == 0


def test_an_expired_upload_takes_no_more_bytes(brief: Node) -> None:
    tus = Tus(brief, brief.token())
    url = tus.start(50_000)
    time.sleep(2.1)

    answer = tus.patch(url, 0, b"\xff\xd8" + b"x" * 98)

    assert answer.status_code in (404, 410)
    assert answer.json()["error"]["code"] in ("TUS_UPLOAD_EXPIRED", "TUS_UPLOAD_NOT_FOUND")


# -- termination --------------------------------------------------------------


def test_a_terminated_upload_is_gone_with_its_bytes(tus: Tus) -> None:
    url = tus.start(len(PHOTO))
    tus.patch(url, 0, PHOTO[:10_000])

    answer = tus.delete(url)

    assert answer.status_code == 204
    assert tus.head(url).status_code == 404
    assert_error(tus.patch(url, 10_000, b"x"), 404, "TUS_UPLOAD_NOT_FOUND")
    assert tus_files(tus.node) == []


def test_a_terminated_uploads_token_may_be_used_again(tus: Tus) -> None:
    tus.delete(tus.start(50_000))

    assert tus.node.post(tus.token, images.jpeg()).status_code == 201


def test_terminating_a_committed_upload_keeps_the_image(tus: Tus) -> None:
    data = images.jpeg()
    url = tus.start(len(data))
    tus.patch(url, 0, data)

    assert tus.delete(url).status_code == 204

    assert [p.suffix for p in tus.node.files()] == [".jpg"]
    assert tus.head(url).status_code == 404


def test_a_stuck_patch_gives_its_lock_up_to_the_next_request(tus: Tus) -> None:
    """A client whose link died comes back: the node stops waiting for the old bytes."""
    url = tus.start(len(PHOTO))
    parts = urlsplit(url)
    stuck = socket.create_connection((parts.hostname, parts.port), timeout=10)
    head = (
        f"PATCH {parts.path} HTTP/1.1\r\nHost: node\r\nTus-Resumable: 1.0.0\r\n"
        f"Authorization: Bearer {tus.token}\r\nUpload-Offset: 0\r\n"
        f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(PHOTO)}\r\n\r\n"
    )
    stuck.sendall(head.encode() + PHOTO[:30_000])
    time.sleep(0.5)  # the node has the bytes (in memory, until the PATCH ends)
    try:
        started = time.monotonic()
        offset = tus.offset(url)  # the old PATCH is still open: no FIN was sent
        assert time.monotonic() - started < 5
        assert offset == 30_000
        assert tus.patch(url, offset, PHOTO[offset:]).status_code == 201
    finally:
        stuck.close()


def test_an_unknown_upload_is_404(tus: Tus) -> None:
    answer = tus.head(tus.endpoint + "/" + "0" * 32)

    assert answer.status_code == 404
    assert_error(httpx.delete(tus.endpoint + "/../../etc", headers=tus.headers()), 404, "NOT_FOUND")
