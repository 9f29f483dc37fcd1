"""When the app is away, an upload is kept, acknowledged with 202, and reported later."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pixelfox_protocol.internal import UploadCompletion
from pixelfox_storage.upload.outbox import Outbox
from tests.storage import images
from tests.storage.conftest import APP_ORIGIN, POOL_ID, FakeApp, Node, start_node


def wait_for(condition: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture(scope="module")
def node_of_an_absent_app(
    tmp_path_factory: pytest.TempPathFactory, module_prefix: str
) -> Iterator[Node]:
    app = FakeApp()  # not started: nothing listens on its port yet
    node = start_node(tmp_path_factory.mktemp("away"), app, module_prefix)
    yield node
    app.stop()
    assert node.service.stop() == 0, node.service.log()


@pytest.fixture
def away(node_of_an_absent_app: Node) -> Iterator[Node]:
    """A node whose app is not running (each test starts it when it wants to)."""
    node = node_of_an_absent_app
    node.app.stop()
    node.clear()
    yield node
    node.app.stop()
    node.clear()


def outbox_entries(node: Node) -> list[Path]:
    return sorted((node.state / "outbox").glob("*.json"))


def _attempts(node: Node) -> int:
    """Delivery attempts of the one pending record (0 when there is none)."""
    entries = outbox_entries(node)
    return json.loads(entries[0].read_text())["attempts"] if len(entries) == 1 else 0


def test_an_upload_while_the_app_is_down_is_kept_and_answered_202(away: Node) -> None:
    data = images.jpeg()
    claims = away.claims()

    response = away.post(away.sign(claims), data)

    assert response.status_code == 202, response.text
    assert response.json() == {
        "image_uuid": claims.image_uuid,
        "status_url": f"{APP_ORIGIN}/api/v1/image/status/{claims.image_uuid}",
    }
    [stored] = away.files()
    assert stored.read_bytes() == data
    [entry] = outbox_entries(away)
    queued = json.loads(entry.read_text())
    assert queued["completion"]["image_uuid"] == claims.image_uuid
    assert queued["completion"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert queued["request_id"] == claims.request_id


def test_the_outbox_drains_once_the_app_is_back(away: Node) -> None:
    claims = away.claims()
    assert away.post(away.sign(claims), images.png(), "a.png").status_code == 202
    assert len(outbox_entries(away)) == 1

    away.app.start()
    wait_for(lambda: not outbox_entries(away))

    [completion] = away.app.completions
    assert completion["image_uuid"] == claims.image_uuid
    assert completion["mime"] == "image/png"
    assert away.app.headers[0]["X-Request-ID"] == claims.request_id
    assert len(away.files()) == 1  # the file stays where the record says it is


def test_an_app_error_keeps_the_upload_in_the_outbox(away: Node) -> None:
    away.app.status = 503
    away.app.error_code = "UNAVAILABLE"
    away.app.start()

    response = away.post(away.token(), images.jpeg())

    assert response.status_code == 202, response.text
    assert len(outbox_entries(away)) == 1
    away.app.status = 201
    wait_for(lambda: not outbox_entries(away))
    assert len(away.app.completions) >= 2


def test_a_proxys_refusal_without_the_apps_error_is_retried_until_the_app_answers(
    away: Node,
) -> None:
    away.app.status = 404
    away.app.error_code = ""  # an HTML page from something in front of the app
    away.app.start()

    response = away.post(away.token(), images.jpeg())

    # Not the app's word: the upload is kept, not refused and deleted.
    assert response.status_code == 202, response.text
    wait_for(lambda: _attempts(away) >= 2)  # tried again by the outbox
    assert len(away.app.completions) >= 2
    away.app.status = 201
    wait_for(lambda: not outbox_entries(away))
    assert len(away.files()) == 1
    assert not list((away.state / "outbox" / "quarantine").glob("*"))


def test_a_completion_the_app_refuses_is_quarantined_not_retried(away: Node) -> None:
    claims = away.claims()
    assert away.post(away.sign(claims), images.jpeg()).status_code == 202
    away.app.status = 403
    away.app.error_code = "POOL_NOT_ON_NODE"
    away.app.start()

    wait_for(lambda: not outbox_entries(away))

    [quarantined] = (away.state / "outbox" / "quarantine").glob("*.json")
    assert json.loads(quarantined.read_text())["last_error"] == "POOL_NOT_ON_NODE"
    assert not list((away.pool / "original").rglob("*.jpg"))
    assert (away.pool / ".quarantine" / f"{claims.image_uuid}.jpg").is_file()
    # The outbox goes on working (another upload is tried again and again) and
    # never sends the quarantined one a second time.
    away.app.status = 503
    away.app.error_code = "UNAVAILABLE"
    assert away.post(away.token(), images.png(), "b.png").status_code == 202
    wait_for(lambda: _attempts(away) >= 2)
    sent = [c["image_uuid"] for c in away.app.completions]
    assert sent.count(claims.image_uuid) == 1


def test_the_outbox_survives_a_restart_of_the_node(away: Node) -> None:
    assert away.post(away.token(), images.jpeg()).status_code == 202
    assert away.service.stop() == 0

    away.app.start()
    away.service.start(f"{away.url}/healthz")
    wait_for(lambda: not outbox_entries(away))

    assert len(away.app.completions) == 1


def test_a_record_whose_file_was_never_committed_is_dropped_not_reported(away: Node) -> None:
    # What a node leaves when it dies between its write-ahead record and the link.
    assert away.service.stop() == 0
    claims_uuid = "5d0c3c39-1f5e-4b39-9d59-2f5e3f1f0c11"
    Outbox(away.state / "outbox").put(
        UploadCompletion(
            session_id="s",
            image_uuid=claims_uuid,
            pool_id=POOL_ID,
            path=f"original/2026/01/01/{claims_uuid}.jpg",
            size=1,
            sha256="0" * 64,
            mime="image/jpeg",
            width=1,
            height=1,
        ),
        "rid-of-the-upload",
        delay=-1,
    )
    away.app.start()
    away.service.start(f"{away.url}/healthz")

    wait_for(lambda: not outbox_entries(away))
    assert away.app.completions == []


def test_an_accepted_upload_leaves_no_outbox_record(away: Node) -> None:
    away.app.start()
    assert away.post(away.token(), images.jpeg()).status_code == 201
    assert outbox_entries(away) == []
