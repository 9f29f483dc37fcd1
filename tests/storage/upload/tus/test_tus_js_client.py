"""A real tus client drives the node: tus-js-client under Node, the client inside Uppy's tus plugin.

``node/`` holds its package.json and lock; ``scripts/install --dev`` installs it
(``node/node_modules``, not in git), and ``node/drive.mjs`` runs one upload.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pixelfox_protocol.internal import TUS_PATH
from tests.storage import images
from tests.storage.conftest import Node
from tests.storage.upload.tus.conftest import tus_files
from tests.storage.upload.tus.cutting import CuttingProxy

CLIENT = Path(__file__).parent / "node"


@pytest.fixture(scope="module")
def node_js() -> str:
    found = shutil.which("node")
    assert found, "Node.js is missing: scripts/install --dev installs it"
    assert (CLIENT / "node_modules" / "tus-js-client").is_dir(), (
        "tus-js-client is missing: scripts/install --dev installs it"
    )
    return found


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    path.write_bytes(images.noisy_jpeg(1600, 1200))
    return path


def drive(node_js: str, node: Node, token: str, file: Path, **job: Any) -> list[dict[str, Any]]:
    """One run of the client; its events."""
    spec = {
        "endpoint": node.url + TUS_PATH,
        "token": token,
        "file": str(file),
        "filename": file.name,
        "filetype": "image/jpeg",
        "store": str(file.with_suffix(".urls.json")),
        **job,
    }
    done = subprocess.run(
        [node_js, str(CLIENT / "drive.mjs"), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert events, done.stderr
    return events


def last(events: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [e for e in events if e["event"] == name]
    assert found, events
    return found[-1]


def test_tus_js_client_sends_a_photo_in_chunks_and_gets_the_single_uploads_answer(
    node_js: str, node: Node, photo: Path
) -> None:
    events = drive(node_js, node, node.token(), photo, chunkSize=256 * 1024)

    success = last(events, "success")
    assert success["status"] == 201
    assert set(success["body"]) == {"image_uuid", "view_url", "status_url"}
    [completion] = node.app.completions
    assert completion["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
    assert completion["original_filename"] == "photo.jpg"


def test_tus_js_client_resumes_a_stopped_upload_where_the_node_stands(
    node_js: str, node: Node, photo: Path
) -> None:
    token = node.token()
    size = photo.stat().st_size
    first = drive(node_js, node, token, photo, chunkSize=128 * 1024, stopAt=size // 2)
    assert last(first, "stopped")
    assert node.app.completions == []

    second = drive(node_js, node, token, photo, chunkSize=128 * 1024)

    assert last(second, "resuming")["url"].endswith(tus_url_id(node))
    assert last(second, "started")["offset"] >= size // 2 - 128 * 1024
    assert last(second, "success")["status"] == 201
    assert node.app.completions[0]["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()


def tus_url_id(node: Node) -> str:
    [record] = [p for p in tus_files(node) if p.suffix == ".info"]
    return record.stem


def test_tus_js_client_gets_over_a_network_cut_by_itself(
    node_js: str, node: Node, photo: Path
) -> None:
    proxy = CuttingProxy(node.url, cut_at=photo.stat().st_size // 2)
    try:
        via_proxy = Node(**{**node.__dict__, "url": proxy.url})
        events = drive(node_js, via_proxy, node.token(), photo)
    finally:
        proxy.close()

    assert proxy.cuts == 1
    assert last(events, "success")["status"] == 201
    assert node.app.completions[0]["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()


def test_tus_js_client_hears_a_refused_files_code(node_js: str, node: Node, tmp_path: Path) -> None:
    svg = tmp_path / "logo.jpg"
    svg.write_bytes(images.SVG * 100)

    events = drive(node_js, node, node.token(), svg)

    error = last(events, "error")
    assert error["status"] == 415
    assert json.loads(error["body"])["error"]["code"] == "UNSUPPORTED_TYPE"
    assert node.files() == []
