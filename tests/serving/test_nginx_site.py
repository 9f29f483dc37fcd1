"""The nginx role's storage site beyond downloads: the node API, upload limits, the docs copy."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from pixelfox_app.knobs import KNOBS
from pixelfox_common.ingest import MULTIPART_OVERHEAD
from pixelfox_lab import roles, sites
from pixelfox_protocol.errors import APIError
from tests.serving.conftest import CURRENT_SECRET, PREVIOUS_SECRET
from tests.serving.nginx import LENGTH_REQUIRED, NGINX, NginxSite, too_large

LENGTH_REQUIRED_BODY = json.dumps(LENGTH_REQUIRED.to_dict(), separators=(",", ":")).encode()


def test_the_docs_copy_is_the_role_template_rendered() -> None:
    assert sites.DOCS_COPY.read_text() == sites.docs_copy(), (
        f"{sites.DOCS_COPY.name} is generated from the nginx role's template; "
        f"regenerate it with: {sites.RENDER_DOCS_COMMAND}"
    )


def test_the_upload_limit_defaults_to_the_apps_and_leaves_the_nodes_form_room() -> None:
    nginx = roles.variables("nginx", {})

    assert nginx["nginx_storage_max_upload_bytes"] == KNOBS["max_upload_bytes"].default
    assert nginx["nginx_storage_multipart_overhead"] == MULTIPART_OVERHEAD


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


def _nginx_refusal(response: httpx.Response, expected: APIError) -> None:
    """An answer of nginx itself (no request id of the node) in the node's error shape."""
    assert response.status_code == expected.status
    assert "x-request-id" not in response.headers
    assert response.headers["content-type"] == "application/json"
    assert response.json() == expected.to_dict()


def test_an_upload_longer_than_the_operators_limit_is_refused_by_nginx(nginx: NginxSite) -> None:
    limit = nginx.max_upload_bytes
    response = httpx.post(
        f"{nginx.url}/api/internal/upload",
        content=b"x" * (limit + MULTIPART_OVERHEAD + 1),
        headers={"Content-Type": "application/octet-stream", "Origin": "http://app.example"},
    )

    _nginx_refusal(response, too_large(limit))
    # The upload page may read the code.
    assert response.headers["access-control-allow-origin"] == "*"


def test_an_upload_without_content_length_is_refused_before_its_body(nginx: NginxSite) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b"x" * 1000

    response = httpx.put(f"{nginx.url}/api/internal/upload", content=chunks())

    assert response.request.headers["transfer-encoding"] == "chunked"
    _nginx_refusal(response, LENGTH_REQUIRED)


def test_an_upload_without_any_body_is_refused_by_nginx(nginx: NginxSite) -> None:
    # HTTP/1.1 allows a POST with neither Content-Length nor a body.
    with socket.create_connection(("127.0.0.1", nginx.port)) as sock:
        sock.sendall(b"POST /api/internal/upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b"".join(iter(lambda: sock.recv(65536), b""))

    assert answer.startswith(b"HTTP/1.1 411 "), answer[:200]
    assert answer.endswith(LENGTH_REQUIRED_BODY)


def test_the_other_node_api_keeps_the_larger_backstop(nginx: NginxSite) -> None:
    # Replication pushes files a pool already holds: not bound by today's upload limit.
    response = httpx.put(
        f"{nginx.url}/api/internal/replicate",
        content=b"x" * (nginx.max_upload_bytes + MULTIPART_OVERHEAD + 1),
    )

    assert response.status_code != 413
    assert response.headers.get("x-request-id")


def test_a_refusal_before_the_body_is_read_reaches_the_client_through_nginx(
    nginx: NginxSite,
) -> None:
    # The node refuses these before reading a byte (the query does not validate).
    # Were it to close with the body still arriving, the reset would cost the
    # answer: nginx then says 502, or cuts the node's answer short.
    answers = [
        httpx.put(f"{nginx.url}/api/internal/replicate", content=b"x" * 2_000_000)
        for _ in range(30)
    ]

    assert {a.status_code for a in answers} == {422}
    assert {a.json()["error"]["code"] for a in answers} == {"VALIDATION_ERROR"}
    assert all(a.headers.get("x-request-id") for a in answers)


def test_anything_but_uploads_and_the_node_api_is_404(nginx: NginxSite) -> None:
    for path in ("/", "/index.html", "/uploads/", "/api/v1/upload/sessions"):
        assert httpx.get(f"{nginx.url}{path}").status_code == 404


def test_downloads_are_read_only(nginx: NginxSite, files) -> None:  # type: ignore[no-untyped-def]
    assert httpx.request("DELETE", f"{nginx.url}/uploads/{files.public}").status_code == 403
    assert (files.pool / files.public).is_file()
