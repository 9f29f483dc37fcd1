"""The admin's scrub page: each pool's last scrub as its node kept it, counts per fault."""

from __future__ import annotations

import json
import re

from pixelfox_storage.scrub.check import Fault
from pixelfox_storage.scrub.run import ScrubReport
from tests.web.conftest import Web, text_of


async def _keep(web: Web, node_id: str, pool_id: int, **state: object) -> None:
    """Write a node's scrub state where the node writes it."""
    redis, keys = web.app.extensions["redis"], web.app.extensions["keys"]
    await redis.set(keys.node_scrub(node_id, pool_id), json.dumps(state))


def _report(node_id: str, pool_id: int) -> ScrubReport:
    report = ScrubReport(node_id, pool_id, hashes=True, repair=True, dry_run=False)
    report.images = 42
    for _ in range(2):
        report.add(Fault("orphan", "original/2026/12/01/x.jpg"), "repaired", "quarantined")
    report.add(Fault("wrong-sha256", "variants/2026/12/01/y_thumb200.jpg"), "unrepaired", "no")
    report.finished_at = report.started_at
    return report


async def test_the_scrub_page_shows_each_pools_counts_per_fault(web: Web) -> None:
    await web.admin()
    scrubbed = await web.pool("hot-1", node_id="s01")
    never = await web.pool("hot-2", node_id="s02")
    await _keep(web, "s01", scrubbed.id, report=_report("s01", scrubbed.id).to_json())

    status, html = await web.get("/admin/scrub")

    assert status == 200
    row = re.search(rf'<tr id="scrub-pool-{scrubbed.id}".*?</tr>', html, re.S)
    assert row is not None
    cells = dict(re.findall(r'data-fault="([a-z0-9-]+)">(.*?)</td>', row.group(0), re.S))
    counts = {kind: text_of(cell) for kind, cell in cells.items()}
    assert counts == {
        "missing": "0",
        "wrong-size": "0",
        "wrong-sha256": "1",
        "missing-variant": "0",
        "orphan": "2",
        "stray-incoming": "0",
    }
    assert "2 / 1" in text_of(row.group(0))  # repaired / left
    assert "42" in text_of(row.group(0)) and "hashes · repair" in text_of(row.group(0))
    assert "unrepaired · wrong-sha256 · variants/2026/12/01/y_thumb200.jpg" in text_of(html)
    never_row = re.search(rf'<tr id="scrub-pool-{never.id}".*?</tr>', html, re.S)
    assert never_row is not None and "never" in text_of(never_row.group(0))


async def test_the_scrub_fragment_polls_only_while_a_pass_is_under_way(web: Web) -> None:
    await web.admin()
    pool = await web.pool("hot-1", node_id="s01")
    await _keep(web, "s01", pool.id, report=_report("s01", pool.id).to_json())

    status, idle = await web.get("/admin/scrub", htmx=True)
    assert status == 200 and "hx-trigger" not in idle and "<html" not in idle

    running = ScrubReport("s01", pool.id, True, False, False, scheduled=True)
    running.images = 7
    await _keep(web, "s01", pool.id, current=running.to_json(), cursor=7)
    _, polling = await web.get("/admin/scrub", htmx=True)
    assert 'hx-trigger="every 10s' in polling
    assert "pass under way: 7 images so far" in text_of(polling)


async def test_a_damaged_scrub_record_shows_as_never_scrubbed(web: Web) -> None:
    await web.admin()
    pool = await web.pool("hot-1", node_id="s01")
    redis, keys = web.app.extensions["redis"], web.app.extensions["keys"]
    await redis.set(keys.node_scrub("s01", pool.id), b"\x80not json")

    status, html = await web.get("/admin/scrub")

    assert status == 200 and "never" in text_of(html)


async def test_the_scrub_page_is_for_admins_only(web: Web) -> None:
    await web.user("ada")
    await web.login("ada")
    status, html = await web.get("/admin/scrub")
    assert status == 403 and "Admins only" in html
