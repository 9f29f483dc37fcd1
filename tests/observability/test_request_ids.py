"""Request ids and JSON logs: one id per request, adopted from callers, followed across hosts."""

from __future__ import annotations

import io
import uuid

import httpx
from PIL import Image

from tests.observability.conftest import Live


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_each_request_logs_one_access_line_with_route_status_and_duration(live: Live) -> None:
    rid = f"access-{uuid.uuid4().hex[:12]}"
    image_uuid = uuid.uuid4()
    answer = httpx.get(
        f"{live.app_url}/api/v1/image/status/{image_uuid}", headers={"X-Request-ID": rid}
    )

    lines = live.wait_for_log(
        live.app, lambda e: e.get("request_id") == rid and e.get("logger") == "pixelfox.access"
    )
    assert len(lines) == 1
    line = lines[0]
    assert line["event"] == "request"
    assert line["method"] == "GET"
    assert line["route"] == "/api/v1/image/status/<image_uuid>"
    assert line["path"] == f"/api/v1/image/status/{image_uuid}"
    assert line["status"] == answer.status_code
    assert isinstance(line["duration_ms"], float | int)
    assert line["service"] == "app"
    assert line["level"] == "info"
    assert "timestamp" in line


def test_an_incoming_request_id_is_adopted_and_echoed(live: Live) -> None:
    rid = f"caller-{uuid.uuid4().hex[:12]}"
    answer = httpx.get(f"{live.node_url}/healthz", headers={"X-Request-ID": rid})

    assert answer.headers["X-Request-ID"] == rid
    lines = live.wait_for_log(live.node, lambda e: e.get("request_id") == rid)
    assert lines and all(line["node_id"] == "s01" for line in lines)


def test_a_malformed_request_id_is_replaced_not_logged(live: Live) -> None:
    answer = httpx.get(f"{live.app_url}/healthz", headers={"X-Request-ID": 'x y"{}'})

    replaced = answer.headers["X-Request-ID"]
    assert replaced != 'x y"{}' and len(replaced) == 32
    assert live.wait_for_log(live.app, lambda e: e.get("request_id") == replaced)


def test_one_upload_is_followed_by_its_id_through_app_node_and_worker_logs(live: Live) -> None:
    rid = f"upload-{uuid.uuid4().hex[:12]}"
    image = _jpeg()
    grant = httpx.post(
        f"{live.app_url}/api/v1/upload/sessions",
        headers={"Authorization": f"Bearer {live.seeded.user_token}", "X-Request-ID": rid},
        json={"file_size": len(image), "filename": "fox.jpg", "content_type": "image/jpeg"},
    )
    assert grant.status_code == 201, grant.text
    session = grant.json()

    # The browser sends no request id: the node takes it from the token.
    stored = httpx.post(
        session["upload_url"],
        headers={"Authorization": f"Bearer {session['token']}"},
        files={"file": ("fox.jpg", image, "image/jpeg")},
        timeout=30.0,
    )
    assert stored.status_code in (201, 202), stored.text
    assert stored.headers["X-Request-ID"] == rid

    def access(route: str):  # type: ignore[no-untyped-def]
        return lambda e: e.get("request_id") == rid and e.get("route") == route

    app_session = live.wait_for_log(live.app, access("/api/v1/upload/sessions"))
    node_upload = live.wait_for_log(live.node, access("/api/internal/upload"))
    node_stored = live.wait_for_log(
        live.node, lambda e: e.get("request_id") == rid and e.get("event") == "upload stored"
    )
    assert [line["status"] for line in app_session] == [201]
    assert isinstance(app_session[0]["user_id"], int)  # bound once the user was known
    assert [line["status"] for line in node_upload] == [stored.status_code]
    # A stdlib logger's line (with extra fields) comes out structured, with the id.
    assert node_stored[0]["image_uuid"] == session["image_uuid"]
    assert node_stored[0]["bytes"] == len(image)
    assert stored.status_code == 201, "the app took the completion, so processing is queued"
    # The node reported the upload to the app under the same id …
    completion = live.wait_for_log(live.app, access("/api/internal/v1/uploads/complete"))
    assert [line["status"] for line in completion] == [200]
    assert completion[0]["node_id"] == "s01"  # the calling node, bound by its credential
    # … the worker processed it under the same id and reported the variants under it too.
    worker_lines = live.wait_for_log(
        live.worker,
        lambda e: e.get("request_id") == rid and e.get("event") == "variants ready",
        timeout=30.0,
    )
    assert worker_lines and worker_lines[0]["node_id"] == "s01"
    job_id = f"{live.redis_prefix}:node:s01:process:{session['image_uuid']}"
    assert worker_lines[0]["job_id"] == job_id
    variants = live.wait_for_log(
        live.app,
        lambda e: e.get("request_id") == rid and str(e.get("route", "")).endswith("/variants"),
    )
    assert [line["status"] for line in variants] == [200]
