"""/metrics on every process, on its own internal listener, and counters that move."""

from __future__ import annotations

import io
import time
import uuid

import httpx
import redis
from PIL import Image

from tests.conftest import REDIS_URL
from tests.observability.conftest import NODE_ID, Live, metric_value, scrape

REQUESTS = "pixelfox_http_requests_total"
LATENCY_COUNT = "pixelfox_http_request_duration_seconds_count"
REJECTIONS = "pixelfox_rejections_total"


def test_app_node_and_worker_answer_metrics_on_their_internal_listener(live: Live) -> None:
    worker = scrape(live.worker_metrics)
    assert "# TYPE pixelfox_job_duration_seconds histogram" in worker
    # The worker's own queues, read from Redis at the scrape.
    assert f'pixelfox_queue_depth{{queue="{live.redis_prefix}:node:s01"}}' in worker
    assert f'pixelfox_queue_depth{{queue="{live.redis_prefix}:node:s01:bg"}}' in worker
    for url in (live.app_metrics, live.node_metrics):
        text = scrape(url)
        assert "# TYPE pixelfox_http_requests_total counter" in text
        assert "# TYPE pixelfox_http_request_duration_seconds histogram" in text
        assert "# TYPE pixelfox_uploads_in_flight gauge" in text


def test_metrics_are_not_served_on_the_public_port(live: Live) -> None:
    for base in (live.app_url, live.node_url):
        response = httpx.get(f"{base}/metrics")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"


def test_requests_are_counted_by_route_template_not_by_raw_path(live: Live) -> None:
    route = "/api/v1/image/status/<image_uuid>"
    before = scrape(live.app_metrics)
    for _ in range(3):
        httpx.get(f"{live.app_url}/api/v1/image/status/{uuid.uuid4()}")
    after = scrape(live.app_metrics)

    counted = metric_value(after, REQUESTS, method="GET", route=route) - metric_value(
        before, REQUESTS, method="GET", route=route
    )
    timed = metric_value(after, LATENCY_COUNT, method="GET", route=route) - metric_value(
        before, LATENCY_COUNT, method="GET", route=route
    )
    assert counted == 3
    assert timed == 3
    # Three different ids, one series: the raw path never becomes a label.
    assert "/api/v1/image/status/" not in after.replace(route, "")


def test_unknown_paths_share_one_label(live: Live) -> None:
    before = scrape(live.node_metrics)
    for n in range(4):
        httpx.get(f"{live.node_url}/no/such/path/{n}")
    after = scrape(live.node_metrics)

    labels = {"method": "GET", "route": "<unmatched>", "status": "404"}
    assert metric_value(after, REQUESTS, **labels) - metric_value(before, REQUESTS, **labels) == 4
    assert "/no/such/path" not in after


def test_rejections_are_counted_by_error_code(live: Live) -> None:
    before = scrape(live.node_metrics)
    for _ in range(2):
        # No token: refused before a byte of the body is read.
        answer = httpx.post(f"{live.node_url}/api/internal/upload", content=b"x")
        assert answer.json()["error"]["code"] == "TOKEN_MISSING"
    httpx.get(f"{live.node_url}/nothing-here")
    after = scrape(live.node_metrics)

    def moved(**labels: str) -> float:
        return metric_value(after, REJECTIONS, **labels) - metric_value(
            before, REJECTIONS, **labels
        )

    assert moved(code="TOKEN_MISSING", status="401") == 2
    assert moved(code="NOT_FOUND", status="404") == 1


def _jpeg(width: int = 320, height: int = 240) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _upload(live: Live, image: bytes) -> httpx.Response:
    grant = httpx.post(
        f"{live.app_url}/api/v1/upload/sessions",
        headers={"Authorization": f"Bearer {live.seeded.user_token}"},
        json={"file_size": len(image), "filename": "fox.jpg", "content_type": "image/jpeg"},
    )
    assert grant.status_code == 201, grant.text
    session = grant.json()
    return httpx.post(
        session["upload_url"],
        headers={"Authorization": f"Bearer {session['token']}"},
        files={"file": ("fox.jpg", image, "image/jpeg")},
        timeout=30.0,
    )


def test_an_upload_moves_bytes_ingested_and_the_workers_job_counter(live: Live) -> None:
    pool = str(live.seeded.pool_id)
    jobs = {"kind": "process", "outcome": "ok"}
    node_before = scrape(live.node_metrics)
    worker_before = scrape(live.worker_metrics)
    image = _jpeg()

    stored = _upload(live, image)
    assert stored.status_code == 201, stored.text

    node_after = scrape(live.node_metrics)
    ingested = "pixelfox_upload_bytes_ingested_total"
    assert metric_value(node_after, ingested, pool=pool) - metric_value(
        node_before, ingested, pool=pool
    ) == len(image)
    assert metric_value(node_after, "pixelfox_uploads_in_flight") == 0
    created = "pixelfox_http_requests_total"
    labels = {"method": "POST", "route": "/api/internal/upload", "status": "201"}
    assert (
        metric_value(node_after, created, **labels) - metric_value(node_before, created, **labels)
        == 1
    )

    count = "pixelfox_job_duration_seconds_count"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        worker_after = scrape(live.worker_metrics)
        if metric_value(worker_after, count, **jobs) > metric_value(worker_before, count, **jobs):
            break
        time.sleep(0.2)
    assert (
        metric_value(worker_after, count, **jobs) - metric_value(worker_before, count, **jobs) == 1
    )


def test_heartbeats_set_the_nodes_age_and_its_pools_space_on_the_app(live: Live) -> None:
    pool = str(live.seeded.pool_id)
    text = scrape(live.app_metrics)

    # The node beats every second; its pool's disk has free space.
    assert 0 <= metric_value(text, "pixelfox_node_heartbeat_age_seconds", node=NODE_ID) < 5
    assert metric_value(text, "pixelfox_pool_free_bytes", pool=pool) > 0
    assert metric_value(text, "pixelfox_pool_capacity_bytes", pool=pool) == 10 << 30


def test_queue_depth_is_read_from_redis_at_each_scrape(live: Live) -> None:
    queue = f"{live.redis_prefix}:node:s01:bg"
    client = redis.Redis.from_url(REDIS_URL)
    # Scheduled an hour ahead, so the worker leaves it waiting.
    client.zadd(queue, {"observability-test-job": time.time() * 1000 + 3_600_000})
    try:
        waiting = metric_value(scrape(live.worker_metrics), "pixelfox_queue_depth", queue=queue)
    finally:
        client.zrem(queue, "observability-test-job")
        client.close()
    assert waiting == 1
    assert metric_value(scrape(live.worker_metrics), "pixelfox_queue_depth", queue=queue) == 0
