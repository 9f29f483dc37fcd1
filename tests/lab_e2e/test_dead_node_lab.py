"""A dead node costs no image: two copies of every image over three lab hosts, one of them killed.

The story of an operator's bad night, in order on one lab: 300 uploads reach
two verified copies on two hosts each; s02's services are killed -9 and its
address is taken down; readers that follow the URLs the app hands out see only
200s once 15 s have passed; ``pixelfox nodes lost s02`` fills every image up to
two copies on the two hosts left.

The suite runs 300 uploads (about 200 copies on each host, 100 primaries on the
victim); ``PIXELFOX_DEAD_NODE_UPLOADS=500 pytest tests/lab_e2e/test_dead_node_lab.py``
runs the night at a larger size.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.app import images
from tests.lab_e2e.conftest import NODES, Client
from tests.lab_e2e.stack import LabStack
from tests.lab_e2e.uploader import Uploader

pytestmark = [pytest.mark.lab, pytest.mark.timeout(2400)]

UPLOADS = int(os.environ.get("PIXELFOX_DEAD_NODE_UPLOADS", "300"))
CLIENTS = 4
VICTIM = "s02"
# Within this many seconds of a node going quiet, every answer points elsewhere.
FAIL_OVER_WITHIN = 15.0


@dataclass
class Uploaded:
    uuid: str
    status_url: str
    sha256: str
    node: str
    path: str  # under /uploads/ on every host holding a copy


@dataclass
class Readers:
    """What the reader loops saw: (seconds after the kill it was asked, image, status, detail)."""

    answers: list[tuple[float, str, int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, asked: float, uuid: str, status: int, detail: str = "") -> None:
        with self.lock:
            self.answers.append((asked, uuid, status, detail))


@pytest.fixture(scope="module")
def clients(lab: Any, stack: LabStack) -> Iterator[list[Client]]:
    drivers = [Client(lab, stack.logs_dir / f"driver-{i}.log") for i in range(CLIENTS)]
    try:
        yield drivers
    finally:
        for driver in drivers:
            driver.close()


@pytest.fixture(scope="module")
def uploaders(clients: list[Client], stack: LabStack, tokens: dict[str, str]) -> list[Uploader]:
    return [Uploader(client, stack, tokens) for client in clients]


def _in_parallel(uploaders: list[Uploader], work: Any, items: list[Any]) -> list[Any]:
    """``work(uploader, item)`` for every item, one thread per client; results in order."""
    results: list[Any] = [None] * len(items)
    errors: list[BaseException] = []

    def run(index: int, uploader: Uploader) -> None:
        for i in range(index, len(items), len(uploaders)):
            try:
                results[i] = work(uploader, items[i])
            except BaseException as exc:  # reported below, on the test's thread
                errors.append(exc)
                return

    threads = [
        threading.Thread(target=run, args=(i, u), daemon=True) for i, u in enumerate(uploaders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def _verified_copies(stack: LabStack) -> dict[str, set[str]]:
    """image uuid → the nodes holding a verified copy of it (the app's database)."""
    out = stack.app_python(
        """
from pixelfox_app.models import CopyState, ImageCopy
rows = await ImageCopy.filter(state=CopyState.VERIFIED).values_list("image__uuid", "pool__node_id")
for uuid, node in rows:
    print("copy", uuid, node)
"""
    )
    held: dict[str, set[str]] = {}
    for line in out.splitlines():
        if line.startswith("copy "):
            _, uuid, node = line.split()
            held.setdefault(uuid, set()).add(node)
    return held


def _wait_for_two_copies(
    stack: LabStack, uploads: list[Uploaded], nodes: set[str], seconds: float
) -> dict[str, set[str]]:
    """Wait until every upload has verified copies on two distinct hosts among ``nodes``."""
    deadline = time.monotonic() + seconds
    while True:
        held = _verified_copies(stack)
        short = [u.uuid for u in uploads if len(held.get(u.uuid, set()) & nodes) < 2]
        if not short or time.monotonic() > deadline:
            assert not short, f"{len(short)} images without two copies on {nodes}: {short[:5]}"
            return held
        time.sleep(2)


def _read_once(uploader: Uploader, item: Uploaded, started: float, seen: Readers) -> None:
    """Fetch ``item`` as a reader would: its status (the app's URL for it), then that URL."""
    asked = time.monotonic() - started
    status = uploader.client.request("GET", item.status_url, headers=uploader.user)
    if status["status"] != 200:
        seen.add(asked, item.uuid, status["status"], "status API")
        return
    url = status["json"]["url"]
    got = uploader.client.request("GET", url, digest=True)
    if got["status"] == 200 and got.get("sha256") != item.sha256:
        seen.add(asked, item.uuid, 299, f"wrong bytes from {url}")
        return
    seen.add(asked, item.uuid, got["status"], url)


@pytest.fixture(scope="module")
def uploads(uploaders: list[Uploader], stack: LabStack) -> list[Uploaded]:
    def upload(uploader: Uploader, i: int) -> tuple[str, dict[str, Any]]:
        # Distinct bytes per image, so a copy mixed up with another shows.
        node, result, _ = uploader.upload(images.jpeg(64 + i % 50, 48 + i // 50))
        return node, result

    def ready(uploader: Uploader, landed: tuple[str, dict[str, Any]]) -> Uploaded:
        node, result = landed
        status = uploader.ready_status(result, seconds=600)
        assert status["state"] == "ready", status
        got = uploader.client.request("GET", status["url"], digest=True)
        assert got["status"] == 200, got
        path = status["url"].split("/uploads/", 1)[1]
        return Uploaded(result["image_uuid"], result["status_url"], got["sha256"], node, path)

    landed = _in_parallel(uploaders, upload, list(range(UPLOADS)))
    return _in_parallel(uploaders, ready, landed)


def test_every_upload_reaches_two_verified_copies_on_two_nodes(
    uploads: list[Uploaded], stack: LabStack
):
    held = _wait_for_two_copies(stack, uploads, set(NODES), seconds=900)
    # Exactly two: the factor is 2 with three nodes, and no copy is made twice.
    assert all(len(held[u.uuid]) == 2 for u in uploads)
    per_node = Counter(node for u in uploads for node in held[u.uuid])
    print(f"copies per node: {dict(per_node)}; primaries: {Counter(u.node for u in uploads)}")
    assert set(per_node) == set(NODES)


def test_a_killed_and_unreachable_node_costs_readers_nothing_after_15_s(
    uploads: list[Uploaded], uploaders: list[Uploader], stack: LabStack
):
    on_victim = [u for u in uploads if u.node == VICTIM]
    assert on_victim, "no primary on the victim: the test would prove nothing"
    for service in stack.nodes[VICTIM].services.values():
        service.kill()
    stack.lab.run(VICTIM, "ip link set eth0 down")
    started = time.monotonic()
    seen = Readers()
    passes_after = 0
    # Whole passes over every image until two have begun after the fail-over time.
    while passes_after < 2:
        began = time.monotonic() - started
        _in_parallel(uploaders, lambda u, item: _read_once(u, item, started, seen), uploads)
        if began > FAIL_OVER_WITHIN:
            passes_after += 1
        assert began < 20 * FAIL_OVER_WITHIN, "readers never settled"
    late = [a for a in seen.answers if a[0] > FAIL_OVER_WITHIN and a[2] != 200]
    early = Counter(a[2] for a in seen.answers if a[0] <= FAIL_OVER_WITHIN)
    print(f"answers in the first {FAIL_OVER_WITHIN:.0f} s: {dict(early)}; after: {len(late)} bad")
    assert late == [], late[:10]
    # Every image whose primary was on the victim was read from another host.
    victim_host = f"{VICTIM}.pixelfox.test"
    last = {a[1]: a[3] for a in seen.answers}
    assert all(victim_host not in last[u.uuid] for u in on_victim)


def test_old_urls_through_a_surviving_hosts_nginx_lead_to_a_live_copy(
    uploads: list[Uploaded], uploaders: list[Uploader], stack: LabStack
):
    # A URL handed out before (cached by a browser or a CDN, its host name pointed at a
    # surviving host) reaches a host that may not hold the file: its nginx asks the app,
    # which sends the reader on to a live copy, never back to the dead host.
    held = _verified_copies(stack)
    survivors = sorted(set(NODES) - {VICTIM})
    cases = [(u, host) for u in uploads if VICTIM in held[u.uuid] for host in survivors]

    def fetch(uploader: Uploader, case: tuple[Uploaded, str]) -> tuple[Uploaded, str, Any]:
        item, host = case
        url = f"http://{host}.pixelfox.test/uploads/{item.path}"
        return item, host, uploader.client.request("GET", url, digest=True, follow=True)

    redirected = 0
    for item, host, got in _in_parallel(uploaders, fetch, cases):
        assert (got["status"], got.get("sha256")) == (200, item.sha256), (host, item, got)
        assert f"{VICTIM}.pixelfox.test" not in got["url"], got
        if host in held[item.uuid]:
            assert got["history"] == [], got  # its own copy, served at once
        else:
            redirected += 1
            # Its nginx to the app, the app to the other survivor's copy.
            assert got["history"] == [302, 302], got
            other = next(h for h in survivors if h != host)
            assert got["url"].startswith(f"http://{other}.pixelfox.test/uploads/"), got
    assert redirected == len(cases) // 2


def test_declaring_the_node_lost_fills_every_image_up_to_two_copies_again(
    uploads: list[Uploaded], uploaders: list[Uploader], stack: LabStack
):
    out = stack.pixelfox("nodes", "lost", VICTIM, "--yes")
    print(out)
    survivors = set(NODES) - {VICTIM}
    held = _wait_for_two_copies(stack, uploads, survivors, seconds=1200)
    assert all(held[u.uuid] == survivors for u in uploads)
    # And every image still reads, with its own bytes, from the hosts left.
    seen = Readers()
    _in_parallel(uploaders, lambda u, item: _read_once(u, item, time.monotonic(), seen), uploads)
    assert [a for a in seen.answers if a[2] != 200] == []
