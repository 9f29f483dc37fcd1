"""The curl example of docs/api.md works as written, with real curl against a live app."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path

import pytest

from pixelfox_app.models import Image
from tests.app import images
from tests.app.conftest import PASSWORD, AppServer
from tests.support import ROOT, run_doc_script

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="curl and jq"),
]

DOC = ROOT / "docs" / "api.md"


def _doc_script() -> str:
    text = DOC.read_text()
    marker = text.index("tests/app/test_auth_curl.py runs this block")
    return re.search(r"```sh\n(.*?)```", text[marker:], re.S).group(1)  # type: ignore[union-attr]


async def test_the_docs_curl_upload_works_as_written(app_server: AppServer, tmp_path: Path):
    pool_dir = tmp_path / "pool"
    pool_dir.mkdir()
    # Proxy mode: the upload URL is the app itself, so no storage node is needed.
    await app_server.pool("local", "local", base_path=str(pool_dir), public_base_url="")
    await app_server.knob("direct_upload", False)
    await app_server.user("ada")
    (tmp_path / "cat.jpg").write_bytes(images.jpeg(64, 48))
    # Only the three settings at the top are the reader's to change.
    script = _doc_script()
    for name, value in {"APP": app_server.url, "USERNAME": "ada", "FILE": "cat.jpg"}.items():
        script, count = re.subn(rf"^{name}=.*$", f"{name}={value}", script, flags=re.M)
        assert count == 1, f"the example sets {name} once"

    done = run_doc_script(script, tmp_path, PASSWORD + "\n")

    assert done.returncode == 0, done.stderr
    last = json.loads(done.stdout.strip().splitlines()[-1])
    image = await Image.get(uuid=uuid.UUID(last["image_uuid"]))
    assert image.original_filename == "cat.jpg"
    assert (pool_dir / image.path).read_bytes() == (tmp_path / "cat.jpg").read_bytes()


async def test_the_seeds_curl_without_the_csrf_header_is_told_what_to_send(
    app_server: AppServer, tmp_path: Path
):
    await app_server.user("ada")
    login = json.dumps({"username": "ada", "password": PASSWORD})
    script = f"""
curl -sf -c jar.txt -H "Content-Type: application/json" -d '{login}' \
  "{app_server.url}/api/v1/auth/login" >/dev/null
curl -s -b jar.txt -H "Content-Type: application/json" -d '{{"file_size": 1234567}}' \\
  "{app_server.url}/api/v1/upload/sessions"
"""
    done = run_doc_script(script, tmp_path, "")
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "CSRF_FAILED"
    assert "X-CSRF-Token" in error["message"] and "GET /api/v1/csrf" in error["message"]
    assert "reload the page" not in error["message"]
