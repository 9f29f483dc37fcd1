"""Every metric the shipped alerts and dashboard use is served by a running PixelFox process."""

from __future__ import annotations

import time

import redis

from pixelfox_common import metrics
from tests.monitoring.promql import (
    PROMETHEUS_OWN,
    dashboard_exprs,
    exported_names,
    metric_names,
    rules,
)
from tests.observability.conftest import Live, metric_value, scrape

# prometheus-node-exporter's own (the role option installs it on every host).
NODE_EXPORTER = frozenset(
    {"node_filesystem_avail_bytes", "node_filesystem_size_bytes", "node_cpu_seconds_total"}
)


def test_every_metric_of_the_alerts_and_the_dashboard_is_exported(live: Live) -> None:
    exported = set()
    for url in (live.app_metrics, live.node_metrics, live.worker_metrics):
        exported |= exported_names(scrape(url))
    used = set().union(*(metric_names(r["expr"]) for r in rules()))
    used |= set().union(*(metric_names(expr) for expr in dashboard_exprs()))

    assert used - exported - PROMETHEUS_OWN - NODE_EXPORTER == set()
    # The figures this issue added are among them, so the check has teeth.
    assert {
        "pixelfox_upload_api_up",
        "pixelfox_pool_reserve_bytes",
        "pixelfox_queue_oldest_job_age_seconds",
        "pixelfox_scrub_faults_found",
        "pixelfox_database_backup_last_success_timestamp_seconds",
        "pixelfox_tls_certificate_expiry_timestamp_seconds",
    } <= exported


def test_the_worker_reports_how_long_its_oldest_job_has_waited(live: Live) -> None:
    text = scrape(live.worker_metrics)
    queue = f"{live.redis_prefix}:node:s01"
    assert f'pixelfox_queue_oldest_job_age_seconds{{queue="{queue}"}}' in text


def test_the_app_publishes_each_pools_reserve_from_the_heartbeats(live: Live) -> None:
    # The node beats every second here; the pool's reserve (0 in this stack) is the app's.
    text = scrape(live.app_metrics)
    pool = str(live.seeded.pool_id)
    assert f'pixelfox_pool_reserve_bytes{{pool="{pool}"}} 0.0' in text.splitlines()
    assert metric_value(text, "pixelfox_pool_free_bytes", pool=pool) > 0


def test_the_oldest_job_age_is_how_long_the_first_due_job_has_waited(
    redis_url: str, redis_prefix: str
) -> None:
    queue = f"{redis_prefix}:node:s77"
    client = redis.Redis.from_url(redis_url)
    collector = metrics._QueueDepths()
    try:
        # Due five minutes ago, and one due in an hour (deferred: it waits for nobody).
        now_ms = time.time() * 1000
        client.zadd(queue, {"job-a": now_ms - 300_000, "job-b": now_ms + 3_600_000})
        collector.watch(redis_url, [queue, f"{queue}:bg"])
        families = {family.name: family for family in collector.collect()}
    finally:
        client.delete(queue)
        client.close()

    depth = {s.labels["queue"]: s.value for s in families["pixelfox_queue_depth"].samples}
    age = {
        s.labels["queue"]: s.value
        for s in families["pixelfox_queue_oldest_job_age_seconds"].samples
    }
    assert depth == {queue: 2, f"{queue}:bg": 0}
    assert 300 <= age[queue] < 400 and age[f"{queue}:bg"] == 0
