"""The HTMX admin over HTTP: pools, health badges, nodes, queues and settings."""

from __future__ import annotations

import pickle
import re
import subprocess
import time
import uuid
from dataclasses import replace
from html import unescape
from pathlib import Path

from arq.jobs import DeserializationError, deserialize_job, serialize_result

from pixelfox_app import knobs
from pixelfox_app.models import StoragePool
from pixelfox_app.nodequeue import enqueue
from pixelfox_app.nodes import register_node
from pixelfox_app.web.admin.history import read_history, record_sample
from pixelfox_protocol import jobs
from pixelfox_protocol.internal import Heartbeat, PoolHeartbeat
from pixelfox_protocol.keys import HEARTBEAT_TTL
from tests.web.conftest import Web, make_settings, text_of

GOOD_POOL = {
    "name": "s01-hot-2",
    "node_id": "s01",
    "type": "local",
    "tier": "hot",
    "base_path": "/srv/pixelfox/hot-2",
    "public_base_url": "https://s01.example.com",
    "cdn_base_url": "",
    "upload_api_url": "https://s01.example.com/api/internal/upload",
    "capacity": "2 TB",
    "reserve": "10 GB",
    "priority": "50",
    "weight": "100",
    "region": "eu-central",
    "is_active": "on",
    "is_upload_target": "on",
    "backup_bucket": "",
    "backup_prefix": "",
}


def _beat(node_id: str, pool_id: int, **fields) -> str:  # type: ignore[no-untyped-def]
    pool = PoolHeartbeat(
        pool_id=pool_id,
        free_bytes=600 << 30,
        used_bytes=400 << 30,
        capacity_bytes=1000 << 30,
        used_pct=40.0,
    )
    values = {"node_id": node_id, "version": "0.1.0", "pools": [pool], **fields}
    return Heartbeat(**values).model_dump_json()


async def test_the_admin_is_for_admins_only(web: Web):
    await web.user("ada")
    await web.login("ada")
    for path in ("/admin/pools", "/admin/nodes", "/admin/queues", "/admin/settings"):
        status, html = await web.get(path)
        assert status == 403, path
        assert "Admins only" in html


async def test_a_pool_form_with_mistakes_saves_nothing_and_says_what_is_wrong(web: Web):
    await web.admin()
    await register_node("s01")
    bad = {
        **GOOD_POOL,
        "name": "-bad name",
        "base_path": "relative/../path",
        "public_base_url": "https://s01.example.com/uploads?x=1",
        "capacity": "lots",
        "node_id": "s99",
        "tier": "lukewarm",
    }
    response = await web.post("/admin/pools/new", bad)
    html = await response.get_data(as_text=True)
    assert response.status_code == 422
    errors = {k: unescape(v) for k, v in re.findall(r'id="e-(\w+)">([^<]+)<', html)}
    assert set(errors) == {"name", "base_path", "public_base_url", "capacity", "node_id", "tier"}
    assert "unknown node 's99'" in errors["node_id"]
    assert 'value="lots"' in html  # the operator's input stays in the form
    assert await StoragePool.all().count() == 0


async def test_a_valid_pool_form_creates_the_pool_with_every_field(web: Web):
    await web.admin()
    await register_node("s01")
    response = await web.post("/admin/pools/new", GOOD_POOL)
    assert response.status_code == 302
    pool = await StoragePool.get(name="s01-hot-2")
    assert response.headers["Location"] == f"/admin/pools/{pool.id}"
    assert (pool.capacity_bytes, pool.reserve_bytes) == (2 << 40, 10 << 30)
    assert (pool.priority, pool.region, pool.node_id) == (50, "eu-central", "s01")
    assert pool.upload_api_url == "https://s01.example.com/api/internal/upload"
    again = await web.post("/admin/pools/new", GOOD_POOL)
    assert again.status_code == 422
    assert "exists already" in await again.get_data(as_text=True)


async def test_editing_a_pool_changes_it_and_unticked_boxes_mean_off(web: Web):
    await web.admin()
    pool = await web.pool("hot-1", "local")
    changed = {
        **GOOD_POOL,
        "name": "hot-1",
        "node_id": "local",
        "public_base_url": "https://x.example.com",
    }
    del changed["is_upload_target"]
    response = await web.post(f"/admin/pools/{pool.id}/edit", changed)
    assert response.status_code == 302
    pool = await StoragePool.get(id=pool.id)
    assert pool.public_base_url == "https://x.example.com"
    assert pool.is_active and not pool.is_upload_target


async def test_deactivating_from_the_table_swaps_in_the_updated_row(web: Web):
    await web.admin()
    pool = await web.pool()
    response = await web.post(
        f"/admin/pools/{pool.id}/toggle/is_active", {"from": "table"}, htmx=True
    )
    html = await response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="pool-{pool.id}"')
    assert "Activate" in text_of(html) and "inactive" in text_of(html)
    assert not (await StoragePool.get(id=pool.id)).is_active


async def test_the_pools_table_refreshes_as_a_fragment_and_shows_each_pools_health(web: Web):
    await web.admin()
    redis, keys = web.app.extensions["redis"], web.app.extensions["keys"]
    fresh = await web.pool("fresh", "s01")
    stale = await web.pool("stale", "s02")
    await web.pool("silent", "s03")
    unreachable = await web.pool("unreachable", "s04")
    await redis.set(keys.node_heartbeat("s01"), _beat("s01", fresh.id), ex=HEARTBEAT_TTL)
    # Stored 20 s ago: the TTL has 10 s left.
    await redis.set(keys.node_heartbeat("s02"), _beat("s02", stale.id), ex=HEARTBEAT_TTL - 20)
    await redis.set(keys.node_heartbeat("s04"), _beat("s04", unreachable.id), ex=HEARTBEAT_TTL)
    await redis.set(keys.pool_reachable(unreachable.id), "0", ex=30)

    status, html = await web.get("/admin/pools", htmx=True)

    assert status == 200 and html.lstrip().startswith('<div class="card" id="pools-table"')
    badges = dict(re.findall(r'data-pool="([\w-]+)".*?data-health="\w+">([^<]+)<', html, re.S))
    assert badges == {
        "fresh": "API OK",
        "stale": "stale 20 s",
        "silent": "Fehler",
        "unreachable": "Fehler",
    }
    assert "40 %" in text_of(html)


async def test_the_nodes_table_shows_each_nodes_latest_heartbeat(web: Web):
    await web.admin()
    redis, keys = web.app.extensions["redis"], web.app.extensions["keys"]
    await register_node("s01")
    await register_node("s02")
    pool = await web.pool("hot-1", "s01")
    beat = _beat(
        "s01",
        pool.id,
        active_uploads=3,
        queue_depth=7,
        background_queue_depth=1200,
        errors_per_minute=0.5,
        version="0.2.0",
    )
    await redis.set(keys.node_heartbeat("s01"), beat, ex=HEARTBEAT_TTL)

    status, html = await web.get("/admin/nodes", htmx=True)
    assert status == 200

    rows = {
        m.group(1): text_of(m.group(0))
        for m in re.finditer(r'<tr id="node-(\w+)".*?</tr>', html, re.S)
    }
    assert "online" in rows["s01"] and "0.2.0" in rows["s01"] and "600.0 GB free" in rows["s01"]
    assert "3" in rows["s01"].split() and "7 / 1200" in rows["s01"] and "0.5" in rows["s01"]
    assert "offline" in rows["s02"] and "never" in rows["s02"]
    assert 'hx-trigger="every 5s, pf:visible"' in html and "data-poll" in html


async def test_health_samples_build_a_pools_history(web: Web):
    await web.admin()
    redis, keys = web.app.extensions["redis"], web.app.extensions["keys"]
    pool = await web.pool("hot-1", "s01")
    await redis.set(keys.node_heartbeat("s01"), _beat("s01", pool.id), ex=HEARTBEAT_TTL)
    # Slots far from now: the app's own sampler keeps recording into the present meanwhile.
    now = time.time() - 86_400
    assert await record_sample(redis, keys, now)
    assert not await record_sample(redis, keys, now)  # same slot: another worker took it
    await redis.delete(keys.node_heartbeat("s01"))
    assert await record_sample(redis, keys, now + 15)
    history = await read_history(redis, keys, pool.id)
    assert [s.state for s in history if s.at in (now, now + 15)] == ["ok", "error"]
    status, html = await web.get(f"/admin/pools/{pool.id}")
    assert status == 200 and re.search(r"\d+ samples", text_of(html))


def _failed_result(function: str, kwargs: dict, error: Exception, queue: str, job_id: str) -> bytes:  # type: ignore[type-arg]
    """A failed job's result exactly as arq's worker writes it (in JSON)."""
    now = int(time.time() * 1000)
    raw = serialize_result(
        function, (), kwargs, 3, now - 900, False, error, now - 800, now - 700, "ref",
        queue, job_id, serializer=jobs.dumps,
    )  # fmt: skip
    assert raw is not None
    return raw


def _card(html: str, queue: str) -> str:
    found = re.search(rf'data-queue="{queue}".*?</section>', html, re.S)
    assert found is not None, queue
    return found.group(0)


async def test_the_queues_page_counts_jobs_and_retries_and_clears_failed_ones(web: Web):
    await web.admin()
    redis, keys = web.app.extensions["redis"], web.app.extensions["keys"]
    await register_node("s01")
    queue = keys.node_queue("s01")
    # The job ids carry the installation's prefix, as every job id does: the page
    # reads this installation's results only, and the fixture's clean-up finds them.
    waiting, failed = (
        keys.process_job("s01", str(uuid.uuid4())),
        keys.process_job("s01", str(uuid.uuid4())),
    )
    args = jobs.ProcessImage(
        image_uuid="b", pool_id=1, path="original/2024/01/01/b.jpg", request_id=""
    )
    await enqueue(redis, replace(args, image_uuid="a"), queue=queue, job_id=waiting)
    result = _failed_result(
        jobs.PROCESS_IMAGE, args.to_json(), RuntimeError("vips said no"), queue, failed
    )
    await redis.set(f"arq:result:{failed}", result, ex=600)

    status, html = await web.get("/admin/queues")
    assert status == 200
    card = _card(html, queue)
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', card))
    assert counts == {"queued": "1", "running": "0", "failed": "1"}
    assert "RuntimeError: vips said no" in text_of(card)
    assert "unreadable job" not in card

    retried = await web.post("/admin/queues/retry", {"queue": queue, "job_id": failed}, htmx=True)
    assert "is queued again" in await retried.get_data(as_text=True)
    assert await redis.zscore(queue, failed) is not None
    assert not await redis.exists(f"arq:result:{failed}")
    again = deserialize_job(await redis.get(f"arq:job:{failed}"), deserializer=jobs.loads)
    assert (again.function, again.kwargs) == (jobs.PROCESS_IMAGE, args.to_json())

    await redis.set(f"arq:result:{failed}", result, ex=600)
    cleared = await web.post("/admin/queues/clear", {"queue": queue}, htmx=True)
    assert "Cleared 1 failed job" in await cleared.get_data(as_text=True)
    assert not await redis.exists(f"arq:result:{failed}")


class _Touch:
    """Unpickling this runs ``touch <marker>``: what a pickled job can do to its reader."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (subprocess.call, (["touch", str(self.marker)],))


async def test_a_pickled_job_shows_as_unreadable_and_is_never_unpickled(web: Web, tmp_path):  # type: ignore[no-untyped-def]
    await web.admin()
    redis, keys = web.app.extensions["redis"], web.app.extensions["keys"]
    await register_node("s01")
    marker = tmp_path / "pickle-ran"
    now = int(time.time() * 1000)
    record = pickle.dumps({"t": None, "f": "ping", "a": (_Touch(marker),), "k": {}, "et": now})
    node_queue, control = keys.node_queue("s01"), keys.control_queue
    for queue in (node_queue, control):
        job_id = f"{queue}:pickled"
        await redis.psetex(f"arq:job:{job_id}", 60_000, record)
        await redis.zadd(queue, {job_id: now})
    # What a worker leaves behind when it refuses such a job, and a pickled result.
    refused = keys.process_job("s01", "refused")
    error = DeserializationError("unable to deserialize job")
    await redis.set(
        f"arq:result:{refused}", _failed_result("<unknown>", {}, error, node_queue, refused), ex=60
    )
    await redis.set(f"arq:result:{keys.process_job('s01', 'pickled-result')}", record, ex=60)

    status, html = await web.get("/admin/queues")
    retried = await web.post(
        "/admin/queues/retry", {"queue": node_queue, "job_id": refused}, htmx=True
    )

    assert status == 200 and not marker.exists()
    for queue in (node_queue, control):
        card = _card(html, queue)
        assert f"{queue}:pickled" in card and "unreadable job" in text_of(card)
    node_card = text_of(_card(html, node_queue))
    assert "DeserializationError: unable to deserialize job" in node_card
    assert "was not retried" in await retried.get_data(as_text=True) and not marker.exists()


async def test_settings_are_saved_only_when_every_value_is_valid(web: Web):
    await web.admin()
    form = {
        "direct_upload": "on",
        "upload_rate_limit_per_minute": "30",
        "upload_user_rate_limit_per_minute": "abc",
        "max_upload_bytes": "20 MB",
        "allowed_types": "image/jpeg, image/svg+xml",
        "max_pixels": "50000000",
        "max_frames": "100",
        "placement_strategy": "priority",
    }
    response = await web.post("/admin/settings", form)
    html = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert "SVG is never accepted" in html and "expected a number" in html
    assert await knobs.get("upload_rate_limit_per_minute") == 60

    form.update(upload_user_rate_limit_per_minute="0", allowed_types="image/jpeg, image/png")
    del form["direct_upload"]  # unticked
    response = await web.post("/admin/settings", form)
    assert response.status_code == 200
    assert "Settings saved." in await response.get_data(as_text=True)
    values = await knobs.get_all()
    assert values["direct_upload"] is False
    assert values["max_upload_bytes"] == 20 * 1024 * 1024
    assert values["allowed_types"] == ["image/jpeg", "image/png"]
    assert values["upload_user_rate_limit_per_minute"] == 0
    assert values["placement_strategy"] == "priority"


async def test_settings_warn_when_the_upload_token_key_is_missing(
    sqlite_url, redis_url, redis_prefix
):  # type: ignore[no-untyped-def]
    from pixelfox_app.app import create_app
    from pixelfox_app.dbschema import migrate

    settings = make_settings(sqlite_url, redis_url, redis_prefix, token_signing_key="")
    await migrate(sqlite_url)
    app = create_app(settings)
    async with app.test_app() as test_app:
        web = Web(app, test_app.test_client())
        await web.admin()
        _, html = await web.get("/admin/settings")
    assert 'data-warning="keys"' in html
    assert "PIXELFOX_TOKEN_SIGNING_KEY is not set" in html
