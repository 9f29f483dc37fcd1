"""The shipped nginx site (docs/nginx/pixelfox-storage.conf) beyond downloads: the node API."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import CURRENT_SECRET, PREVIOUS_SECRET
from tests.serving.nginx import NGINX, TEMPLATE, NginxSite


def test_every_placeholder_of_the_template_is_explained_in_its_header() -> None:
    lines = TEMPLATE.read_text().splitlines()
    used = {
        p for ln in lines if not ln.lstrip().startswith("#") for p in re.findall(r"@[A-Z_]+@", ln)
    }
    explained = {p for ln in lines if ln.startswith("#") for p in re.findall(r"@[A-Z_]+@", ln)}

    assert used
    assert used <= explained


@pytest.mark.parametrize("previous", [PREVIOUS_SECRET, ""], ids=["two-keys", "one-key"])
def test_the_template_filled_in_passes_nginx_t(tmp_path: Path, previous: str) -> None:
    # The pool exists before nginx starts: nginx makes the upload spool in it.
    (tmp_path / "pool").mkdir()
    site = NginxSite(tmp_path, tmp_path / "pool", CURRENT_SECRET, previous)
    conf = site.write()

    check = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )

    assert check.returncode == 0, check.stderr


def test_the_node_api_is_passed_to_the_storage_service(nginx: NginxSite) -> None:
    health = httpx.get(f"{nginx.url}/healthz")
    probe = httpx.head(f"{nginx.url}/api/internal/upload")

    assert health.status_code == 200
    assert health.json()["node_id"] == "s01"
    assert probe.status_code == 204
    # Set by the storage service, so the answer came from it and not from nginx.
    assert probe.headers.get("x-request-id")


def test_an_upload_body_over_the_backstop_is_refused_by_nginx(nginx: NginxSite) -> None:
    response = httpx.post(
        f"{nginx.url}/api/internal/upload",
        content=b"x" * (1024 * 1024 + 1),  # the test site's backstop is 1m
        headers={"Content-Type": "application/octet-stream"},
    )

    assert response.status_code == 413
    assert "x-request-id" not in response.headers


def test_anything_but_uploads_and_the_node_api_is_404(nginx: NginxSite) -> None:
    for path in ("/", "/index.html", "/uploads/", "/api/v1/upload/sessions"):
        assert httpx.get(f"{nginx.url}{path}").status_code == 404


def test_downloads_are_read_only(nginx: NginxSite, files) -> None:  # type: ignore[no-untyped-def]
    assert httpx.request("DELETE", f"{nginx.url}/uploads/{files.public}").status_code == 403
    assert (files.pool / files.public).is_file()
