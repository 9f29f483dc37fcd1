"""Large files on the upload page go resumably (tus): they survive a network cut and a reload."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import files
from tests.browser.conftest import Stack, login
from tests.browser.test_upload_page import _set_knob, row, wait_state

pytestmark = pytest.mark.browser

MB = 1024 * 1024


@pytest.fixture(scope="module", autouse=True)
def large_uploads(stack: Stack) -> Iterator[None]:
    """Room for files of some MB, and the resumable route from 1 MB on."""
    _set_knob(stack, "max_upload_bytes", 64 * MB)
    _set_knob(stack, "resumable_upload_bytes", 1 * MB)
    yield


def motion_photo(folder: Path, name: str, size: int) -> Path:
    """A real JPEG followed by random bytes (a phone's motion photo), on disk like a user's."""
    path = folder / name
    path.write_bytes(files.photo(name).data + os.urandom(size))
    return path


def throttle(page: Any, bytes_per_second: int) -> Any:
    """The browser's uplink held to ``bytes_per_second`` (-1: unlimited)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    conditions = {"offline": False, "latency": 0, "downloadThroughput": -1}
    cdp.send(
        "Network.emulateNetworkConditions", {**conditions, "uploadThroughput": bytes_per_second}
    )
    return cdp


def stored_originals(stack: Stack) -> list[Path]:
    return sorted((stack.tmp / "pool-s01" / "original").rglob("*.*"))


def test_a_page_reloaded_mid_upload_resumes_the_same_file_above_zero(
    page: Any, stack: Stack, tmp_path: Path
) -> None:
    before = stored_originals(stack)
    photo = motion_photo(tmp_path, "reload.jpg", 12 * MB)
    login(page, "ada")
    page.goto("/upload")
    cdp = throttle(page, 2 * MB)
    page.set_input_files("#file-input", str(photo))
    uploading = row(page, "reload.jpg")
    page.wait_for_function(
        "() => { const p = document.querySelector('.file progress'); return p && p.value >= 15; }",
        timeout=30_000,
    )
    page.shots("before-reload")

    page.reload()
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    assert "choose the same file again to resume" in page.locator("#mode-label").inner_text()
    page.set_input_files("#file-input", str(photo))

    note = uploading.locator(".message", has_text=re.compile(r"Resum\w+ at \d+ %"))
    note.wait_for(timeout=30_000)
    resumed_at = int(re.search(r"Resum\w+ at (\d+) %", note.inner_text()).group(1))  # type: ignore[union-attr]
    page.shots("resuming")
    ready = wait_state(page, "reload.jpg", "ready", timeout=60_000)

    assert resumed_at > 0
    assert ready.get_attribute("data-route") == "direct"
    new = [p for p in stored_originals(stack) if p not in before]
    assert len(new) == 1
    assert (
        hashlib.sha256(new[0].read_bytes()).digest() == hashlib.sha256(photo.read_bytes()).digest()
    )
    page.shots("ready")


def test_a_cut_connection_is_resumed_without_the_user_doing_anything(
    page: Any, stack: Stack, tmp_path: Path
) -> None:
    photo = motion_photo(tmp_path, "flaky.jpg", 20 * MB)
    sessions: list[str] = []
    page.on("request", lambda r: sessions.append(r.url) if "/upload/sessions" in r.url else None)
    cut: list[str] = []

    def reset_second_chunk(route: Any) -> None:
        if (
            route.request.method == "PATCH"
            and route.request.headers.get("upload-offset") != "0"
            and not cut
        ):
            cut.append(route.request.headers["upload-offset"])
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r".*/api/internal/upload/tus/.*"), reset_second_chunk)
    login(page, "ada")
    page.goto("/upload")
    page.set_input_files("#file-input", str(photo))

    ready = wait_state(page, "flaky.jpg", "ready", timeout=60_000)

    assert cut == [str(8 * MB)]
    assert len(sessions) == 1  # the same upload went on: no new session, no other node
    assert ready.get_attribute("data-route") == "direct"


def test_small_files_still_go_in_one_request(page: Any, stack: Stack) -> None:
    tus_requests: list[str] = []
    page.on("request", lambda r: tus_requests.append(r.url) if "/upload/tus" in r.url else None)
    login(page, "ada")
    page.goto("/upload")

    files.drop(page, [files.photo("small.jpg")])

    wait_state(page, "small.jpg", "ready", timeout=60_000)
    assert tus_requests == []
