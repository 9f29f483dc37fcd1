"""docs/api.md's "Upload with curl, step by step" works as written, end to end.

Its shell blocks run in order with bash, real curl and jq against ``pixelfox
up`` (control app, storage node and node worker on loopback): the session,
the upload to the node, the polling until the variants are made, the download
of the served file. Only what the reader is told to set changes (``APP``,
``FILE``, ``USERNAME``); the API token and the password go in on stdin, as the
reader types them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pixelfox_protocol.internal import UPLOAD_PATH
from tests.app import images
from tests.support import ROOT, run_doc_script
from tests.up.appliance import Up, admin_credentials, running_appliance

from .test_shell_blocks import shell_blocks

pytestmark = pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq")), reason="curl and jq"
)

DOC = ROOT / "docs" / "api.md"
MARKER = "tests/docs/test_curl_walkthrough.py runs the blocks of this section"
# The section's blocks, in order.
SETTINGS, TOKEN, SESSION, UPLOAD, POLL, FETCH, COOKIE_SESSION = range(7)


def section_blocks() -> list[str]:
    text = DOC.read_text()
    start = text.index(MARKER)
    end = text.find("\n## ", start)
    return [body for _language, body in shell_blocks(text[start:end])]


def _script(blocks: list[str], order: list[int], **settings: str) -> str:
    script = "\n".join(blocks[i] for i in order)
    for name, value in settings.items():
        script, count = re.subn(rf"^{name}=.*$", f"{name}={value}", script, flags=re.M)
        assert count == 1, f"the walk-through sets {name} once"
    return script


def _run(script: str, cwd: Path, stdin: str) -> subprocess.CompletedProcess[str]:
    # The node worker makes the variants on a busy machine.
    return run_doc_script(script, cwd, stdin, timeout=180)


@pytest.fixture(scope="module")
def appliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    with running_appliance(tmp_path_factory.mktemp("appliance") / "var") as up:
        yield up


def _api_token(appliance: Up) -> str:
    """What the reader copies from /account: a personal API token of the admin."""
    with httpx.Client(base_url=appliance.app_url, timeout=30) as app:
        login = app.post("/api/v1/auth/login", json=admin_credentials(appliance.data_dir))
        assert login.status_code == 200, login.text
        csrf = app.get("/api/v1/csrf").json()
        answer = app.post(
            "/api/v1/auth/tokens",
            json={"name": "curl walk-through"},
            headers={csrf["header"]: csrf["csrf_token"]},
        )
        assert answer.status_code == 201, answer.text
        token: str = answer.json()["token"]
        return token


def test_the_section_has_the_five_steps_and_the_cookie_variant() -> None:
    blocks = section_blocks()
    assert len(blocks) == 7
    assert "Authorization: Bearer $TOKEN" in blocks[SESSION]
    assert "X-CSRF-Token: $CSRF" in blocks[COOKIE_SESSION]


def test_the_token_walk_through_uploads_and_serves_the_file(appliance: Up, tmp_path: Path):
    (tmp_path / "cat.jpg").write_bytes(images.jpeg(320, 240))
    script = _script(
        section_blocks(),
        [SETTINGS, TOKEN, SESSION, UPLOAD, POLL, FETCH],
        APP=appliance.app_url,
        FILE="cat.jpg",
    )

    done = _run(script, tmp_path, _api_token(appliance) + "\n")

    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    # Step 2 prints where the file goes: the storage node, not the app.
    assert f"\n{appliance.node_url}{UPLOAD_PATH}\n" in done.stdout
    assert done.stdout.rstrip().endswith("ready\nserved as uploaded")
    assert (tmp_path / "served-cat.jpg").read_bytes() == (tmp_path / "cat.jpg").read_bytes()


def test_the_cookie_variant_uploads_and_serves_the_file(appliance: Up, tmp_path: Path):
    (tmp_path / "fox.jpg").write_bytes(images.jpeg(200, 300))
    admin = admin_credentials(appliance.data_dir)
    script = _script(
        section_blocks(),
        [SETTINGS, COOKIE_SESSION, UPLOAD, POLL, FETCH],
        APP=appliance.app_url,
        FILE="fox.jpg",
        USERNAME=admin["username"],
    )

    done = _run(script, tmp_path, admin["password"] + "\n")

    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert done.stdout.rstrip().endswith("ready\nserved as uploaded")
    assert (tmp_path / "served-fox.jpg").read_bytes() == (tmp_path / "fox.jpg").read_bytes()
