"""Uploads through nginx, hashed (and parsed) by the node while nginx still writes the body.

A real nginx runs the shipped storage site in front of a real node with its
spool secret, so the node's spool follower reads each body file as it grows.
The node's "upload stored" log line says whether it did (``followed``); either
way the upload must end exactly as the same upload sent straight to the node.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from pixelfox_storage.upload.spooled.follower import MAX_FILES, NOT_FOLLOWED
from tests.storage import images
from tests.storage.conftest import Node
from tests.storage.upload.spooled.conftest import Front, half_sent, wait_for

BOUNDARY = "----pixelfox-follower-test"


def form(data: bytes, filename: str = "photo.jpg", boundary: str = BOUNDARY) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )


def big_image() -> bytes:
    """A real JPEG with random bytes after it (a "motion photo"): several MB, cheap to make."""
    return images.jpeg(640, 480) + os.urandom(3_000_000)


@pytest.fixture
def clean(front: Front) -> Iterator[Front]:
    """Empty pool before; after, nothing may be left: no spool file, no part file, no original."""
    front.reset()
    yield front
    wait_for(lambda: not front.spool_files() and not front.node.files(), 5.0)
    assert front.spool_files() == []
    assert front.node.files() == []
    front.reset()


def followed(front: Front) -> list[bool]:
    """Per stored upload, oldest first: whether the spool follower hashed it."""
    return [
        record["followed"]
        for record in front.log_records("upload stored")
        if record.get("body") == "spooled"
    ]


def paced(body: bytes, pieces: int, pause: float) -> Iterator[bytes]:
    """The body in ``pieces``, a pause before each but the first (a slow or stalling client)."""
    step = -(-len(body) // pieces)
    for start in range(0, len(body), step):
        if start:
            time.sleep(pause)
        yield body[start : start + step]


def send(
    client: Node, kind: str, body: bytes, *, pieces: int = 2, pause: float = 0.3
) -> httpx.Response:
    """A raw PUT or a multipart POST, its body sent in pieces with pauses."""
    content_type = "image/jpeg" if kind == "raw" else f"multipart/form-data; boundary={BOUNDARY}"
    return httpx.request(
        "PUT" if kind == "raw" else "POST",
        client.upload_url + ("?filename=photo.jpg" if kind == "raw" else ""),
        headers={
            "Authorization": f"Bearer {client.token()}",
            "Content-Type": content_type,
            "Content-Length": str(len(body)),
        },
        content=paced(body, pieces, pause),
        timeout=60,
    )


@pytest.mark.parametrize("kind", ["raw", "multipart"])
def test_a_body_is_hashed_while_nginx_writes_it_and_stored_as_sent_straight(
    clean: Front, kind: str
) -> None:
    data = big_image()
    body = data if kind == "raw" else form(data)

    through_nginx = send(clean.via_nginx, kind, body)
    straight = send(clean.node, kind, body, pieces=1)

    assert through_nginx.status_code == straight.status_code == 201, through_nginx.text
    assert followed(clean)[-1] is True
    first, second = clean.node.app.completions
    facts = ("size", "sha256", "mime", "width", "height", "original_filename")
    assert [first[f] for f in facts] == [second[f] for f in facts]
    assert first["sha256"] == hashlib.sha256(data).hexdigest()
    assert [p.read_bytes() for p in clean.stored()] == [data, data]
    clean.node.clear()
    clean.node.app.completions.clear()


@pytest.mark.parametrize("kind", ["raw", "multipart"])
def test_a_slowly_sent_body_is_followed_to_its_end(clean: Front, kind: str) -> None:
    data = big_image()  # nginx buffers 1 MiB before it writes: more, so it writes as it goes
    body = data if kind == "raw" else form(data)

    response = send(clean.via_nginx, kind, body, pieces=40, pause=0.03)

    assert response.status_code == 201, response.text
    assert followed(clean)[-1] is True
    [completion] = clean.node.app.completions
    assert completion["sha256"] == hashlib.sha256(data).hexdigest()
    [stored] = clean.stored()
    assert stored.read_bytes() == data
    clean.node.clear()
    clean.node.app.completions.clear()


def test_a_cut_off_form_leaves_neither_spool_file_nor_part_file(clean: Front) -> None:
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    with half_sent(clean, "POST", content_type, form(big_image())):
        # The follower has begun copying the file part out of nginx's spool file.
        wait_for(clean.node.temp_files)
        assert clean.node.temp_files(), "the follower never copied the part"
        assert clean.spool_files()
    # The client is gone: nginx drops its file, the follower its part (checked by `clean`).
    assert clean.node.app.completions == []


def test_more_uploads_at_once_than_the_follower_takes_are_all_stored(clean: Front) -> None:
    count = MAX_FILES + 2
    bodies = [big_image() for _ in range(count)]
    all_spooled = threading.Event()
    answers: list[int] = []

    def upload(body: bytes) -> None:
        def pieces() -> Iterator[bytes]:
            yield body[:1_500_000]  # more than nginx buffers: its spool file exists
            all_spooled.wait(30)
            yield body[1_500_000:]

        client = clean.via_nginx
        response = httpx.put(
            client.upload_url,
            headers={
                "Authorization": f"Bearer {client.token()}",
                "Content-Type": "image/jpeg",
                "Content-Length": str(len(body)),
            },
            content=pieces(),
            timeout=60,
        )
        answers.append(response.status_code)

    skipped_before = len(clean.log_records(NOT_FOLLOWED))

    def skipped() -> int:
        return len(clean.log_records(NOT_FOLLOWED)) - skipped_before

    threads = [threading.Thread(target=upload, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(clean.spool_files()) == count, 30)
    assert len(clean.spool_files()) == count
    # The follower has looked at every file once it said so of all it leaves alone.
    wait_for(lambda: skipped() >= count - MAX_FILES, 30)
    assert skipped() == count - MAX_FILES
    all_spooled.set()
    for thread in threads:
        thread.join()

    assert answers == [201] * count
    recent = followed(clean)[-count:]
    assert recent.count(True) == MAX_FILES
    assert sorted(c["sha256"] for c in clean.node.app.completions) == sorted(
        hashlib.sha256(body).hexdigest() for body in bodies
    )
    clean.node.clear()
    clean.node.app.completions.clear()


@pytest.mark.parametrize("case", ["other-boundary", "raw-that-looks-like-a-form"])
def test_a_body_that_is_not_what_its_headers_say_is_answered_as_by_the_node(
    clean: Front, case: str
) -> None:
    if case == "other-boundary":
        kind, body = "multipart", form(big_image(), boundary="not-the-header-one")
    else:
        kind, body = "raw", form(big_image())

    through_nginx = send(clean.via_nginx, kind, body)
    straight = send(clean.node, kind, body, pieces=1)

    assert (through_nginx.status_code, through_nginx.json()["error"]["code"]) == (
        straight.status_code,
        straight.json()["error"]["code"],
    )
    assert through_nginx.status_code in (400, 415)
