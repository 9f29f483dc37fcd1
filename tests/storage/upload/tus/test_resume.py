"""Resuming: after cuts anywhere in a large upload, and after the node was killed mid-upload."""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections.abc import Iterator

import pytest

from tests.storage import images
from tests.storage.conftest import FakeApp, Node, start_node
from tests.storage.upload.tus.conftest import Tus, tus_files
from tests.storage.upload.tus.cutting import patch_until

MB = 1024 * 1024


def motion_photo(size: int) -> bytes:
    """A real JPEG followed by random bytes up to ``size`` (a phone's motion photo)."""
    picture = images.jpeg(320, 240)
    return picture + os.urandom(size - len(picture))


def test_a_200_mb_upload_cut_at_20_random_offsets_completes_with_its_sha256(node: Node) -> None:
    data = motion_photo(200 * MB)
    tus = Tus(node, node.token(max_size=len(data)))
    url = tus.start(len(data), filename="motion.jpg")
    cuts = sorted(random.Random(15).sample(range(1, len(data)), 20))
    offset = 0

    for cut in cuts:
        if cut <= offset:
            continue
        patch_until(url, tus.token, data, offset, cut)
        resumed = tus.offset(url)
        assert offset <= resumed <= cut  # what arrived is kept, nothing beyond what was sent
        offset = resumed
    final = tus.patch(url, offset, data[offset:])

    assert final.status_code == 201, final.text
    [completion] = node.app.completions
    assert completion["sha256"] == hashlib.sha256(data).hexdigest()
    assert completion["size"] == len(data)
    assert hashlib.sha256((node.pool / completion["path"]).read_bytes()).digest() == (
        hashlib.sha256(data).digest()
    )
    assert [p.suffix for p in tus_files(node)] == [".info"]


@pytest.fixture
def killable(
    tmp_path_factory: pytest.TempPathFactory, fake_app: FakeApp, module_prefix: str
) -> Iterator[Node]:
    node = start_node(tmp_path_factory.mktemp("killable"), fake_app, module_prefix)
    node.clear()
    yield node
    node.service.stop()
    node.clear()


def test_a_node_killed_mid_upload_resumes_from_its_durable_offset(killable: Node) -> None:
    data = motion_photo(40 * MB)
    tus = Tus(killable, killable.token(max_size=len(data)))
    url = tus.start(len(data), filename="motion.jpg")
    [data_file] = [p for p in tus_files(killable) if p.suffix == ".data"]
    sent = 25 * MB
    patch_until(url, tus.token, data, 0, sent)  # the node may still be writing...

    killable.service.kill()  # ...and never gets to end the request
    on_disk = data_file.stat().st_size
    killable.service.start(f"{killable.url}/healthz")
    resumed = tus.offset(url)

    assert 0 < resumed <= sent
    assert resumed == on_disk == data_file.stat().st_size
    assert data_file.read_bytes() == data[:resumed]
    final = tus.patch(url, resumed, data[resumed:])
    assert final.status_code == 201, final.text
    assert killable.app.completions[-1]["sha256"] == hashlib.sha256(data).hexdigest()
    # The running hash did not survive the kill: the node read the prefix again.
    assert "re-hashed on resume" in killable.service.log_path.read_text()


def test_a_node_restarted_between_patches_goes_on_where_the_upload_stood(killable: Node) -> None:
    data = motion_photo(3 * MB)
    tus = Tus(killable, killable.token(max_size=len(data)))
    url = tus.start(len(data), filename="motion.jpg")
    assert tus.patch(url, 0, data[: 1 * MB]).status_code == 204

    killable.service.stop()
    time.sleep(0.2)
    killable.service.start(f"{killable.url}/healthz")

    assert tus.offset(url) == 1 * MB
    assert tus.patch(url, 1 * MB, data[1 * MB :]).status_code == 201
    assert killable.app.completions[-1]["sha256"] == hashlib.sha256(data).hexdigest()
