"""The scheduled scrub goes through a pool slice by slice from its cursor, then waits."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from prometheus_client import generate_latest

from pixelfox_storage.node_jobs.context import NodeContext
from pixelfox_storage.scrub import run
from pixelfox_storage.scrub.jobs import scrub_pools_job
from tests.backup.conftest import NODE
from tests.scrub.conftest import Pool
from tests.scrub.test_scrub import TWO_DAYS, _age

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def test_a_scheduled_pass_goes_on_from_its_cursor_slice_by_slice(
    scrub_pool: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = [await scrub_pool.ready_image() for _ in range(3)]
    made[1][0].original.unlink()
    orphan = f"original/{datetime.now(UTC):%Y/%m/%d}/{uuid.uuid4()}.png"
    (scrub_pool.dir / orphan).write_bytes(b"no row")
    _age(scrub_pool.dir / orphan, TWO_DAYS)
    # One image a page and no time per slice: each slice does exactly one page.
    monkeypatch.setattr(run, "PAGE", 1)
    settings = replace(
        scrub_pool.stack.settings(),
        node_pools=f"{scrub_pool.id}={scrub_pool.dir}",
        scrub_slice_seconds=0,
    )
    node = NodeContext.open(settings)
    ctx = {"node": node, "redis": scrub_pool.stack.arq}
    key = scrub_pool.stack.keys.node_scrub(NODE, scrub_pool.id)
    try:
        seen = []
        for _ in range(5):
            result = await scrub_pools_job(ctx)
            seen.append(result["pools"].get(str(scrub_pool.id)))
            state = json.loads(await scrub_pool.stack.arq.get(key))
            if state["cursor"] is None:
                break
            assert state["current"]["images"] == len(seen)
            assert "report" not in state
        later = await scrub_pools_job(ctx)
    finally:
        await node.aclose()

    assert seen[-1] == "pass done" and all(s.startswith("at image") for s in seen[:-1])
    assert len(seen) in (3, 4)  # a full last page needs one more, empty, page
    report = state["report"]
    assert report["scheduled"] and report["hashes"] and not report["repair"]
    assert report["images"] == 3
    assert report["faults"] == {"missing": 1, "orphan": 1}
    assert report["orphans_checked"]
    assert state["pass_started"] > 0 and state["current"] is None
    # The pass is done: the next one starts scrub_pass_days after this one began.
    assert later["pools"] == {}
    assert (scrub_pool.dir / orphan).exists()  # a scheduled scrub without repair only reports
    # The finished pass's faults are the node worker's metrics (for the scrub alert).
    exposition = generate_latest().decode()
    assert f'pixelfox_scrub_faults_found{{pool="{scrub_pool.id}"}} 2.0' in exposition
    assert f'pixelfox_scrub_faults_unrepaired{{pool="{scrub_pool.id}"}} 0.0' in exposition
