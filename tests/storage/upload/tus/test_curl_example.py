"""The curl example of docs/api.md's tus section runs as written against a real node."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from pixelfox_protocol.internal import TUS_PATH
from tests.storage import images
from tests.storage.conftest import Node
from tests.support import ROOT


def example() -> str:
    text = (ROOT / "docs" / "api.md").read_text()
    section = text.split("## Resumable upload (tus 1.0)", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def test_the_documented_curl_upload_over_tus_stores_the_file(node: Node, tmp_path: Path) -> None:
    photo = tmp_path / "cat.jpg"
    photo.write_bytes(images.noisy_jpeg(800, 600))
    session = {"tus_url": node.url + TUS_PATH, "token": node.token()}
    (tmp_path / "session.json").write_text(json.dumps(session))

    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", f"FILE={photo}\n{example()}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["image_uuid"] == node.app.completions[0]["image_uuid"]
    assert node.app.completions[0]["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
