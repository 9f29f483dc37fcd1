"""A running appliance, as an operator and a user find it after ``pixelfox up``."""

from __future__ import annotations

import io
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from PIL import Image

from pixelfox_protocol import links
from pixelfox_protocol.internal import UPLOAD_PATH
from tests.support import PIXELFOX, ROOT, free_port

from .appliance import Up, admin_credentials, pid_alive


def test_app_and_node_answer_health_and_all_four_processes_run(running: Up):
    assert httpx.get(f"{running.app_url}/healthz").status_code == 200
    node = httpx.get(f"{running.node_url}/healthz")
    assert node.status_code == 200
    assert node.json()["node_id"] == "local"
    assert f"open     {running.app_url}/" in running.output
    children = running.children()
    assert set(children) == {"app", "control-worker", "node", "node-worker"}
    assert all(pid_alive(pid) for pid in children.values())


def test_the_node_processes_never_see_the_apps_secrets(running: Up):
    environments = {name: _environ(pid) for name, pid in running.children().items()}

    app_only = ("PIXELFOX_SECRET_KEY", "PIXELFOX_TOKEN_SIGNING_KEY", "PIXELFOX_DATABASE_URL")
    for name in ("node", "node-worker"):
        assert environments[name]["PIXELFOX_NODE_ID"] == "local"
        assert environments[name]["PIXELFOX_TOKEN_PUBLIC_KEYS"]
        assert [s for s in app_only if s in environments[name]] == [], name
    assert environments["app"]["PIXELFOX_TOKEN_SIGNING_KEY"]
    assert "PIXELFOX_NODE_CREDENTIAL" not in environments["app"]


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_a_second_up_on_the_same_data_dir_is_refused_in_one_line(running: Up):
    done = subprocess.run(
        [*PIXELFOX, "up", "--data-dir", str(running.data_dir), "--app-port", str(free_port()),
         "--node-port", str(free_port()), "--no-install"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert done.returncode != 0
    assert [line for line in done.stderr.splitlines() if line.strip()] == [
        f"Error: another 'pixelfox up' is already running with data dir {running.data_dir}"
    ]
    assert httpx.get(f"{running.app_url}/healthz").status_code == 200


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 90, 20)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _upload(running: Up, data: bytes, **session: str) -> dict[str, object]:
    """Log in as the printed admin, upload ``data`` to the node, wait: the image's status."""
    with httpx.Client(base_url=running.app_url, timeout=30) as app:
        login = app.post("/api/v1/auth/login", json=admin_credentials(running.data_dir))
        assert login.status_code == 200, login.text
        csrf = app.get("/api/v1/csrf").json()
        app.headers[csrf["header"]] = csrf["csrf_token"]

        answer = app.post(
            "/api/v1/upload/sessions",
            json={"file_size": len(data), "filename": "fox.jpg", "content_type": "image/jpeg",
                  **session},
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
        token = answer.json()
        assert token["upload_url"] == running.node_url + UPLOAD_PATH
        uploaded = httpx.post(
            token["upload_url"],
            headers={"Authorization": f"Bearer {token['token']}", "Origin": running.app_url},
            files={"file": ("fox.jpg", data, "image/jpeg")},
            timeout=30,
        )
        assert uploaded.status_code == 201, uploaded.text
        assert uploaded.headers.get("access-control-allow-origin") == running.app_url

        status: dict[str, object] = {}
        deadline = time.monotonic() + 90  # the node worker shares a busy machine
        while time.monotonic() < deadline:
            status = app.get(uploaded.json()["status_url"]).json()
            if status["state"] != "processing":
                break
            time.sleep(0.25)
    assert status["state"] == "ready", status
    return status


def test_the_printed_admin_uploads_an_image_that_the_node_stores_processes_and_serves(
    running: Up,
):
    data = jpeg(640, 480)
    status = _upload(running, data)

    assert str(status["url"]).startswith(f"{running.node_url}/uploads/original/")
    original = httpx.get(str(status["url"]), timeout=30)
    assert original.status_code == 200
    assert original.content == data
    variants = status["variants"]
    assert isinstance(variants, list) and variants
    for variant in variants:
        assert httpx.get(variant["url"], timeout=30).status_code == 200
    assert list((running.data_dir / "pool-local" / "original").rglob("*.jpg"))


def test_the_node_checks_private_links_with_its_own_secret_not_the_apps_master(running: Up):
    environments = {name: _environ(pid) for name, pid in running.children().items()}
    master = environments["app"]["PIXELFOX_LINK_SECRET"]
    for name in ("node", "node-worker"):
        assert environments[name]["PIXELFOX_LINK_SECRET"] == links.node_secret(master, "local")
    data = jpeg(320, 240)

    status = _upload(running, data, visibility="private")

    url = urlsplit(str(status["url"]))
    assert url.path.startswith("/uploads/private/original/"), url
    assert httpx.get(url.geturl(), timeout=30).content == data
    # Signed with the master itself (what the node would need to know): refused.
    forged = links.sign(url.path, master, int(time.time()) + 600)
    answer = httpx.get(f"{running.node_url}{url.path}?{forged}", timeout=30)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "LINK_INVALID"
